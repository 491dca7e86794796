/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path: split rings, one descriptor per RX buffer (mbufs posted with the
 * virtio-net header just before their headroom end), TX with the header pushed into the
 * packet's headroom where it can be (else a per-descriptor header slot), chains for
 * multi-segment packets, MRG_RXBUF for frames larger than one buffer. Batched index
 * updates and one doorbell per burst; no locks and no mapping: the bus DMA-mapped the
 * mempools, mbuf->buf_iova is the IOVA the device uses. No system call either, unless
 * the kernel refused to map the notify area: then each doorbell is a region write.
 */
#include <string.h>

#include <rte_errno.h>
#include <rte_io.h>
#include <rte_mbuf.h>
#include <rte_net.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "spapr_virtio.h"

static inline uint16_t used_idx(const struct svq *q)
{
	return rte_le_to_cpu_16(q->used->idx);
}

static inline void used_elem(const struct svq *q, uint16_t slot, uint32_t *id, uint32_t *len)
{
	const volatile struct vring_used_elem *e = &q->used->ring[slot & q->mask];

	*id = rte_le_to_cpu_32(e->id);
	*len = rte_le_to_cpu_32(e->len);
}

/* The device wrote something a correct device never writes into the used ring (an
 * index beyond what was posted, an id that is not outstanding, a length beyond the
 * buffer). Nothing it wrote is trusted: the queue stops (bursts return 0), once said;
 * the next port start resets the device and the queue. */
void __rte_cold svnet_queue_broken(struct svq *vq, const char *what, uint32_t value, uint32_t limit)
{
	vq->device_errors++;
	if (!vq->broken)
		SVNET_LOG(ERR, "queue %u: the device wrote %s %u (limit %u): queue stopped until the port"
			  " is started again", vq->index, what, value, limit);
	vq->broken = true;
}

/* Used-ring entries the device may still be writing share a cache line with the last
 * ones it wrote: a driver that reads up to the device's position pulls that line away
 * from it, and the device pays for each entry it adds there. When the driver would take
 * every entry there is (more than a line's worth), it leaves those of the last, partly
 * written line for its next poll. */
#define USED_PER_LINE (RTE_CACHE_LINE_SIZE / sizeof(struct vring_used_elem))

static inline uint16_t used_partial_line(uint16_t cons, uint16_t avail)
{
	return avail > USED_PER_LINE ? (uint16_t)((cons + avail) % USED_PER_LINE) : 0;
}

static inline void publish(struct svq *q)
{
	rte_io_wmb(); /* descriptors and ring entries before the index */
	q->avail->idx = rte_cpu_to_le_16(q->avail_idx);
}

/* --- RX ----------------------------------------------------------------------------- */

/* the virtio-net header the device wrote before the frame that starts in m */
static inline const struct virtio_net_hdr_v1 *rx_hdr(const struct rte_mbuf *m)
{
	return (const struct virtio_net_hdr_v1 *)(rte_pktmbuf_mtod(m, const uint8_t *) - SVNET_HDR);
}

/* MRG_RXBUF: how many buffers the device used for the frame that starts in m */
static inline uint16_t num_buffers(const struct rte_mbuf *m)
{
	return rte_le_to_cpu_16(rx_hdr(m)->num_buffers);
}

static inline void post_rx(struct svnet_rxq *q, uint16_t id, struct rte_mbuf *m)
{
	struct svq *vq = &q->vq;

	q->sw[id] = m;
	vq->desc[id].addr = rte_cpu_to_le_64(m->buf_iova + RTE_PKTMBUF_HEADROOM - SVNET_HDR);
	vq->desc[id].len = rte_cpu_to_le_32(m->buf_len - RTE_PKTMBUF_HEADROOM + SVNET_HDR);
	vq->desc[id].flags = rte_cpu_to_le_16(VRING_DESC_F_WRITE);
	vq->avail->ring[vq->avail_idx & vq->mask] = rte_cpu_to_le_16(id);
	vq->avail_idx++;
}

