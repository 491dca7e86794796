/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The locked-memory check, before any ioctl: the kernel charges VFIO's pinned pages,
 * TCE tables and (v1) the whole default window to locked_vm, and refuses with ENOMEM
 * past RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK (account_locked_vm()).
 * Knowing the need up front turns that ENOMEM into advice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>

#include "tce_plan.h"

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

int tce_parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}
