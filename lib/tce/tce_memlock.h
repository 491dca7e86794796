/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Locked memory: what the kernel charges VFIO users to locked_vm (pinned pages, TCE
 * tables, a v1 window), compared with RLIMIT_MEMLOCK before anything is charged. The
 * check is a pure function; tce_memlock_read() (tce.h) fills its input.
 */
#ifndef TCE_MEMLOCK_H
#define TCE_MEMLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tce_memlock {
	uint64_t soft, hard;      /* RLIMIT_MEMLOCK (UINT64_MAX: unlimited) */
	bool cap_ipc_lock;        /* effective CAP_IPC_LOCK: the kernel ignores the limit */
	uint64_t locked;          /* already charged to the process (other containers) */
};

enum tce_memlock_verdict {
	TCE_MEMLOCK_OK,           /* fits the soft limit (or no limit applies) */
	TCE_MEMLOCK_RAISE_SOFT,   /* fits once the soft limit is raised to `raise_to` */
	TCE_MEMLOCK_SHORT,        /* does not fit the hard limit: fail before any ioctl */
};

/* Compare `need` bytes with the limit; `raise_to` is the soft limit to set for
 * RAISE_SOFT. For SHORT, err gets the one-line advice. */
enum tce_memlock_verdict tce_memlock_check(uint64_t need, const struct tce_memlock *ml,
					   uint64_t *raise_to, char *err, size_t errlen);

#endif