int svnet_rx_fill(struct svnet_rxq *q)
{
	struct rte_mbuf *m[SVNET_FILL_CHUNK];

	for (uint16_t i = 0; i < q->vq.size; i += SVNET_FILL_CHUNK) {
		uint16_t n = RTE_MIN(SVNET_FILL_CHUNK, q->vq.size - i);

		if (rte_pktmbuf_alloc_bulk(q->mp, m, n) != 0) {
			svnet_rx_drain(q);	/* the caller sees the port start fail, nothing held */
			return -ENOMEM;
		}
		for (uint16_t j = 0; j < n; j++)
			post_rx(q, i + j, m[j]);
	}
	publish(&q->vq);
	return 0;
}

/* After the device reset: frames it wrote into the ring that the application never
 * took are lost with the ring; count them (a frame spans num_buffers entries). */
void svnet_rx_count_discarded(struct svnet_rxq *q)
{
	struct svq *vq = &q->vq;
	uint16_t left = used_idx(vq) - vq->used_cons;

	rte_io_rmb();
	while (left) {
		uint32_t id, len;
		uint16_t nbuf = 1;

		used_elem(vq, vq->used_cons, &id, &len);
		if (q->mrg && id < vq->size && q->sw[id]) {
			nbuf = RTE_MAX(1, num_buffers(q->sw[id]));
		}
		nbuf = RTE_MIN(nbuf, left);
		vq->used_cons += nbuf;
		left -= nbuf;
		q->discarded++;
	}
}

void svnet_rx_drain(struct svnet_rxq *q)
{
	for (uint16_t i = 0; q->sw && i < q->vq.size; i++) {
		rte_pktmbuf_free(q->sw[i]);
		q->sw[i] = NULL;
	}
}

/* A used entry names a posted buffer and a length that fits it (the frame's first entry
 * holds the header too). */
static __rte_always_inline bool rx_entry_valid(struct svnet_rxq *q, uint32_t id, uint32_t len, bool first)
{
	struct svq *vq = &q->vq;

	if (unlikely(id >= vq->size || q->sw[id] == NULL)) {
		svnet_queue_broken(vq, "an RX id that is not posted:", id, vq->size);
		return false;
	}
	uint32_t room = q->sw[id]->buf_len - RTE_PKTMBUF_HEADROOM + SVNET_HDR;
	if (unlikely(len > room || (first && len < SVNET_HDR))) {
		svnet_queue_broken(vq, "an RX length out of its buffer:", len, room);
		return false;
	}
	return true;
}

/* MRG_RXBUF: the frame's other entries (1..nbuf-1) valid too; those of a frame that is
 * chained (nbuf <= 16) name buffers no other entry of the frame names (else one mbuf
 * would be both in the chain and posted again; a dropped frame only posts them again). */
static bool rx_rest_valid(struct svnet_rxq *q, uint16_t nbuf)
{
	struct svq *vq = &q->vq;
	uint32_t ids[16], id, len;

	used_elem(vq, vq->used_cons, &ids[0], &len);
	for (uint16_t k = 1; k < nbuf; k++) {
		used_elem(vq, (uint16_t)(vq->used_cons + k), &id, &len);
		if (!rx_entry_valid(q, id, len, false))
			return false;
		for (uint16_t j = 0; nbuf <= 16 && j < k; j++)
			if (unlikely(ids[j] == id)) {
				svnet_queue_broken(vq, "an RX id twice in one frame:", id, vq->size);
				return false;
			}
		if (nbuf <= 16)
			ids[k] = id;
	}
	return true;
}

