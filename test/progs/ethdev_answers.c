/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What an application reads of port 0 and what ethdev answers it, beyond what testpmd
 * can ask or show: every rte_eth_dev_info field, the link before and after start, and
 * the return code of each RX and TX multi-queue mode asked of rte_eth_dev_configure.
 * Prints key=value lines; test_pmd_answers.py runs it with our PMD and with net_virtio.
 * A plain DPDK program: it knows nothing of the emulator.
 *
 *   ethdev-answers [EAL options]
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define P(k, fmt, ...) printf("%s=" fmt "\n", k, __VA_ARGS__)

static void link(const char *when)
{
	struct rte_eth_link l;
	char k[64];

	memset(&l, 0, sizeof(l));
	snprintf(k, sizeof(k), "link_%s", when);
	int ret = rte_eth_link_get_nowait(0, &l);
	printf("%s=%d status=%u speed=%u duplex=%u autoneg=%u\n", k, ret, l.link_status, l.link_speed,
	       l.link_duplex, l.link_autoneg);
}

static int configure(uint32_t rxmq, uint32_t txmq, uint64_t rxoff, uint32_t lsc)
{
	struct rte_eth_conf c;

	memset(&c, 0, sizeof(c));
	c.rxmode.mq_mode = rxmq;
	c.txmode.mq_mode = txmq;
	c.rxmode.offloads = rxoff;
	c.intr_conf.lsc = lsc;
	return rte_eth_dev_configure(0, 1, 1, &c);
}

