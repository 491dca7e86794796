/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RX queue interrupts (dev_conf.intr_conf.rxq): an application that sleeps when there
 * is nothing to do (dpdk-l3fwd-power) asks ethdev for each RX queue's event fd and
 * waits on it. RX queue i gets MSI-X vector i, which the bus routes to an eventfd
 * (rte_spapr_msix_enable: VFIO_DEVICE_SET_IRQS); the device interrupts after it adds
 * used entries unless the driver set VRING_AVAIL_F_NO_INTERRUPT, which is how
 * rte_eth_dev_rx_intr_enable/disable turn a queue's interrupt on and off (off at start:
 * polling costs nothing extra). eth->intr_handle tells ethdev and EAL which fd is
 * whose (a VFIO MSI-X handle: one 8-byte eventfd counter per vector).
 */
/* rte_intr_instance_alloc/free, rte_intr_type_set, rte_intr_fd_set are experimental in
 * 22.11 (stable from 23.11) */
#define ALLOW_EXPERIMENTAL_API
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_interrupts.h>

#include "spapr_virtio.h"

static struct svnet *priv(struct rte_eth_dev *eth)
{
	return eth->data->dev_private;
}

static void close_efds(struct svnet *v)
{
	for (uint16_t i = 0; i < v->nefds; i++)
		close(v->efds[i]);
	free(v->efds);
	v->efds = NULL;
	v->nefds = 0;
}

/* At start, when the application asked for RX interrupts: a vector and eventfd per RX
 * queue, and the handle ethdev reads. */
int svnet_intr_setup(struct rte_eth_dev *eth)
{
	struct svnet *v = priv(eth);
	uint16_t n = eth->data->nb_rx_queues;
	struct rte_intr_handle *h = eth->intr_handle;
	int ret;

	if (!eth->data->dev_conf.intr_conf.rxq || n == 0)
		return 0;
	v->efds = calloc(n, sizeof(*v->efds));
	if (v->efds == NULL)
		return -ENOMEM;
	if ((ret = rte_spapr_msix_enable(v->dev, n, v->efds)) != 0) {
		free(v->efds);
		v->efds = NULL;
		SVNET_LOG(ERR, "%s: no RX queue interrupts (%s): start the port without intr_conf.rxq",
			  v->dev->name, strerror(-ret));
		return ret;
	}
	v->nefds = n;
	if (h == NULL) {
		h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
		if (h == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
		eth->intr_handle = h;
	}
	rte_intr_vec_list_free(h);
	if (rte_intr_type_set(h, RTE_INTR_HANDLE_VFIO_MSIX) || rte_intr_fd_set(h, v->efds[0]) ||
	    rte_intr_nb_efd_set(h, n) || rte_intr_max_intr_set(h, n + 1) ||
	    rte_intr_efd_counter_size_set(h, sizeof(uint64_t)) || rte_intr_vec_list_alloc(h, "svnet_intr", n)) {
		ret = -ENOMEM;
		goto fail;
	}
	for (uint16_t i = 0; i < n; i++)
		if (rte_intr_efds_index_set(h, i, v->efds[i]) ||
		    rte_intr_vec_list_index_set(h, i, RTE_INTR_VEC_RXTX_OFFSET + i)) {
			ret = -EINVAL;
			goto fail;
		}
	return 0;
fail:
	SVNET_LOG(ERR, "%s: cannot describe its %u RX queue interrupts to ethdev (%s, rte_errno %d)",
		  v->dev->name, n, strerror(-ret), rte_errno);
	rte_spapr_msix_disable(v->dev);
	close_efds(v);
	return ret;
}

/* At stop: the vectors off, the eventfds closed (the handle stays for the next start). */
void svnet_intr_teardown(struct rte_eth_dev *eth)
{
	struct svnet *v = priv(eth);

	if (v->nefds == 0)
		return;
	rte_spapr_msix_disable(v->dev);
	close_efds(v);
	if (eth->intr_handle) {
		rte_intr_vec_list_free(eth->intr_handle);
		rte_intr_nb_efd_set(eth->intr_handle, 0);
	}
}

/* At close. */
void svnet_intr_free(struct rte_eth_dev *eth)
{
	svnet_intr_teardown(eth);
	rte_intr_instance_free(eth->intr_handle);
	eth->intr_handle = NULL;
}

static int rxq_intr(struct rte_eth_dev *eth, uint16_t id, bool on)
{
	struct svnet *v = priv(eth);
	struct svnet_rxq *q = svnet_rxq_of(eth, id);

	if (q == NULL || id >= v->nefds)
		return -EINVAL;
	q->vq.avail->flags = rte_cpu_to_le_16(on ? 0 : VRING_AVAIL_F_NO_INTERRUPT);
	if (on) {
		/* frames the device added before it could see the flag would raise nothing:
		 * the application is woken for them now */
		rte_mb();
		if (rte_le_to_cpu_16(q->vq.used->idx) != q->vq.used_cons &&
		    eventfd_write(v->efds[id], 1) != 0)
			return -errno;
	}
	return 0;
}

int svnet_rx_intr_enable(struct rte_eth_dev *eth, uint16_t id)
{
	return rxq_intr(eth, id, true);
}

int svnet_rx_intr_disable(struct rte_eth_dev *eth, uint16_t id)
{
	return rxq_intr(eth, id, false);
}
