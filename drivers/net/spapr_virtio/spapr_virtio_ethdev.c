/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ethdev of net/spapr_virtio: probe on the spapr bus, configuration, queues, start
 * and stop (each start negotiates again: a stop resets the device), link, MAC,
 * promiscuous and all-multicast through the control queue, statistics.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "spapr_virtio.h"

RTE_LOG_REGISTER(svnet_logtype, pmd.net.spapr_virtio, NOTICE);

static struct svnet *priv(struct rte_eth_dev *eth)
{
	return eth->data->dev_private;
}

#define SVNET_DESC_LIM_MAX 32768

/* net_virtio's speed capability: the one bit of the speed it keeps, 0 for any other
 * (unknown, or one without a bit of its list: 1G, 2.5G, 5G) */
static uint32_t speed_capa(uint32_t speed)
{
	switch (speed) {
	case RTE_ETH_SPEED_NUM_10G: return RTE_ETH_LINK_SPEED_10G;
	case RTE_ETH_SPEED_NUM_20G: return RTE_ETH_LINK_SPEED_20G;
	case RTE_ETH_SPEED_NUM_25G: return RTE_ETH_LINK_SPEED_25G;
	case RTE_ETH_SPEED_NUM_40G: return RTE_ETH_LINK_SPEED_40G;
	case RTE_ETH_SPEED_NUM_50G: return RTE_ETH_LINK_SPEED_50G;
	case RTE_ETH_SPEED_NUM_56G: return RTE_ETH_LINK_SPEED_56G;
	case RTE_ETH_SPEED_NUM_100G: return RTE_ETH_LINK_SPEED_100G;
	case RTE_ETH_SPEED_NUM_200G: return RTE_ETH_LINK_SPEED_200G;
#ifdef RTE_ETH_SPEED_NUM_400G /* DPDK 23.11 on, its net_virtio too */
	case RTE_ETH_SPEED_NUM_400G: return RTE_ETH_LINK_SPEED_400G;
#endif
	default: return 0;
	}
}

/* The largest frame: net_virtio's max_mtu plus its overhead, 9728 at most (net_virtio
 * says 9728 whatever the MTU; ours keeps ethdev's overhead, max_rx_pktlen - max_mtu, the
 * 30 bytes net_virtio's own checks use, so that an application's frame length and MTU
 * convert as there: equal to net_virtio's unless the device's MTU is below 9698). */
static uint32_t max_frame(const struct svnet *v)
{
	return RTE_MIN((uint32_t)(v->max_mtu + SVNET_OVERHEAD), SVNET_MAX_RX_PKTLEN);
}

static int infos_get(struct rte_eth_dev *eth, struct rte_eth_dev_info *info)
{
	struct svnet *v = priv(eth);
	bool mrg = v->features & VBIT(VIRTIO_NET_F_MRG_RXBUF);

	info->max_rx_queues = v->max_qp;
	info->max_tx_queues = v->max_qp;
	info->max_mac_addrs = 1;
	info->min_rx_bufsize = 64;
	info->max_rx_pktlen = max_frame(v);
	info->max_mtu = v->max_mtu;
	/* min_mtu: ethdev's default (46), as net_virtio leaves it; mtu_set refuses below 68 */
	/* net_virtio's limits (a split ring's largest, 32 at least, any count): a larger
	 * request than the device's ring gets the whole ring (ring_size), as there; the
	 * per-packet segment limits stay ethdev's defaults */
	info->rx_desc_lim.nb_max = SVNET_DESC_LIM_MAX;
	info->rx_desc_lim.nb_min = 32;
	info->rx_desc_lim.nb_align = 1;
	info->tx_desc_lim.nb_max = SVNET_DESC_LIM_MAX;
	info->tx_desc_lim.nb_min = 32;
	info->tx_desc_lim.nb_align = 1;
	/* RX checksums: what the device validated (GUEST_CSUM: DATA_VALID) is taken as
	 * good, the rest verified in software; TX: the device completes TCP/UDP checksums
	 * (CSUM), the IPv4 header's it cannot */
	info->rx_offload_capa = (mrg ? RTE_ETH_RX_OFFLOAD_SCATTER : 0) | SVNET_RX_CKSUM | SVNET_RX_VLAN;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | SVNET_TX_VLAN |
				(v->features & VBIT(VIRTIO_NET_F_CSUM) ? SVNET_TX_CKSUM : 0);
	info->default_rxportconf.ring_size = RTE_MIN(v->ring_max, 256);
	info->default_txportconf.ring_size = RTE_MIN(v->ring_max, 256);
	info->speed_capa = speed_capa(v->speed);
	/* with EEH the port recovers from a PE freeze by itself and says so with events */
	info->err_handle_mode = v->eeh_capable ? RTE_ETH_ERROR_HANDLE_MODE_PROACTIVE
					       : RTE_ETH_ERROR_HANDLE_MODE_NONE;
	return 0;
}

