/* SPDX-License-Identifier: BSD-3-Clause */
/* The virtio-net model's state, shared by its transport and set-up (emu_virtio_net.c)
 * and its data path (emu_virtio_net_dp.c). */
#ifndef EMU_VIRTIO_NET_H
#define EMU_VIRTIO_NET_H

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "emu_internal.h"
#include "emu_virtq.h"
#include "emu_wire.h"

#define VNET_MAX_QP 8
#define VNET_NQ (2 * VNET_MAX_QP + 1)
#define COMMON_OFF 0x0000
#define ISR_OFF 0x1000
#define DEVCFG_OFF 0x2000
#define NOTIFY_OFF 0x3000
#define NOTIFY_MULT 4
#define HDR_LEN sizeof(struct virtio_net_hdr_v1) /* 12 */
#define TX_BATCH 32

/* feature bits (VIRTIO_NET_F_*, VIRTIO_F_*) and status bits (VIRTIO_CONFIG_S_*) are the
 * uapi's: the same definitions as the driver's */
#define BIT(n) (1ULL << (n))
#define S_ACKNOWLEDGE VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER VIRTIO_CONFIG_S_DRIVER
#define S_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK
#define S_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAILED VIRTIO_CONFIG_S_FAILED

struct vnet;

/* A device thread polls the queue pairs qp with qp % nthreads == index. */
struct vnet_thread {
	struct vnet *v;
	unsigned int index;
	pthread_t tid;
	bool started;
	uint8_t *tx_batch;          /* TX_BATCH frames taken from the TX queue */
};

/* An RX frame taken from the wire, waiting for buffers of its queue pair. */
struct vnet_stage { uint32_t len; uint8_t frame[WIRE_MAX_FRAME]; };

struct vnet {
	struct emu_device *d;
	pthread_rwlock_t state;     /* register accesses (exclusive) vs. the device threads */
	pthread_mutex_t rx_lock;    /* the wire's RX side and the staging slots */
	pthread_mutex_t tx_lock;    /* the wire's TX side */
	struct vnet_thread thr[VNET_MAX_QP];
	unsigned int nthreads;
	atomic_bool stop;
	unsigned int poll_us;
	/* configuration */
	uint8_t mac[6], mac_default[6];
	uint16_t mtu, max_qp, qsize_max;
	uint32_t speed;                /* Mb/s (SPEED_DUPLEX); 0xffffffff: unknown */
	uint8_t duplex;                /* 1 full, 0 half, 0xff unknown */
	uint64_t offered;
	bool csum;                     /* csum=on: CSUM and GUEST_CSUM offered */
	/* driver-visible state */
	uint64_t acked;
	uint32_t dfselect, gfselect;
	uint16_t config_msix, queue_select, active_qp;
	uint8_t status, generation, isr;
	bool promisc, allmulti;
	struct emu_vq vq[VNET_NQ];
	/* the wire and what is in flight */
	struct emu_wire wire;
	struct vnet_stage stage[VNET_MAX_QP];
	uint32_t replay_cursor[VNET_MAX_QP]; /* replay: each queue pair's next frame */
	uint16_t cpus[VNET_MAX_QP];  /* cpus=A:B:..: thread t runs on cpus[t % ncpus] */
	unsigned int ncpus;
	/* counters */
	uint64_t rx_nobuf_waits, rx_toolong, tx_toolong, bad_chains, ctrl_cmds, resets;
	uint64_t rx_no_queue;           /* frames for a pair whose RX queue is not enabled */
	uint64_t rx_dropped_at_reset;
	uint64_t tx_csum_completed;     /* CSUM: checksums the device filled in */
	uint64_t tx_csum_bad_request;   /* CSUM: csum_start/offset outside the frame */
	uint64_t rx_csum_valid;         /* GUEST_CSUM: frames marked DATA_VALID */
	uint64_t first_rx_ns, first_tx_ns;  /* CLOCK_MONOTONIC of the first frame each way */
	uint64_t fault_after;  /* fault-after=N: a DMA to no window after N frames (a device bug) */
	uint64_t garbage_after; /* garbage-after=N: used entries no correct device writes, after N frames */
	uint64_t frames;       /* frames moved, both ways */
};

static inline struct vnet *vnet_of(struct emu_device *d) { return d->priv; }
static inline unsigned int nqueues(const struct vnet *v) { return 2 * v->max_qp + 1; }

/* the data path (emu_virtio_net_dp.c) */
void *vnet_thread(void *arg);
uint64_t vnet_threads_cpu_ns(const struct vnet *v);
long long vnet_since_start(const struct vnet *v, uint64_t ns);

#endif
