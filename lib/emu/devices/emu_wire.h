/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The wire behind an emulated NIC: where transmitted frames go and where received
 * frames come from. Back-ends (device option backend=...):
 *   loop      TX comes back on the same port's RX
 *   pair      TX goes to the RX of the device named by peer=ADDR
 *   gen       RX is a traffic generator (size=64[-1518], flows=N, rate=PPS, count=N);
 *             TX is counted and dropped
 *   check     TX goes to a checker: loss, duplication, reordering (per flow), corruption
 *   gen-check both on one port
 *   pcap      RX replays pcap-in=FILE (rate=PPS paces it), TX is recorded to pcap-out=FILE
 *   tap       a Linux TAP interface (tap=NAME, default spapr-tapN), created up: what
 *             the host sends on it is received, what the device sends comes out of it
 *   replay    RX replays prepared frames as fast as the driver takes them: generator
 *             frames made once (size=, flows=) or the frames of pcap-in=FILE, in a
 *             loop (count=N: N in all); TX is a sink. For throughput: nothing is
 *             generated or checked per frame (numbered, checked frames: gen, check)
 *   sink      TX counted (the device still reads every buffer through the IOMMU),
 *             nothing received
 *   none      TX dropped, nothing received
 * pcap-out=FILE also records the TX of any other back-end.
 */
#ifndef EMU_WIRE_H
#define EMU_WIRE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "spapr_emu.h"

#define WIRE_MAX_FRAME 9728
#define WIRE_MAX_FLOWS 64
#define WIRE_INBOX 256

struct emu_platform;

enum wire_rx { WIRE_RX_NONE, WIRE_RX_INBOX, WIRE_RX_GEN, WIRE_RX_PCAP, WIRE_RX_TAP, WIRE_RX_REPLAY };
enum wire_tx { WIRE_TX_DROP, WIRE_TX_SELF, WIRE_TX_PEER, WIRE_TX_CHECK, WIRE_TX_TAP, WIRE_TX_SINK };

struct wire_frame { uint32_t len; uint8_t data[WIRE_MAX_FRAME]; };

struct wire_flow {
	bool started;                 /* loss is counted from the first frame seen */
	uint64_t first;               /* the sequence number the flow started at */
	uint64_t expected, received, lost, reordered, duplicated;
	uint64_t seen[64];            /* the last 4096 sequence numbers, for duplicates */
};

struct emu_wire {
	char backend[12];
	enum wire_rx rx;
	enum wire_tx tx;
	char peer_addr[16];
	struct emu_wire *peer;
	/* frames waiting for the RX queues (loop, pair) */
	pthread_mutex_t lock;
	struct wire_frame *inbox;
	uint32_t in_head, in_tail;
	/* generator */
	uint32_t size_min, size_max, next_size;
	uint32_t flows;
	uint64_t rate_pps, count, gen_seq[WIRE_MAX_FLOWS], generated;
	uint64_t start_ns;
	uint64_t next_ns;             /* rate: when the next frame is due */
	uint8_t mac[6];
	/* checker */
	struct wire_flow flow[WIRE_MAX_FLOWS];
	uint64_t corrupt, foreign;
	/* the platform's IOMMU activity at the first and the last generator frame checked:
	 * the data path between them must not map anything */
	struct emu_platform *platform;
	bool sampled;
	bool received_any;            /* a frame checked (first_gen set) */
	uint64_t sampled_gen;          /* the platform's activity generation at the sample */
	uint64_t first_gen, last_gen;  /* ... at the first and the last frame checked */
	uint64_t first_sampled_gen;    /* ... when at_first was taken (a busy lock delays it) */
	struct emu_iommu_activity at_first, at_last;
	/* replay: frames laid end to end in one buffer */
	uint8_t *replay_data;
	struct wire_replayed {
		uint32_t off, len, flow;
		bool l4_valid;          /* emu_csum_l4_valid(), computed once */
	} *replay;
	uint32_t replay_n;
	uint64_t replayed;              /* frames handed out (count=) */
	/* tap */
	char tap_name[16];
	int tap_fd;
	struct wire_frame tap_pending;
	/* pcap */
	char pcap_in[128], pcap_out[128];
	FILE *in, *out;
	/* counters */
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes, tx_dropped, inbox_full;
	uint64_t tx_recorded;           /* frames written to pcap-out */
};

int emu_wire_init(struct emu_wire *w);
/* One device option; -EINVAL with a message for a bad value, 1 if not a wire option. */
int emu_wire_option(struct emu_wire *w, const char *key, const char *val, char *err, size_t errlen);
/* Check the options once all are known; open files. */
int emu_wire_start(struct emu_wire *w, const uint8_t mac[6], unsigned int index, char *err, size_t errlen);
void emu_wire_fini(struct emu_wire *w);
/* Connect `pair` back-ends once every device exists. */
void emu_wire_connect(struct emu_wire *w, struct emu_wire *peer);
/* A frame leaving the device. */
void emu_wire_tx(struct emu_wire *w, const uint8_t *frame, uint32_t len);
/* Is a frame waiting for the device (the generator: is one due)? */
bool emu_wire_rx_ready(struct emu_wire *w);
/* The flow of the frame emu_wire_rx() would return next (its RX queue pair follows). */
uint32_t emu_wire_next_flow(struct emu_wire *w);
/* Take the next frame for the device: its length (0: none); *flow says which flow
 * (the RX queue is chosen from it). */
uint32_t emu_wire_rx(struct emu_wire *w, uint8_t *buf, uint32_t *flow);
/* Give back a frame emu_wire_rx() returned that the device never delivered (reset):
 * true if the wire takes it (the generator sends it again), false: it is lost. */
bool emu_wire_take_back(struct emu_wire *w, const uint8_t *frame, uint32_t len);
/* Does TX need the frame's bytes? Not for a sink or a drop (the device still reads the
 * buffers through the IOMMU); emu_wire_tx_count() then counts a batch. */
bool emu_wire_tx_needs_data(const struct emu_wire *w);
void emu_wire_tx_count(struct emu_wire *w, uint64_t frames, uint64_t bytes);
/* replay: the next prepared frame for queue pair `qp` of `active` (by flow), from
 * *cursor (the queue pair's own, advanced): its length, 0 if none (count reached, or
 * no flow lands on qp); *frame points into the wire's copy. Lock-free: the queue
 * pair's thread only. Frames handed out are counted with emu_wire_rx_count(). *l4_valid:
 * its TCP/UDP checksum is right (emu_csum.h), known from the start. */
uint32_t emu_wire_replay_next(struct emu_wire *w, uint32_t *cursor, unsigned int qp, unsigned int active,
			      const uint8_t **frame, bool *l4_valid);
/* A frame emu_wire_replay_next() gave that the device could not take (no buffers). */
void emu_wire_replay_unget(struct emu_wire *w);
void emu_wire_rx_count(struct emu_wire *w, uint64_t frames, uint64_t bytes);
void emu_wire_stats(struct emu_wire *w, FILE *out);

#endif
