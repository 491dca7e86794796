/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A virtio-net device (virtio 1.x, modern PCI transport only) behind the vfio-pci
 * shell, following the virtio specification:
 *   - PCI: vendor 0x1af4, device 0x1041, vendor capabilities for the common config,
 *     notifications, ISR, device config and PCI config access (4.1.4), MSI-X;
 *   - BAR4 (16 KiB, 64-bit): common config 0x0000, ISR 0x1000, device config 0x2000,
 *     notify 0x3000 (multiplier 4); the whole BAR can be mmap'ed (as QEMU's device),
 *     but the registers with semantics go through pread/pwrite, where the model traps
 *     them (doorbells need no trap: the model polls its rings); BAR1: the MSI-X table;
 *   - features: VERSION_1 and ACCESS_PLATFORM (required: all DMA goes through the
 *     IOMMU), MAC, STATUS, MTU, MRG_RXBUF, CTRL_VQ, CTRL_RX, MQ, SPEED_DUPLEX, and (csum=on)
 *     CSUM (TX checksums completed) and GUEST_CSUM (RX frames marked DATA_VALID);
 *   - split virtqueues: rx0, tx0, rx1, tx1, ..., then the control queue;
 *   - threads=N device threads poll the queue pairs (qp % N); every ring and buffer access is a DMA
 *     through the TCE tables (emu_virtq.c); frames go to and come from a wire back-end.
 * Options: mac=, queues= (pairs, 1..8), qsize= (max ring size), mtu=, speed= (Mb/s the
 * device reports, default 10000; "unknown"), duplex= (full, half, unknown), threads=, cpus=
 * (where the threads run: A[:B...]),
 * poll-us= (sleep when idle, 0: busy poll), and the wire's (emu_wire.h).
 * This file: reset, feature negotiation, the registers, set-up, stats; the device threads
 * are in emu_virtio_net_dp.c.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu_virtio_net.h"

/* --- reset and feature negotiation ----------------------------------------------- */

static void vnet_reset_locked(struct vnet *v)
{
	v->status = 0;
	v->acked = 0;
	v->dfselect = v->gfselect = 0;
	v->config_msix = 0xffff;
	v->queue_select = 0;
	v->active_qp = 1;
	v->isr = 0;
	v->promisc = v->allmulti = false;
	memcpy(v->mac, v->mac_default, 6);
	for (unsigned int i = 0; i < VNET_NQ; i++)
		emu_vq_reset(&v->vq[i]);
	/* a frame taken from the wire but not yet in guest memory: the generator takes it
	 * back, anything else is lost with the device's state */
	for (unsigned int qp = 0; qp < VNET_MAX_QP; qp++) {
		if (v->stage[qp].len && !emu_wire_take_back(&v->wire, v->stage[qp].frame, v->stage[qp].len))
			v->rx_dropped_at_reset++;
		v->stage[qp].len = 0;
	}
	v->resets++;
}

static void vnet_reset(struct emu_device *d)
{
	struct vnet *v = vnet_of(d);

	pthread_rwlock_wrlock(&v->state);
	vnet_reset_locked(v);
	pthread_rwlock_unlock(&v->state);
}

/* FEATURES_OK is refused for features not offered, without VERSION_1, or without
 * ACCESS_PLATFORM (the device's DMA always goes through the IOMMU on POWER). */
static bool features_ok(const struct vnet *v)
{
	if (v->acked & ~v->offered)
		return false;
	if (!(v->acked & BIT(VIRTIO_F_VERSION_1)) || !(v->acked & BIT(VIRTIO_F_ACCESS_PLATFORM)))
		return false;
	if ((v->acked & BIT(VIRTIO_NET_F_MQ)) && !(v->acked & BIT(VIRTIO_NET_F_CTRL_VQ)))
		return false;
	return true;
}

/* --- register access (pread/pwrite of BAR4) ---------------------------------------- */

/* the common configuration structure (4.1.4.3) */
struct common_cfg {
	uint32_t device_feature_select, device_feature, driver_feature_select, driver_feature;
	uint16_t config_msix_vector, num_queues;
	uint8_t device_status, config_generation;
	uint16_t queue_select, queue_size, queue_msix_vector, queue_enable, queue_notify_off;
	uint64_t queue_desc, queue_driver, queue_device;
} __attribute__((packed));

