/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net/spapr_virtio: a virtio-net (virtio 1.x, modern PCI, split ring) poll-mode driver
 * on the spapr bus. The bus has DMA-mapped all DPDK memory: the rings live in memzones,
 * the buffers are the application's mbufs, and nothing is ever mapped on the data path.
 */
#ifndef SPAPR_VIRTIO_H
#define SPAPR_VIRTIO_H

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include <ethdev_driver.h>
#include <rte_memzone.h>

#include "bus_spapr_driver.h"
#include "spapr_dpdk_compat.h"

extern int svnet_logtype;
#define SVNET_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, svnet_logtype, "spapr_virtio: " fmt "\n", ##__VA_ARGS__)

#define SVNET_HDR sizeof(struct virtio_net_hdr_v1) /* 12: every frame has one (VERSION_1) */
#define SVNET_MAX_QP 8
/* Ring sizes: the virtio limit; a device offers at most this (QEMU: 256 or 1024). */
#define SVNET_RING_MAX 32768
#define SVNET_FILL_CHUNK 64
/* net_virtio's frame arithmetic, which ours answers with: the largest frame (its
 * VIRTIO_MAX_RX_PKTLEN) and what a frame has beyond its MTU (Ethernet header, a VLAN
 * tag and the virtio-net header: 14 + 4 + 12) */
#define SVNET_MAX_RX_PKTLEN 9728u
#define SVNET_OVERHEAD (RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN + SVNET_HDR)

/* feature bits are the uapi's (VIRTIO_NET_F_*, VIRTIO_F_*); the layouts too (vring_*,
 * virtio_net_hdr_v1, virtio_pci_*): one definition of the spec for driver, emulated
 * device and test driver */
#define VBIT(n) (1ULL << (n))

/* A split virtqueue in one IOVA-contiguous memzone. */
struct svq {
	uint16_t index, size, mask;
	const struct rte_memzone *mz;
	struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint64_t desc_iova, avail_iova, used_iova;
	uint16_t avail_idx;             /* next avail slot the driver fills */
	uint16_t used_cons;             /* next used entry the driver reads */
	uint32_t doorbell_off;          /* in the notify page, or SVNET_NO_DOORBELL: region writes */
	uint16_t msix;                  /* its MSI-X vector (0xffff: none, we poll) */
	struct svnet *owner;
	bool broken;                    /* the device wrote what no correct device writes:
	                                 * the queue is stopped until the next port start */
	bool parked;                    /* EEH recovery under way: bursts return 0 */
	uint64_t device_errors;         /* such writes seen */
};

struct svnet_rxq {
	struct svq vq;
	struct rte_mempool *mp;
	struct rte_mbuf **sw;           /* the mbuf behind each descriptor */
	uint16_t port;
	bool mrg;
	uint64_t offloads;              /* the RX offloads asked for this queue at set-up */
	bool csum;                      /* verify IPv4/TCP/UDP checksums (set at start) */
	bool guest_csum;                /* GUEST_CSUM: the device marks frames it validated */
	bool vlan_strip;                /* strip the outer VLAN tag (software: RX_VLAN_STRIP) */
	uint32_t ptype_mask;            /* packet-type layers to report (0: none) */
	uint64_t packets, bytes, errors, nombuf;
	uint64_t discarded;             /* frames received into the ring, never taken: the port stopped */
};

struct svnet_txq {
	struct svq vq;
	struct rte_mbuf **sw;           /* the packet whose chain starts at each descriptor */
	uint16_t *free;                 /* free descriptor ids */
	uint16_t nfree;
	const struct rte_memzone *hdr_mz; /* a header slot per descriptor, for packets */
	uint8_t *hdrs;                  /* that have no headroom for it */
	uint64_t hdrs_iova;
	uint64_t packets, bytes, errors;
	uint64_t discarded;             /* packets the device had not sent when the port stopped */
	bool hw_csum;                   /* the device completes TCP/UDP checksums (CSUM) */
};