static int configure(struct rte_eth_dev *eth)
{
	struct svnet *v = priv(eth);
	const struct rte_eth_conf *conf = &eth->data->dev_conf;

	/* net_virtio's refusals, in its order: a multi-queue mode other than none or RSS,
	 * then RSS without VIRTIO_NET_F_RSS (never negotiated here) */
	if (conf->rxmode.mq_mode != RTE_ETH_MQ_RX_NONE && conf->rxmode.mq_mode != RTE_ETH_MQ_RX_RSS) {
		SVNET_LOG(ERR, "%s: RX multi-queue mode %d asked; a virtio-net device has none but RSS:"
			  " ask RTE_ETH_MQ_RX_NONE (%d)", v->dev->name, conf->rxmode.mq_mode, RTE_ETH_MQ_RX_NONE);
		return -EINVAL;
	}
	if (conf->txmode.mq_mode != RTE_ETH_MQ_TX_NONE) {
		SVNET_LOG(ERR, "%s: TX multi-queue mode %d asked; a virtio-net device has none:"
			  " ask RTE_ETH_MQ_TX_NONE (%d)", v->dev->name, conf->txmode.mq_mode, RTE_ETH_MQ_TX_NONE);
		return -EINVAL;
	}
	if (conf->rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG) {
		SVNET_LOG(ERR, "%s: RSS asked (RX multi-queue mode %d); the driver does not negotiate"
			  " VIRTIO_NET_F_RSS: ask RTE_ETH_MQ_RX_NONE (%d)", v->dev->name, conf->rxmode.mq_mode,
			  RTE_ETH_MQ_RX_NONE);
		return -ENOTSUP;
	}
	if (svnet_pairs(eth) > v->max_qp) {
		SVNET_LOG(ERR, "%s: %u RX and %u TX queues asked, the device has %u queue pairs: ask at most"
			  " %u of each", v->dev->name, eth->data->nb_rx_queues, eth->data->nb_tx_queues,
			  v->max_qp, v->max_qp);
		return -EINVAL;
	}
	return 0;
}

/* Rings are powers of two (split ring index arithmetic), at most the device's; 0 asks
 * for the default. */
static uint16_t ring_size(const struct svnet *v, uint16_t nb_desc)
{
	if (nb_desc == 0)
		return RTE_MIN(v->ring_max, 256);
	return nb_desc > v->ring_max ? v->ring_max : rte_align32prevpow2(nb_desc);
}

static void rxq_release(struct rte_eth_dev *eth, uint16_t id)
{
	struct svnet_rxq *q = eth->data->rx_queues[id];

	if (q == NULL)
		return;
	svnet_rx_drain(q);
	svnet_ring_free(&q->vq);
	rte_free(q->sw);
	rte_free(q);
	eth->data->rx_queues[id] = NULL;
}

static void txq_release(struct rte_eth_dev *eth, uint16_t id)
{
	struct svnet_txq *q = eth->data->tx_queues[id];

	if (q == NULL)
		return;
	svnet_tx_drain(q);
	svnet_ring_free(&q->vq);
	rte_memzone_free(q->hdr_mz);
	rte_free(q->sw);
	rte_free(q->free);
	rte_free(q);
	eth->data->tx_queues[id] = NULL;
}

/* net_virtio's check of a frame of the MTU against an RX buffer: without the SCATTER
 * offload (the port's; there are no queue-level offloads) a frame must fit one buffer. */
static bool rx_frame_fits(struct rte_eth_dev *eth, uint16_t id, uint16_t mtu, struct rte_mempool *mp)
{
	struct svnet *v = priv(eth);
	uint32_t frame = mtu + SVNET_OVERHEAD;
	uint32_t buf = rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM;

	if ((eth->data->dev_conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER) || frame <= buf)
		return true;
	SVNET_LOG(ERR, "%s: RX queue %u: a frame of MTU %u is %u bytes (with %u of headers), its mempool's"
		  " buffers hold %u: enable RTE_ETH_RX_OFFLOAD_SCATTER%s, or give buffers of %u bytes of"
		  " data room, or a smaller MTU", v->dev->name, id, mtu, frame, (unsigned int)SVNET_OVERHEAD, buf,
		  v->features & VBIT(VIRTIO_NET_F_MRG_RXBUF) ? "" : " (this device has no MRG_RXBUF: it cannot)",
		  frame + RTE_PKTMBUF_HEADROOM);
	return false;
}

static int rxq_setup(struct rte_eth_dev *eth, uint16_t id, uint16_t nb_desc, unsigned int socket,
		     const struct rte_eth_rxconf *conf, struct rte_mempool *mp)
{
	struct svnet *v = priv(eth);
	struct svnet_rxq *q;
	char name[RTE_MEMZONE_NAMESIZE];
	uint16_t size = ring_size(v, nb_desc);

	/* what net_virtio refuses, with its limits (its threshold is checked against the
	 * device's ring; ours replaces every buffer in the burst that took it and has no use
	 * for one) */
	if (conf->rx_deferred_start) {
		SVNET_LOG(ERR, "%s: RX queue %u: deferred start asked; the port starts every queue:"
			  " set rx_deferred_start to 0", v->dev->name, id);
		return -EINVAL;
	}
	if (!rx_frame_fits(eth, id, eth->data->mtu, mp))
		return -EINVAL;
	if (conf->rx_free_thresh % 4 || conf->rx_free_thresh >= v->ring_max) {
		SVNET_LOG(ERR, "%s: RX queue %u: rx_free_thresh %u asked; it must be a multiple of 4 below"
			  " the device's ring of %u: ask 0 (the default) or one such", v->dev->name, id,
			  conf->rx_free_thresh, v->ring_max);
		return -EINVAL;
	}
	rxq_release(eth, id);
	q = rte_zmalloc_socket("svnet_rxq", sizeof(*q), RTE_CACHE_LINE_SIZE, (int)socket);
	if (q == NULL)
		return -ENOMEM;
	q->sw = rte_zmalloc_socket("svnet_rxsw", size * sizeof(*q->sw), RTE_CACHE_LINE_SIZE, (int)socket);
	snprintf(name, sizeof(name), "svnet_%u_rx%u", eth->data->port_id, id);
	if (q->sw == NULL || svnet_ring_alloc(v, &q->vq, name, size, (int)socket) != 0) {
		rte_free(q->sw);
		rte_free(q);
		return -ENOMEM;
	}
	q->mp = mp;
	q->port = eth->data->port_id;
	q->mrg = v->features & VBIT(VIRTIO_NET_F_MRG_RXBUF);
	q->offloads = conf->offloads;
	q->ptype_mask = v->ptype_mask;
	eth->data->rx_queues[id] = q;
	return 0;
}

