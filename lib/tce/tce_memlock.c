/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The locked-memory check, before any ioctl: the kernel charges VFIO's pinned pages,
 * TCE tables and (v1) the whole default window to locked_vm, and refuses with ENOMEM
 * past RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK (account_locked_vm()).
 * Knowing the need up front turns that ENOMEM into advice. Also what lib/tce itself
 * made the kernel charge (all containers of the process share one locked_vm).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>

#include "tce_internal.h"

static void fmt_limit(char *buf, size_t len, uint64_t v)
{
	if (v == UINT64_MAX)
		snprintf(buf, len, "unlimited");
	else if (v >= (1ULL << 20) && v % (1ULL << 20) == 0)
		snprintf(buf, len, "%" PRIu64 " MiB", v >> 20);
	else
		snprintf(buf, len, "%" PRIu64 " KiB", v >> 10);
}

enum tce_memlock_verdict tce_memlock_check(uint64_t need, const struct tce_memlock *ml,
					   uint64_t *raise_to, char *err, size_t errlen)
{
	uint64_t total = need + ml->locked;
	char soft[32], hard[32];

	if (ml->cap_ipc_lock || total <= ml->soft)
		return TCE_MEMLOCK_OK;
	if (total <= ml->hard) {
		*raise_to = total;
		return TCE_MEMLOCK_RAISE_SOFT;
	}
	fmt_limit(soft, sizeof(soft), ml->soft);
	fmt_limit(hard, sizeof(hard), ml->hard);
	snprintf(err, errlen,
		 "DMA mapping needs %" PRIu64 " MiB of locked memory (%" PRIu64 " bytes%s) but "
		 "RLIMIT_MEMLOCK is %s (hard limit %s): raise it with 'ulimit -l %" PRIu64 "' or a "
		 "memlock line in /etc/security/limits.conf, or grant CAP_IPC_LOCK",
		 (total + (UINT64_C(1) << 20) - 1) >> 20, total,
		 ml->locked ? ", with what the process already locked" : "", soft, hard,
		 (total + 1023) >> 10);
	return TCE_MEMLOCK_SHORT;
}

/* --- what the process's containers made the kernel charge ---------------------- */

/* all containers of the process share locked_vm; containers may be changed from
 * different threads at once (tce.h): atomic */
static uint64_t process_charged;

uint64_t tce_process_charged(void)
{
	return __atomic_load_n(&process_charged, __ATOMIC_RELAXED);
}

void tce_charge(struct tce_container *c, int64_t bytes)
{
	c->charged += bytes;
	__atomic_add_fetch(&process_charged, (uint64_t)bytes, __ATOMIC_RELAXED);
	c->st.locked_bytes = c->charged + c->reg_bytes;
}

/* Registrations: the kernel charges the process once per registration, whichever
 * container made it first and whichever lets it go last; the container's own view
 * counts the bytes of its registrations. */
void tce_charge_shared(struct tce_container *c, int64_t bytes)
{
	__atomic_add_fetch(&process_charged, (uint64_t)bytes, __ATOMIC_RELAXED);
	c->st.locked_bytes = c->charged + c->reg_bytes;
}

int tce_memlock_read(struct tce_memlock *ml)
{
	int ret = tce_sys_memlock(&ml->soft, &ml->hard, &ml->cap_ipc_lock);

	ml->locked = tce_process_charged();
	return ret;
}

uint64_t tce_hugepage_pool_bytes(uint64_t page_size)
{
	return tce_sys_hugepage_pool(page_size);
}