static void common_read_view(struct vnet *v, struct common_cfg *c)
{
	struct emu_vq *q = v->queue_select < nqueues(v) ? &v->vq[v->queue_select] : NULL;

	memset(c, 0, sizeof(*c));
	c->device_feature_select = htole32(v->dfselect);
	c->device_feature = htole32(v->dfselect < 2 ? (uint32_t)(v->offered >> (32 * v->dfselect)) : 0);
	c->driver_feature_select = htole32(v->gfselect);
	c->driver_feature = htole32(v->gfselect < 2 ? (uint32_t)(v->acked >> (32 * v->gfselect)) : 0);
	c->config_msix_vector = htole16(v->config_msix);
	c->num_queues = htole16(nqueues(v));
	c->device_status = v->status;
	c->config_generation = v->generation;
	c->queue_select = htole16(v->queue_select);
	if (q) {
		c->queue_size = htole16(q->size ? q->size : v->qsize_max);
		c->queue_msix_vector = htole16(q->msix);
		c->queue_enable = htole16(q->enabled);
		c->queue_notify_off = htole16(v->queue_select);
		c->queue_desc = htole64(q->desc);
		c->queue_driver = htole64(q->avail);
		c->queue_device = htole64(q->used);
	}
}

static bool touches(uint64_t off, size_t len, size_t field, size_t flen)
{
	return off < field + flen && field < off + len;
}

#define FIELD(m) offsetof(struct common_cfg, m), sizeof(((struct common_cfg *)0)->m)

static void write_status(struct vnet *v, uint8_t val)
{
	if (val == 0) {
		vnet_reset_locked(v);
		return;
	}
	if ((val & S_FEATURES_OK) && !(v->status & S_FEATURES_OK) && !features_ok(v))
		val &= ~S_FEATURES_OK; /* the driver reads it back and gives up */
	v->status = val;
}

static void common_write(struct vnet *v, uint64_t off, const void *buf, size_t len)
{
	struct common_cfg c;
	struct emu_vq *q;

	common_read_view(v, &c);
	if (off + len > sizeof(c))
		return; /* beyond the structure: ignored */
	memcpy((uint8_t *)&c + off, buf, len);
	if (touches(off, len, FIELD(device_feature_select)))
		v->dfselect = le32toh(c.device_feature_select);
	if (touches(off, len, FIELD(driver_feature_select)))
		v->gfselect = le32toh(c.driver_feature_select);
	if (touches(off, len, FIELD(driver_feature)) && v->gfselect < 2 && !(v->status & S_FEATURES_OK)) {
		uint64_t mask = 0xffffffffULL << (32 * v->gfselect);
		v->acked = (v->acked & ~mask) | ((uint64_t)le32toh(c.driver_feature) << (32 * v->gfselect));
	}
	if (touches(off, len, FIELD(config_msix_vector))) {
		uint16_t vec = le16toh(c.config_msix_vector);
		v->config_msix = vec < nqueues(v) + 1 ? vec : 0xffff;
	}
	if (touches(off, len, FIELD(device_status)))
		write_status(v, c.device_status);
	if (touches(off, len, FIELD(queue_select)))
		v->queue_select = le16toh(c.queue_select);
	if (v->queue_select >= nqueues(v))
		return;
	q = &v->vq[v->queue_select];
	if (q->enabled)
		return; /* a live queue's configuration does not change */
	if (touches(off, len, FIELD(queue_size))) {
		uint16_t size = le16toh(c.queue_size);
		q->size = size && size <= v->qsize_max && !(size & (size - 1)) ? size : 0;
	}
	if (touches(off, len, FIELD(queue_msix_vector))) {
		/* a vector beyond the MSI-X table reads back as none (QEMU's virtio-pci) */
		uint16_t vec = le16toh(c.queue_msix_vector);
		q->msix = vec < nqueues(v) + 1 ? vec : 0xffff;
	}
	if (touches(off, len, FIELD(queue_desc)))
		q->desc = le64toh(c.queue_desc);
	if (touches(off, len, FIELD(queue_driver)))
		q->avail = le64toh(c.queue_driver);
	if (touches(off, len, FIELD(queue_device)))
		q->used = le64toh(c.queue_device);
	if (touches(off, len, FIELD(queue_enable)) && le16toh(c.queue_enable) == 1) {
		if (q->size == 0)
			q->size = v->qsize_max;
		q->enabled = true;
	}
}