static int txq_setup(struct rte_eth_dev *eth, uint16_t id, uint16_t nb_desc, unsigned int socket,
		     const struct rte_eth_txconf *conf)
{
	struct svnet *v = priv(eth);
	struct svnet_txq *q;
	char name[RTE_MEMZONE_NAMESIZE];
	uint16_t size = ring_size(v, nb_desc);
	const struct rte_memzone *hz;

	/* net_virtio's refusals, as on RX (ours reclaims at every burst: no threshold) */
	if (conf->tx_deferred_start) {
		SVNET_LOG(ERR, "%s: TX queue %u: deferred start asked; the port starts every queue:"
			  " set tx_deferred_start to 0", v->dev->name, id);
		return -EINVAL;
	}
	if (conf->tx_free_thresh + 3 >= v->ring_max) {
		SVNET_LOG(ERR, "%s: TX queue %u: tx_free_thresh %u asked; it must be below the device's ring"
			  " of %u less 3 (%u): ask 0 (the default) or less", v->dev->name, id, conf->tx_free_thresh,
			  v->ring_max, v->ring_max - 3);
		return -EINVAL;
	}
	txq_release(eth, id);
	q = rte_zmalloc_socket("svnet_txq", sizeof(*q), RTE_CACHE_LINE_SIZE, (int)socket);
	if (q == NULL)
		return -ENOMEM;
	q->sw = rte_zmalloc_socket("svnet_txsw", size * sizeof(*q->sw), RTE_CACHE_LINE_SIZE, (int)socket);
	q->free = rte_zmalloc_socket("svnet_txfree", size * sizeof(*q->free), 0, (int)socket);
	snprintf(name, sizeof(name), "svnet_%u_tx%u", eth->data->port_id, id);
	if (q->sw == NULL || q->free == NULL || svnet_ring_alloc(v, &q->vq, name, size, (int)socket) != 0)
		goto fail;
	/* header slots for packets with no headroom: after the rings, in the same memzone
	 * would change its layout; a small memzone of its own */
	snprintf(name, sizeof(name), "svnet_%u_th%u", eth->data->port_id, id);
	hz = rte_memzone_reserve_aligned(name, (size_t)size * SVNET_HDR, (int)socket, RTE_MEMZONE_IOVA_CONTIG, 64);
	if (hz == NULL) {
		svnet_ring_free(&q->vq);
		goto fail;
	}
	q->hdr_mz = hz;
	q->hdrs = hz->addr;
	q->hdrs_iova = hz->iova;
	svnet_tx_drain(q); /* all descriptors free */
	eth->data->tx_queues[id] = q;
	return 0;
fail:
	rte_free(q->sw);
	rte_free(q->free);
	rte_free(q);
	return -ENOMEM;
}

static int ctrl_setup(struct svnet *v)
{
	char name[RTE_MEMZONE_NAMESIZE];

	if (!(v->features & VBIT(VIRTIO_NET_F_CTRL_VQ)) || v->ctrl.mz)
		return 0;
	snprintf(name, sizeof(name), "svnet_%u_ctrl", v->eth->data->port_id);
	if (svnet_ring_alloc(v, &v->ctrl, name, 64, v->dev->device.numa_node) != 0)
		return -ENOMEM;
	snprintf(name, sizeof(name), "svnet_%u_cbuf", v->eth->data->port_id);
	v->ctrl_buf = rte_memzone_reserve_aligned(name, 256, v->dev->device.numa_node, RTE_MEMZONE_IOVA_CONTIG, 64);
	return v->ctrl_buf ? 0 : -ENOMEM;
}

/* A stop resets the device, which forgets the RX mode and the MAC: apply again what
 * the application set, before the first start or while stopped included. */
static int restore_rx_config(struct svnet *v, struct rte_eth_dev *eth)
{
	uint8_t promisc = eth->data->promiscuous, allmulti = eth->data->all_multicast;
	int ret = 0;

	if (v->features & VBIT(VIRTIO_NET_F_CTRL_RX)) {
		ret = svnet_ctrl(v, 0 /* RX */, 0 /* PROMISC */, &promisc, 1);
		if (ret == 0)
			ret = svnet_ctrl(v, 0 /* RX */, 1 /* ALLMULTI */, &allmulti, 1);
	}
	if (ret == 0 && v->ctrl.mz && !rte_is_same_ether_addr(&v->mac, &v->mac_hw))
		ret = svnet_ctrl(v, 1 /* MAC */, 1 /* ADDR_SET */, v->mac.addr_bytes, 6);
	return ret;
}

/* The device from reset to DRIVER_OK with fresh rings (a port start, or after an EEH
 * recovery reset it). */
