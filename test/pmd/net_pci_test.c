/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test-only PMD on DPDK's own bus/pci, for the emulated platform: it binds the emulated
 * "none" functions (1b36:0005) and maps them itself through EAL (rte_pci_map_device, EAL's
 * VFIO code) and unmaps them at port close, as net_virtio does, so EAL takes the device
 * and lets its group go in the order a stock PMD makes it. Each port's TX has the emulated
 * device read every mbuf at its IOVA through the TCE tables (the emulator's DMA API,
 * found with dlsym: only under spapr-emu) and compares with what the CPU wrote; start
 * checks that all of DPDK's memory is DMA-readable at its IOVAs. RX is empty.
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <string.h>

#include <bus_pci_driver.h>
#include <ethdev_driver.h>
#include <ethdev_pci.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include "test_port_ops.h"

struct emu_platform;
struct emu_device;
static struct emu_platform *(*emu_current)(void);
static struct emu_device *(*emu_device_find)(struct emu_platform *, const char *);
static int (*emu_dma_read)(struct emu_device *, uint64_t, void *, size_t);

struct tport {
	struct rte_ether_addr mac;
	struct rte_pci_device *pci;
	struct emu_device *dev;
	bool mapped;
	uint64_t checked, unreadable;
};

/* Does the device read at iova the len bytes the CPU has at va? */
static bool device_reads(struct emu_device *dev, uint64_t iova, const void *va, size_t len)
{
	uint8_t buf[64];

	len = RTE_MIN(len, sizeof(buf));
	return emu_dma_read(dev, iova, buf, len) == 0 && memcmp(buf, va, len) == 0;
}

static uint16_t tx_check(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct tport *p = ((struct rte_eth_dev *)q)->data->dev_private;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		p->checked++;
		if (!device_reads(p->dev, rte_pktmbuf_iova(m), rte_pktmbuf_mtod(m, void *), m->data_len))
			p->unreadable++;
	}
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

/* the device reads at iova the first bytes the CPU has at va */
static bool readable(void *ctx, const uint8_t *va, uint64_t iova)
{
	return device_reads(ctx, iova, va, 8);
}

static int dev_start(struct rte_eth_dev *eth)
{
	struct tport *p = eth->data->dev_private;
	struct test_mem_walk w = { readable, p->dev, 64 << 10, 0, 0 };

	rte_memseg_walk(test_walk_seg, &w);
	RTE_LOG(NOTICE, USER1, "net_pci_test: %s: start: %" PRIu64 " bytes of DPDK memory, %" PRIu64
		" not DMA-readable at their IOVA\n", p->pci->name, w.bytes, w.bad);
	eth->data->dev_link.link_status = RTE_ETH_LINK_UP;
	return 0;
}

static int dev_stop(struct rte_eth_dev *eth)
{
	eth->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	return 0;
}

/* As net_virtio: the device goes back to EAL at close (EAL may close its group then). */
static int dev_close(struct rte_eth_dev *eth)
{
	struct tport *p = eth->data->dev_private;

	if (p->checked)
		RTE_LOG(NOTICE, USER1, "net_pci_test: %s: %" PRIu64 " mbufs sent, %" PRIu64
			" the device could not read at their IOVA\n", p->pci->name, p->checked, p->unreadable);
	p->checked = 0;
	if (p->mapped)
		rte_pci_unmap_device(p->pci);
	p->mapped = false;
	eth->data->mac_addrs = NULL; /* it points into dev_private */
	return 0;
}

static const struct eth_dev_ops ops = {
	.dev_start = dev_start, .dev_stop = dev_stop, .dev_close = dev_close,
	TEST_PORT_COMMON_OPS,
};

static int port_init(struct rte_eth_dev *eth)
{
	struct rte_pci_device *pci = container_of(eth->device, struct rte_pci_device, device);
	struct tport *p = eth->data->dev_private;

	emu_current = (struct emu_platform *(*)(void))dlsym(RTLD_DEFAULT, "emu_current");
	emu_device_find = (struct emu_device *(*)(struct emu_platform *, const char *))
		dlsym(RTLD_DEFAULT, "emu_device_find");
	emu_dma_read = (int (*)(struct emu_device *, uint64_t, void *, size_t))dlsym(RTLD_DEFAULT, "emu_dma_read");
	if (!emu_current || !emu_device_find || !emu_dma_read || !emu_current()) {
		RTE_LOG(ERR, USER1, "net_pci_test: runs under spapr-emu only\n");
		return -ENODEV;
	}
	if (rte_pci_map_device(pci) != 0) {
		RTE_LOG(ERR, USER1, "net_pci_test: %s: EAL cannot map the device\n", pci->name);
		return -EIO;
	}
	p->mapped = true;
	p->pci = pci;
	p->dev = emu_device_find(emu_current(), pci->name);
	rte_eth_random_addr(p->mac.addr_bytes);
	eth->data->mac_addrs = &p->mac;
	eth->dev_ops = &ops;
	eth->rx_pkt_burst = test_rx_none;
	eth->tx_pkt_burst = tx_check;
	return 0;
}

static int probe(struct rte_pci_driver *drv, struct rte_pci_device *pci)
{
	(void)drv;
	return rte_eth_dev_pci_generic_probe(pci, sizeof(struct tport), port_init);
}

/* bus/pci's cleanup removes the driver without a port close: close it (unmapping) */
static int port_uninit(struct rte_eth_dev *eth)
{
	struct tport *p = eth->data->dev_private;

	return p && p->mapped ? dev_close(eth) : 0;
}

static int remove_dev(struct rte_pci_device *pci)
{
	return rte_eth_dev_pci_generic_remove(pci, port_uninit);
}

static const struct rte_pci_id ids[] = { { RTE_PCI_DEVICE(0x1b36, 0x0005) }, { .vendor_id = 0 } };

static struct rte_pci_driver drv = { .id_table = ids, .probe = probe, .remove = remove_dev };

RTE_PMD_REGISTER_PCI(net_pci_test, drv);