uint16_t svnet_rx_burst(void *rxq, struct rte_mbuf **pkts, uint16_t n)
{
	struct svnet_rxq *q = rxq;
	struct svq *vq = &q->vq;
	uint16_t avail = used_idx(vq) - vq->used_cons, got = 0, posted = 0;

	if (avail == 0 || unlikely(vq->broken | __atomic_load_n(&vq->parked, __ATOMIC_RELAXED)))
		return 0;
	if (unlikely(avail > vq->size)) {
		svnet_queue_broken(vq, "a used index ahead by", avail, vq->size);
		return 0;
	}
	rte_io_rmb(); /* the used entries after their index */
	/* rte_eth_dev_set_ptypes() may change it while the port runs */
	const uint32_t ptypes = __atomic_load_n(&q->ptype_mask, __ATOMIC_RELAXED);
	/* and rte_eth_dev_set_vlan_offload() this */
	const bool vlan_strip = __atomic_load_n(&q->vlan_strip, __ATOMIC_RELAXED);
	const uint16_t leave = avail <= n ? used_partial_line(vq->used_cons, avail) : 0;
	while (got < n && avail > leave) {
		uint32_t id, len;
		used_elem(vq, vq->used_cons, &id, &len);
		if (unlikely(!rx_entry_valid(q, id, len, true)))
			break;
		struct rte_mbuf *head = q->sw[id];
		uint16_t nbuf = 1;

		if (q->mrg) {
			nbuf = num_buffers(head);
			if (nbuf == 0)
				nbuf = 1;
			if (nbuf > avail)
				break; /* the rest of this frame is not in the ring yet */
			if (unlikely(nbuf > 1 && !rx_rest_valid(q, nbuf)))
				break;
		}
		/* a fresh buffer for every one taken, or the frame is dropped */
		struct rte_mbuf *fresh[16];
		if (nbuf > 16 || rte_pktmbuf_alloc_bulk(q->mp, fresh, nbuf) != 0) {
			q->nombuf++;
			for (uint16_t k = 0; k < nbuf; k++) {
				used_elem(vq, vq->used_cons, &id, &len);
				post_rx(q, (uint16_t)id, q->sw[id]);
				vq->used_cons++;
			}
			avail -= nbuf;
			posted += nbuf;
			q->errors++;
			continue;
		}
		struct rte_mbuf *prev = NULL;
		uint32_t total = 0;
		for (uint16_t k = 0; k < nbuf; k++) {
			used_elem(vq, vq->used_cons, &id, &len);
			struct rte_mbuf *m = q->sw[id];
			uint32_t data = k == 0 ? len - SVNET_HDR : len;
			m->data_off = RTE_PKTMBUF_HEADROOM - (k == 0 ? 0 : SVNET_HDR);
			m->data_len = (uint16_t)data;
			m->next = NULL;
			if (prev)
				prev->next = m;
			prev = m;
			total += data;
			post_rx(q, (uint16_t)id, fresh[k]);
			vq->used_cons++;
		}
		head->pkt_len = total;
		head->nb_segs = nbuf;
		head->port = q->port;
		head->ol_flags = 0;
		head->packet_type = 0;
		if (q->csum || ptypes)
			svnet_rx_offload(head, ptypes, q->csum, q->guest_csum ? rx_hdr(head)->flags : 0);
		if (unlikely(vlan_strip))
			rte_vlan_strip(head); /* a tagged frame: tag to vlan_tci, RX_VLAN(_STRIPPED) */
		pkts[got++] = head;
		q->bytes += total;
		avail -= nbuf;
		posted += nbuf;
	}
	if (posted) {
		publish(vq);
		svnet_kick(vq);
	}
	q->packets += got;
	return got;
}

/* --- TX ----------------------------------------------------------------------------- */

#define TX_FREE_BULK 64

