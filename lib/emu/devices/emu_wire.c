/* SPDX-License-Identifier: BSD-3-Clause */
/* The wire behind an emulated NIC (see emu_wire.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu_csum.h"
#include "emu_wire.h"

#define GEN_ETHERTYPE 0x88b5   /* IEEE local experimental */
#define GEN_MAGIC 0x5350474eu  /* "SPGN" */
#define ETH_HLEN 14

/* What the generator puts after the Ethernet header, and the checker verifies. */
struct gen_hdr {
	uint32_t magic;
	uint16_t flow, rsvd;
	uint64_t seq;
	uint32_t len;     /* frame length */
	uint32_t csum;    /* FNV-1a of everything after this header */
} __attribute__((packed));

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static uint32_t fnv1a(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;
	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

int emu_wire_init(struct emu_wire *w)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->backend, sizeof(w->backend), "loop");
	w->rx = WIRE_RX_INBOX;
	w->tx = WIRE_TX_SELF;
	w->size_min = w->size_max = w->next_size = 64;
	w->flows = 1;
	w->tap_fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end ? -EINVAL : 0;
}

int emu_wire_option(struct emu_wire *w, const char *key, const char *val, char *err, size_t errlen)
{
	static const struct { const char *name; enum wire_rx rx; enum wire_tx tx; } backends[] = {
		{ "loop", WIRE_RX_INBOX, WIRE_TX_SELF }, { "pair", WIRE_RX_INBOX, WIRE_TX_PEER },
		{ "gen", WIRE_RX_GEN, WIRE_TX_DROP }, { "check", WIRE_RX_NONE, WIRE_TX_CHECK },
		{ "gen-check", WIRE_RX_GEN, WIRE_TX_CHECK }, { "pcap", WIRE_RX_PCAP, WIRE_TX_DROP },
		{ "tap", WIRE_RX_TAP, WIRE_TX_TAP }, { "none", WIRE_RX_NONE, WIRE_TX_DROP },
		{ "replay", WIRE_RX_REPLAY, WIRE_TX_SINK }, { "sink", WIRE_RX_NONE, WIRE_TX_SINK },
	};
	uint64_t v;

	if (strcmp(key, "backend") == 0) {
		for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
			if (strcmp(val, backends[i].name) == 0) {
				snprintf(w->backend, sizeof(w->backend), "%s", val);
				w->rx = backends[i].rx;
				w->tx = backends[i].tx;
				return 0;
			}
		snprintf(err, errlen, "unknown backend '%s' (loop, pair, gen, check, gen-check, pcap, tap, replay, sink, none)", val);
		return -EINVAL;
	}
	if (strcmp(key, "tap") == 0 && strlen(val) > 0 && strlen(val) < sizeof(w->tap_name)) {
		snprintf(w->tap_name, sizeof(w->tap_name), "%s", val);
		return 0;
	}
	if (strcmp(key, "peer") == 0 && strlen(val) < sizeof(w->peer_addr)) {
		snprintf(w->peer_addr, sizeof(w->peer_addr), "%s", val);
		return 0;
	}
	if (strcmp(key, "size") == 0) {
		unsigned int lo, hi;
		char tail;
		int n = sscanf(val, "%u-%u%c", &lo, &hi, &tail);
		if (n == 1)
			hi = lo;
		if ((n != 1 && n != 2) || lo < 60 || hi > WIRE_MAX_FRAME || lo > hi) {
			snprintf(err, errlen, "size=%s: frame sizes are 60..%d bytes, as SIZE or MIN-MAX", val,
				 WIRE_MAX_FRAME);
			return -EINVAL;
		}
		w->size_min = w->next_size = lo;
		w->size_max = hi;
		return 0;
	}
	if (strcmp(key, "flows") == 0) {
		if (parse_u64(val, &v) || v == 0 || v > WIRE_MAX_FLOWS) {
			snprintf(err, errlen, "flows=%s: 1..%d", val, WIRE_MAX_FLOWS);
			return -EINVAL;
		}
		w->flows = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "rate") == 0 || strcmp(key, "count") == 0) {
		if (parse_u64(val, &v)) {
			snprintf(err, errlen, "%s=%s: a number (0: unbounded)", key, val);
			return -EINVAL;
		}
		*(key[0] == 'r' ? &w->rate_pps : &w->count) = v;
		return 0;
	}
	if ((strcmp(key, "pcap-in") == 0 || strcmp(key, "pcap-out") == 0) && strlen(val) < sizeof(w->pcap_in)) {
		snprintf(key[5] == 'i' ? w->pcap_in : w->pcap_out, sizeof(w->pcap_in), "%s", val);
		return 0;
	}
	return 1;
}

