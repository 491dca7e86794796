/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net model's data path: device threads poll their queue pairs (state
 * read-locked against register accesses), take TX chains to the wire, deliver the
 * wire's frames into RX buffers (MRG_RXBUF), answer the control queue; every ring and
 * buffer access is a DMA through the TCE tables.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "emu_csum.h"
#include "emu_virtio_net.h"

#define COUNT(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time the device threads have used: the model's own cost. */
uint64_t vnet_threads_cpu_ns(const struct vnet *v)
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
long long vnet_since_start(const struct vnet *v, uint64_t ns)
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

/* A TX frame out of its chain; with CSUM, the checksum the driver left partial
 * (NEEDS_CSUM: csum_start, csum_offset) is completed, as the device's job is. */
static int tx_read(struct vnet *v, const struct emu_vq_elem *e, uint8_t *frame, uint32_t len)
{
	struct virtio_net_hdr_v1 h;
	int ret;

	if ((ret = emu_vq_read(v->d, e, HDR_LEN, frame, len)) != 0 || !(v->acked & BIT(VIRTIO_NET_F_CSUM)))
		return ret;
	if ((ret = emu_vq_read(v->d, e, 0, &h, HDR_LEN)) != 0 || !(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return ret;
	if (emu_csum_complete(frame, len, le16toh(h.csum_start), le16toh(h.csum_offset)))
		COUNT(v->tx_csum_completed);
	else
		COUNT(v->tx_csum_bad_request);
	return 0;
}

/* TX: a burst of chains in one DMA session, their frames copied out (a back-end that
 * keeps nothing only has them read through the IOMMU); the wire gets them after the
 * session: a checker samples the platform under its lock, which an ioctl holds while
 * it waits for the DMA lock. */
static int process_tx(struct vnet *v, struct vnet_thread *t, struct emu_vq *q)
{
	bool keep = emu_wire_tx_needs_data(&v->wire);
	uint32_t lens[TX_BATCH], nframes = 0;
	uint64_t bytes = 0;
	struct emu_vq_elem e;
	int n = 0, ret = 0;

	emu_dma_begin(v->d->plat);
	while (n < TX_BATCH && (ret = emu_vq_pop(v->d, q, &e)) == 1) {
		uint32_t len = e.out_len > HDR_LEN ? e.out_len - HDR_LEN : 0;
		if (len > WIRE_MAX_FRAME || len == 0) {
			COUNT(v->tx_toolong);
		} else if ((ret = keep ? tx_read(v, &e, t->tx_batch + (size_t)nframes * WIRE_MAX_FRAME, len) :
				  emu_vq_check(v->d, &e, HDR_LEN, len)) != 0) {
			break;
		} else {
			lens[nframes++] = len;
			bytes += len;
		}
		if ((ret = emu_vq_push(v->d, q, e.head, 0)) != 0)
			break;
		n++;
	}
	if (ret >= 0)
		ret = emu_vq_flush(v->d, q);
	emu_dma_end();
	if (nframes) {
		pthread_mutex_lock(&v->tx_lock);
		if (keep)
			for (uint32_t i = 0; i < nframes; i++)
				emu_wire_tx(&v->wire, t->tx_batch + (size_t)i * WIRE_MAX_FRAME, lens[i]);
		else
			emu_wire_tx_count(&v->wire, nframes, bytes);
		if (v->first_tx_ns == 0)
			v->first_tx_ns = mono_ns();
		pthread_mutex_unlock(&v->tx_lock);
	}
	return ret < 0 ? ring_error(v, q, ret) : n;
}

/* Deliver a frame into one or (MRG_RXBUF) more chains of queue pair qp's RX queue:
 * 1 done, 2 dropped (too long: it goes), 0 not now (no buffers), <0 error. */
static int deliver(struct vnet *v, unsigned int qp, const uint8_t *frame, uint32_t len, int l4_valid)
{
	struct emu_vq *q = &v->vq[2 * qp];
	bool mrg = v->acked & BIT(VIRTIO_NET_F_MRG_RXBUF);
	uint32_t need = HDR_LEN + len, got = 0, off = 0;
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
	/* GUEST_CSUM: the device validated the frame's TCP/UDP checksum (as a NIC that
	 * checks what it receives, or QEMU when the host says so) */
	if ((v->acked & BIT(VIRTIO_NET_F_GUEST_CSUM)) &&
	    (l4_valid < 0 ? emu_csum_l4_valid(frame, len) : l4_valid)) {
		hdr[0] = VIRTIO_NET_HDR_F_DATA_VALID;
		COUNT(v->rx_csum_valid);
	}
	for (uint16_t b = 0; b < nbuf; b++) {
		uint32_t room = e[b].in_len, used = 0;
		if (b == 0) {
			if ((ret = emu_vq_write(v->d, &e[0], 0, hdr, HDR_LEN)) != 0)
				return ring_error(v, q, ret);
			used = HDR_LEN;
		}
		uint32_t chunk = room - used < len - off ? room - used : len - off;
		if (chunk && (ret = emu_vq_write(v->d, &e[b], used, frame + off, chunk)) != 0)
			return ring_error(v, q, ret);
		off += chunk;
		if ((ret = emu_vq_push(v->d, q, e[b].head, used + chunk)) != 0)
			return ring_error(v, q, ret);
	}
	return 1;
}

/* Take frames from the wire into the staging slots of their queue pairs (by flow),
 * in wire order: a full slot blocks the frames behind it, so no flow is reordered. A
 * frame for a pair whose RX queue the driver left disabled (fewer RX than TX queues) is
 * dropped and counted: it would wait there forever and block every other pair. */
static void stage_frames(struct vnet *v)
{
	uint16_t active = v->active_qp;
	static __thread struct wire_frame scratch;

	pthread_mutex_lock(&v->rx_lock);
	while (emu_wire_rx_ready(&v->wire)) {
		unsigned int qp = emu_wire_next_flow(&v->wire) % active;
		uint32_t flow;
		if (!v->vq[2 * qp].enabled) {
			if (emu_wire_rx(&v->wire, scratch.data, &flow) == 0)
				break;
			COUNT(v->rx_no_queue);
			continue;
		}
		if (v->stage[qp].len)
			break;
		v->stage[qp].len = emu_wire_rx(&v->wire, v->stage[qp].frame, &flow);
		if (v->stage[qp].len == 0)
			break;
	}
	pthread_mutex_unlock(&v->rx_lock);
}

/* RX from the wire's frames, through the staging slots. */
static int staged_rx(struct vnet *v, unsigned int qp)
{
	struct vnet_stage *st = &v->stage[qp];
	int n = 0, ret = 0;

	while (n < TX_BATCH) {
		stage_frames(v);
		if (__atomic_load_n(&st->len, __ATOMIC_ACQUIRE) == 0)
			break;
		ret = deliver(v, qp, st->frame, st->len, -1);
		if (ret <= 0)
			break;
		pthread_mutex_lock(&v->rx_lock);
		st->len = 0;
		if (ret == 1 && v->first_rx_ns == 0)
			v->first_rx_ns = mono_ns();
		pthread_mutex_unlock(&v->rx_lock);
		n += ret == 1;
	}
	return ret < 0 ? ret : n;
}

/* RX from replayed frames: straight from the wire's copy into the buffers, nothing
 * staged or locked (each queue pair has its own place in the frames). */
static int replay_rx(struct vnet *v, unsigned int qp)
{
	uint16_t active = v->active_qp;
	uint64_t bytes = 0;
	int n = 0, ret = 0;

	while (n < TX_BATCH) {
		const uint8_t *frame;
		bool l4_valid;
		uint32_t cursor = v->replay_cursor[qp];
		uint32_t len = emu_wire_replay_next(&v->wire, &cursor, qp, active, &frame, &l4_valid);
		if (len == 0)
			break;
		ret = deliver(v, qp, frame, len, l4_valid);
		if (ret <= 0) {
			emu_wire_replay_unget(&v->wire);
			break;
		}
		v->replay_cursor[qp] = cursor;
		if (ret == 1) {
			n++;
			bytes += len;
		}
	}
	if (n) {
		emu_wire_rx_count(&v->wire, (uint64_t)n, bytes);
		if (__atomic_load_n(&v->first_rx_ns, __ATOMIC_RELAXED) == 0)
			__atomic_store_n(&v->first_rx_ns, mono_ns(), __ATOMIC_RELAXED);
	}
	return ret < 0 ? ret : n;
}

/* RX: a burst in one DMA session (staging takes only the device's RX lock). */
static int process_rx(struct vnet *v, unsigned int qp)
{
	struct emu_vq *q = &v->vq[2 * qp];
	int n, ret;

	emu_dma_begin(v->d->plat);
	n = v->wire.rx == WIRE_RX_REPLAY ? replay_rx(v, qp) : staged_rx(v, qp);
	ret = n < 0 ? n : emu_vq_flush(v->d, q);
	emu_dma_end();
	if (ret < 0)
		return n < 0 ? n : ring_error(v, q, ret);
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

	if (__atomic_add_fetch(&v->frames, frames, __ATOMIC_RELAXED) >= v->fault_after && v->fault_after &&
	    __atomic_exchange_n(&v->fault_after, 0, __ATOMIC_RELAXED))
		emu_dma_write(v->d, 0x7fff000000000000ULL, junk, sizeof(junk));
}

/* garbage-after=N: once N frames have moved, queue pair 0's RX and TX used rings get an
 * entry no correct device writes (an id beyond the ring, a length beyond any buffer),
 * published: what a driver must survive. Written by the thread that owns the pair. */
static void write_garbage(struct vnet *v)
{
	if (__atomic_load_n(&v->frames, __ATOMIC_RELAXED) < v->garbage_after ||
	    !__atomic_exchange_n(&v->garbage_after, 0, __ATOMIC_RELAXED))
		return;
	for (unsigned int i = 0; i < 2; i++) {
		struct emu_vq *q = &v->vq[i];
		if (q->enabled && emu_vq_push(v->d, q, (uint16_t)(q->size + 7), 0xfffffff0u) == 0)
			emu_vq_flush(v->d, q);
	}
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
	if (t->index == 0 && (v->acked & BIT(VIRTIO_NET_F_CTRL_VQ))) {
		emu_dma_begin(v->d->plat);
		ret = process_ctrl(v);
		emu_dma_end();
		if (ret > 0)
			work += ret;
	}
	if (work > 0 && (v->fault_after || v->garbage_after))
		misbehave(v, (unsigned int)work);
	if (t->index == 0 && v->garbage_after)
		write_garbage(v);
	return work;
}

void *vnet_thread(void *arg)
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