int svnet_device_up(struct rte_eth_dev *eth)
{
	struct svnet *v = priv(eth);
	uint16_t nq = svnet_pairs(eth);
	int ret;

	v->frozen = false;
	ret = svnet_negotiate(v);
	if (ret == 0)
		ret = ctrl_setup(v);
	/* a pair's missing side stays disabled: the device neither sends nor receives there */
	for (uint16_t i = 0; ret == 0 && i < nq; i++) {
		struct svnet_rxq *rq = svnet_rxq_of(eth, i);
		struct svnet_txq *tq = svnet_txq_of(eth, i);
		if ((!rq && i < eth->data->nb_rx_queues) || (!tq && i < eth->data->nb_tx_queues)) {
			SVNET_LOG(ERR, "%s: %s queue %u was configured but not set up: set every queue up"
				  " before the start", v->dev->name, rq ? "TX" : "RX", i);
			ret = -EINVAL;
			break;
		}
		if (rq) {
			svnet_rx_drain(rq);
			memset((void *)rq->vq.mz->addr, 0, rq->vq.mz->len);
			rq->mrg = v->features & VBIT(VIRTIO_NET_F_MRG_RXBUF);
			/* the RX offloads asked for the port and for this queue */
			rq->csum = (rq->offloads | eth->data->dev_conf.rxmode.offloads) & SVNET_RX_CKSUM;
			rq->guest_csum = v->features & VBIT(VIRTIO_NET_F_GUEST_CSUM);
			rq->vlan_strip = (rq->offloads | eth->data->dev_conf.rxmode.offloads) & SVNET_RX_VLAN;
			/* its interrupt (if asked for) stays off until the application enables it */
			rq->vq.msix = i < v->nefds ? i : 0xffff;
			rq->vq.avail->flags = rte_cpu_to_le_16(VRING_AVAIL_F_NO_INTERRUPT);
			ret = svnet_queue_program(v, &rq->vq, 2 * i, rq->vq.size);
			if (ret == 0)
				ret = svnet_rx_fill(rq);
		}
		if (ret == 0 && tq) {
			svnet_tx_drain(tq);
			tq->hw_csum = v->features & VBIT(VIRTIO_NET_F_CSUM);
			memset((void *)tq->vq.mz->addr, 0, tq->vq.mz->len);
			tq->vq.msix = 0xffff; /* completions are polled: no interrupt */
			tq->vq.avail->flags = rte_cpu_to_le_16(VRING_AVAIL_F_NO_INTERRUPT);
			ret = svnet_queue_program(v, &tq->vq, 2 * i + 1, tq->vq.size);
		}
	}
	if (ret == 0 && v->ctrl.mz) {
		memset((void *)v->ctrl.mz->addr, 0, v->ctrl.mz->len);
		v->ctrl.msix = 0xffff;
		ret = svnet_queue_program(v, &v->ctrl, 2 * v->max_qp, v->ctrl.size);
	}
	if (ret == 0)
		ret = svnet_driver_ok(v);
	if (ret == 0 && nq > 1) {
		uint16_t pairs = rte_cpu_to_le_16(nq);
		ret = svnet_ctrl(v, 4 /* MQ */, 0 /* VQ_PAIRS_SET */, &pairs, sizeof(pairs));
	}
	if (ret == 0)
		ret = restore_rx_config(v, eth);
	if (ret) {
		SVNET_LOG(ERR, "%s: cannot start the device (%s)", v->dev->name, strerror(-ret));
		svnet_set_status(v, 0);
	}
	return ret;
}

static int link_update(struct rte_eth_dev *eth, int wait);

static int start(struct rte_eth_dev *eth)
{
	struct svnet *v = priv(eth);
	int ret = svnet_intr_setup(eth);

	if (ret == 0 && (ret = svnet_device_up(eth)) != 0)
		svnet_intr_teardown(eth);
	if (ret)
		return ret;
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++)
		eth->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++)
		eth->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	v->started = true;
	link_update(eth, 0); /* the link as net_virtio's start leaves it (a secondary reads it) */
	svnet_watchdog_start(eth);
	return 0;
}

/* Packets handed to the device before the stop are sent, not thrown away with the
 * rings: wait for it to use every TX chain, 50 ms at most (a frozen device or one whose
 * link is down never will; what it did not send is counted as discarded). */
static void wait_tx_sent(struct svnet *v, struct rte_eth_dev *eth)
{
	uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() / 20;

	if (svnet_check_frozen(v))
		return;
	for (;;) {
		bool pending = false;
		for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++)
			if (eth->data->tx_queues[i] && svnet_tx_pending(eth->data->tx_queues[i]))
				pending = true;
		if (!pending || rte_get_timer_cycles() > deadline)
			return;
		rte_delay_us_sleep(20);
	}
}

/* After the device let go of its rings (reset, or its PE reset): what they held that
 * the application never got is counted as discarded, every mbuf goes back. */
void svnet_rings_release(struct rte_eth_dev *eth)
{
	struct svnet *v = priv(eth);

	for (uint16_t i = 0; i < svnet_pairs(eth); i++) {
		struct svnet_rxq *rq = svnet_rxq_of(eth, i);
		struct svnet_txq *tq = svnet_txq_of(eth, i);
		if (rq && v->started)
			svnet_rx_count_discarded(rq);
		if (tq && v->started)
			svnet_tx_count_discarded(tq);
		if (rq)
			svnet_rx_drain(rq);
		if (tq)
			svnet_tx_drain(tq);
	}
}

static int stop(struct rte_eth_dev *eth)
{
	struct svnet *v = priv(eth);
	int ret;

	svnet_watchdog_stop(eth);
	wait_tx_sent(v, eth);
	ret = svnet_reset(v); /* the device lets go of every buffer */
	if (ret == -ETIMEDOUT)
		SVNET_LOG(WARNING, "%s: the device did not complete its reset in 100 ms", v->dev->name);
	else if (ret)
		SVNET_LOG(WARNING, "%s: the device does not answer (its PE is frozen): rings released"
			  " without a reset", v->dev->name);
	svnet_rings_release(eth);
	svnet_intr_teardown(eth);
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++)
		eth->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++)
		eth->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	v->started = false;
	link_update(eth, 0); /* down, no speed */
	return 0;
}

/* The device's speed and duplex (VIRTIO_NET_F_SPEED_DUPLEX) into v, as net_virtio keeps
 * them: the speed as the device says it (0xffffffff, unknown, is
 * RTE_ETH_SPEED_NUM_UNKNOWN), the duplex its low bit (net_virtio's one-bit field: 0xff,
 * unknown, reads full). */