/* struct virtio_net_config: mac, status, max_virtqueue_pairs, mtu, speed, duplex */
static void devcfg_read(struct vnet *v, uint64_t off, void *buf, size_t len)
{
	uint8_t cfg[20] = { 0 };
	uint16_t status = htole16(1 /* LINK_UP */), pairs = htole16(v->max_qp), mtu = htole16(v->mtu);
	uint32_t speed = htole32(v->speed);

	memcpy(cfg, v->mac, 6);
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(cfg + 10, &mtu, 2);
	memcpy(cfg + 12, &speed, 4);
	cfg[16] = v->duplex;
	memset(buf, 0, len);
	if (off < sizeof(cfg))
		memcpy(buf, cfg + off, off + len <= sizeof(cfg) ? len : sizeof(cfg) - off);
}

static bool vnet_bar_access(struct emu_device *d, unsigned int bar, uint64_t off, void *buf,
			    size_t len, bool write)
{
	struct vnet *v = vnet_of(d);

	if (bar != 4 || off >= NOTIFY_OFF)
		return false; /* the notify area and the MSI-X table: plain memory */
	pthread_rwlock_wrlock(&v->state);
	if (off < ISR_OFF) {
		if (write) {
			common_write(v, off, buf, len);
		} else {
			struct common_cfg c;
			common_read_view(v, &c);
			memset(buf, 0, len);
			if (off < sizeof(c))
				memcpy(buf, (uint8_t *)&c + off, off + len <= sizeof(c) ? len : sizeof(c) - off);
		}
	} else if (off < DEVCFG_OFF) {
		if (!write) {
			memset(buf, 0, len);
			*(uint8_t *)buf = v->isr; /* reading clears it */
			v->isr = 0;
		}
	} else if (!write) {
		devcfg_read(v, off - DEVCFG_OFF, buf, len);
	}
	pthread_rwlock_unlock(&v->state);
	return true;
}

/* --- set-up ------------------------------------------------------------------------- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/* cpus=A[:B...]: the CPUs the device threads are pinned to, thread t on the
 * (t % count)-th (':' separates: ',' separates device options). */
static int parse_cpus(struct vnet *v, const char *val, char *err, size_t errlen)
{
	const char *p = val;

	v->ncpus = 0;
	do {
		char *end;
		unsigned long cpu;
		errno = 0;
		cpu = strtoul(p, &end, 10);
		if (errno || end == p || (*end && *end != ':') || cpu >= CPU_SETSIZE || v->ncpus == VNET_MAX_QP) {
			snprintf(err, errlen, "cpus=%s: CPU numbers below %d separated by ':', at most %d", val,
				 CPU_SETSIZE, VNET_MAX_QP);
			return -EINVAL;
		}
		v->cpus[v->ncpus++] = (uint16_t)cpu;
		p = *end ? end + 1 : end;
	} while (*p);
	return 0;
}

