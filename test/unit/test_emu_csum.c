/* SPDX-License-Identifier: BSD-3-Clause */
/* The virtio-net model's checksum offloads: completing a partial TCP/UDP checksum as
 * NEEDS_CSUM asks (CSUM), and telling a right one from a wrong one (GUEST_CSUM). */
#include <string.h>

#include "emu_test.h"
#include "emu_csum.h"

/* An Ethernet + IPv4 + UDP frame (or, vlan, tagged), 20 bytes of payload, whose UDP
 * checksum field holds the pseudo-header sum (what a driver leaves for NEEDS_CSUM). */
static uint32_t udp4_frame(uint8_t *f, bool vlan)
{
	uint32_t o = vlan ? 18 : 14, sum;

	memset(f, 0, 128);
	if (vlan) {
		f[12] = 0x81, f[13] = 0x00, f[14] = 0x00, f[15] = 0x05;
		f[16] = 0x08, f[17] = 0x00;
	} else {
		f[12] = 0x08, f[13] = 0x00;
	}
	f[o] = 0x45, f[o + 3] = 48, f[o + 8] = 64, f[o + 9] = 17;          /* 20 + 8 + 20 */
	memcpy(f + o + 12, (uint8_t[]){ 10, 0, 0, 1, 198, 18, 1, 7 }, 8);
	f[o + 20 + 1] = 9, f[o + 20 + 3] = 9, f[o + 20 + 5] = 28;           /* ports 9, length 28 */
	for (int i = 0; i < 20; i++)
		f[o + 28 + i] = (uint8_t)(i * 7 + 1);
	sum = 0x0a00 + 0x0001 + 0xc612 + 0x0107 + 17 + 28;                   /* pseudo-header */
	sum = (sum & 0xffff) + (sum >> 16);
	f[o + 26] = (uint8_t)(sum >> 8), f[o + 27] = (uint8_t)sum;
	return o + 48;
}

static void complete_then_valid(void)
{
	uint8_t f[128];

	for (int vlan = 0; vlan < 2; vlan++) {
		uint32_t len = udp4_frame(f, vlan), l4 = vlan ? 38 : 34;
		CHECK(!emu_csum_l4_valid(f, len));                     /* partial: not right yet */
		CHECK(emu_csum_complete(f, len, l4, 6));
		CHECK(emu_csum_l4_valid(f, len));
		f[len - 1] ^= 1;                                        /* a payload bit flipped */
		CHECK(!emu_csum_l4_valid(f, len));
	}
}

static void what_is_not_told(void)
{
	uint8_t f[128];
	uint32_t len = udp4_frame(f, false);

	CHECK(emu_csum_complete(f, len, 34, 6));
	CHECK(!emu_csum_l4_valid(f, len - 1));                  /* truncated: IP says more */
	f[20] = 0x20;                                            /* more fragments */
	CHECK(!emu_csum_l4_valid(f, len));
	f[20] = 0;
	f[23] = 1;                                               /* ICMP */
	CHECK(!emu_csum_l4_valid(f, len));
	f[23] = 17;
	f[40] = f[41] = 0;                                       /* UDP over IPv4 without checksum */
	CHECK(emu_csum_l4_valid(f, len));
	f[12] = 0x88, f[13] = 0xb5;                              /* not IP */
	CHECK(!emu_csum_l4_valid(f, len));
	/* a completion request outside the frame writes nothing */
	CHECK(!emu_csum_complete(f, len, len, 0));
	CHECK(!emu_csum_complete(f, len, 34, len - 34 - 1));
	CHECK(!emu_csum_complete(f, len, 34, 0xffff));
}

int main(void)
{
	RUN(complete_then_valid);
	RUN(what_is_not_told);
	return test_result();
}
