/* SPDX-License-Identifier: BSD-3-Clause */
/* Internet checksums (RFC 1071) over frames, for the virtio-net model's offloads. */
#include <string.h>

#include "emu_csum.h"

static uint32_t sum16(const uint8_t *p, uint32_t n, uint32_t sum)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

bool emu_csum_complete(uint8_t *frame, uint32_t len, uint32_t start, uint32_t offset)
{
	uint16_t c;

	if (start >= len || offset > len - start || len - start - offset < 2)
		return false;
	c = (uint16_t)~fold(sum16(frame + start, len - start, 0));
	frame[start + offset] = (uint8_t)(c >> 8);
	frame[start + offset + 1] = (uint8_t)c;
	return true;
}

bool emu_csum_l4_valid(const uint8_t *f, uint32_t len)
{
	uint32_t off = 12, l4, l4_len, sum;
	uint16_t type;
	uint8_t proto;

	if (len < 14)
		return false;
	type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == 0x8100 && len >= 18) {
		off = 16;
		type = (uint16_t)(f[16] << 8 | f[17]);
	}
	off += 2;
	if (type == 0x0800) {
		uint32_t ihl, tot;
		if (len < off + 20 || (f[off] >> 4) != 4)
			return false;
		ihl = (f[off] & 0xfu) * 4u;
		tot = (uint32_t)(f[off + 2] << 8 | f[off + 3]);
		if (ihl < 20 || tot < ihl || off + tot > len || (f[off + 6] & 0x3f) || f[off + 7])
			return false; /* short, or a fragment */
		proto = f[off + 9];
		l4 = off + ihl;
		l4_len = tot - ihl;
		sum = sum16(f + off + 12, 8, 0) + proto + l4_len;      /* pseudo-header */
	} else if (type == 0x86dd) {
		if (len < off + 40)
			return false;
		proto = f[off + 6];                                     /* no extension headers */
		l4 = off + 40;
		l4_len = (uint32_t)(f[off + 4] << 8 | f[off + 5]);
		if (l4 + l4_len > len)
			return false;
		sum = sum16(f + off + 8, 32, 0) + proto + l4_len;
	} else {
		return false;
	}
	if (proto == 17 && l4_len >= 8) {
		if (type == 0x0800 && f[l4 + 6] == 0 && f[l4 + 7] == 0)
			return true; /* no checksum */
	} else if (!(proto == 6 && l4_len >= 20)) {
		return false;
	}
	return fold(sum16(f + l4, l4_len, sum)) == 0xffff;
}
