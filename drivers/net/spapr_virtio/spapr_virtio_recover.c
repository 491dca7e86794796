/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EEH recovery. A device's DMA the IOMMU refuses (or a platform error) freezes its PE:
 * its reads return all ones, its DMA stops. While the port is started a watchdog (an
 * EAL alarm every WATCHDOG_US, on EAL's interrupt thread, never on the data path) reads
 * one config word to notice it. Where VFIO offers EEH (PowerNV) the port then recovers
 * by itself, as DPDK's proactive error handling describes:
 *   1. the application is told RTE_ETH_EVENT_ERR_RECOVERING; the queues are parked (bursts
 *      return 0) and the data path is given time to leave the burst functions;
 *   2. the bus resets and thaws the PE and writes every mapping again;
 *   3. what the rings held is counted as discarded (as at a stop), the device is brought
 *      up again as at a port start, the queues unparked;
 *   4. RTE_ETH_EVENT_RECOVERY_SUCCESS (eeh_recoveries counts it), or RECOVERY_FAILED and
 *      the link stays down.
 * In a pSeries guest there is no EEH through VFIO: the link goes down, the freeze is
 * counted and logged, and a start fails with EIO until the application restarts.
 */
#include <rte_alarm.h>
#include <rte_cycles.h>

#include "spapr_virtio.h"

#define WATCHDOG_US 100000
#define DATAPATH_GRACE_MS 2 /* lcores leave a burst well within this */

static void watchdog(void *arg);

static void park(struct rte_eth_dev *eth, bool on)
{
	for (uint16_t i = 0; i < svnet_pairs(eth); i++) {
		struct svnet_rxq *rq = svnet_rxq_of(eth, i);
		struct svnet_txq *tq = svnet_txq_of(eth, i);
		if (rq)
			__atomic_store_n(&rq->vq.parked, on, __ATOMIC_RELEASE);
		if (tq)
			__atomic_store_n(&tq->vq.parked, on, __ATOMIC_RELEASE);
	}
	rte_mb();
	if (on)
		rte_delay_ms(DATAPATH_GRACE_MS);
}

static void recover(struct rte_eth_dev *eth)
{
	struct svnet *v = eth->data->dev_private;
	int ret;

	rte_eth_dev_callback_process(eth, RTE_ETH_EVENT_ERR_RECOVERING, NULL);
	park(eth, true);
	ret = rte_spapr_eeh_recover(v->dev);
	if (ret == 0) {
		svnet_rings_release(eth);
		ret = svnet_device_up(eth);
	}
	if (ret) {
		SVNET_LOG(ERR, "%s: recovery from the PE freeze failed (%s): the port stays down; stop and"
			  " start it, or restart the application", v->dev->name, strerror(-ret));
		eth->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
		rte_eth_dev_callback_process(eth, RTE_ETH_EVENT_RECOVERY_FAILED, NULL);
		return; /* parked: a port stop and start is what is left */
	}
	park(eth, false);
	v->eeh_recoveries++;
	eth->data->dev_link.link_status = RTE_ETH_LINK_UP;
	SVNET_LOG(NOTICE, "%s: recovered from the PE freeze: the port forwards again (what its rings"
		  " held is counted in *_discarded_at_stop)", v->dev->name);
	rte_eth_dev_callback_process(eth, RTE_ETH_EVENT_RECOVERY_SUCCESS, NULL);
}

static void watchdog(void *arg)
{
	struct rte_eth_dev *eth = arg;
	struct svnet *v = eth->data->dev_private;

	if (!v->started || !v->watchdog)
		return;
	if (!v->frozen && svnet_check_frozen(v)) {
		eth->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
		if (rte_spapr_eeh_available(v->dev))
			recover(eth);
	}
	if (v->watchdog && rte_eal_alarm_set(WATCHDOG_US, watchdog, eth) != 0)
		v->watchdog = false;
}

void svnet_watchdog_start(struct rte_eth_dev *eth)
{
	struct svnet *v = eth->data->dev_private;

	v->watchdog = rte_eal_alarm_set(WATCHDOG_US, watchdog, eth) == 0;
	if (!v->watchdog)
		SVNET_LOG(WARNING, "%s: no EEH watchdog (alarm refused): a PE freeze is noticed at the next"
			  " link check only", v->dev->name);
}

/* Waits for a watchdog that is running (rte_eal_alarm_cancel does, from another thread). */
void svnet_watchdog_stop(struct rte_eth_dev *eth)
{
	struct svnet *v = eth->data->dev_private;

	if (!v->watchdog)
		return;
	v->watchdog = false;
	rte_eal_alarm_cancel(watchdog, eth);
	park(eth, false);
}