static void read_speed_duplex(struct svnet *v)
{
	uint32_t speed = RTE_ETH_SPEED_NUM_UNKNOWN;
	uint8_t duplex = 0xff;

	if (!(v->features & VBIT(VIRTIO_NET_F_SPEED_DUPLEX)))
		return;
	svnet_devcfg_read(v, 12, &speed, 4);
	svnet_devcfg_read(v, 16, &duplex, 1);
	v->speed = rte_le_to_cpu_32(speed);
	v->duplex = duplex & 1 ? RTE_ETH_LINK_FULL_DUPLEX : RTE_ETH_LINK_HALF_DUPLEX;
}

/* net_virtio's answer: autonegotiated, its speed and duplex; down with no speed while
 * the port is stopped or the device says the link is down (STATUS); ours also while the
 * PE is frozen (EEH), when the device's registers read all ones. */
static int link_update(struct rte_eth_dev *eth, int wait)
{
	struct svnet *v = priv(eth);
	struct rte_eth_link link = { .link_autoneg = RTE_ETH_LINK_AUTONEG };
	uint16_t status = 1;

	(void)wait;
	if (v->started && (v->features & VBIT(VIRTIO_NET_F_STATUS)))
		svnet_devcfg_read(v, 6, &status, 2);
	if (v->started && !svnet_check_frozen(v) && (rte_le_to_cpu_16(status) & VIRTIO_NET_S_LINK_UP)) {
		read_speed_duplex(v);
		link.link_status = RTE_ETH_LINK_UP;
		link.link_speed = v->speed;
	} else {
		link.link_status = RTE_ETH_LINK_DOWN;
		link.link_speed = RTE_ETH_SPEED_NUM_NONE;
	}
	link.link_duplex = v->duplex;
	return rte_eth_linkstatus_set(eth, &link);
}

static int rx_mode(struct rte_eth_dev *eth, uint8_t cmd, uint8_t on)
{
	struct svnet *v = priv(eth);

	if (!(v->features & VBIT(VIRTIO_NET_F_CTRL_RX)))
		return -ENOTSUP;
	/* stopped: the device is reset; start applies the mode ethdev records */
	return v->started ? svnet_ctrl(v, 0 /* RX */, cmd, &on, 1) : 0;
}

static int promisc_on(struct rte_eth_dev *eth) { return rx_mode(eth, 0, 1); }
static int promisc_off(struct rte_eth_dev *eth) { return rx_mode(eth, 0, 0); }
static int allmulti_on(struct rte_eth_dev *eth) { return rx_mode(eth, 1, 1); }
static int allmulti_off(struct rte_eth_dev *eth) { return rx_mode(eth, 1, 0); }

static int mac_set(struct rte_eth_dev *eth, struct rte_ether_addr *mac)
{
	struct svnet *v = priv(eth);
	int ret = v->started ? svnet_ctrl(v, 1 /* MAC */, 1 /* ADDR_SET */, mac->addr_bytes, 6) : 0;

	if (ret == 0)
		v->mac = *mac;
	return ret;
}

/* net_virtio's limits: a frame of the MTU (its overhead included) at most the largest,
 * and, without SCATTER, one RX buffer of each queue set up. ethdev has already checked
 * the MTU against min_mtu and max_mtu. */
static int mtu_set(struct rte_eth_dev *eth, uint16_t mtu)
{
	struct svnet *v = priv(eth);
	unsigned int most = max_frame(v) - SVNET_OVERHEAD;

	if (mtu < RTE_ETHER_MIN_MTU) {
		SVNET_LOG(ERR, "%s: MTU %u asked, below the least, %u: ask an MTU from %u to %u", v->dev->name,
			  mtu, RTE_ETHER_MIN_MTU, RTE_ETHER_MIN_MTU, most);
		return -EINVAL;
	}
	if (mtu > most) {
		SVNET_LOG(ERR, "%s: MTU %u asked; a frame of it would be %u bytes (with %u of headers), above"
			  " the largest, %u: ask an MTU from %u to %u", v->dev->name, mtu,
			  (unsigned int)(mtu + SVNET_OVERHEAD), (unsigned int)SVNET_OVERHEAD, max_frame(v),
			  RTE_ETHER_MIN_MTU, most);
		return -EINVAL;
	}
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++) {
		struct svnet_rxq *q = eth->data->rx_queues[i];
		if (q && !rx_frame_fits(eth, i, mtu, q->mp))
			return -EINVAL;
	}
	return 0;
}

/* Per-queue statistics are by queue id, the first RTE_ETHDEV_QUEUE_STAT_CNTRS: a mapping
 * is taken and changes nothing, as with net_virtio. */
static int queue_stats_mapping_set(struct rte_eth_dev *eth, uint16_t id, uint8_t stat_idx, uint8_t is_rx)
{
	(void)eth; (void)id; (void)stat_idx; (void)is_rx;
	return 0;
}

static int stats_get(struct rte_eth_dev *eth, struct rte_eth_stats *s SPAPR_QSTATS_PARAM)
{
	for (uint16_t i = 0; i < svnet_pairs(eth); i++) {
		struct svnet_rxq *rq = svnet_rxq_of(eth, i);
		struct svnet_txq *tq = svnet_txq_of(eth, i);
		if (rq) {
			s->ipackets += rq->packets;
			s->ibytes += rq->bytes;
			s->ierrors += rq->errors + rq->vq.device_errors;
			s->rx_nombuf += rq->nombuf;
			if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS && SPAPR_QSTATS(s)) {
				SPAPR_QSTATS(s)->q_ipackets[i] = rq->packets;
				SPAPR_QSTATS(s)->q_ibytes[i] = rq->bytes;
				SPAPR_QSTATS(s)->q_errors[i] = rq->errors;
			}
		}
		if (tq) {
			s->opackets += tq->packets;
			s->obytes += tq->bytes;
			s->oerrors += tq->errors + tq->vq.device_errors;
			if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS && SPAPR_QSTATS(s)) {
				SPAPR_QSTATS(s)->q_opackets[i] = tq->packets;
				SPAPR_QSTATS(s)->q_obytes[i] = tq->bytes;
			}
		}
	}
	return 0;
}