struct svnet {
	struct rte_spapr_device *dev;
	struct rte_eth_dev *eth;
	/* where the virtio structures are: BAR index and offset */
	unsigned int common_bar, devcfg_bar, notify_bar;
	uint64_t common_off, devcfg_off, notify_off;
	uint32_t notify_mult;
	uint16_t port_id;
	uint64_t notify_map_off;        /* the notify page's offset in the BAR */
	size_t notify_map_len;          /* the kernel's page */
	uint64_t features;
	uint16_t max_qp, ring_max;
	uint16_t max_mtu;               /* what dev_infos_get says, as net_virtio: the device's
	                                 * MTU (VIRTIO_NET_F_MTU), else SVNET_MAX_RX_PKTLEN less
	                                 * SVNET_OVERHEAD */
	uint32_t speed;                 /* link speed in Mb/s as net_virtio keeps it: the device's
	                                 * (SPEED_DUPLEX), last read at probe or a link update
	                                 * while up; else RTE_ETH_SPEED_NUM_UNKNOWN */
	uint8_t duplex;                 /* RTE_ETH_LINK_FULL_DUPLEX or HALF_DUPLEX, likewise */
	struct rte_ether_addr mac;       /* the port's (ethdev's mac_addrs[0]) */
	struct rte_ether_addr mac_hw;    /* the device's own, after a reset */
	struct svq ctrl;                /* the control queue (CTRL_VQ) */
	const struct rte_memzone *ctrl_buf;
	bool started, frozen;
	uint64_t eeh_events;
	uint64_t eeh_recoveries;        /* the port came back by itself after a freeze */
	bool watchdog;                  /* the EEH watchdog alarm is armed */
	bool eeh_capable;               /* its PE can be recovered (the primary found out) */
	uint32_t ptype_mask;            /* rte_eth_dev_set_ptypes(): what RX reports */
	/* RX queue interrupts (intr_conf.rxq): RX queue i signals efds[i] through MSI-X
	 * vector i; eth->intr_handle tells ethdev (spapr_virtio_intr.c) */
	int *efds;
	uint16_t nefds;
};

/* The device's queue pair i carries RX queue i and TX queue i. An application may ask
 * for more of one than of the other (N RX and 1 TX, say): the port uses as many pairs as
 * the larger count, and a pair beyond the smaller count has one side only. */
static inline uint16_t svnet_pairs(const struct rte_eth_dev *eth)
{
	return RTE_MAX(eth->data->nb_rx_queues, eth->data->nb_tx_queues);
}

static inline struct svnet_rxq *svnet_rxq_of(const struct rte_eth_dev *eth, uint16_t i)
{
	return i < eth->data->nb_rx_queues ? eth->data->rx_queues[i] : NULL;
}

static inline struct svnet_txq *svnet_txq_of(const struct rte_eth_dev *eth, uint16_t i)
{
	return i < eth->data->nb_tx_queues ? eth->data->tx_queues[i] : NULL;
}

/* RX queue interrupts (spapr_virtio_intr.c) */
int svnet_intr_setup(struct rte_eth_dev *eth);
void svnet_intr_teardown(struct rte_eth_dev *eth);
void svnet_intr_free(struct rte_eth_dev *eth);
int svnet_rx_intr_enable(struct rte_eth_dev *eth, uint16_t id);
int svnet_rx_intr_disable(struct rte_eth_dev *eth, uint16_t id);

/* transport (spapr_virtio_pci.c) */
int svnet_find_caps(struct svnet *v);
int svnet_negotiate(struct svnet *v);
int svnet_set_status(struct svnet *v, uint8_t status);
int svnet_reset(struct svnet *v);
int svnet_driver_ok(struct svnet *v);
uint8_t svnet_get_status(struct svnet *v);
int svnet_devcfg_read(struct svnet *v, uint64_t off, void *buf, size_t len);
uint16_t svnet_queue_max(struct svnet *v, uint16_t index);
int svnet_queue_program(struct svnet *v, struct svq *q, uint16_t index, uint16_t size);
int svnet_ring_alloc(struct svnet *v, struct svq *q, const char *name, uint16_t size, int socket);
void svnet_ring_free(struct svq *q);
void svnet_kick(struct svq *q);