static int vnet_option(struct vnet *v, const char *key, const char *val, char *err, size_t errlen)
{
	unsigned long n;
	char *end;
	int ret = emu_wire_option(&v->wire, key, val, err, errlen);

	if (ret <= 0)
		return ret;
	if (strcmp(key, "mac") == 0) {
		if (parse_mac(val, v->mac_default) == 0)
			return 0;
		snprintf(err, errlen, "mac=%s: expected xx:xx:xx:xx:xx:xx", val);
		return -EINVAL;
	}
	n = strtoul(val, &end, 0);
	if (*end == '\0' && strcmp(key, "queues") == 0 && n >= 1 && n <= VNET_MAX_QP) {
		v->max_qp = (uint16_t)n;
		return 0;
	}
	if (*end == '\0' && strcmp(key, "qsize") == 0 && n >= 2 && n <= 32768 && !(n & (n - 1))) {
		v->qsize_max = (uint16_t)n;
		return 0;
	}
	if (*end == '\0' && strcmp(key, "mtu") == 0 && n >= 68 && n <= WIRE_MAX_FRAME - 14) {
		v->mtu = (uint16_t)n;
		return 0;
	}
	if (strcmp(key, "speed") == 0 && (strcmp(val, "unknown") == 0 || (*end == '\0' && n <= INT32_MAX))) {
		v->speed = strcmp(val, "unknown") == 0 ? UINT32_MAX : (uint32_t)n; /* 0..INT_MAX are legal */
		return 0;
	}
	if (strcmp(key, "duplex") == 0 && (!strcmp(val, "full") || !strcmp(val, "half") || !strcmp(val, "unknown"))) {
		v->duplex = !strcmp(val, "full") ? 1 : !strcmp(val, "half") ? 0 : 0xff;
		return 0;
	}
	if (*end == '\0' && strcmp(key, "threads") == 0 && n >= 1 && n <= VNET_MAX_QP) {
		v->nthreads = (unsigned int)n;
		return 0;
	}
	if (strcmp(key, "cpus") == 0)
		return parse_cpus(v, val, err, errlen);
	if (strcmp(key, "csum") == 0 && (strcmp(val, "on") == 0 || strcmp(val, "off") == 0)) {
		v->csum = strcmp(val, "on") == 0;
		return 0;
	}
	if (*end == '\0' && strcmp(key, "poll-us") == 0 && n <= 1000000) {
		v->poll_us = (unsigned int)n;
		return 0;
	}
	if (*end == '\0' && strcmp(key, "fault-after") == 0 && n >= 1) {
		v->fault_after = n;
		return 0;
	}
	if (*end == '\0' && strcmp(key, "garbage-after") == 0 && n >= 1) {
		v->garbage_after = n;
		return 0;
	}
	snprintf(err, errlen, "virtio-net option %s=%s is not valid (mac, queues=1..%d, qsize=power of 2,"
		 " mtu, speed=Mb/s|unknown, duplex=full|half|unknown, threads, cpus, csum=on|off, poll-us, fault-after, garbage-after, backend, peer, tap, size, flows, rate, count, pcap-in,"
		 " pcap-out)", key, val, VNET_MAX_QP);
	return -EINVAL;
}

/* Name the thread (vnetD.T in top and /proc) and pin it when cpus= says where. */
static int thread_place(struct vnet *v, unsigned int t, unsigned int index, char *err, size_t errlen)
{
	char name[16];

	snprintf(name, sizeof(name), "vnet%u.%u", index, t);
	pthread_setname_np(v->thr[t].tid, name);
	if (v->ncpus) {
		cpu_set_t set;
		int ret;
		CPU_ZERO(&set);
		CPU_SET(v->cpus[t % v->ncpus], &set);
		if ((ret = pthread_setaffinity_np(v->thr[t].tid, sizeof(set), &set)) != 0) {
			snprintf(err, errlen, "device %s: cannot pin thread %u to CPU %u: %s (cpus= must name CPUs "
				 "this process may run on: see taskset -p $$)", v->d->addr, t, v->cpus[t % v->ncpus],
				 strerror(ret));
			return -ret;
		}
	}
	return 0;
}

static int virtio_cap(struct emu_device *d, uint8_t type, uint8_t bar, uint32_t off, uint32_t len,
		      bool notify)
{
	uint8_t body[18] = { 0 };

	body[0] = notify ? 20 : 16;   /* cap_len */
	body[1] = type;               /* cfg_type */
	body[2] = bar;
	memcpy(body + 6, &off, 4);
	memcpy(body + 10, &len, 4);
	if (notify) {
		uint32_t mult = NOTIFY_MULT;
		memcpy(body + 14, &mult, 4);
	}
	return emu_pci_add_cap(d, 0x09, body, notify ? 18 : 14);
}