static int stats_reset(struct rte_eth_dev *eth)
{
	for (uint16_t i = 0; i < svnet_pairs(eth); i++) {
		struct svnet_rxq *rq = svnet_rxq_of(eth, i);
		struct svnet_txq *tq = svnet_txq_of(eth, i);
		if (rq)
			rq->packets = rq->bytes = rq->errors = rq->nombuf = rq->discarded = rq->vq.device_errors = 0;
		if (tq)
			tq->packets = tq->bytes = tq->errors = tq->discarded = tq->vq.device_errors = 0;
	}
	return 0;
}

/* Extended statistics beyond the per-queue ones ethdev makes of the basic statistics:
 * the device's EEH freezes, mbuf shortages and what a stop threw away, per queue. */
struct xstat_field { const char *name; size_t off; };
static const struct xstat_field rxq_xstats[] = {
	{ "nombuf", offsetof(struct svnet_rxq, nombuf) },
	{ "discarded_at_stop", offsetof(struct svnet_rxq, discarded) },
	{ "device_errors", offsetof(struct svnet_rxq, vq.device_errors) },
};
static const struct xstat_field txq_xstats[] = {
	{ "discarded_at_stop", offsetof(struct svnet_txq, discarded) },
	{ "device_errors", offsetof(struct svnet_txq, vq.device_errors) },
};

static unsigned int xstats_count(const struct rte_eth_dev *eth)
{
	return 2 + eth->data->nb_rx_queues * RTE_DIM(rxq_xstats) + eth->data->nb_tx_queues * RTE_DIM(txq_xstats);
}

static uint64_t field(const void *q, size_t off)
{
	return q ? *(const uint64_t *)((const uint8_t *)q + off) : 0;
}

static int xstats_get(struct rte_eth_dev *eth, struct rte_eth_xstat *x, unsigned int n)
{
	unsigned int k = 0;

	if (x == NULL || n < xstats_count(eth))
		return xstats_count(eth);
	x[k] = (struct rte_eth_xstat){ k, priv(eth)->eeh_events };
	k++;
	x[k] = (struct rte_eth_xstat){ k, priv(eth)->eeh_recoveries };
	k++;
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++)
		for (unsigned int f = 0; f < RTE_DIM(rxq_xstats); f++, k++)
			x[k] = (struct rte_eth_xstat){ k, field(eth->data->rx_queues[i], rxq_xstats[f].off) };
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++)
		for (unsigned int f = 0; f < RTE_DIM(txq_xstats); f++, k++)
			x[k] = (struct rte_eth_xstat){ k, field(eth->data->tx_queues[i], txq_xstats[f].off) };
	return k;
}

static int xstats_names(struct rte_eth_dev *eth, struct rte_eth_xstat_name *names, unsigned int n)
{
	unsigned int k = 0;

	if (names == NULL || n < xstats_count(eth))
		return xstats_count(eth);
	strlcpy(names[k++].name, "eeh_frozen_events", sizeof(names[0].name));
	strlcpy(names[k++].name, "eeh_recoveries", sizeof(names[0].name));
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++)
		for (unsigned int f = 0; f < RTE_DIM(rxq_xstats); f++)
			snprintf(names[k++].name, sizeof(names[0].name), "rx_q%u_%s", i, rxq_xstats[f].name);
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++)
		for (unsigned int f = 0; f < RTE_DIM(txq_xstats); f++)
			snprintf(names[k++].name, sizeof(names[0].name), "tx_q%u_%s", i, txq_xstats[f].name);
	return k;
}

static int dev_close(struct rte_eth_dev *eth)
{
	struct svnet *v = priv(eth);

	if (rte_eal_process_type() != RTE_PROC_PRIMARY || v == NULL)
		return 0;
	if (v->started)
		stop(eth);
	svnet_intr_free(eth);
	svnet_set_status(v, 0);
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++)
		rxq_release(eth, i);
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++)
		txq_release(eth, i);
	if (v->ctrl.mz)
		svnet_ring_free(&v->ctrl);
	rte_memzone_free(v->ctrl_buf);
	v->ctrl_buf = NULL;
	svnet_unmap_doorbells(v);
	eth->data->mac_addrs = NULL; /* it points into dev_private */
	return 0;
}

/* --- queue information (testpmd's "show rxq info", rte_eth_rx_queue_info_get) ------- */

static void rxq_info(struct rte_eth_dev *eth, uint16_t id, struct rte_eth_rxq_info *qinfo)
{
	struct svnet_rxq *q = eth->data->rx_queues[id];

	qinfo->mp = q->mp;
	qinfo->nb_desc = q->vq.size;
	qinfo->scattered_rx = q->mrg; /* a frame may span buffers (MRG_RXBUF) */
	qinfo->rx_buf_size = rte_pktmbuf_data_room_size(q->mp) - RTE_PKTMBUF_HEADROOM;
	qinfo->queue_state = eth->data->rx_queue_state[id];
	qinfo->conf.offloads = q->offloads | eth->data->dev_conf.rxmode.offloads;
	/* every buffer taken is replaced in the same burst: nothing waits for a threshold */
	qinfo->conf.rx_free_thresh = 0;
}

