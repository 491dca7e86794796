/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small test-only virtio-net driver (virtio 1.x, modern PCI, split rings) that drives
 * the emulated device through the real VFIO calls: lib/tce maps its memory, the
 * common config is reached with pread/pwrite, doorbells through the mmap'ed notify
 * area. Run under spapr-emu with the device options of each scenario:
 *   test_virtio_net loop|pair|gen-check|mq|fault|pcap
 */
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

#include "check.h"
#include "bus_master_util.h"
#include "tce.h"


#define MiB (1ULL << 20)
#define QSIZE 256
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
		CHECK_EQ(r16(v, 0x18), 256); /* the device's maximum */
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

/* --- scenarios ------------------------------------------------------------------------ */

static uint64_t basic = F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_ACCESS_PLATFORM) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF);

/* TX on a port comes back on its RX (backend=loop) */
static void loop(void)
{
	struct vdev v = { 0 };
	uint8_t frame[1514], mac[6];

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	if (pread(v.fd, mac, 6, v.devcfg) != 6)
		abort();
	CHECK(mac[0] == 0x52 && mac[1] == 0x54);
	for (uint16_t i = 0; i < 64; i++)
		post_rx(&v, &v.q[0], i);
	for (uint32_t n = 0; n < 50; n++) {
		uint32_t len = 60 + n * 29, got;
		make_frame(frame, len, n);
		send(&v, &v.q[1], frame, len);
		CHECK(used_next(&v.q[1], &got) >= 0);
		int id = used_next(&v.q[0], &got);
		CHECK(id >= 0);
		if (id < 0)
			break;
		CHECK_EQ(got, HDR + len);
		CHECK(memcmp(v.q[0].bufs + (size_t)id * BUF + HDR, frame, len) == 0);
		post_rx(&v, &v.q[0], (uint16_t)id);
	}
	dev_close(&v);
}

/* two ports wired to each other (backend=pair) */
static void pair(void)
{
	struct vdev a = { 0 }, b = { 0 };
	uint8_t frame[256];
	uint32_t got;

	CHECK_EQ(dev_open(&a, "0000:00:01.0", 0, basic, 2), 0);
	CHECK_EQ(dev_open(&b, "0000:00:02.0", 1, basic, 2), 0);
	for (uint16_t i = 0; i < 16; i++)
		post_rx(&b, &b.q[0], i);
	make_frame(frame, 256, 9);
	send(&a, &a.q[1], frame, 256);
	int id = used_next(&b.q[0], &got);
	CHECK(id >= 0);
	CHECK_EQ(got, HDR + 256);
	if (id >= 0)
		CHECK(memcmp(b.q[0].bufs + (size_t)id * BUF + HDR, frame, 256) == 0);
	dev_close(&a);
	dev_close(&b);
}

/* the generator's frames, forwarded back to the port's checker (backend=gen-check) */
static void gen_check(void)
{
	struct vdev v = { 0 };
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	for (uint16_t i = 0; i < 128; i++)
		post_rx(&v, &v.q[0], i);
	for (int n = 0; n < 1000; n++) {
		int id = used_next(&v.q[0], &got);
		CHECK(id >= 0);
		if (id < 0)
			break;
		send(&v, &v.q[1], v.q[0].bufs + (size_t)id * BUF + HDR, got - HDR);
		CHECK(used_next(&v.q[1], &got) >= 0);
		post_rx(&v, &v.q[0], (uint16_t)id);
	}
	dev_close(&v);
}

/* MQ through the control queue: two pairs, the generator's flows on both RX queues */
static void mq(void)
{
	struct vdev v = { 0 };
	uint64_t want = basic | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_MQ);
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, want, 5), 0); /* rx0 tx0 rx1 tx1 ctrl */
	struct queue *ctrl = &v.q[4];
	uint8_t *cmd = ctrl->bufs;
	cmd[0] = 4; cmd[1] = 0; cmd[2] = 2; cmd[3] = 0; /* MQ VQ_PAIRS_SET 2 */
	cmd[64] = 0xff;                                 /* the ack */
	ctrl->desc[0] = (struct vring_desc){ htole64(iova(&v, cmd)), htole32(4), htole16(VRING_DESC_F_NEXT), htole16(1) };
	ctrl->desc[1] = (struct vring_desc){ htole64(iova(&v, cmd + 64)), htole32(1), htole16(VRING_DESC_F_WRITE), 0 };
	kick(ctrl, 0);
	CHECK_EQ(used_next(ctrl, &got), 0);
	CHECK_EQ(cmd[64], 0); /* VIRTIO_NET_OK */
	for (uint16_t i = 0; i < 64; i++) {
		post_rx(&v, &v.q[0], i);
		post_rx(&v, &v.q[2], i);
	}
	CHECK(used_next(&v.q[0], &got) >= 0);
	CHECK(used_next(&v.q[2], &got) >= 0);
	dev_close(&v);
}