/* Chains the device has finished with: their descriptors and packets go back. */
static void tx_reclaim(struct svnet_txq *q)
{
	struct svq *vq = &q->vq;
	uint16_t done = used_idx(vq) - vq->used_cons;
	uint16_t outstanding = vq->avail_idx - vq->used_cons;

	if (done == 0 || unlikely(vq->broken))
		return;
	if (unlikely(done > outstanding)) {
		svnet_queue_broken(vq, "a used index ahead of the chains posted by", done, outstanding);
		return;
	}
	done -= used_partial_line(vq->used_cons, done);
	rte_io_rmb();
	/* the packets go back to their pools in bulk: one mempool access per TX_FREE_BULK */
	struct rte_mbuf *sent[TX_FREE_BULK];
	unsigned int nsent = 0;
	while (done--) {
		uint32_t id, len;
		used_elem(vq, vq->used_cons, &id, &len);
		if (unlikely(id >= vq->size || q->sw[id] == NULL)) {
			svnet_queue_broken(vq, "a TX id that is not outstanding:", id, vq->size);
			break;
		}
		vq->used_cons++;
		/* the chain is the driver's own descriptors (the device does not write them) */
		uint16_t d = (uint16_t)id;
		for (;;) {
			q->free[q->nfree++] = d;
			if (!(rte_le_to_cpu_16(vq->desc[d].flags) & VRING_DESC_F_NEXT))
				break;
			d = rte_le_to_cpu_16(vq->desc[d].next);
		}
		sent[nsent++] = q->sw[id];
		q->sw[id] = NULL;
		if (nsent == TX_FREE_BULK) {
			rte_pktmbuf_free_bulk(sent, nsent);
			nsent = 0;
		}
	}
	if (nsent)
		rte_pktmbuf_free_bulk(sent, nsent);
}

/* The header of a packet: zero, but with the device's checksum completion asked for
 * when the packet wants TCP or UDP checksum offload (csum_start: where the L4 header
 * is; the application left the pseudo-header sum in its checksum field, as DPDK's
 * offload convention and virtio's NEEDS_CSUM both want; rte_eth_tx_prepare() does it). */
static inline void tx_header(struct svnet_txq *q, uint8_t *at, const struct rte_mbuf *m)
{
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)at;
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;

	memset(h, 0, SVNET_HDR);
	if (q->hw_csum && (l4 == RTE_MBUF_F_TX_TCP_CKSUM || l4 == RTE_MBUF_F_TX_UDP_CKSUM)) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = rte_cpu_to_le_16((uint16_t)(m->l2_len + m->l3_len));
		h->csum_offset = rte_cpu_to_le_16(l4 == RTE_MBUF_F_TX_TCP_CKSUM ? offsetof(struct rte_tcp_hdr, cksum)
										 : offsetof(struct rte_udp_hdr, dgram_cksum));
	}
}

/* Offloads a packet may ask for here: TCP/UDP checksums, with CSUM; the pseudo-header
 * sums they need are put in place (rte_net_intel_cksum_prepare: the same convention). */
uint16_t svnet_tx_prepare(void *txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct svnet_txq *q = txq;
	const uint64_t can = q->hw_csum ? RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM : 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
		int ret;

		if ((l4 && !(l4 & can)) || (m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG |
							   RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_OUTER_IP_CKSUM))) {
			rte_errno = ENOTSUP;
			return i;
		}
		if (l4 && (ret = rte_net_intel_cksum_prepare(m)) != 0) {
			rte_errno = -ret;
			return i;
		}
	}
	return n;
}

/* TX VLAN insertion in software (RTE_MBUF_F_TX_VLAN, vlan_tci): the tag goes into the
 * frame. A packet that cannot take it (shared or indirect, or no headroom) is freed and
 * counted as an error, as net_virtio does. */
static bool tx_vlan_insert(struct svnet_txq *q, struct rte_mbuf *m)
{
	if (rte_vlan_insert(&m) == 0)
		return true;
	rte_pktmbuf_free(m);
	q->errors++;
	return false;
}

static inline bool can_push_header(const struct rte_mbuf *m)
{
	return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 && rte_pktmbuf_headroom(m) >= SVNET_HDR;
}

