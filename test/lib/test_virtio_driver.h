/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small test-only virtio-net driver (virtio 1.x, modern PCI, split rings) that drives
 * the emulated device through the real VFIO calls: lib/tce maps its memory, the
 * common config is reached with pread/pwrite, doorbells through the mmap'ed notify
 * area. Header-only: its checks count in the test that includes it (check.h).
 */
#ifndef TEST_VIRTIO_DRIVER_H
#define TEST_VIRTIO_DRIVER_H

#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <linux/vfio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bus_master_util.h"
#include "check.h"
#include "tce.h"

#define MiB (1ULL << 20)
#ifndef QSIZE
#define QSIZE 256
#endif
#define BUF 2048
#define F(n) (1ULL << (n))   /* feature bits and layouts: the uapi's (linux/virtio_*.h) */
#define HDR ((uint32_t)sizeof(struct virtio_net_hdr_v1))

struct queue {
	uint16_t index, size, avail_idx, last_used;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint8_t *bufs;       /* size x BUF */
	volatile uint16_t *doorbell;
};

struct vdev {
	const char *addr;
	struct tce_container *c;
	int fd;
	off_t common, devcfg, notify;   /* region offsets */
	uint32_t notify_mult;
	uint8_t *notify_map;            /* the doorbells, inside the mapping below */
	uint8_t *map_base;
	size_t map_len;
	uint8_t *mem;                   /* DMA memory, mapped through lib/tce */
	size_t mem_len, mem_used;
	uint64_t features;
	struct queue q[5];
	unsigned int nq;
};

static uint64_t iova(struct vdev *v, const void *p)
{
	uint64_t i = 0;
	if (tce_iova_of(v->c, (uintptr_t)p, &i) != 0)
		abort();
	return i;
}

static void *dma_alloc(struct vdev *v, size_t len)
{
	void *p = v->mem + v->mem_used;
	v->mem_used += (len + 4095) & ~4095UL;
	if (v->mem_used > v->mem_len)
		abort();
	memset(p, 0, len);
	return p;
}

static void cfg_write(struct vdev *v, off_t off, const void *val, size_t len)
{
	if (pwrite(v->fd, val, len, v->common + off) != (ssize_t)len)
		abort();
}

static void cfg_read(struct vdev *v, off_t off, void *val, size_t len)
{
	if (pread(v->fd, val, len, v->common + off) != (ssize_t)len)
		abort();
}

static uint8_t get_status(struct vdev *v) { uint8_t s; cfg_read(v, 0x14, &s, 1); return s; }
static void set_status(struct vdev *v, uint8_t s) { cfg_write(v, 0x14, &s, 1); }
static void w16(struct vdev *v, off_t o, uint16_t x) { x = htole16(x); cfg_write(v, o, &x, 2); }
static void w32(struct vdev *v, off_t o, uint32_t x) { x = htole32(x); cfg_write(v, o, &x, 4); }
static void w64(struct vdev *v, off_t o, uint64_t x) { w32(v, o, (uint32_t)x); w32(v, o + 4, (uint32_t)(x >> 32)); }
static uint16_t r16(struct vdev *v, off_t o) { uint16_t x; cfg_read(v, o, &x, 2); return le16toh(x); }
static uint32_t r32(struct vdev *v, off_t o) { uint32_t x; cfg_read(v, o, &x, 4); return le32toh(x); }

/* Walk the PCI capabilities for the virtio structures (4.1.4). */
static void find_caps(struct vdev *v)
{
	uint8_t cfg[256];

	if (pread(v->fd, cfg, sizeof(cfg), vfio_region_offset(v->fd, VFIO_PCI_CONFIG_REGION_INDEX)) != sizeof(cfg))
		abort();
	for (uint8_t p = cfg[0x34]; p; p = cfg[p + 1]) {
		uint32_t off;
		if (cfg[p] != 0x09)
			continue;
		memcpy(&off, cfg + p + 8, 4);
		off_t where = vfio_region_offset(v->fd, cfg[p + 4]) + off;
		switch (cfg[p + 3]) {
		case 1: v->common = where; break;
		case 2: v->notify = where; memcpy(&v->notify_mult, cfg + p + 16, 4); break;
		case 4: v->devcfg = where; break;
		}
	}
}