static void txq_info(struct rte_eth_dev *eth, uint16_t id, struct rte_eth_txq_info *qinfo)
{
	struct svnet_txq *q = eth->data->tx_queues[id];

	qinfo->nb_desc = q->vq.size;
	qinfo->queue_state = eth->data->tx_queue_state[id];
	qinfo->conf.offloads = eth->data->dev_conf.txmode.offloads;
	/* what the device has sent is reclaimed at the start of every burst */
	qinfo->conf.tx_free_thresh = 0;
}

/* Packet types: what svnet_rx_offload() reports; rte_eth_dev_set_ptypes() chooses the
 * layers (testpmd turns them off at start: no parsing unless asked). */
static const uint32_t *supported_ptypes(struct rte_eth_dev *eth SPAPR_PTYPES_PARAM)
{
	size_t n;
	const uint32_t *list = svnet_ptypes(&n);

	(void)eth;
	SPAPR_PTYPES_RETURN(list, n);
}

static int ptypes_set(struct rte_eth_dev *eth, uint32_t mask)
{
	struct svnet *v = priv(eth);

	v->ptype_mask = mask & svnet_ptypes_all();
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++) {
		struct svnet_rxq *q = eth->data->rx_queues[i];
		if (q)
			__atomic_store_n(&q->ptype_mask, v->ptype_mask, __ATOMIC_RELAXED);
	}
	return 0;
}

/* rte_eth_dev_set_vlan_offload(): ethdev has updated the port's RX offloads; strip
 * follows them at once, on every queue (the port may be running). Filter and extend
 * are not offered (ethdev refuses them before asking). */
static int vlan_offload_set(struct rte_eth_dev *eth, int mask)
{
	if (mask & RTE_ETH_VLAN_STRIP_MASK) {
		bool on = eth->data->dev_conf.rxmode.offloads & SVNET_RX_VLAN;
		for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++) {
			struct svnet_rxq *q = eth->data->rx_queues[i];
			if (q)
				__atomic_store_n(&q->vlan_strip, on || (q->offloads & SVNET_RX_VLAN), __ATOMIC_RELAXED);
		}
	}
	return 0;
}

/* One data path each way: scalar, split ring, in the order the device uses buffers. */
static int rx_burst_mode(struct rte_eth_dev *eth, uint16_t id, struct rte_eth_burst_mode *mode)
{
	struct svnet_rxq *q = eth->data->rx_queues[id];

	mode->flags = 0;
	snprintf(mode->info, sizeof(mode->info), "Scalar, split ring%s",
		 q->mrg ? ", mergeable buffers" : "");
	return 0;
}

static int tx_burst_mode(struct rte_eth_dev *eth, uint16_t id, struct rte_eth_burst_mode *mode)
{
	(void)eth;
	(void)id;
	mode->flags = 0;
	snprintf(mode->info, sizeof(mode->info), "Scalar, split ring");
	return 0;
}

static const struct eth_dev_ops ops = {
	.dev_configure = configure,
	.dev_start = start,
	.dev_stop = stop,
	.dev_close = dev_close,
	.dev_infos_get = infos_get,
	.link_update = link_update,
	.promiscuous_enable = promisc_on,
	.promiscuous_disable = promisc_off,
	.allmulticast_enable = allmulti_on,
	.allmulticast_disable = allmulti_off,
	.mac_addr_set = mac_set,
	.mtu_set = mtu_set,
	.stats_get = stats_get,
	.stats_reset = stats_reset,
	.queue_stats_mapping_set = queue_stats_mapping_set,
	.xstats_get = xstats_get,
	.xstats_get_names = xstats_names,
	.rx_queue_setup = rxq_setup,
	.tx_queue_setup = txq_setup,
	.rx_queue_release = rxq_release,
	.tx_queue_release = txq_release,
	.rxq_info_get = rxq_info,
	.txq_info_get = txq_info,
	.rx_burst_mode_get = rx_burst_mode,
	.tx_burst_mode_get = tx_burst_mode,
	.dev_supported_ptypes_get = supported_ptypes,
	.dev_ptypes_set = ptypes_set,
	.vlan_offload_set = vlan_offload_set,
	.rx_queue_intr_enable = svnet_rx_intr_enable,
	.rx_queue_intr_disable = svnet_rx_intr_disable,
};

/* --- secondary processes ----------------------------------------------------------- */

/* A secondary process shares the primary's port: the rings, queues, counters and
 * configuration are in shared memory; its own are the device's fd (handed over by the
 * primary, spapr_mp.c) and its mapping of the doorbells. It receives and sends on the
 * queues it is given (DPDK's rule: each queue used by one process at a time) and
 * changes nothing of the port: configuration stays with the primary. */
static int link_update_secondary(struct rte_eth_dev *eth, int wait)
{
	(void)eth; (void)wait;
	return 0; /* eth->data->dev_link, as the primary last set it */
}

static uint16_t no_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	static bool told;

	(void)q; (void)pkts; (void)n;
	if (!told) {
		told = true;
		SVNET_LOG(ERR, "packet I/O from this secondary process: the primary handed over no device"
			  " fd (is EAL's multi-process channel off, or the primary's bus older?)");
	}
	return 0;
}

static const struct eth_dev_ops ops_secondary = {
	.dev_infos_get = infos_get,
	.rxq_info_get = rxq_info,
	.txq_info_get = txq_info,
	.rx_burst_mode_get = rx_burst_mode,
	.tx_burst_mode_get = tx_burst_mode,
	.link_update = link_update_secondary,
	.stats_get = stats_get,
	.stats_reset = stats_reset,
	.xstats_get = xstats_get,
	.xstats_get_names = xstats_names,
};

