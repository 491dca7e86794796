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
 *     IOMMU), MAC, STATUS, MTU, MRG_RXBUF, CTRL_VQ, CTRL_RX, MQ;
 *   - split virtqueues: rx0, tx0, rx1, tx1, ..., then the control queue;
 *   - threads=N device threads poll the queue pairs (qp % N); every ring and buffer access is a DMA
 *     through the TCE tables (emu_virtq.c); frames go to and come from a wire back-end.
 * Options: mac=, queues= (pairs, 1..8), qsize= (max ring size), mtu=, threads=, poll-us= (sleep
 * when idle, 0: busy poll), and the wire's (emu_wire.h).
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "emu_internal.h"
#include "emu_virtq.h"
#include "emu_wire.h"

#define VNET_MAX_QP 8
#define VNET_NQ (2 * VNET_MAX_QP + 1)
#define COMMON_OFF 0x0000
#define ISR_OFF 0x1000
#define DEVCFG_OFF 0x2000
#define NOTIFY_OFF 0x3000
#define NOTIFY_MULT 4
#define HDR_LEN sizeof(struct virtio_net_hdr_v1) /* 12 */
#define TX_BATCH 32

/* feature bits (VIRTIO_NET_F_*, VIRTIO_F_*) and status bits (VIRTIO_CONFIG_S_*) are the
 * uapi's: the same definitions as the driver's */
#define BIT(n) (1ULL << (n))
#define S_ACKNOWLEDGE VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER VIRTIO_CONFIG_S_DRIVER
#define S_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK
#define S_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAILED VIRTIO_CONFIG_S_FAILED

struct vnet;

/* A device thread polls the queue pairs qp with qp % nthreads == index. */
struct vnet_thread {
	struct vnet *v;
	unsigned int index;
	pthread_t tid;
	bool started;
	uint8_t tx_frame[WIRE_MAX_FRAME];
};

/* An RX frame taken from the wire, waiting for buffers of its queue pair. */
struct vnet_stage { uint32_t len; uint8_t frame[WIRE_MAX_FRAME]; };

struct vnet {
	struct emu_device *d;
	pthread_rwlock_t state;     /* register accesses (exclusive) vs. the device threads */
	pthread_mutex_t rx_lock;    /* the wire's RX side and the staging slots */
	pthread_mutex_t tx_lock;    /* the wire's TX side */
	struct vnet_thread thr[VNET_MAX_QP];
	unsigned int nthreads;
	atomic_bool stop;
	unsigned int poll_us;
	/* configuration */
	uint8_t mac[6], mac_default[6];
	uint16_t mtu, max_qp, qsize_max;
	uint64_t offered;
	/* driver-visible state */
	uint64_t acked;
	uint32_t dfselect, gfselect;
	uint16_t config_msix, queue_select, active_qp;
	uint8_t status, generation, isr;
	bool promisc, allmulti;
	struct emu_vq vq[VNET_NQ];
	/* the wire and what is in flight */
	struct emu_wire wire;
	struct vnet_stage stage[VNET_MAX_QP];
	/* counters */
	uint64_t rx_nobuf_waits, rx_toolong, tx_toolong, bad_chains, ctrl_cmds, resets;
	uint64_t rx_dropped_at_reset;
	uint64_t first_rx_ns, first_tx_ns;  /* CLOCK_MONOTONIC of the first frame each way */
	uint64_t fault_after;  /* fault-after=N: a DMA to no window after N frames (a device bug) */
	uint64_t frames;       /* frames moved, both ways */
};

static struct vnet *vnet_of(struct emu_device *d) { return d->priv; }
static unsigned int nqueues(const struct vnet *v) { return 2 * v->max_qp + 1; }

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
	if (touches(off, len, FIELD(config_msix_vector)))
		v->config_msix = le16toh(c.config_msix_vector);
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
	if (touches(off, len, FIELD(queue_msix_vector)))
		q->msix = le16toh(c.queue_msix_vector);
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