static int dev_open(struct vdev *v, const char *addr, unsigned int group, uint64_t want, unsigned int nq)
{
	v->addr = addr;
	if (tce_container_open(&group, 1, TCE_IOMMU_AUTO, &v->c) != 0)
		return -1;
	v->fd = ioctl(tce_group_fd(v->c, group), VFIO_GROUP_GET_DEVICE_FD, addr);
	if (v->fd < 0)
		return -1;
	/* bus mastering on: vfio-pci leaves it off, and a device without it does no DMA */
	CHECK_EQ(vfio_bus_master_on(v->fd), 0);
	find_caps(v);
	CHECK(v->common && v->notify && v->devcfg);
	/* mappings start at a kernel page (64 KiB on ppc64): the page holding the doorbells */
	v->map_len = (size_t)sysconf(_SC_PAGESIZE);
	off_t page_start = v->notify & ~(off_t)(v->map_len - 1);
	uint8_t *page = mmap(NULL, v->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, page_start);
	CHECK(page != MAP_FAILED);
	v->map_base = page;
	v->notify_map = page + (v->notify - page_start);
	/* DMA memory: 8 MiB, 2 MiB-aligned */
	uint8_t *raw = mmap(NULL, 10 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	v->mem = (uint8_t *)(((uintptr_t)raw + 2 * MiB - 1) & ~(2 * MiB - 1));
	v->mem_len = 8 * MiB;
	struct tce_region r = { (uintptr_t)v->mem, v->mem_len, 64 << 10, 0, TCE_IOVA_ANY };
	CHECK_EQ(tce_dma_map(v->c, &r, 1, NULL), 0);

	/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues, DRIVER_OK */
	set_status(v, 0);
	CHECK_EQ(get_status(v), 0);
	set_status(v, 1 | 2);
	w32(v, 0x00, 0);
	uint64_t offered = r32(v, 0x04);
	w32(v, 0x00, 1);
	offered |= (uint64_t)r32(v, 0x04) << 32;
	CHECK((offered & (F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_ACCESS_PLATFORM))) == (F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_ACCESS_PLATFORM)));
	v->features = offered & want;
	w32(v, 0x08, 0);
	w32(v, 0x0c, (uint32_t)v->features);
	w32(v, 0x08, 1);
	w32(v, 0x0c, (uint32_t)(v->features >> 32));
	set_status(v, 1 | 2 | 8);
	if (!(get_status(v) & 8))
		return -2; /* FEATURES_OK refused */
	v->nq = nq;
	for (unsigned int i = 0; i < nq; i++) {
		struct queue *q = &v->q[i];
		w16(v, 0x16, (uint16_t)i);
		CHECK(r16(v, 0x18) >= QSIZE); /* the device's maximum */
		q->index = (uint16_t)i;
		q->size = QSIZE;
		q->desc = dma_alloc(v, sizeof(struct vring_desc) * QSIZE);
		q->avail = dma_alloc(v, sizeof(struct vring_avail) + sizeof(__virtio16) * (QSIZE + 1));
		q->used = dma_alloc(v, sizeof(struct vring_used) + sizeof(struct vring_used_elem) * QSIZE + 2);
		q->bufs = dma_alloc(v, (size_t)QSIZE * BUF);
		q->doorbell = (volatile uint16_t *)(v->notify_map + r16(v, 0x1e) * v->notify_mult);
		w16(v, 0x18, QSIZE);
		w64(v, 0x20, iova(v, q->desc));
		w64(v, 0x28, iova(v, q->avail));
		w64(v, 0x30, iova(v, q->used));
		w16(v, 0x1c, 1);
	}
	set_status(v, 1 | 2 | 8 | 4);
	return 0;
}

static void dev_close(struct vdev *v)
{
	set_status(v, 0);
	munmap(v->map_base, v->map_len);
	close(v->fd);
	tce_container_close(v->c);
}

static void kick(struct queue *q, uint16_t id)
{
	q->avail->ring[q->avail_idx % q->size] = htole16(id);
	atomic_thread_fence(memory_order_release);
	q->avail->idx = htole16(++q->avail_idx);
	*q->doorbell = q->index;
}

/* post one writable buffer (descriptor i) on an RX queue */
static void post_rx(struct vdev *v, struct queue *q, uint16_t i)
{
	q->desc[i] = (struct vring_desc){ htole64(iova(v, q->bufs + (size_t)i * BUF)), htole32(BUF), htole16(VRING_DESC_F_WRITE), 0 };
	kick(q, i);
}

static void send(struct vdev *v, struct queue *q, const uint8_t *frame, uint32_t len)
{
	uint16_t i = q->avail_idx % q->size;
	uint8_t *b = q->bufs + (size_t)i * BUF;

	memset(b, 0, HDR);
	memcpy(b + HDR, frame, len);
	q->desc[i] = (struct vring_desc){ htole64(iova(v, b)), htole32(HDR + len), 0, 0 };
	kick(q, i);
}

/* next used element, waiting up to `ms`: its id and length, or -1 */
static int used_wait(struct queue *q, uint32_t *len, unsigned int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint16_t idx = le16toh(*(volatile __virtio16 *)&q->used->idx);
		if (idx != q->last_used) {
			atomic_thread_fence(memory_order_acquire);
			struct vring_used_elem e = q->used->ring[q->last_used % q->size];
			q->last_used++;
			*len = le32toh(e.len);
			return (int)le32toh(e.id);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > (long)ms)
			return -1;
		struct timespec ts = { 0, 10000 };
		nanosleep(&ts, NULL);
	}
}

static int used_next(struct queue *q, uint32_t *len)
{
	return used_wait(q, len, 2000);
}

static void make_frame(uint8_t *f, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed * 7 + i);
}

#endif
