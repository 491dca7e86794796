/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The x86-64 instructions a program reads and writes device registers with through a
 * BAR mapping: the loads and stores rte_read8..64 and rte_write8..64 (and plain volatile
 * accesses) compile to with gcc and clang. A pure decoder: bytes in, what the access is out.
 *
 * Decoded: MOV r/m<-r (88, 89), MOV r<-r/m (8A, 8B), MOV r/m<-imm (C6 /0, C7 /0),
 * MOVZX (0F B6, 0F B7), MOVSX (0F BE, 0F BF), MOVSXD (REX.W 63), with the 66 operand-size
 * prefix and a REX prefix, every ModRM/SIB/displacement form of the memory operand.
 * Anything else (other opcodes, lock/rep/segment prefixes, a register operand) is not
 * decoded: the caller must refuse it loudly, never guess.
 */
#ifndef EMU_X86_H
#define EMU_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum emu_x86_ext {
	EMU_X86_MERGE,   /* 8/16-bit MOV into a register: its other bits stay */
	EMU_X86_ZERO,    /* zero-extended into the destination (32-bit MOV, MOVZX) */
	EMU_X86_SIGN,    /* sign-extended (MOVSX, MOVSXD) */
};

struct emu_x86_access {
	unsigned int len;       /* instruction length: RIP advances by it */
	bool write;             /* a store to the memory operand */
	unsigned int size;      /* bytes accessed in memory: 1, 2, 4 or 8 */
	/* store: the value comes from register `reg` (its low `size` bytes) or is `imm`;
	 * load: the value goes into register `reg`, `dest_size` bytes of it, extended as
	 * `ext` says (a 32-bit destination clears the upper half, as the CPU does) */
	bool has_imm;
	uint64_t imm;
	unsigned int reg;       /* 0..15: rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15 */
	bool high_byte;         /* the 8-bit register is ah, ch, dh or bh (reg 0..3 + 8 bits) */
	unsigned int dest_size; /* load: 1, 2, 4 or 8 */
	enum emu_x86_ext ext;
};

/* Decode the instruction at code[0..avail). 0, or -1 when it is not a decoded form. */
int emu_x86_decode(const uint8_t *code, size_t avail, struct emu_x86_access *out);

/* What a load leaves in a 64-bit register that held `old`, for `value` read from memory. */
uint64_t emu_x86_load_result(const struct emu_x86_access *a, uint64_t old, uint64_t value);

#endif