/* --- pcap files ------------------------------------------------------------------- */

struct pcap_file_hdr { uint32_t magic; uint16_t major, minor; int32_t zone; uint32_t sigfigs, snaplen, linktype; };
struct pcap_rec_hdr { uint32_t sec, usec, incl, orig; };

static int pcap_open(struct emu_wire *w, char *err, size_t errlen)
{
	struct pcap_file_hdr h = { 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1 /* Ethernet */ };

	if (w->pcap_out[0]) {
		w->out = fopen(w->pcap_out, "we");
		if (w->out == NULL || fwrite(&h, sizeof(h), 1, w->out) != 1) {
			snprintf(err, errlen, "cannot write pcap-out %s: %s", w->pcap_out, strerror(errno));
			return -errno;
		}
	}
	if (w->rx == WIRE_RX_PCAP && w->pcap_in[0] == '\0')
		w->rx = WIRE_RX_NONE; /* backend=pcap with pcap-out only: record TX */
	if (w->rx == WIRE_RX_PCAP) {
		struct pcap_file_hdr in;
		w->in = fopen(w->pcap_in, "re");
		if (w->in == NULL || fread(&in, sizeof(in), 1, w->in) != 1 || in.magic != 0xa1b2c3d4) {
			snprintf(err, errlen, "pcap-in %s: not a readable pcap file (microsecond, native order)",
				 w->pcap_in[0] ? w->pcap_in : "(none given)");
			return -EINVAL;
		}
	}
	return 0;
}

static bool pcap_record(struct emu_wire *w, const uint8_t *frame, uint32_t len)
{
	uint64_t t = now_ns();
	struct pcap_rec_hdr r = { (uint32_t)(t / 1000000000u), (uint32_t)(t % 1000000000u / 1000), len, len };

	if (fwrite(&r, sizeof(r), 1, w->out) != 1 || fwrite(frame, len, 1, w->out) != 1)
		return false;
	w->tx_recorded++;
	return true;
}

