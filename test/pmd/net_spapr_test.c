/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test-only PMD on the spapr bus, until the virtio-net PMD exists: it binds the
 * emulated "none" functions (1b36:0005) and makes an ethdev port of each whose RX is
 * empty and whose TX frees what it is given. It proves probe, the bus's memory
 * mapping before a port starts, and teardown, with stock dpdk-testpmd.
 */
#include <inttypes.h>

#include <ethdev_driver.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include "test_port_ops.h"

#include "bus_spapr_driver.h"

struct tport {
	struct rte_ether_addr mac;
	struct rte_spapr_device *dev;
	uint64_t checked, wrong_iova;
};

/* TX checks what a device would be given: each mbuf's IOVA must be what the bus's
 * TCEs translate to its buffer. */
static uint16_t tx_free(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_eth_dev *eth = q;
	struct tport *p = eth->data->dev_private;

	for (uint16_t i = 0; i < n; i++) {
		uint64_t iova;
		p->checked++;
		if (rte_spapr_iova(p->dev, pkts[i]->buf_addr, &iova) != 0 || iova != pkts[i]->buf_iova)
			p->wrong_iova++;
	}
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

/* the IOMMU translates va to iova for the device */
static bool translated(void *ctx, const uint8_t *va, uint64_t want)
{
	uint64_t iova;

	return rte_spapr_iova(ctx, va, &iova) == 0 && iova == want;
}

/* At start every byte of DPDK memory must already be DMA-mapped at its IOVA. */
static int dev_start(struct rte_eth_dev *dev)
{
	struct tport *p = dev->data->dev_private;
	struct test_mem_walk w = { translated, p->dev, 4096, 0, 0 };

	rte_memseg_walk(test_walk_seg, &w);
	RTE_LOG(NOTICE, USER1, "net_spapr_test: %s: start: %" PRIu64 " bytes of DPDK memory, %" PRIu64
		" not DMA-mapped at their IOVA\n", p->dev->name, w.bytes, w.bad);
	dev->data->dev_link.link_status = RTE_ETH_LINK_UP;
	return 0;
}
static int dev_stop(struct rte_eth_dev *dev) { dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN; return 0; }

static int dev_close(struct rte_eth_dev *dev)
{
	struct tport *p = dev->data->dev_private;

	if (p && p->checked)
		RTE_LOG(NOTICE, USER1, "net_spapr_test: %s: %" PRIu64 " mbufs sent, %" PRIu64
			" with an IOVA the IOMMU does not translate to their buffer\n", p->dev->name,
			p->checked, p->wrong_iova);
	dev->data->mac_addrs = NULL; /* it points into dev_private */
	return 0;
}

static const struct eth_dev_ops ops = {
	.dev_start = dev_start, .dev_stop = dev_stop, .dev_close = dev_close,
	TEST_PORT_COMMON_OPS,
};

static int probe(struct rte_spapr_driver *drv, struct rte_spapr_device *dev)
{
	struct rte_eth_dev *eth;
	struct tport *p;

	(void)drv;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return -ENOTSUP; /* a test PMD: primaries only */
	eth = rte_eth_dev_allocate(dev->name);
	if (eth == NULL)
		return -ENOMEM;
	p = rte_zmalloc_socket("spapr_test", sizeof(*p), 0, dev->device.numa_node);
	if (p == NULL) {
		rte_eth_dev_release_port(eth);
		return -ENOMEM;
	}
	rte_eth_random_addr(p->mac.addr_bytes);
	p->dev = dev;
	eth->data->dev_private = p;
	eth->data->mac_addrs = &p->mac;
	eth->device = &dev->device;
	eth->dev_ops = &ops;
	eth->rx_pkt_burst = test_rx_none;
	eth->tx_pkt_burst = tx_free;
	rte_eth_dev_probing_finish(eth);
	return 0;
}

static int remove_dev(struct rte_spapr_device *dev)
{
	struct rte_eth_dev *eth = rte_eth_dev_allocated(dev->name);

	if (eth == NULL)
		return 0;
	if (eth->data->dev_private)
		dev_close(eth);
	rte_free(eth->data->dev_private);
	eth->data->dev_private = NULL;
	return rte_eth_dev_release_port(eth);
}

static const struct rte_spapr_id ids[] = { { 0x1b36, 0x0005 }, { 0, 0 } };

static struct rte_spapr_driver drv = { .id_table = ids, .probe = probe, .remove = remove_dev };

RTE_SPAPR_REGISTER_DRIVER(net_spapr_test, drv);
