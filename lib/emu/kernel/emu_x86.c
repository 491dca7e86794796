/* SPDX-License-Identifier: BSD-3-Clause */
/* The x86-64 register-access decoder (see emu_x86.h): Intel SDM vol. 2, chapter 2
 * (prefixes, REX, ModRM, SIB, displacement, immediate) for the MOV family only. */
#include <string.h>

#include "emu_x86.h"

struct cursor {
	const uint8_t *code;
	size_t avail, pos;
};

static int next(struct cursor *c, uint8_t *b)
{
	if (c->pos >= c->avail)
		return -1;
	*b = c->code[c->pos++];
	return 0;
}

/* a little-endian immediate of n bytes, sign-extended to 64 bits */
static int imm(struct cursor *c, unsigned int n, uint64_t *out)
{
	int64_t v;

	if (c->pos + n > c->avail)
		return -1;
	switch (n) {
	case 1: v = (int8_t)c->code[c->pos]; break;
	case 2: { int16_t x; memcpy(&x, c->code + c->pos, 2); v = x; break; }
	default: { int32_t x; memcpy(&x, c->code + c->pos, 4); v = x; break; }
	}
	c->pos += n;
	*out = (uint64_t)v;
	return 0;
}

/* ModRM (and SIB, displacement) of a memory operand; the reg field into *reg. */
static int modrm_mem(struct cursor *c, unsigned int rex, unsigned int *reg, unsigned int *digit)
{
	uint8_t m, sib;
	unsigned int mod, rm, disp = 0;

	if (next(c, &m) != 0)
		return -1;
	mod = m >> 6;
	rm = m & 7;
	*digit = (m >> 3) & 7;
	*reg = *digit | ((rex & 4) ? 8 : 0);
	if (mod == 3)
		return -1; /* a register operand: no memory access */
	if (rm == 4) {
		if (next(c, &sib) != 0)
			return -1;
		if (mod == 0 && (sib & 7) == 5)
			disp = 4;
	}
	if (mod == 0 && rm == 5)
		disp = 4; /* RIP-relative */
	else if (mod == 1)
		disp = 1;
	else if (mod == 2)
		disp = 4;
	if (c->pos + disp > c->avail)
		return -1;
	c->pos += disp;
	return 0;
}

int emu_x86_decode(const uint8_t *code, size_t avail, struct emu_x86_access *out)
{
	struct cursor c = { code, avail, 0 };
	unsigned int rex = 0, digit, opsize = 4;
	uint8_t op;

	memset(out, 0, sizeof(*out));
	if (next(&c, &op) != 0)
		return -1;
	if (op == 0x66) {
		opsize = 2;
		if (next(&c, &op) != 0)
			return -1;
	}
	if ((op & 0xf0) == 0x40) {
		rex = op;
		if (next(&c, &op) != 0)
			return -1;
	}
	if (rex & 8)
		opsize = 8; /* REX.W wins over 66 */
	if (op == 0x0f) {
		if (next(&c, &op) != 0)
			return -1;
		if (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
			return -1;
		if (modrm_mem(&c, rex, &out->reg, &digit) != 0)
			return -1;
		out->size = (op & 1) ? 2 : 1;
		out->dest_size = opsize;
		out->ext = (op & 8) ? EMU_X86_SIGN : EMU_X86_ZERO; /* into a 16-bit register the
								     * upper 48 bits stay */
		out->len = (unsigned int)c.pos;
		return 0;
	}
	switch (op) {
	case 0x88: case 0x89: case 0x8a: case 0x8b:
		if (modrm_mem(&c, rex, &out->reg, &digit) != 0)
			return -1;
		out->write = op <= 0x89;
		out->size = (op & 1) ? opsize : 1;
		out->dest_size = out->size;
		out->ext = out->size >= 4 ? EMU_X86_ZERO : EMU_X86_MERGE;
		/* without REX, 8-bit registers 4..7 are ah, ch, dh, bh */
		if (out->size == 1 && rex == 0 && out->reg >= 4 && out->reg < 8) {
			out->reg -= 4;
			out->high_byte = true;
		}
		break;
	case 0xc6: case 0xc7:
		if (modrm_mem(&c, rex, &out->reg, &digit) != 0 || digit != 0)
			return -1;
		out->write = true;
		out->has_imm = true;
		out->size = op == 0xc6 ? 1 : opsize;
		if (imm(&c, out->size == 8 ? 4 : out->size, &out->imm) != 0)
			return -1;
		if (out->size < 8)
			out->imm &= (1ULL << (8 * out->size)) - 1;
		break;
	case 0x63:
		if (!(rex & 8) || modrm_mem(&c, rex, &out->reg, &digit) != 0)
			return -1;
		out->size = 4;
		out->dest_size = 8;
		out->ext = EMU_X86_SIGN;
		break;
	default:
		return -1;
	}
	out->len = (unsigned int)c.pos;
	return 0;
}

uint64_t emu_x86_load_result(const struct emu_x86_access *a, uint64_t old, uint64_t value)
{
	unsigned int bits = 8 * a->size, dbits = 8 * a->dest_size;
	uint64_t v = bits == 64 ? value : value & ((1ULL << bits) - 1);

	if (a->ext == EMU_X86_SIGN && bits < 64 && (v >> (bits - 1)) & 1)
		v |= ~0ULL << bits;
	if (a->high_byte)
		return (old & ~0xff00ULL) | ((v & 0xff) << 8);
	switch (dbits) {
	case 64:
		return v;
	case 32:
		return v & 0xffffffffULL; /* writing a 32-bit register clears the upper half */
	default: /* 8 or 16 bits: the rest of the register stays */
		return (old & ~((1ULL << dbits) - 1)) | (v & ((1ULL << dbits) - 1));
	}
}
