/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer: the virtio-net PMD's data path (drivers/net/spapr_virtio/spapr_virtio_rxtx.c)
 * against a device that writes anything into the used rings: ids, lengths, indices,
 * num_buffers. The PMD must not crash, must hand the application only mbufs whose
 * lengths fit their buffers, and must lose no mbuf: after the queues are drained the
 * pool holds all of them again. The first byte's bits also choose mergeable buffers and
 * the RX offloads (checksums, packet types), which parse what the frames hold.
 *
 * The input is a program: each step is an opcode byte and its operands.
 *   0 id32 len32      the device writes an RX used entry (and num_buffers, MRG)
 *   1 idx16           the device publishes the RX used index
 *   2                 the application: rx_burst(32), checks and frees what it got
 *   3 n8 len16        the application: tx_burst of n packets of len bytes
 *   4 id32 len32      the device writes a TX used entry
 *   5 idx16           the device publishes the TX used index
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "spapr_virtio.h"

#define RING 64
#define MBUFS 1024

int svnet_logtype;
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void svnet_kick(struct svq *q) { (void)q; } /* no device behind the doorbell */

static struct rte_mempool *mp;
static struct svnet_rxq rq;
static struct svnet_txq tq;

static void ring_alloc(struct svq *q)
{
	q->size = RING;
	q->mask = RING - 1;
	q->desc = calloc(RING, sizeof(*q->desc));
	q->avail = calloc(1, sizeof(struct vring_avail) + (RING + 1) * sizeof(uint16_t));
	q->used = calloc(1, sizeof(struct vring_used) + RING * sizeof(struct vring_used_elem) + 2);
}

static void ring_reset(struct svq *q)
{
	memset(q->desc, 0, RING * sizeof(*q->desc));
	memset((void *)q->avail, 0, sizeof(struct vring_avail) + (RING + 1) * sizeof(uint16_t));
	memset((void *)q->used, 0, sizeof(struct vring_used) + RING * sizeof(struct vring_used_elem) + 2);
	q->avail_idx = q->used_cons = 0;
	q->broken = false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = { (*argv)[0], "--no-huge", "--no-pci", "-m", "64", "--no-shconf", "-l", "0",
			"--no-telemetry", "--log-level=*:critical" };

	(void)argc;
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0)
		abort();
	mp = rte_pktmbuf_pool_create("fuzz", MBUFS, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (mp == NULL)
		abort();
	ring_alloc(&rq.vq);
	rq.sw = calloc(RING, sizeof(*rq.sw));
	rq.mp = mp;
	ring_alloc(&tq.vq);
	tq.sw = calloc(RING, sizeof(*tq.sw));
	tq.free = calloc(RING, sizeof(*tq.free));
	tq.hdrs = calloc(RING, SVNET_HDR);
	return 0;
}

static uint32_t take(const uint8_t **d, size_t *n, size_t bytes)
{
	uint32_t v = 0;

	for (size_t i = 0; i < bytes; i++)
		v |= (uint32_t)(i < *n ? (*d)[i] : 0) << (8 * i);
	*d += bytes < *n ? bytes : *n;
	*n -= bytes < *n ? bytes : *n;
	return v;
}

static void used_write(struct svq *q, uint16_t *dev_idx, uint32_t id, uint32_t len)
{
	q->used->ring[*dev_idx & q->mask].id = id;
	q->used->ring[*dev_idx & q->mask].len = len;
	(*dev_idx)++;
}

static void app_rx(void)
{
	struct rte_mbuf *pkts[32];
	uint16_t n = svnet_rx_burst(&rq, pkts, 32);

	for (uint16_t i = 0; i < n; i++) {
		uint32_t total = 0;
		for (struct rte_mbuf *s = pkts[i]; s; s = s->next) {
			if ((uint32_t)s->data_off + s->data_len > s->buf_len)
				abort(); /* a length beyond its buffer reached the application */
			total += s->data_len;
		}
		if (total != pkts[i]->pkt_len)
			abort();
		rte_pktmbuf_free(pkts[i]);
	}
}

static void app_tx(uint8_t n, uint16_t len)
{
	struct rte_mbuf *pkts[16];

	n %= 16;
	len = (uint16_t)(len % 1500 + 14);
	if (n == 0 || rte_pktmbuf_alloc_bulk(mp, pkts, n) != 0)
		return;
	for (uint8_t i = 0; i < n; i++)
		rte_pktmbuf_append(pkts[i], len);
	uint16_t sent = svnet_tx_burst(&tq, pkts, n);
	for (uint16_t i = sent; i < n; i++)
		rte_pktmbuf_free(pkts[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t rx_dev = 0, tx_dev = 0;

	ring_reset(&rq.vq);
	ring_reset(&tq.vq);
	rq.mrg = size && (data[0] & 1);
	/* the RX offloads parse whatever the buffers hold, at the lengths the device wrote */
	rq.csum = size && (data[0] & 2);
	rq.ptype_mask = size && (data[0] & 4) ? svnet_ptypes_all() : 0;
	svnet_tx_drain(&tq);
	if (svnet_rx_fill(&rq) != 0)
		abort();
	while (size) {
		uint8_t op = (uint8_t)take(&data, &size, 1) % 6;
		uint32_t a, b;
		switch (op) {
		case 0:
			a = take(&data, &size, 4) % (RING + 8); /* mostly posted ids, some beyond */
			b = take(&data, &size, 4);
			if (a < RING && rq.sw[a] && rq.mrg) {
				/* the header's num_buffers, as the device would write it */
				struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)
					(rte_pktmbuf_mtod(rq.sw[a], uint8_t *) - SVNET_HDR);
				h->num_buffers = (uint16_t)(b >> 16);
			}
			used_write(&rq.vq, &rx_dev, a, b % 4096);
			break;
		case 1:
			rq.vq.used->idx = (uint16_t)(take(&data, &size, 1) ? rx_dev : take(&data, &size, 2));
			break;
		case 2:
			app_rx();
			break;
		case 3:
			a = take(&data, &size, 1);
			b = take(&data, &size, 2);
			app_tx((uint8_t)a, (uint16_t)b);
			break;
		case 4:
			a = take(&data, &size, 4) % (RING + 8);
			b = take(&data, &size, 4);
			used_write(&tq.vq, &tx_dev, a, b);
			break;
		case 5:
			tq.vq.used->idx = (uint16_t)(take(&data, &size, 1) ? tx_dev : take(&data, &size, 2));
			break;
		}
	}
	/* the port stops: every mbuf goes back to the pool */
	svnet_rx_drain(&rq);
	svnet_tx_drain(&tq);
	if (rte_mempool_avail_count(mp) != MBUFS)
		abort();
	return 0;
}