uint16_t svnet_tx_burst(void *txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct svnet_txq *q = txq;
	struct svq *vq = &q->vq;
	uint16_t sent = 0;

	if (unlikely(__atomic_load_n(&vq->parked, __ATOMIC_RELAXED)))
		return 0;
	tx_reclaim(q);
	if (unlikely(vq->broken))
		return 0;
	for (; sent < n; sent++) {
		struct rte_mbuf *m = pkts[sent];
		if (unlikely(m->ol_flags & RTE_MBUF_F_TX_VLAN) && !tx_vlan_insert(q, m))
			continue; /* freed, counted: it cannot carry the tag */
		bool push = can_push_header(m);
		uint16_t need = m->nb_segs + !push;

		if (need > q->nfree)
			break;
		uint16_t head = q->free[--q->nfree], d = head;
		if (push) {
			tx_header(q, rte_pktmbuf_mtod(m, uint8_t *) - SVNET_HDR, m);
			vq->desc[d].addr = rte_cpu_to_le_64(rte_pktmbuf_iova(m) - SVNET_HDR);
			vq->desc[d].len = rte_cpu_to_le_32(m->data_len + SVNET_HDR);
		} else {
			tx_header(q, q->hdrs + SVNET_HDR * d, m);
			vq->desc[d].addr = rte_cpu_to_le_64(q->hdrs_iova + SVNET_HDR * d);
			vq->desc[d].len = rte_cpu_to_le_32(SVNET_HDR);
		}
		struct rte_mbuf *seg = push ? m->next : m;
		for (; seg; seg = seg->next) {
			uint16_t nd = q->free[--q->nfree];
			vq->desc[d].flags = rte_cpu_to_le_16(VRING_DESC_F_NEXT);
			vq->desc[d].next = rte_cpu_to_le_16(nd);
			d = nd;
			vq->desc[d].addr = rte_cpu_to_le_64(rte_pktmbuf_iova(seg));
			vq->desc[d].len = rte_cpu_to_le_32(seg->data_len);
		}
		vq->desc[d].flags = 0;
		q->sw[head] = m;
		vq->avail->ring[vq->avail_idx & vq->mask] = rte_cpu_to_le_16(head);
		vq->avail_idx++;
		q->bytes += m->pkt_len;
	}
	if (sent) {
		publish(vq);
		svnet_kick(vq);
		q->packets += sent;
	}
	return sent;
}

/* The device has not yet used every chain it was given. */
bool svnet_tx_pending(const struct svnet_txq *q)
{
	return used_idx(&q->vq) != q->vq.avail_idx;
}

/* After the device reset: the chains it never used are packets not sent. */
void svnet_tx_count_discarded(struct svnet_txq *q)
{
	uint16_t unsent = q->vq.avail_idx - used_idx(&q->vq);

	q->discarded += unsent;
	q->errors += unsent;
}

void svnet_tx_drain(struct svnet_txq *q)
{
	for (uint16_t i = 0; q->sw && i < q->vq.size; i++) {
		rte_pktmbuf_free(q->sw[i]);
		q->sw[i] = NULL;
	}
	q->nfree = 0;
	for (uint16_t i = 0; i < q->vq.size; i++)
		q->free[q->nfree++] = (uint16_t)(q->vq.size - 1 - i);
}

/* --- ring occupancy ------------------------------------------------------------------ */

/* Descriptors the device has filled that the application has not taken yet. */
spapr_rxq_count_t svnet_rx_queue_count(void *rxq)
{
	struct svnet_rxq *q = rxq;

	return (uint16_t)(used_idx(&q->vq) - q->vq.used_cons);
}

/* Every RX descriptor is posted again as soon as it is taken: the first `filled` from
 * the application's position hold frames, the others wait for the device. */
int svnet_rx_descriptor_status(void *rxq, uint16_t offset)
{
	struct svnet_rxq *q = rxq;

	if (offset >= q->vq.size)
		return -EINVAL;
	return offset < svnet_rx_queue_count(q) ? RTE_ETH_RX_DESC_DONE : RTE_ETH_RX_DESC_AVAIL;
}

/* Free descriptors, then those of chains the device has used but the driver has not
 * reclaimed yet (one descriptor per chain counted: exact for single-segment packets),
 * are reusable; the rest the device still holds. */
int svnet_tx_descriptor_status(void *txq, uint16_t offset)
{
	struct svnet_txq *q = txq;
	uint32_t reusable = q->nfree + (uint16_t)(used_idx(&q->vq) - q->vq.used_cons);

	if (offset >= q->vq.size)
		return -EINVAL;
	return offset < reusable ? RTE_ETH_TX_DESC_DONE : RTE_ETH_TX_DESC_FULL;
}
