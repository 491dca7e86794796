/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulated virtio-net device driven by the test driver (test/lib/test_virtio_driver.h)
 * through the real VFIO calls, one scenario a run, under spapr-emu with the device
 * options of each scenario (test/integration/meson.build):
 *   test_virtio_net loop|loop-region-shift|pair|gen-check|mq|fault|pcap|tap|rx3|replay
 */
#include "test_virtio_driver.h"

/* --- scenarios ------------------------------------------------------------------------ */

static uint64_t basic = F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_ACCESS_PLATFORM) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF);

/* TX on a port comes back on its RX (backend=loop) */
static void loop(void)
{
	struct vdev v = { 0 };
	uint8_t frame[1514], mac[6];

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	if (pread(v.fd, mac, 6, v.devcfg) != 6)
		abort();
	CHECK(mac[0] == 0x52 && mac[1] == 0x54);
	for (uint16_t i = 0; i < 64; i++)
		post_rx(&v, &v.q[0], i);
	for (uint32_t n = 0; n < 50; n++) {
		uint32_t len = 60 + n * 29, got;
		make_frame(frame, len, n);
		send(&v, &v.q[1], frame, len);
		CHECK(used_next(&v.q[1], &got) >= 0);
		int id = used_next(&v.q[0], &got);
		CHECK(id >= 0);
		if (id < 0)
			break;
		CHECK_EQ(got, HDR + len);
		CHECK(memcmp(v.q[0].bufs + (size_t)id * BUF + HDR, frame, len) == 0);
		post_rx(&v, &v.q[0], (uint16_t)id);
	}
	dev_close(&v);
}

/* two ports wired to each other (backend=pair) */
static void pair(void)
{
	struct vdev a = { 0 }, b = { 0 };
	uint8_t frame[256];
	uint32_t got;

	CHECK_EQ(dev_open(&a, "0000:00:01.0", 0, basic, 2), 0);
	CHECK_EQ(dev_open(&b, "0000:00:02.0", 1, basic, 2), 0);
	for (uint16_t i = 0; i < 16; i++)
		post_rx(&b, &b.q[0], i);
	make_frame(frame, 256, 9);
	send(&a, &a.q[1], frame, 256);
	int id = used_next(&b.q[0], &got);
	CHECK(id >= 0);
	CHECK_EQ(got, HDR + 256);
	if (id >= 0)
		CHECK(memcmp(b.q[0].bufs + (size_t)id * BUF + HDR, frame, 256) == 0);
	dev_close(&a);
	dev_close(&b);
}

/* the generator's frames, forwarded back to the port's checker (backend=gen-check) */
static void gen_check(void)
{
	struct vdev v = { 0 };
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	for (uint16_t i = 0; i < 128; i++)
		post_rx(&v, &v.q[0], i);
	for (int n = 0; n < 1000; n++) {
		int id = used_next(&v.q[0], &got);
		CHECK(id >= 0);
		if (id < 0)
			break;
		send(&v, &v.q[1], v.q[0].bufs + (size_t)id * BUF + HDR, got - HDR);
		CHECK(used_next(&v.q[1], &got) >= 0);
		post_rx(&v, &v.q[0], (uint16_t)id);
	}
	dev_close(&v);
}

/* backend=replay: the generator's frames made once (3 sizes x 2 flows), handed out in
 * a loop until count=300; TX goes to a sink that still reads every buffer */
static void replay(void)
{
	struct vdev v = { 0 };
	static uint8_t first[6][BUF];
	uint32_t got;
	int n = 0;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	for (uint16_t i = 0; i < 64; i++)
		post_rx(&v, &v.q[0], i);
	for (; n < 300; n++) {
		int id = used_next(&v.q[0], &got);
		CHECK(id >= 0);
		if (id < 0)
			break;
		uint8_t *f = v.q[0].bufs + (size_t)id * BUF + HDR;
		CHECK(got - HDR >= 100 && got - HDR <= 102);
		if (n < 6)
			memcpy(first[n], f, got - HDR);
		else
			CHECK(memcmp(first[n % 6], f, got - HDR) == 0); /* the same frames again */
		post_rx(&v, &v.q[0], (uint16_t)id);
	}
	CHECK_EQ(n, 300);
	CHECK(used_wait(&v.q[0], &got, 200) < 0); /* count=300: no more */
	for (int i = 0; i < 10; i++) {
		send(&v, &v.q[1], first[0], 100);
		CHECK(used_next(&v.q[1], &got) >= 0);
	}
	dev_close(&v);
}