int main(int argc, char **argv)
{
	struct rte_eth_dev_info di;
	uint16_t mtu = 0;
	char k[64];

	if (rte_eal_init(argc, argv) < 0 || rte_eth_dev_count_avail() != 1) {
		printf("init=failed\n");
		return 1;
	}
	if (rte_eth_dev_info_get(0, &di) != 0) {
		printf("init=failed\n");
		return 1;
	}
	P("driver", "%s", di.driver_name);
	P("max_rx_queues", "%u", di.max_rx_queues);
	P("max_tx_queues", "%u", di.max_tx_queues);
	P("min_rx_bufsize", "%u", di.min_rx_bufsize);
	P("max_rx_pktlen", "%u", di.max_rx_pktlen);
	P("min_mtu", "%u", di.min_mtu);
	P("max_mtu", "%u", di.max_mtu);
	P("max_mac_addrs", "%u", di.max_mac_addrs);
	P("max_hash_mac_addrs", "%u", di.max_hash_mac_addrs);
	P("max_vfs", "%u", di.max_vfs);
	P("max_vmdq_pools", "%u", di.max_vmdq_pools);
	P("rx_offload_capa", "0x%" PRIx64, di.rx_offload_capa);
	P("tx_offload_capa", "0x%" PRIx64, di.tx_offload_capa);
	P("rx_queue_offload_capa", "0x%" PRIx64, di.rx_queue_offload_capa);
	P("tx_queue_offload_capa", "0x%" PRIx64, di.tx_queue_offload_capa);
	P("flow_type_rss_offloads", "0x%" PRIx64, di.flow_type_rss_offloads);
	P("hash_key_size", "%u", di.hash_key_size);
	P("reta_size", "%u", di.reta_size);
	P("speed_capa", "0x%x", di.speed_capa);
	P("rx_desc_lim", "%u/%u/%u", di.rx_desc_lim.nb_max, di.rx_desc_lim.nb_min, di.rx_desc_lim.nb_align);
	P("tx_desc_lim", "%u/%u/%u", di.tx_desc_lim.nb_max, di.tx_desc_lim.nb_min, di.tx_desc_lim.nb_align);
	P("rx_seg_lim", "%u/%u", di.rx_desc_lim.nb_seg_max, di.rx_desc_lim.nb_mtu_seg_max);
	P("tx_seg_lim", "%u/%u", di.tx_desc_lim.nb_seg_max, di.tx_desc_lim.nb_mtu_seg_max);
	P("default_rxportconf", "%u/%u/%u", di.default_rxportconf.ring_size, di.default_rxportconf.nb_queues,
	  di.default_rxportconf.burst_size);
	P("default_txportconf", "%u/%u/%u", di.default_txportconf.ring_size, di.default_txportconf.nb_queues,
	  di.default_txportconf.burst_size);
	P("default_rxconf", "%u/%u", di.default_rxconf.rx_free_thresh, di.default_rxconf.rx_drop_en);
	P("default_txconf", "%u/%u", di.default_txconf.tx_free_thresh, di.default_txconf.tx_rs_thresh);
	P("dev_capa", "0x%" PRIx64, di.dev_capa);
	P("err_handle_mode", "%d", (int)di.err_handle_mode);
	P("dev_flags", "0x%x", *di.dev_flags);
	P("get_mtu_at_probe", "%d", rte_eth_dev_get_mtu(0, &mtu));
	P("mtu_at_probe", "%u", mtu);
	link("at_probe");

	/* configure: every RX and TX multi-queue mode, LSC */
	static const struct { const char *name; uint32_t mode; } rx[] = {
		{ "NONE", RTE_ETH_MQ_RX_NONE }, { "RSS", RTE_ETH_MQ_RX_RSS }, { "DCB", RTE_ETH_MQ_RX_DCB },
		{ "DCB_RSS", RTE_ETH_MQ_RX_DCB_RSS }, { "VMDQ_ONLY", RTE_ETH_MQ_RX_VMDQ_ONLY },
		{ "VMDQ_RSS", RTE_ETH_MQ_RX_VMDQ_RSS }, { "VMDQ_DCB", RTE_ETH_MQ_RX_VMDQ_DCB },
		{ "VMDQ_DCB_RSS", RTE_ETH_MQ_RX_VMDQ_DCB_RSS },
	}, tx[] = {
		{ "NONE", RTE_ETH_MQ_TX_NONE }, { "DCB", RTE_ETH_MQ_TX_DCB }, { "VMDQ_DCB", RTE_ETH_MQ_TX_VMDQ_DCB },
		{ "VMDQ_ONLY", RTE_ETH_MQ_TX_VMDQ_ONLY },
	};
	for (unsigned int i = 0; i < RTE_DIM(rx); i++) {
		snprintf(k, sizeof(k), "configure_rx_mq_%s", rx[i].name);
		P(k, "%d", configure(rx[i].mode, RTE_ETH_MQ_TX_NONE, 0, 0));
	}
	for (unsigned int i = 0; i < RTE_DIM(tx); i++) {
		snprintf(k, sizeof(k), "configure_tx_mq_%s", tx[i].name);
		P(k, "%d", configure(RTE_ETH_MQ_RX_NONE, tx[i].mode, 0, 0));
	}
	P("configure_lsc", "%d", configure(RTE_ETH_MQ_RX_NONE, RTE_ETH_MQ_TX_NONE, 0, 1));

	/* RX queue set-up: buffers of 1024 bytes for the MTU's frame, without and with SCATTER */
	struct rte_mempool *small = rte_pktmbuf_pool_create("small", 1023, 0, 0, 1024 + RTE_PKTMBUF_HEADROOM, 0);
	struct rte_mempool *mp = rte_pktmbuf_pool_create("mp", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	struct rte_eth_rxconf rxc = di.default_rxconf;
	struct rte_eth_txconf txc = di.default_txconf;

	P("configure", "%d", configure(RTE_ETH_MQ_RX_NONE, RTE_ETH_MQ_TX_NONE, 0, 0));
	P("get_mtu_configured", "%d", rte_eth_dev_get_mtu(0, &mtu));
	P("mtu_configured", "%u", mtu);
	P("rxq_small_buffers", "%d", rte_eth_rx_queue_setup(0, 0, 256, 0, &rxc, small));
	if (di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) {
		P("configure_scatter", "%d", configure(RTE_ETH_MQ_RX_NONE, RTE_ETH_MQ_TX_NONE, RTE_ETH_RX_OFFLOAD_SCATTER, 0));
		P("rxq_small_buffers_scatter", "%d", rte_eth_rx_queue_setup(0, 0, 256, 0, &rxc, small));
		P("configure", "%d", configure(RTE_ETH_MQ_RX_NONE, RTE_ETH_MQ_TX_NONE, 0, 0));
	}
	P("rxq", "%d", rte_eth_rx_queue_setup(0, 0, 256, 0, &rxc, mp));
	P("txq", "%d", rte_eth_tx_queue_setup(0, 0, 256, 0, &txc));
	/* deprecated in 25.11, still what testpmd's "set stat_qmap" calls */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	P("stat_qmap_rx", "%d", rte_eth_dev_set_rx_queue_stats_mapping(0, 0, 1));
	P("stat_qmap_tx", "%d", rte_eth_dev_set_tx_queue_stats_mapping(0, 0, 1));
#pragma GCC diagnostic pop
	P("set_mtu_1500", "%d", rte_eth_dev_set_mtu(0, 1500));
	P("start", "%d", rte_eth_dev_start(0));
	link("started");

	/* what ours has and net_virtio has not, and the other way round */
	struct rte_eth_rxq_info rqi;
	struct rte_eth_burst_mode bm;
	struct rte_power_monitor_cond pmc;
	struct rte_ether_addr mac = { { 0x02, 0, 0, 0, 0, 0x42 } };
	P("rxq_info_get", "%d", rte_eth_rx_queue_info_get(0, 0, &rqi));
	P("rx_burst_mode_get", "%d", rte_eth_rx_burst_mode_get(0, 0, &bm));
	P("rx_queue_count", "%d", rte_eth_rx_queue_count(0, 0) < 0 ? rte_eth_rx_queue_count(0, 0) : 0);
	P("supported_ptypes", "%d", rte_eth_dev_get_supported_ptypes(0, RTE_PTYPE_ALL_MASK, NULL, 0) > 0);
	P("get_monitor_addr", "%d", rte_eth_get_monitor_addr(0, 0, &pmc));
	P("mac_addr_add", "%d", rte_eth_dev_mac_addr_add(0, &mac, 0));
	P("stop", "%d", rte_eth_dev_stop(0));
	link("stopped");
	P("close", "%d", rte_eth_dev_close(0));
	rte_eal_cleanup();
	return 0;
}