/* What each process has of a port (the structures above are in shared memory, the same
 * for primary and secondaries): its bus device and its own mapping of the page of
 * doorbells (NULL: not mappable, doorbells are region writes). */
struct svnet_local {
	struct rte_spapr_device *dev;
	uint8_t *notify_map;
};
extern struct svnet_local svnet_local[RTE_MAX_ETHPORTS];
#define SVNET_NO_DOORBELL UINT32_MAX
/* This process's mapping of the doorbells of port v->port_id through dev; undone. */
void svnet_map_doorbells(struct svnet *v, struct rte_spapr_device *dev);
void svnet_unmap_doorbells(struct svnet *v);
int svnet_ctrl(struct svnet *v, uint8_t class, uint8_t cmd, const void *data, size_t len);
bool svnet_check_frozen(struct svnet *v);

/* port bring-up and release, shared by start/stop and EEH recovery (ethdev.c) */
int svnet_device_up(struct rte_eth_dev *eth);
void svnet_rings_release(struct rte_eth_dev *eth);

/* EEH watchdog and recovery (spapr_virtio_recover.c) */
void svnet_watchdog_start(struct rte_eth_dev *eth);
void svnet_watchdog_stop(struct rte_eth_dev *eth);

/* RX offloads in software (spapr_virtio_rxoffload.c): packet types and checksums */
#define SVNET_RX_CKSUM (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM | \
			RTE_ETH_RX_OFFLOAD_TCP_CKSUM)
const uint32_t *svnet_ptypes(size_t *n);
uint32_t svnet_ptypes_all(void);
/* VLAN tags taken off on RX and put on for TX, in software (virtio-net has no tag
 * offload a device must honour) */
#define SVNET_RX_VLAN RTE_ETH_RX_OFFLOAD_VLAN_STRIP
#define SVNET_TX_VLAN RTE_ETH_TX_OFFLOAD_VLAN_INSERT
/* TX checksum offloads the device completes (VIRTIO_NET_F_CSUM) */
#define SVNET_TX_CKSUM (RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM)
/* packet type (the layers in ptype_mask) and, if csum, checksum flags of frame m;
 * vflags: the virtio-net header's flags (GUEST_CSUM: DATA_VALID, NEEDS_CSUM) */
void svnet_rx_offload(struct rte_mbuf *m, uint32_t ptype_mask, bool csum, uint8_t vflags);
/* rte_eth_tx_prepare(): the pseudo-header checksums the device's completion needs */
uint16_t svnet_tx_prepare(void *txq, struct rte_mbuf **pkts, uint16_t n);

/* data path (spapr_virtio_rxtx.c) */
uint16_t svnet_rx_burst(void *rxq, struct rte_mbuf **pkts, uint16_t n);
uint16_t svnet_tx_burst(void *txq, struct rte_mbuf **pkts, uint16_t n);
int svnet_rx_fill(struct svnet_rxq *q);
void svnet_rx_drain(struct svnet_rxq *q);
void svnet_tx_drain(struct svnet_txq *q);
bool svnet_tx_pending(const struct svnet_txq *q);
spapr_rxq_count_t svnet_rx_queue_count(void *rxq);
int svnet_rx_descriptor_status(void *rxq, uint16_t offset);
int svnet_tx_descriptor_status(void *txq, uint16_t offset);
void svnet_rx_count_discarded(struct svnet_rxq *q);
void svnet_queue_broken(struct svq *vq, const char *what, uint32_t value, uint32_t limit);
void svnet_tx_count_discarded(struct svnet_txq *q);

#endif