/* MQ through the control queue: two pairs, the generator's flows on both RX queues */
static void mq(void)
{
	struct vdev v = { 0 };
	uint64_t want = basic | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_MQ);
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, want, 5), 0); /* rx0 tx0 rx1 tx1 ctrl */
	struct queue *ctrl = &v.q[4];
	uint8_t *cmd = ctrl->bufs;
	cmd[0] = 4; cmd[1] = 0; cmd[2] = 2; cmd[3] = 0; /* MQ VQ_PAIRS_SET 2 */
	cmd[64] = 0xff;                                 /* the ack */
	ctrl->desc[0] = (struct vring_desc){ htole64(iova(&v, cmd)), htole32(4), htole16(VRING_DESC_F_NEXT), htole16(1) };
	ctrl->desc[1] = (struct vring_desc){ htole64(iova(&v, cmd + 64)), htole32(1), htole16(VRING_DESC_F_WRITE), 0 };
	kick(ctrl, 0);
	CHECK_EQ(used_next(ctrl, &got), 0);
	CHECK_EQ(cmd[64], 0); /* VIRTIO_NET_OK */
	for (uint16_t i = 0; i < 64; i++) {
		post_rx(&v, &v.q[0], i);
		post_rx(&v, &v.q[2], i);
	}
	CHECK(used_next(&v.q[0], &got) >= 0);
	CHECK(used_next(&v.q[2], &got) >= 0);
	dev_close(&v);
}

/* a driver bug: an RX buffer at an IOVA that is not mapped freezes the PE */
static void fault(void)
{
	struct vdev v = { 0 };
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	struct queue *q = &v.q[0];
	q->desc[0] = (struct vring_desc){ htole64(iova(&v, v.mem) + 64 * MiB), htole32(BUF), htole16(VRING_DESC_F_WRITE), 0 };
	kick(q, 0);
	CHECK_EQ(used_wait(q, &got, 200), -1); /* nothing comes back: the device stopped */
	uint32_t vendor = 0;
	CHECK_EQ(pread(v.fd, &vendor, 4, vfio_region_offset(v.fd, VFIO_PCI_CONFIG_REGION_INDEX)), 4);
	CHECK_EQ(vendor, 0xffffffffu); /* the PE is frozen: config reads all ones */
	dev_close(&v);
}

/* TX recorded into a pcap file (backend=pcap with pcap-out) */
static void pcap(void)
{
	struct vdev v = { 0 };
	uint8_t frame[100];
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	for (int n = 0; n < 3; n++) {
		make_frame(frame, sizeof(frame), (uint32_t)n);
		memset(frame, 0xff, 6); /* broadcast */
		send(&v, &v.q[1], frame, sizeof(frame));
		CHECK(used_next(&v.q[1], &got) >= 0);
	}
	dev_close(&v);
}

/* receive exactly three frames (backend=pcap with pcap-in) and print their lengths */
static void rx3(void)
{
	struct vdev v = { 0 };
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	for (uint16_t i = 0; i < 8; i++)
		post_rx(&v, &v.q[0], i);
	for (int n = 0; n < 3; n++) {
		int id = used_next(&v.q[0], &got);
		CHECK(id >= 0);
		printf("rx len %u\n", id >= 0 ? got - HDR : 0);
	}
	CHECK_EQ(used_wait(&v.q[0], &got, 100), -1); /* and no more */
	dev_close(&v);
}

/* frames the host sends on the TAP interface reach RX (backend=tap): wait for an ARP
 * request (what `ping` on the host sends first), printing every frame seen */
static void tap(void)
{
	struct vdev v = { 0 };
	bool arp = false;
	uint32_t got;

	CHECK_EQ(dev_open(&v, "0000:00:01.0", 0, basic, 2), 0);
	for (uint16_t i = 0; i < 64; i++)
		post_rx(&v, &v.q[0], i);
	printf("ready\n");
	fflush(stdout);
	while (!arp) {
		int id = used_wait(&v.q[0], &got, 20000);
		if (id < 0)
			break;
		const uint8_t *f = v.q[0].bufs + (size_t)id * BUF + HDR;
		printf("rx len %u ethertype 0x%02x%02x\n", got - HDR, f[12], f[13]);
		fflush(stdout);
		arp = f[12] == 0x08 && f[13] == 0x06;
		post_rx(&v, &v.q[0], (uint16_t)id);
	}
	CHECK(arp);
	dev_close(&v);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "loop", loop }, { "loop-region-shift", loop }, { "pair", pair }, { "gen-check", gen_check }, { "mq", mq }, { "mq-threads", mq },
		{ "fault", fault }, { "pcap", pcap }, { "tap", tap }, { "rx3", rx3 },
		{ "replay", replay },
	};

	for (size_t i = 0; argc > 1 && i < sizeof(tests) / sizeof(tests[0]); i++)
		if (strcmp(argv[1], tests[i].name) == 0) {
			tests[i].fn();
			printf("%-12s %s\n", argv[1], failures ? "FAILED" : "ok");
			return failures ? 1 : 0;
		}
	fprintf(stderr, "usage: test_virtio_net loop|loop-region-shift|pair|gen-check|mq|fault|pcap|tap|rx3|replay\n");
	return 2;
}