/* struct virtio_net_config: mac, status, max_virtqueue_pairs, mtu */
static void devcfg_read(struct vnet *v, uint64_t off, void *buf, size_t len)
{
	uint8_t cfg[16] = { 0 };
	uint16_t status = htole16(1 /* LINK_UP */), pairs = htole16(v->max_qp), mtu = htole16(v->mtu);

	memcpy(cfg, v->mac, 6);
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(cfg + 10, &mtu, 2);
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

/* --- the data path (device threads, state read-locked) ----------------------------- */

#define COUNT(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time the device threads have used: the model's own cost. */
static uint64_t threads_cpu_ns(const struct vnet *v)
{
	uint64_t total = 0;

	for (unsigned int t = 0; t < v->nthreads; t++) {
		clockid_t cid;
		struct timespec ts;
		if (v->thr[t].started && pthread_getcpuclockid(v->thr[t].tid, &cid) == 0 &&
		    clock_gettime(cid, &ts) == 0)
			total += (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	return total;
}

/* ns after the program started, or -1 if it never happened */
static long long since_start(const struct vnet *v, uint64_t ns)
{
	return ns ? (long long)(ns - v->d->plat->created_ns) : -1;
}

/* A DMA fault froze the PE (the device stops), or the driver broke the ring
 * (the device needs a reset: DEVICE_NEEDS_RESET). */
static int ring_error(struct vnet *v, struct emu_vq *q, int ret)
{
	if (ret == -EACCES) /* bus mastering off: the device waits, as a real one would */
		return ret;
	if (ret == -EIO) {
		q->faults++;
	} else {
		COUNT(v->bad_chains);
		__atomic_or_fetch(&v->status, S_NEEDS_RESET, __ATOMIC_RELAXED);
	}
	return ret;
}

static int process_tx(struct vnet *v, struct vnet_thread *t, struct emu_vq *q)
{
	struct emu_vq_elem e;
	int n = 0, ret;

	while (n < TX_BATCH && (ret = emu_vq_pop(v->d, q, &e)) == 1) {
		uint32_t len = e.out_len > HDR_LEN ? e.out_len - HDR_LEN : 0;
		if (len > WIRE_MAX_FRAME || len == 0) {
			COUNT(v->tx_toolong);
		} else if ((ret = emu_vq_read(v->d, &e, HDR_LEN, t->tx_frame, len)) != 0) {
			return ring_error(v, q, ret);
		} else {
			pthread_mutex_lock(&v->tx_lock);
			emu_wire_tx(&v->wire, t->tx_frame, len);
			if (v->first_tx_ns == 0)
				v->first_tx_ns = mono_ns();
			pthread_mutex_unlock(&v->tx_lock);
		}
		if ((ret = emu_vq_push(v->d, q, e.head, 0)) != 0)
			return ring_error(v, q, ret);
		n++;
	}
	if (ret < 0)
		return ring_error(v, q, ret);
	if ((ret = emu_vq_flush(v->d, q)) != 0)
		return ring_error(v, q, ret);
	return n;
}

/* Deliver the staged frame of a queue pair into one or (MRG_RXBUF) more chains of its
 * RX queue: 1 done, 0 not now (no buffers, or dropped as too long), <0 error. */
static int deliver(struct vnet *v, unsigned int qp)
{
	struct vnet_stage *st = &v->stage[qp];
	struct emu_vq *q = &v->vq[2 * qp];
	bool mrg = v->acked & BIT(VIRTIO_NET_F_MRG_RXBUF);
	uint32_t need = HDR_LEN + st->len, got = 0, off = 0;
	struct emu_vq_elem e[16];
	uint16_t first = q->last_avail, nbuf = 0;
	int ret;

	while (got < need) {
		if (nbuf == 16 || (nbuf && !mrg)) {
			/* one chain too small without MRG_RXBUF (or a frame needing too many) */
			q->last_avail = first;
			q->chains -= nbuf;
			COUNT(v->rx_toolong);
			return 2; /* dropped: the slot is free again */
		}
		ret = emu_vq_pop(v->d, q, &e[nbuf]);
		if (ret == 0) {
			q->last_avail = first; /* not enough buffers: keep the frame for later */
			q->chains -= nbuf;
			COUNT(v->rx_nobuf_waits);
			return 0;
		}
		if (ret < 0)
			return ring_error(v, q, ret);
		got += e[nbuf++].in_len;
	}
	uint8_t hdr[HDR_LEN] = { 0 };
	uint16_t num = htole16(nbuf);
	memcpy(hdr + 10, &num, 2); /* num_buffers */
	for (uint16_t b = 0; b < nbuf; b++) {
		uint32_t room = e[b].in_len, used = 0;
		if (b == 0) {
			if ((ret = emu_vq_write(v->d, &e[0], 0, hdr, HDR_LEN)) != 0)
				return ring_error(v, q, ret);
			used = HDR_LEN;
		}
		uint32_t chunk = room - used < st->len - off ? room - used : st->len - off;
		if (chunk && (ret = emu_vq_write(v->d, &e[b], used, st->frame + off, chunk)) != 0)
			return ring_error(v, q, ret);
		off += chunk;
		if ((ret = emu_vq_push(v->d, q, e[b].head, used + chunk)) != 0)
			return ring_error(v, q, ret);
	}
	return 1;
}

/* Take frames from the wire into the staging slots of their queue pairs (by flow),
 * in wire order: a full slot blocks the frames behind it, so no flow is reordered. */
static void stage_frames(struct vnet *v)
{
	uint16_t active = v->active_qp;

	pthread_mutex_lock(&v->rx_lock);
	while (emu_wire_rx_ready(&v->wire)) {
		unsigned int qp = emu_wire_next_flow(&v->wire) % active;
		uint32_t flow;
		if (v->stage[qp].len)
			break;
		v->stage[qp].len = emu_wire_rx(&v->wire, v->stage[qp].frame, &flow);
		if (v->stage[qp].len == 0)
			break;
	}
	pthread_mutex_unlock(&v->rx_lock);
}

static int process_rx(struct vnet *v, unsigned int qp)
{
	int n = 0, ret = 0;

	while (n < TX_BATCH) {
		stage_frames(v);
		if (__atomic_load_n(&v->stage[qp].len, __ATOMIC_ACQUIRE) == 0)
			break;
		ret = deliver(v, qp);
		if (ret <= 0)
			break;
		pthread_mutex_lock(&v->rx_lock);
		v->stage[qp].len = 0;
		if (ret == 1 && v->first_rx_ns == 0)
			v->first_rx_ns = mono_ns();
		pthread_mutex_unlock(&v->rx_lock);
		n += ret == 1;
	}
	if (ret < 0)
		return ret;
	if ((ret = emu_vq_flush(v->d, &v->vq[2 * qp])) != 0)
		return ring_error(v, &v->vq[2 * qp], ret);
	return n;
}

/* The control queue (5.1.6.5): RX mode, MAC, MQ. */
static int process_ctrl(struct vnet *v)
{
	struct emu_vq *q = &v->vq[2 * v->max_qp];
	struct emu_vq_elem e;
	int n = 0, ret;

	while ((ret = emu_vq_pop(v->d, q, &e)) == 1) {
		uint8_t cmd[2 + 8], ack = 1; /* VIRTIO_NET_ERR */
		uint32_t len = e.out_len < sizeof(cmd) ? e.out_len : sizeof(cmd);

		if (len < 2 || e.in_len < 1 || (ret = emu_vq_read(v->d, &e, 0, cmd, len)) != 0) {
			if (ret)
				return ring_error(v, q, ret);
		} else if (cmd[0] == 0 && cmd[1] <= 1 && len >= 3) {        /* RX: PROMISC, ALLMULTI */
			*(cmd[1] ? &v->allmulti : &v->promisc) = cmd[2];
			ack = 0;
		} else if (cmd[0] == 1 && cmd[1] == 1 && len >= 8) {        /* MAC: ADDR_SET */
			memcpy(v->mac, cmd + 2, 6);
			ack = 0;
		} else if (cmd[0] == 1 && cmd[1] == 0) {                    /* MAC: TABLE_SET */
			ack = 0;
		} else if (cmd[0] == 4 && cmd[1] == 0 && len >= 4) {        /* MQ: VQ_PAIRS_SET */
			uint16_t pairs = (uint16_t)(cmd[2] | cmd[3] << 8);
			if (pairs >= 1 && pairs <= v->max_qp && (v->acked & BIT(VIRTIO_NET_F_MQ))) {
				__atomic_store_n(&v->active_qp, pairs, __ATOMIC_RELEASE);
				ack = 0;
			}
		}
		if ((ret = emu_vq_write(v->d, &e, 0, &ack, 1)) != 0 ||
		    (ret = emu_vq_push(v->d, q, e.head, 1)) != 0)
			return ring_error(v, q, ret);
		COUNT(v->ctrl_cmds);
		n++;
	}
	if (ret < 0)
		return ring_error(v, q, ret);
	if ((ret = emu_vq_flush(v->d, q)) != 0)
		return ring_error(v, q, ret);
	return n;
}

/* fault-after=N: once N frames have moved, the device writes to an address no window
 * covers, as a buggy device would; the IOMMU refuses and the PE freezes (EEH). */
static void misbehave(struct vnet *v, unsigned int frames)
{
	static const uint8_t junk[8];

	if (__atomic_add_fetch(&v->frames, frames, __ATOMIC_RELAXED) >= v->fault_after &&
	    __atomic_exchange_n(&v->fault_after, 0, __ATOMIC_RELAXED))
		emu_dma_write(v->d, 0x7fff000000000000ULL, junk, sizeof(junk));
}

static int poll_once(struct vnet *v, struct vnet_thread *t)
{
	int work = 0, ret;

	for (unsigned int qp = t->index; qp < v->max_qp; qp += v->nthreads) {
		if (qp >= v->active_qp)
			break;
		if ((ret = process_tx(v, t, &v->vq[2 * qp + 1])) < 0 || (work += ret,
		    (ret = process_rx(v, qp)) < 0))
			return 0;
		work += ret;
	}
	if (t->index == 0 && (v->acked & BIT(VIRTIO_NET_F_CTRL_VQ)) && (ret = process_ctrl(v)) > 0)
		work += ret;
	if (work > 0 && v->fault_after)
		misbehave(v, (unsigned int)work);
	return work;
}

static void *vnet_thread(void *arg)
{
	struct vnet_thread *t = arg;
	struct vnet *v = t->v;
	unsigned int idle = 0;

	while (!atomic_load(&v->stop)) {
		int work = 0;

		pthread_rwlock_rdlock(&v->state);
		uint8_t status = __atomic_load_n(&v->status, __ATOMIC_RELAXED);
		if ((status & S_DRIVER_OK) && !(status & S_NEEDS_RESET) && !emu_device_frozen(v->d))
			work = poll_once(v, t);
		pthread_rwlock_unlock(&v->state);
		if (work) {
			idle = 0;
		} else if (++idle > 64 && v->poll_us) {
			struct timespec ts = { 0, (long)v->poll_us * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
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
	if (*end == '\0' && strcmp(key, "threads") == 0 && n >= 1 && n <= VNET_MAX_QP) {
		v->nthreads = (unsigned int)n;
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
	snprintf(err, errlen, "virtio-net option %s=%s is not valid (mac, queues=1..%d, qsize=power of 2,"
		 " mtu, threads, poll-us, fault-after, backend, peer, tap, size, flows, rate, count, pcap-in,"
		 " pcap-out)", key, val, VNET_MAX_QP);
	return -EINVAL;
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
	v->poll_us = 20;
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
		     BIT(VIRTIO_NET_F_MTU) | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_MQ);
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
	/* as QEMU's virtio-net-pci in a pSeries guest (test/qemu): the MSI-X BAR can be
	 * mmap'ed (ppc64 has interrupt remapping: MSIX_MAPPABLE), and the function has no
	 * reset the kernel can use */
	emu_pci_bar_mmap_area(d, 1, 0, 0x1000);
	d->no_reset = true;
	emu_pci_header(d, 1);
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
		if (pthread_create(&v->thr[t].tid, NULL, vnet_thread, &v->thr[t]) != 0)
			return -EAGAIN;
		v->thr[t].started = true;
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
		"\"tx_dropped_too_long\": %llu, "
		"\"bad_chains\": %llu, \"ctrl_commands\": %llu, \"threads_cpu_ns\": %llu, "
		"\"first_rx_after_start_ns\": %lld, \"first_tx_after_start_ns\": %lld, \"queues\": [",
		d->addr, v->nthreads, v->status,
		(unsigned long long)v->acked, v->active_qp, (unsigned long long)v->resets,
		(unsigned long long)v->rx_nobuf_waits, (unsigned long long)v->rx_dropped_at_reset,
		(unsigned long long)v->rx_toolong,
		(unsigned long long)v->tx_toolong, (unsigned long long)v->bad_chains,
		(unsigned long long)v->ctrl_cmds, (unsigned long long)threads_cpu_ns(v),
		since_start(v, v->first_rx_ns), since_start(v, v->first_tx_ns));
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
