/* SPDX-License-Identifier: BSD-3-Clause */
/* What the test PMDs' ports share: one RX queue that stays empty, one TX queue, no
 * configuration. Each PMD brings its own start, stop, close and TX. */
#ifndef TEST_PORT_OPS_H
#define TEST_PORT_OPS_H

#include <ethdev_driver.h>
#include <rte_memory.h>

static uint16_t test_rx_none(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	(void)q; (void)pkts; (void)n;
	return 0;
}

static int test_dev_configure(struct rte_eth_dev *eth) { (void)eth; return 0; }
static int test_link_update(struct rte_eth_dev *eth, int wait) { (void)eth; (void)wait; return 0; }
static void test_queue_release(struct rte_eth_dev *eth, uint16_t id) { (void)eth; (void)id; }

static int test_infos_get(struct rte_eth_dev *eth, struct rte_eth_dev_info *info)
{
	(void)eth;
	info->max_rx_queues = 1;
	info->max_tx_queues = 1;
	info->max_rx_pktlen = 9728;
	info->max_mac_addrs = 1;
	return 0;
}

/* the queues are the port itself: the bursts find the port's state through it */
static int test_rxq_setup(struct rte_eth_dev *eth, uint16_t id, uint16_t nb, unsigned int socket,
			  const struct rte_eth_rxconf *conf, struct rte_mempool *mp)
{
	(void)nb; (void)socket; (void)conf; (void)mp;
	eth->data->rx_queues[id] = eth;
	return 0;
}

static int test_txq_setup(struct rte_eth_dev *eth, uint16_t id, uint16_t nb, unsigned int socket,
			  const struct rte_eth_txconf *conf)
{
	(void)nb; (void)socket; (void)conf;
	eth->data->tx_queues[id] = eth;
	return 0;
}

/* DPDK's own memory (not external), `step` bytes at a time: each piece is given to
 * `good` (its VA and the IOVA DPDK gave it); the bytes walked and those `good` refused. */
struct test_mem_walk {
	bool (*good)(void *ctx, const uint8_t *va, uint64_t iova);
	void *ctx;
	uint64_t step, bytes, bad;
};

static int test_walk_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	struct test_mem_walk *w = arg;

	if (msl->external)
		return 0;
	w->bytes += ms->len;
	for (uint64_t off = 0; off < ms->len; off += w->step)
		if (!w->good(w->ctx, (const uint8_t *)ms->addr + off, ms->iova + off))
			w->bad += w->step;
	return 0;
}

#define TEST_PORT_COMMON_OPS \
	.dev_configure = test_dev_configure, .dev_infos_get = test_infos_get, \
	.link_update = test_link_update, .rx_queue_setup = test_rxq_setup, \
	.tx_queue_setup = test_txq_setup, .rx_queue_release = test_queue_release, \
	.tx_queue_release = test_queue_release

#endif