/* a driver bug: an RX buffer at an IOVA that is not mapped freezes the PE */
static void fault(void)
{
	struct vdev v = { 0 };
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	struct queue *q = &v.q[0];
	q->desc[0] = (struct vring_desc){ htole64(iova(&v, v.mem) + 64 * MiB), htole32(BUF), htole16(VRING_DESC_F_WRITE), 0 };
	kick(q, 0);
	CHECK_EQ(used_wait(q, &got, 200), -1); /* nothing comes back: the device stopped */
	uint32_t vendor = 0;
	CHECK_EQ(pread(v.fd, &vendor, 4, vfio_region_offset(v.fd, VFIO_PCI_CONFIG_REGION_INDEX)), 4);
	CHECK_EQ(vendor, 0xffffffffu); /* the PE is frozen: config reads all ones */
	dev_close(&v);
}

/* TX recorded into a pcap file (backend=pcap with pcap-out) */
static void pcap(void)
{
	struct vdev v = { 0 };
	uint8_t frame[100];
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	for (int n = 0; n < 3; n++) {
		make_frame(frame, sizeof(frame), (uint32_t)n);
		memset(frame, 0xff, 6); /* broadcast */
		send(&v, &v.q[1], frame, sizeof(frame));
		CHECK(used_next(&v.q[1], &got) >= 0);
	}
	dev_close(&v);
}

/* receive exactly three frames (backend=pcap with pcap-in) and print their lengths */
static void rx3(void)
{
	struct vdev v = { 0 };
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	for (uint16_t i = 0; i < 8; i++)
		post_rx(&v, &v.q[0], i);
	for (int n = 0; n < 3; n++) {
		int id = used_next(&v.q[0], &got);
		CHECK(id >= 0);
		printf("rx len %u\n", id >= 0 ? got - HDR : 0);
	}
	CHECK_EQ(used_wait(&v.q[0], &got, 100), -1); /* and no more */
	dev_close(&v);
}

/* frames the host sends on the TAP interface reach RX (backend=tap): wait for an ARP
 * request (what `ping` on the host sends first), printing every frame seen */
static void tap(void)
{
	struct vdev v = { 0 };
	bool arp = false;
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	for (uint16_t i = 0; i < 64; i++)
		post_rx(&v, &v.q[0], i);
	printf("ready\n");
	fflush(stdout);
	while (!arp) {
		int id = used_wait(&v.q[0], &got, 20000);
		if (id < 0)
			break;
		const uint8_t *f = v.q[0].bufs + (size_t)id * BUF + HDR;
		printf("rx len %u ethertype 0x%02x%02x\n", got - HDR, f[12], f[13]);
		fflush(stdout);
		arp = f[12] == 0x08 && f[13] == 0x06;
		post_rx(&v, &v.q[0], (uint16_t)id);
	}
	CHECK(arp);
	dev_close(&v);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "loop", loop }, { "loop-region-shift", loop }, { "pair", pair }, { "gen-check", gen_check }, { "mq", mq }, { "mq-threads", mq },
		{ "fault", fault }, { "pcap", pcap }, { "tap", tap }, { "rx3", rx3 },
	};

	for (size_t i = 0; argc > 1 && i < sizeof(tests) / sizeof(tests[0]); i++)
		if (strcmp(argv[1], tests[i].name) == 0) {
			tests[i].fn();
			printf("%-12s %s\n", argv[1], failures ? "FAILED" : "ok");
			return failures ? 1 : 0;
		}
	fprintf(stderr, "usage: test_virtio_net loop|loop-region-shift|pair|gen-check|mq|fault|pcap|tap|rx3\n");
	return 2;
}