/* A TAP interface, non-blocking, brought up. */
static int tap_open(struct emu_wire *w, unsigned int index, char *err, size_t errlen)
{
	struct ifreq ifr;
	int s;

	if (w->tap_name[0] == '\0')
		snprintf(w->tap_name, sizeof(w->tap_name), "spapr-tap%u", index);
	w->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", w->tap_name);
	if (w->tap_fd < 0 || ioctl(w->tap_fd, TUNSETIFF, &ifr) != 0) {
		snprintf(err, errlen, "cannot create TAP interface %s: %s (needs /dev/net/tun and CAP_NET_ADMIN)",
			 w->tap_name, strerror(errno));
		return -errno;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
	return 0;
}

/* --- replay: prepared frames ---------------------------------------------------------- */

#define REPLAY_MAX_FRAMES 65536u
#define REPLAY_MAX_BYTES (64u << 20)

static uint32_t generate(struct emu_wire *w, uint8_t *buf, uint32_t *flow_out);
static uint32_t pcap_next(struct emu_wire *w, uint8_t *buf);
static uint32_t frame_flow(const uint8_t *buf, uint32_t len);

static bool replay_add(struct emu_wire *w, const uint8_t *frame, uint32_t len, uint32_t flow, size_t *cap)
{
	const struct wire_replayed *last = w->replay_n ? &w->replay[w->replay_n - 1] : NULL;
	uint32_t at = last ? last->off + last->len : 0;

	if (w->replay_n == REPLAY_MAX_FRAMES || at + len > REPLAY_MAX_BYTES)
		return false;
	if (at + len > *cap) {
		size_t want = *cap ? *cap * 2 : 1u << 16;
		while (want < at + len)
			want *= 2;
		uint8_t *grown = realloc(w->replay_data, want);
		if (grown == NULL)
			return false;
		w->replay_data = grown;
		*cap = want;
	}
	memcpy(w->replay_data + at, frame, len);
	w->replay[w->replay_n] = (struct wire_replayed){ at, len, flow, emu_csum_l4_valid(frame, len) };
	w->replay_n++;
	return true;
}

/* The frames to replay: pcap-in's (each flow from its headers, as frames coming back on
 * a loop get), or the generator's for every size and flow, made once. */
static int replay_prepare(struct emu_wire *w, char *err, size_t errlen)
{
	static __thread struct wire_frame f;
	size_t cap = 0;

	w->replay = calloc(REPLAY_MAX_FRAMES, sizeof(*w->replay));
	if (w->replay == NULL)
		return -ENOMEM;
	if (w->pcap_in[0]) {
		struct pcap_file_hdr in;
		w->in = fopen(w->pcap_in, "re");
		if (w->in == NULL || fread(&in, sizeof(in), 1, w->in) != 1 || in.magic != 0xa1b2c3d4) {
			snprintf(err, errlen, "pcap-in %s: not a readable pcap file (microsecond, native order)",
				 w->pcap_in);
			return -EINVAL;
		}
		while ((f.len = pcap_next(w, f.data)) != 0)
			if (!replay_add(w, f.data, f.len, frame_flow(f.data, f.len), &cap))
				break;
		if (w->in)
			fclose(w->in);
		w->in = NULL;
		if (w->replay_n == 0) {
			snprintf(err, errlen, "pcap-in %s: no frame to replay", w->pcap_in);
			return -EINVAL;
		}
	} else {
		uint64_t n = (uint64_t)(w->size_max - w->size_min + 1) * w->flows;
		for (uint64_t i = 0; i < n; i++) {
			uint32_t flow, len = generate(w, f.data, &flow);
			if (!replay_add(w, f.data, len, flow, &cap))
				break;
		}
		/* the generator made them; it generates nothing itself */
		memset(w->gen_seq, 0, sizeof(w->gen_seq));
		w->generated = 0;
		w->next_size = w->size_min;
	}
	return 0;
}

uint32_t emu_wire_replay_next(struct emu_wire *w, uint32_t *cursor, unsigned int qp, unsigned int active,
			      const uint8_t **frame, bool *l4_valid)
{
	uint32_t i = *cursor;

	for (uint32_t tried = 0; tried < w->replay_n; tried++, i = i + 1 == w->replay_n ? 0 : i + 1) {
		if (active <= 1 || w->replay[i].flow % active == qp) {
			/* count=: a frame is reserved only when there is one for this pair */
			if (w->count && __atomic_fetch_add(&w->replayed, 1, __ATOMIC_RELAXED) >= w->count) {
				__atomic_sub_fetch(&w->replayed, 1, __ATOMIC_RELAXED);
				return 0;
			}
			*cursor = i + 1 == w->replay_n ? 0 : i + 1;
			*frame = w->replay_data + w->replay[i].off;
			*l4_valid = w->replay[i].l4_valid;
			return w->replay[i].len;
		}
	}
	return 0;
}

void emu_wire_replay_unget(struct emu_wire *w)
{
	if (w->count)
		__atomic_sub_fetch(&w->replayed, 1, __ATOMIC_RELAXED);
}

void emu_wire_rx_count(struct emu_wire *w, uint64_t frames, uint64_t bytes)
{
	__atomic_add_fetch(&w->rx_frames, frames, __ATOMIC_RELAXED);
	__atomic_add_fetch(&w->rx_bytes, bytes, __ATOMIC_RELAXED);
}

bool emu_wire_tx_needs_data(const struct emu_wire *w)
{
	return w->out != NULL || (w->tx != WIRE_TX_SINK && w->tx != WIRE_TX_DROP);
}

void emu_wire_tx_count(struct emu_wire *w, uint64_t frames, uint64_t bytes)
{
	w->tx_frames += frames;
	w->tx_bytes += bytes;
	if (w->tx == WIRE_TX_DROP)
		w->tx_dropped += frames;
}

int emu_wire_start(struct emu_wire *w, const uint8_t mac[6], unsigned int index, char *err, size_t errlen)
{
	int ret;

	memcpy(w->mac, mac, 6);
	if (w->rx == WIRE_RX_TAP && (ret = tap_open(w, index, err, errlen)) != 0)
		return ret;
	if (w->tx == WIRE_TX_PEER && w->peer_addr[0] == '\0') {
		snprintf(err, errlen, "backend=pair needs peer=ADDR (the other device)");
		return -EINVAL;
	}
	if (w->rx == WIRE_RX_INBOX) {
		w->inbox = calloc(WIRE_INBOX, sizeof(*w->inbox));
		if (w->inbox == NULL)
			return -ENOMEM;
	}
	w->start_ns = now_ns();
	if ((ret = pcap_open(w, err, errlen)) != 0)
		return ret;
	return w->rx == WIRE_RX_REPLAY ? replay_prepare(w, err, errlen) : 0;
}

void emu_wire_fini(struct emu_wire *w)
{
	if (w->tap_fd >= 0)
		close(w->tap_fd);
	w->tap_fd = -1;
	if (w->out)
		fclose(w->out);
	if (w->in)
		fclose(w->in);
	free(w->inbox);
	w->inbox = NULL;
	free(w->replay_data);
	free(w->replay);
	w->replay = NULL;
	w->replay_data = NULL;
	w->in = w->out = NULL;
}

void emu_wire_connect(struct emu_wire *w, struct emu_wire *peer)
{
	w->peer = peer;
}

/* --- transmit: the device's TX ----------------------------------------------------- */

static void inbox_put(struct emu_wire *w, const uint8_t *frame, uint32_t len)
{
	pthread_mutex_lock(&w->lock);
	if (w->inbox == NULL || w->in_tail - w->in_head == WIRE_INBOX) {
		w->inbox_full++;
	} else {
		struct wire_frame *f = &w->inbox[w->in_tail % WIRE_INBOX];
		f->len = len;
		memcpy(f->data, frame, len);
		w->in_tail++;
	}
	pthread_mutex_unlock(&w->lock);
}

static void check(struct emu_wire *w, const uint8_t *frame, uint32_t len)
{
	struct gen_hdr h;
	struct wire_flow *f;

	if (len < ETH_HLEN + sizeof(h) || frame[12] != (GEN_ETHERTYPE >> 8) || frame[13] != (GEN_ETHERTYPE & 0xff)) {
		w->foreign++;
		return;
	}
	memcpy(&h, frame + ETH_HLEN, sizeof(h));
	if (h.magic != GEN_MAGIC || h.flow >= WIRE_MAX_FLOWS || h.len != len ||
	    h.csum != fnv1a(frame + ETH_HLEN + sizeof(h), len - ETH_HLEN - sizeof(h))) {
		w->corrupt++;
		return;
	}
	if (w->platform) {
		/* a full sample (under the platform's lock) only when an ioctl or close may
		 * have changed it since the last one, and never waited for: this runs under the
		 * device's state lock, which a register access holding the platform's lock may
		 * be waiting for. A busy lock leaves the sample to the next frame. */
		uint64_t gen = emu_iommu_activity_gen(w->platform);

		if (!w->received_any)
			w->first_gen = gen;
		w->received_any = true;
		w->last_gen = gen;
		if ((!w->sampled || gen != w->sampled_gen) &&
		    emu_try_get_iommu_activity(w->platform, &w->at_last)) {
			w->sampled_gen = gen;
			if (!w->sampled) {
				w->at_first = w->at_last;
				w->first_sampled_gen = gen;
			}
			w->sampled = true;
		}
	}
	f = &w->flow[h.flow];
	f->received++;
	if (!f->started) {
		/* frames before the first one here were never meant for the checker (a
		 * forwarder drops what arrives before it starts): the flow starts now */
		f->started = true;
		f->first = f->expected = h.seq;
	}
	if (h.seq + 4096 > f->expected && h.seq < f->expected) {
		/* seen before (duplicate) or a late arrival (reordered, not lost after all) */
		uint64_t bit = 1ULL << (h.seq % 64), *word = &f->seen[(h.seq / 64) % 64];
		if (*word & bit) {
			f->duplicated++;
		} else {
			*word |= bit;
			f->reordered++;
			if (f->lost)
				f->lost--;
		}
		return;
	}
	if (h.seq > f->expected)
		f->lost += h.seq - f->expected;
	for (uint64_t s = f->expected; s <= h.seq && s < f->expected + 4096; s++)
		f->seen[(s / 64) % 64] &= ~(1ULL << (s % 64)); /* forget what left the window */
	f->seen[(h.seq / 64) % 64] |= 1ULL << (h.seq % 64);
	f->expected = h.seq + 1;
}

void emu_wire_tx(struct emu_wire *w, const uint8_t *frame, uint32_t len)
{
	bool recorded = false;

	w->tx_frames++;
	w->tx_bytes += len;
	if (w->out)
		recorded = pcap_record(w, frame, len);
	switch (w->tx) {
	case WIRE_TX_SELF:
		inbox_put(w, frame, len);
		break;
	case WIRE_TX_PEER:
		if (w->peer)
			inbox_put(w->peer, frame, len);
		else
			w->tx_dropped++;
		break;
	case WIRE_TX_CHECK:
		check(w, frame, len);
		break;
	case WIRE_TX_TAP:
		if (write(w->tap_fd, frame, len) != (ssize_t)len)
			w->tx_dropped++;
		break;
	case WIRE_TX_SINK:
		break;
	default:
		if (!recorded) /* backend=pcap: a frame written to pcap-out went somewhere */
			w->tx_dropped++;
	}
}

/* --- receive: frames for the device ------------------------------------------------ */

#define GEN_BURST 32 /* frames a late generator may catch up at once */

/* rate=: a frame is due at the rate, with at most a short burst of catching up: a
 * source kept waiting (no RX buffers) does not flood the path afterwards. */
static bool due(struct emu_wire *w)
{
	uint64_t now, interval;

	if (w->rate_pps == 0)
		return true;
	now = now_ns();
	interval = 1000000000u / w->rate_pps;
	if (w->next_ns == 0)
		w->next_ns = now; /* the first frame: now, not a burst of catching up */
	if (w->next_ns + GEN_BURST * interval < now)
		w->next_ns = now - GEN_BURST * interval;
	return now >= w->next_ns;
}

static bool gen_due(struct emu_wire *w)
{
	return !(w->count && w->generated >= w->count) && due(w);
}

static uint32_t generate(struct emu_wire *w, uint8_t *buf, uint32_t *flow_out)
{
	uint32_t len = w->next_size, flow = (uint32_t)(w->generated % w->flows);
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct gen_hdr h = { GEN_MAGIC, (uint16_t)flow, 0, w->gen_seq[flow]++, len, 0 };
	uint8_t *payload = buf + ETH_HLEN + sizeof(h);
	uint32_t plen = len - ETH_HLEN - sizeof(h);

	memcpy(buf, w->mac, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = GEN_ETHERTYPE >> 8;
	buf[13] = GEN_ETHERTYPE & 0xff;
	for (uint32_t i = 0; i < plen; i++)
		payload[i] = (uint8_t)(h.seq * 31 + i);
	h.csum = fnv1a(payload, plen);
	memcpy(buf + ETH_HLEN, &h, sizeof(h));
	w->generated++;
	if (w->rate_pps)
		w->next_ns += 1000000000u / w->rate_pps;
	w->next_size = w->next_size >= w->size_max ? w->size_min : w->next_size + 1;
	*flow_out = flow;
	return len;
}

/* A generated frame the device took but never delivered (it was reset): the generator
 * issues its sequence number again, as a source held back by flow control would. Only
 * the newest frame of its flow can be taken back without leaving a gap. */
bool emu_wire_take_back(struct emu_wire *w, const uint8_t *frame, uint32_t len)
{
	struct gen_hdr h;

	if (w->rx != WIRE_RX_GEN || len < ETH_HLEN + sizeof(h))
		return false;
	memcpy(&h, frame + ETH_HLEN, sizeof(h));
	if (h.magic != GEN_MAGIC || h.flow >= w->flows || w->gen_seq[h.flow] != h.seq + 1)
		return false;
	w->gen_seq[h.flow]--;
	w->generated--;
	w->rx_frames--;
	w->rx_bytes -= len;
	return true;
}

static uint32_t pcap_next(struct emu_wire *w, uint8_t *buf)
{
	struct pcap_rec_hdr r;

	if (w->in == NULL || fread(&r, sizeof(r), 1, w->in) != 1)
		return 0;
	if (r.incl > WIRE_MAX_FRAME || fread(buf, r.incl, 1, w->in) != 1) {
		fclose(w->in);
		w->in = NULL;
		return 0;
	}
	return r.incl;
}

static uint32_t frame_flow(const uint8_t *buf, uint32_t len)
{
	return fnv1a(buf, len < 34 ? len : 34); /* spread by the headers */
}

uint32_t emu_wire_next_flow(struct emu_wire *w)
{
	uint32_t flow = 0;

	if (w->rx == WIRE_RX_GEN)
		return (uint32_t)(w->generated % w->flows);
	if (w->rx == WIRE_RX_INBOX) {
		pthread_mutex_lock(&w->lock);
		if (w->in_head != w->in_tail)
			flow = frame_flow(w->inbox[w->in_head % WIRE_INBOX].data, w->inbox[w->in_head % WIRE_INBOX].len);
		pthread_mutex_unlock(&w->lock);
	}
	return flow;
}

bool emu_wire_rx_ready(struct emu_wire *w)
{
	switch (w->rx) {
	case WIRE_RX_INBOX:
		return __atomic_load_n(&w->in_tail, __ATOMIC_ACQUIRE) != w->in_head;
	case WIRE_RX_GEN:
		return gen_due(w);
	case WIRE_RX_PCAP:
		return w->in != NULL && due(w);
	case WIRE_RX_TAP:
		if (w->tap_pending.len == 0) {
			ssize_t n = read(w->tap_fd, w->tap_pending.data, sizeof(w->tap_pending.data));
			w->tap_pending.len = n > 0 ? (uint32_t)n : 0;
		}
		return w->tap_pending.len != 0;
	default:
		return false;
	}
}

uint32_t emu_wire_rx(struct emu_wire *w, uint8_t *buf, uint32_t *flow)
{
	uint32_t len = 0;

	*flow = 0;
	switch (w->rx) {
	case WIRE_RX_INBOX:
		pthread_mutex_lock(&w->lock);
		if (w->in_head != w->in_tail) {
			struct wire_frame *f = &w->inbox[w->in_head % WIRE_INBOX];
			len = f->len;
			memcpy(buf, f->data, len);
			*flow = frame_flow(buf, len);
			w->in_head++;
		}
		pthread_mutex_unlock(&w->lock);
		break;
	case WIRE_RX_GEN:
		len = gen_due(w) ? generate(w, buf, flow) : 0;
		break;
	case WIRE_RX_PCAP:
		len = due(w) ? pcap_next(w, buf) : 0;
		if (len && w->rate_pps)
			w->next_ns += 1000000000u / w->rate_pps;
		break;
	case WIRE_RX_TAP:
		if (emu_wire_rx_ready(w)) {
			len = w->tap_pending.len;
			memcpy(buf, w->tap_pending.data, len);
			w->tap_pending.len = 0;
		}
		break;
	default:
		break;
	}
	if (len) {
		w->rx_frames++;
		w->rx_bytes += len;
	}
	return len;
}

void emu_wire_stats(struct emu_wire *w, FILE *out)
{
	uint64_t received = 0, lost = 0, reordered = 0, duplicated = 0, skipped = 0;

	for (int i = 0; i < WIRE_MAX_FLOWS; i++) {
		skipped += w->flow[i].first;
		received += w->flow[i].received;
		lost += w->flow[i].lost;
		reordered += w->flow[i].reordered;
		duplicated += w->flow[i].duplicated;
	}
	fprintf(out, "\"wire\": {\"backend\": \"%s\", \"tx_frames\": %llu, \"tx_bytes\": %llu, "
		"\"rx_frames\": %llu, \"rx_bytes\": %llu, \"tx_dropped\": %llu, \"inbox_full\": %llu, "
		"\"tx_recorded\": %llu, \"generated\": %llu", w->backend, (unsigned long long)w->tx_frames,
		(unsigned long long)w->tx_bytes, (unsigned long long)w->rx_frames,
		(unsigned long long)w->rx_bytes, (unsigned long long)w->tx_dropped,
		(unsigned long long)w->inbox_full, (unsigned long long)w->tx_recorded,
		(unsigned long long)w->generated);
	if (w->tx == WIRE_TX_CHECK)
		fprintf(out, ", \"check\": {\"received\": %llu, \"before_first\": %llu, \"lost\": %llu, "
			"\"reordered\": %llu, \"duplicated\": %llu, \"corrupt\": %llu, \"foreign\": %llu, "
			"\"clean\": %s}", (unsigned long long)received, (unsigned long long)skipped,
			(unsigned long long)lost,
			(unsigned long long)reordered, (unsigned long long)duplicated,
			(unsigned long long)w->corrupt, (unsigned long long)w->foreign,
			lost + reordered + duplicated + w->corrupt == 0 ? "true" : "false");
	if (w->tx == WIRE_TX_CHECK && w->sampled)
		fprintf(out, ", \"between_first_and_last_frame\": {\"ioctls\": %llu, \"map_ioctls\": %llu, "
			"\"hypercalls\": %llu, \"tces\": %llu}, \"between_sampled_exactly\": %s",
			(unsigned long long)(w->at_last.ioctls - w->at_first.ioctls),
			(unsigned long long)(w->at_last.map_ioctls - w->at_first.map_ioctls),
			(unsigned long long)(w->at_last.hypercalls - w->at_first.hypercalls),
			(unsigned long long)(w->at_last.tces - w->at_first.tces),
			/* the samples stand for the first and the last frame: nothing happened
			 * between a frame and its delayed sample */
			w->first_sampled_gen == w->first_gen && w->sampled_gen == w->last_gen ? "true" : "false");
	fprintf(out, "}");
}