static int vnet_init(struct emu_device *d, const char *params, char *err, size_t errlen)
{
	struct vnet *v = calloc(1, sizeof(*v));
	char buf[256], *tok, *save;
	unsigned int index = (unsigned int)(d - d->plat->devices);
	int ret;

	if (v == NULL)
		return -ENOMEM;
	d->priv = v;
	v->d = d;
	pthread_rwlock_init(&v->state, NULL);
	pthread_mutex_init(&v->rx_lock, NULL);
	pthread_mutex_init(&v->tx_lock, NULL);
	v->nthreads = 1;
	emu_wire_init(&v->wire);
	v->max_qp = 1;
	v->qsize_max = 256;
	v->mtu = 1500;
	v->speed = 10000;
	v->duplex = 1;
	v->poll_us = 20;
	v->csum = true;
	memcpy(v->mac_default, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + index) }, 6);
	snprintf(buf, sizeof(buf), "%s", params);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "device %s: virtio-net option '%s' needs a value", d->addr, tok);
			return -EINVAL;
		}
		*eq = '\0';
		char sub[400];
		if ((ret = vnet_option(v, tok, eq + 1, sub, sizeof(sub))) != 0) {
			snprintf(err, errlen, "device %s: %s", d->addr, sub);
			return ret;
		}
	}
	char sub[400];
	if ((ret = emu_wire_start(&v->wire, v->mac_default, index, sub, sizeof(sub))) != 0) {
		snprintf(err, errlen, "device %s: %s", d->addr, sub);
		return ret;
	}
	v->wire.platform = d->plat;
	v->offered = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_ACCESS_PLATFORM) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
		     BIT(VIRTIO_NET_F_MTU) | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_MQ) |
		     BIT(VIRTIO_NET_F_SPEED_DUPLEX) | (v->csum ? BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) : 0);
	vnet_reset_locked(v);
	v->resets = 0;

	d->vendor = 0x1af4;
	d->device_id = 0x1041;        /* 0x1040 + device type 1 (network) */
	d->subsys_vendor = 0x1af4;
	d->subsys_id = 0x1100;
	d->class_code = 0x020000;     /* Ethernet controller */
	if ((ret = emu_pci_bar_alloc(d, 1, 0x1000, false)) != 0 || (ret = emu_pci_bar_alloc(d, 4, 0x4000, true)) != 0)
		return ret;
	/* as QEMU's virtio-net-pci: the whole BAR can be mmap'ed (on a 64 KiB-page kernel a
	 * mapping starts at a page, so the doorbells are reached through a mapping of the
	 * BAR's first page); the model sees its registers through region reads and writes
	 * only, and polls its rings: doorbells are plain memory */
	emu_pci_bar_mmap_area(d, 4, 0, 0x4000);
	/* its common, ISR and device configuration are registers: a program that reaches
	 * them through the mapping (DPDK's net_virtio) gets the model's semantics */
	emu_pci_bar_trap_area(d, 4, COMMON_OFF, NOTIFY_OFF - COMMON_OFF);
	/* as QEMU's virtio-net-pci (test/qemu): the MSI-X BAR can be mmap'ed (ppc64 has
	 * interrupt remapping: MSIX_MAPPABLE); in a pSeries guest the function has no reset
	 * the kernel can use, on PowerNV the root port's bus reset */
	emu_pci_bar_mmap_area(d, 1, 0, 0x1000);
	emu_pci_header(d, 1);
	d->no_reset = !d->pcie;
	emu_pci_add_msix(d, nqueues(v) + 1, 1, 0x000, 0x800);
	virtio_cap(d, 1, 4, COMMON_OFF, 0x1000, false);  /* COMMON_CFG */
	virtio_cap(d, 2, 4, NOTIFY_OFF, 0x1000, true);   /* NOTIFY_CFG */
	virtio_cap(d, 3, 4, ISR_OFF, 0x1000, false);     /* ISR_CFG */
	virtio_cap(d, 4, 4, DEVCFG_OFF, 0x1000, false);  /* DEVICE_CFG */
	virtio_cap(d, 5, 0, 0, 0, false);                /* PCI_CFG */
	if (v->nthreads > v->max_qp) {
		snprintf(err, errlen, "device %s: threads=%u is more than the %u queue pairs", d->addr,
			 v->nthreads, v->max_qp);
		return -EINVAL;
	}
	for (unsigned int t = 0; t < v->nthreads; t++) {
		v->thr[t] = (struct vnet_thread){ .v = v, .index = t };
		v->thr[t].tx_batch = malloc((size_t)TX_BATCH * WIRE_MAX_FRAME);
		if (v->thr[t].tx_batch == NULL)
			return -ENOMEM;
		if (pthread_create(&v->thr[t].tid, NULL, vnet_thread, &v->thr[t]) != 0)
			return -EAGAIN;
		v->thr[t].started = true;
		if ((ret = thread_place(v, t, index, err, errlen)) != 0)
			return ret;
	}
	return 0;
}