static int probe_secondary(struct rte_spapr_device *dev)
{
	struct rte_eth_dev *eth = rte_eth_dev_attach_secondary(dev->name);

	if (eth == NULL)
		return -ENODEV;
	eth->device = &dev->device;
	eth->dev_ops = &ops_secondary;
	if (dev->vfio_fd >= 0 && eth->data->dev_private != NULL) {
		svnet_map_doorbells(eth->data->dev_private, dev);
		eth->rx_pkt_burst = svnet_rx_burst;
		eth->tx_pkt_burst = svnet_tx_burst;
		eth->tx_pkt_prepare = svnet_tx_prepare;
	} else {
		eth->rx_pkt_burst = no_burst;
		eth->tx_pkt_burst = no_burst;
	}
	eth->rx_queue_count = svnet_rx_queue_count;
	eth->rx_descriptor_status = svnet_rx_descriptor_status;
	eth->tx_descriptor_status = svnet_tx_descriptor_status;
	rte_eth_dev_probing_finish(eth);
	return 0;
}

static int probe(struct rte_spapr_driver *drv, struct rte_spapr_device *dev)
{
	struct rte_eth_dev *eth;
	struct svnet *v;
	uint16_t pairs = 1, mtu = 0;
	int ret;

	(void)drv;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return probe_secondary(dev);
	eth = rte_eth_dev_allocate(dev->name);
	if (eth == NULL)
		return -ENOMEM;
	v = rte_zmalloc_socket("svnet", sizeof(*v), RTE_CACHE_LINE_SIZE, dev->device.numa_node);
	if (v == NULL) {
		rte_eth_dev_release_port(eth);
		return -ENOMEM;
	}
	eth->data->dev_private = v;
	v->dev = dev;
	v->eth = eth;
	v->port_id = eth->data->port_id;
	ret = svnet_find_caps(v);
	if (ret == 0)
		ret = svnet_negotiate(v);
	if (ret) {
		svnet_set_status(v, 0);
		svnet_unmap_doorbells(v);
		rte_free(v);
		eth->data->dev_private = NULL;
		rte_eth_dev_release_port(eth);
		return ret;
	}
	if (v->features & VBIT(VIRTIO_NET_F_MAC))
		svnet_devcfg_read(v, 0, v->mac_hw.addr_bytes, 6);
	else
		rte_eth_random_addr(v->mac_hw.addr_bytes);
	v->mac = v->mac_hw;
	if (v->features & VBIT(VIRTIO_NET_F_MQ))
		svnet_devcfg_read(v, 8, &pairs, 2);
	/* net_virtio's max_mtu: the device's MTU when it has one (read with a control queue
	 * only, and one below 68 not taken, as there); the port starts with it */
	v->max_mtu = SVNET_MAX_RX_PKTLEN - SVNET_OVERHEAD;
	if ((v->features & VBIT(VIRTIO_NET_F_MTU)) && (v->features & VBIT(VIRTIO_NET_F_CTRL_VQ))) {
		svnet_devcfg_read(v, 10, &mtu, 2);
		if (rte_le_to_cpu_16(mtu) >= RTE_ETHER_MIN_MTU) {
			v->max_mtu = rte_le_to_cpu_16(mtu);
			eth->data->mtu = v->max_mtu;
		}
	}
	v->speed = RTE_ETH_SPEED_NUM_UNKNOWN;
	v->duplex = RTE_ETH_LINK_FULL_DUPLEX;
	read_speed_duplex(v);
	v->max_qp = RTE_MIN(RTE_MAX(rte_le_to_cpu_16(pairs), 1), SVNET_MAX_QP);
	v->ring_max = rte_align32prevpow2(RTE_MIN(svnet_queue_max(v, 0), SVNET_RING_MAX));
	svnet_set_status(v, 0);
	if (v->ring_max < 32) {
		SVNET_LOG(ERR, "%s: the device takes rings of %u descriptors at most, the driver needs 32",
			  dev->name, v->ring_max);
		svnet_unmap_doorbells(v);
		rte_free(v);
		eth->data->dev_private = NULL;
		rte_eth_dev_release_port(eth);
		return -ENOTSUP;
	}
	eth->data->mac_addrs = &v->mac;
	v->eeh_capable = rte_spapr_eeh_available(dev);
	v->ptype_mask = svnet_ptypes_all(); /* every layer, until the application says less */
	eth->device = &dev->device;
	eth->dev_ops = &ops;
	eth->rx_pkt_burst = svnet_rx_burst;
	eth->tx_pkt_burst = svnet_tx_burst;
	eth->tx_pkt_prepare = svnet_tx_prepare;
	eth->rx_queue_count = svnet_rx_queue_count;
	eth->rx_descriptor_status = svnet_rx_descriptor_status;
	eth->tx_descriptor_status = svnet_tx_descriptor_status;
	eth->data->dev_flags |= RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	rte_eth_dev_probing_finish(eth);
	SVNET_LOG(INFO, "%s: port %u, %u queue pair(s), features 0x%" PRIx64, dev->name, eth->data->port_id,
		  v->max_qp, v->features);
	return 0;
}

static int remove_dev(struct rte_spapr_device *dev)
{
	struct rte_eth_dev *eth = rte_eth_dev_allocated(dev->name);

	if (eth == NULL)
		return 0;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		if (eth->data->dev_private != NULL)
			svnet_unmap_doorbells(eth->data->dev_private);
		return rte_eth_dev_release_port(eth); /* the primary's port stays */
	}
	dev_close(eth);
	rte_free(eth->data->dev_private);
	eth->data->dev_private = NULL;
	return rte_eth_dev_release_port(eth);
}

static const struct rte_spapr_id ids[] = {
	{ 0x1af4, 0x1041 }, /* virtio-net, modern (virtio 1.x) */
	{ 0, 0 },
};

static struct rte_spapr_driver drv = { .id_table = ids, .probe = probe, .remove = remove_dev };

RTE_SPAPR_REGISTER_DRIVER(net_spapr_virtio, drv);
