/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SIGSEGV side of trapped device registers (lib/emu/emu_trap.c): the shim's handler
 * runs first for every SIGSEGV; a fault on a trapped register page is performed against
 * the device and the program resumes after the instruction. Any other fault is the
 * program's: it goes to the SIGSEGV handler the program installed (sigaction and signal
 * are interposed for SIGSEGV: the program sees and replaces its own handler, ours stays
 * in front), or, with none, the default action is restored and the instruction faults
 * again, so a real crash still crashes (and dumps core) where it happened.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "preload_stats.h"
#include "preload_traps.h"
#include "spapr_emu.h"

#define EXPORT __attribute__((visibility("default")))

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static int (*real_munmap)(void *, size_t);
static struct sigaction program_segv = { .sa_handler = SIG_DFL }; /* what the program set */
static int active;

static void resolve(void)
{
	if (real_sigaction == NULL)
		real_sigaction = dlsym(RTLD_NEXT, "sigaction");
	if (real_munmap == NULL)
		real_munmap = dlsym(RTLD_NEXT, "munmap");
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	if (emu_trap_fault(si->si_addr, uc) == 0) {
		errno = saved;
		return;
	}
	if (program_segv.sa_flags & SA_SIGINFO) {
		program_segv.sa_sigaction(sig, si, uc);
	} else if (program_segv.sa_handler != SIG_DFL && program_segv.sa_handler != SIG_IGN) {
		program_segv.sa_handler(sig);
	} else {
		/* not ours, nobody else's: the default action when the instruction faults again */
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		real_sigaction(SIGSEGV, &dfl, NULL);
	}
	errno = saved;
}

void preload_traps_init(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK };

	resolve();
	sigemptyset(&sa.sa_mask);
	if (real_sigaction(SIGSEGV, &sa, &program_segv) == 0)
		active = 1;
}

void preload_traps_unmapped(const void *addr, size_t len)
{
	if (active)
		emu_trap_forget(addr, len);
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int ret;

	resolve();
	if (preload_stats_sigaction(sig, act, old, &ret))
		return ret;
	if (sig != SIGSEGV || !active)
		return real_sigaction(sig, act, old);
	/* the program's SIGSEGV handler is kept here and called for faults not ours */
	if (old)
		*old = program_segv;
	if (act)
		program_segv = *act;
	return 0;
}

EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction sa = { .sa_handler = handler, .sa_flags = SA_RESTART }, old;

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

EXPORT int munmap(void *addr, size_t len)
{
	resolve();
	preload_traps_unmapped(addr, len);
	return real_munmap(addr, len);
}
