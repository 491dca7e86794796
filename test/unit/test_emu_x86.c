/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The register-access decoder (lib/emu/emu_x86.c) on every decoded form, with the bytes
 * GNU as assembles for them (objdump-verified): length (RIP advance), direction, size,
 * register or immediate, and what a load leaves in the register (zero/sign extension,
 * 8/16-bit merges, ah..bh); forms it must refuse.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "emu_x86.h"


struct vec {
	const char *text;
	uint8_t bytes[12];
	unsigned int n;
	int ok;                 /* 0: decoded, -1: refused */
	unsigned int len, size, reg;
	int write, has_imm;
	uint64_t imm;
	/* a load into a register holding 0x1111111111111111 of 0x80 (size 1), 0x8000 (2),
	 * 0x80000000 (4) or 0x8000000000000000 (8): the register after */
	uint64_t after;
};

#define OLD 0x1111111111111111ULL
#define R(t, ...) t, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ })

static const struct vec vecs[] = {
	{ R("mov (%rax),%eax", 0x8b, 0x00), 0, 2, 4, 0, 0, 0, 0, 0x80000000ULL },
	{ R("mov (%rdx),%al", 0x8a, 0x02), 0, 2, 1, 0, 0, 0, 0, 0x1111111111111180ULL },
	{ R("mov (%rbx),%ah", 0x8a, 0x23), 0, 2, 1, 0, 0, 0, 0, 0x1111111111118011ULL },
	{ R("mov (%rsi),%sil", 0x40, 0x8a, 0x36), 0, 3, 1, 6, 0, 0, 0, 0x1111111111111180ULL },
	{ R("mov (%rdi),%ax", 0x66, 0x8b, 0x07), 0, 3, 2, 0, 0, 0, 0, 0x1111111111118000ULL },
	{ R("movzbl (%rax),%eax", 0x0f, 0xb6, 0x00), 0, 3, 1, 0, 0, 0, 0, 0x80 },
	{ R("movzwl (%r8),%r9d", 0x45, 0x0f, 0xb7, 0x08), 0, 4, 2, 9, 0, 0, 0, 0x8000 },
	{ R("movzbw (%rax),%cx", 0x66, 0x0f, 0xb6, 0x08), 0, 4, 1, 1, 0, 0, 0, 0x1111111111110080ULL },
	{ R("movsbl 0x10(%rax),%edx", 0x0f, 0xbe, 0x50, 0x10), 0, 4, 1, 2, 0, 0, 0, 0xffffff80ULL },
	{ R("movswq (%rax,%rbx,4),%r10", 0x4c, 0x0f, 0xbf, 0x14, 0x98), 0, 5, 2, 10, 0, 0, 0,
	  0xffffffffffff8000ULL },
	{ R("movslq (%rcx),%rax", 0x48, 0x63, 0x01), 0, 3, 4, 0, 0, 0, 0, 0xffffffff80000000ULL },
	{ R("mov (%rax),%rax", 0x48, 0x8b, 0x00), 0, 3, 8, 0, 0, 0, 0, 0x8000000000000000ULL },
	{ R("mov 0x12345678(%r12),%r13", 0x4d, 0x8b, 0xac, 0x24, 0x78, 0x56, 0x34, 0x12), 0, 8, 8, 13, 0, 0, 0,
	  0x8000000000000000ULL },
	{ R("mov %eax,(%rdx)", 0x89, 0x02), 0, 2, 4, 0, 1, 0, 0, 0 },
	{ R("mov %ax,(%rdx)", 0x66, 0x89, 0x02), 0, 3, 2, 0, 1, 0, 0, 0 },
	{ R("mov %al,(%rdx)", 0x88, 0x02), 0, 2, 1, 0, 1, 0, 0, 0 },
	{ R("mov %r15,0x8(%rsp)", 0x4c, 0x89, 0x7c, 0x24, 0x08), 0, 5, 8, 15, 1, 0, 0, 0 },
	{ R("mov %r11b,(%rax)", 0x44, 0x88, 0x18), 0, 3, 1, 11, 1, 0, 0, 0 },
	{ R("movl $0x11223344,(%rax)", 0xc7, 0x00, 0x44, 0x33, 0x22, 0x11), 0, 6, 4, 0, 1, 1, 0x11223344, 0 },
	{ R("movw $0xbeef,0x4(%rcx)", 0x66, 0xc7, 0x41, 0x04, 0xef, 0xbe), 0, 6, 2, 0, 1, 1, 0xbeef, 0 },
	{ R("movb $0x7f,(%rax)", 0xc6, 0x00, 0x7f), 0, 3, 1, 0, 1, 1, 0x7f, 0 },
	{ R("movq $-2,(%rax)", 0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff), 0, 7, 8, 0, 1, 1, 0xfffffffffffffffeULL, 0 },
	{ R("mov 0x0(%rip),%eax", 0x8b, 0x05, 0x00, 0x00, 0x00, 0x00), 0, 6, 4, 0, 0, 0, 0, 0x80000000ULL },
	{ R("mov %ecx,(%rax,%rdx,1)", 0x89, 0x0c, 0x10), 0, 3, 4, 1, 1, 0, 0, 0 },
	/* refused: not a plain move, or a register operand, or cut short */
	{ R("lock incl (%rax)", 0xf0, 0xff, 0x00), -1, 0, 0, 0, 0, 0, 0, 0 },
	{ R("add (%rax),%eax", 0x03, 0x00), -1, 0, 0, 0, 0, 0, 0, 0 },
	{ R("mov %eax,%ecx", 0x89, 0xc1), -1, 0, 0, 0, 0, 0, 0, 0 },
	{ R("movl $imm (cut)", 0xc7, 0x00, 0x44, 0x33), -1, 0, 0, 0, 0, 0, 0, 0 },
	{ R("mov 0x12345678(%r12) (cut)", 0x4d, 0x8b, 0xac, 0x24, 0x78), -1, 0, 0, 0, 0, 0, 0, 0 },
	{ R("c7 /1 (not a mov)", 0xc7, 0x08, 0x01, 0x00, 0x00, 0x00), -1, 0, 0, 0, 0, 0, 0, 0 },
	{ R("movsbl with 0f b8 (popcnt family)", 0x0f, 0xb8, 0x00), -1, 0, 0, 0, 0, 0, 0, 0 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		struct emu_x86_access a;
		int before = failures;

		CHECK_EQ(emu_x86_decode(v->bytes, v->n, &a), v->ok);
		if (v->ok == 0) {
			CHECK_EQ(a.len, v->len);
			CHECK_EQ(a.size, v->size);
			CHECK_EQ(a.reg, v->reg);
			CHECK_EQ(a.write, v->write);
			CHECK_EQ(a.has_imm, v->has_imm);
			if (v->has_imm)
				CHECK_EQ(a.imm, v->imm);
			if (!v->write)
				CHECK_EQ(emu_x86_load_result(&a, OLD, 1ULL << (8 * a.size - 1)), v->after);
		}
		printf("%-40s %s\n", v->text, failures == before ? "ok" : "FAILED");
	}
	return failures ? 1 : 0;
}