static void vnet_fini(struct emu_device *d)
{
	struct vnet *v = vnet_of(d);

	if (v == NULL)
		return;
	atomic_store(&v->stop, true);
	for (unsigned int t = 0; t < v->nthreads; t++)
		if (v->thr[t].started)
			pthread_join(v->thr[t].tid, NULL);
	for (unsigned int t = 0; t < v->nthreads; t++)
		free(v->thr[t].tx_batch);
	emu_wire_fini(&v->wire);
	free(v);
	d->priv = NULL;
}

static void vnet_stats(struct emu_device *d, FILE *out)
{
	struct vnet *v = vnet_of(d);

	pthread_rwlock_rdlock(&v->state);
	fprintf(out, "{\"addr\": \"%s\", \"model\": \"virtio-net\", \"threads\": %u, \"status\": %u, "
		"\"features\": \"0x%llx\", \"active_queue_pairs\": %u, \"resets\": %llu, "
		"\"rx_waits_for_buffers\": %llu, \"rx_dropped_at_reset\": %llu, \"rx_dropped_too_long\": %llu, "
		"\"rx_dropped_no_queue\": %llu, "
		"\"tx_dropped_too_long\": %llu, \"tx_csum_completed\": %llu, \"tx_csum_bad_request\": %llu, "
		"\"rx_csum_valid\": %llu, \"bad_chains\": %llu, \"ctrl_commands\": %llu, \"threads_cpu_ns\": %llu, "
		"\"first_rx_after_start_ns\": %lld, \"first_tx_after_start_ns\": %lld, \"queues\": [",
		d->addr, v->nthreads, v->status,
		(unsigned long long)v->acked, v->active_qp, (unsigned long long)v->resets,
		(unsigned long long)v->rx_nobuf_waits, (unsigned long long)v->rx_dropped_at_reset,
		(unsigned long long)v->rx_toolong, (unsigned long long)v->rx_no_queue,
		(unsigned long long)v->tx_toolong, (unsigned long long)v->tx_csum_completed,
		(unsigned long long)v->tx_csum_bad_request, (unsigned long long)v->rx_csum_valid,
		(unsigned long long)v->bad_chains,
		(unsigned long long)v->ctrl_cmds, (unsigned long long)vnet_threads_cpu_ns(v),
		vnet_since_start(v, v->first_rx_ns), vnet_since_start(v, v->first_tx_ns));
	for (unsigned int i = 0; i < nqueues(v); i++) {
		const struct emu_vq *q = &v->vq[i];
		const char *kind = i == 2u * v->max_qp ? "ctrl" : i % 2 ? "tx" : "rx";
		fprintf(out, "%s{\"index\": %u, \"kind\": \"%s\", \"size\": %u, \"chains\": %llu, "
			"\"bytes\": %llu, \"dma_faults\": %llu, \"irqs\": %llu}", i ? ", " : "", i, kind,
			q->size, (unsigned long long)q->chains, (unsigned long long)q->bytes,
			(unsigned long long)q->faults, (unsigned long long)q->irqs);
	}
	fprintf(out, "], ");
	emu_wire_stats(&v->wire, out);
	fprintf(out, "}");
	pthread_rwlock_unlock(&v->state);
}

static struct emu_wire *wire_of(struct emu_device *d)
{
	return d->model == &emu_virtio_net_model ? &vnet_of(d)->wire : NULL;
}

/* backend=pair: this device's TX goes to its peer's RX */
static int vnet_connect(struct emu_device *d, char *err, size_t errlen)
{
	struct emu_wire *w = wire_of(d), *peer;
	struct emu_device *pd;

	if (w->tx != WIRE_TX_PEER)
		return 0;
	pd = emu_device_find(d->plat, w->peer_addr);
	peer = pd ? wire_of(pd) : NULL;
	if (peer == NULL || peer->rx != WIRE_RX_INBOX) {
		snprintf(err, errlen, "device %s: peer=%s is not a virtio-net device with backend loop or pair",
			 d->addr, w->peer_addr);
		return -EINVAL;
	}
	emu_wire_connect(w, peer);
	return 0;
}

const struct emu_model_ops emu_virtio_net_model = {
	.name = "virtio-net",
	.init = vnet_init,
	.connect = vnet_connect,
	.fini = vnet_fini,
	.reset = vnet_reset,
	.bar_access = vnet_bar_access,
	.write_stats = vnet_stats,
};
