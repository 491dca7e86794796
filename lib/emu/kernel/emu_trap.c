/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device registers reached through a BAR mapping. A real device sees every load and
 * store a program makes on its mapped BAR; the emulated one is plain memory unless the
 * pages that hold registers with semantics (a model's trap areas) are mapped with no
 * access: each load or store there faults, the preload shim's SIGSEGV handler hands it
 * here, the instruction is decoded (emu_x86.c), performed against the model as a region
 * read or write of its size, its register result written back, and the program resumes
 * after it. Areas the real kernel lets a program map for real without side effects
 * (virtio doorbells: the model polls its rings) stay plain memory.
 *
 * A mapping of another process's device (a file received from it, emu_remote_*.c) traps
 * the same areas; each access is a request to that process, over the trap's own
 * duplicate of the file (the program may close its fd and keep the mapping).
 *
 * The table of trapped ranges is read from the fault handler without a lock: an entry is
 * published by its start address (release) after its other fields, and retired by
 * clearing it before the range is unmapped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_x86.h"

#define EMU_MAX_TRAPS 256

struct trap {
	_Atomic uintptr_t start;    /* 0: free */
	uintptr_t len;
	struct emu_device *dev;     /* NULL: another process's device, through rfd */
	unsigned int bar;
	uint64_t bar_off;           /* the BAR offset at start */
	int rfd;                    /* another process's device: the file (a dup), */
	uint64_t file_off;          /* and the device fd offset at start */
};

static struct trap traps[EMU_MAX_TRAPS];
static pthread_mutex_t traps_lock = PTHREAD_MUTEX_INITIALIZER; /* writers only */

static int add(const struct trap *tmpl, void *va, size_t len)
{
	int ret = -ENOSPC;

	if (mprotect(va, len, PROT_NONE) != 0)
		return -errno;
	pthread_mutex_lock(&traps_lock);
	for (unsigned int i = 0; i < EMU_MAX_TRAPS; i++) {
		struct trap *t = &traps[i];
		if (atomic_load_explicit(&t->start, memory_order_relaxed) != 0)
			continue;
		t->len = len;
		t->dev = tmpl->dev;
		t->bar = tmpl->bar;
		t->bar_off = tmpl->bar_off;
		t->rfd = tmpl->rfd;
		t->file_off = tmpl->file_off;
		atomic_store_explicit(&t->start, (uintptr_t)va, memory_order_release);
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&traps_lock);
	return ret;
}

int emu_trap_add(struct emu_device *d, unsigned int bar, uint64_t bar_off, void *va, size_t len)
{
	struct trap t = { .dev = d, .bar = bar, .bar_off = bar_off, .rfd = -1,
			  .file_off = ((uint64_t)bar << d->plat->cfg.plat.region_shift) + bar_off };

	return add(&t, va, len);
}

int emu_trap_add_remote(int rfd, uint64_t file_off, void *va, size_t len)
{
	struct trap t = { .rfd = dup(rfd), .file_off = file_off };
	int ret;

	if (t.rfd < 0)
		return -errno;
	ret = add(&t, va, len);
	if (ret)
		close(t.rfd);
	return ret;
}

/* with traps_lock held */
static void retire(struct trap *t)
{
	atomic_store_explicit(&t->start, 0, memory_order_release);
	if (t->dev == NULL && t->rfd >= 0)
		close(t->rfd);
	t->rfd = -1;
}

void emu_trap_forget(const void *va, size_t len)
{
	uintptr_t s = (uintptr_t)va, e = s + len;

	pthread_mutex_lock(&traps_lock);
	for (unsigned int i = 0; i < EMU_MAX_TRAPS; i++) {
		uintptr_t ts = atomic_load_explicit(&traps[i].start, memory_order_relaxed);
		if (ts != 0 && ts < e && s < ts + traps[i].len)
			retire(&traps[i]);
	}
	pthread_mutex_unlock(&traps_lock);
}

void emu_trap_forget_device(const struct emu_device *d)
{
	pthread_mutex_lock(&traps_lock);
	for (unsigned int i = 0; i < EMU_MAX_TRAPS; i++)
		if (traps[i].dev == d && atomic_load_explicit(&traps[i].start, memory_order_relaxed) != 0)
			retire(&traps[i]);
	pthread_mutex_unlock(&traps_lock);
}

static const struct trap *find(uintptr_t a)
{
	for (unsigned int i = 0; i < EMU_MAX_TRAPS; i++) {
		uintptr_t s = atomic_load_explicit(&traps[i].start, memory_order_acquire);
		if (s != 0 && a >= s && a < s + traps[i].len)
			return &traps[i];
	}
	return NULL;
}

#if defined(__x86_64__)
/* x86 register numbers (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15) in the
 * signal context */
static const int greg_of[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI,
				 REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13,
				 REG_R14, REG_R15 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void refuse(const struct trap *t, uintptr_t addr, const uint8_t *rip, const char *why)
{
	char msg[400], where[64];
	uint64_t at = addr - atomic_load(&t->start);
	int n;

	if (t->dev)
		snprintf(where, sizeof(where), "device %s BAR%u+0x%" PRIx64, t->dev->addr, t->bar, t->bar_off + at);
	else
		snprintf(where, sizeof(where), "another process's device, offset 0x%" PRIx64, t->file_off + at);
	n = snprintf(msg, sizeof(msg), "spapr-emu: %s at %p on %s (instruction at %p:", why, (void *)addr,
		     where, (const void *)rip);
	for (int i = 0; i < 15 && n < (int)sizeof(msg) - 4; i++)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, " %02x", rip[i]);
	snprintf(msg + n, sizeof(msg) - (size_t)n, "): not emulated, stopping (doc/emulator.md)\n");
	if (write(STDERR_FILENO, msg, strlen(msg)) < 0)
		abort();
	abort();
}

int emu_trap_fault(void *addr, void *ucontext)
{
	uintptr_t a = (uintptr_t)addr;
	const struct trap *t = find(a);
	struct emu_x86_access x;
	uint64_t off, val = 0, t0 = now_ns();
	int ret;

	if (t == NULL)
		return -1;
	greg_t *g = ((ucontext_t *)ucontext)->uc_mcontext.gregs;
	const uint8_t *rip = (const uint8_t *)g[REG_RIP];
	if (emu_x86_decode(rip, 15, &x) != 0)
		refuse(t, a, rip, "a device register access by an instruction it cannot decode");
	off = t->file_off + (a - atomic_load(&t->start));
	if (a + x.size > atomic_load(&t->start) + t->len)
		refuse(t, a, rip, "a device register access across the end of the register area");
	if (x.write)
		val = x.has_imm ? x.imm : (uint64_t)g[greg_of[x.reg]] >> (x.high_byte ? 8 : 0);
	ret = t->dev ? emu_device_mmio(t->dev, off, &val, x.size, x.write)
		     : emu_remote_mmio(t->rfd, off, &val, x.size, x.write);
	if (ret != 0 && !x.write)
		val = ~0ULL; /* a load the device did not answer reads all ones, as on a bus */
	if (!x.write)
		g[greg_of[x.reg]] = (greg_t)emu_x86_load_result(&x, (uint64_t)g[greg_of[x.reg]], val);
	g[REG_RIP] += x.len;
	if (t->dev)
		atomic_fetch_add(&t->dev->plat->mmio_ns, now_ns() - t0);
	return 0;
}
#else
int emu_trap_fault(void *addr, void *ucontext)
{
	(void)ucontext;
	return find((uintptr_t)addr) ? (abort(), 0) : -1;
}
#endif
