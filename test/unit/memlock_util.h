/* SPDX-License-Identifier: BSD-3-Clause */
/* Run a check in a child without CAP_IPC_LOCK and with a small RLIMIT_MEMLOCK, as an
 * unprivileged user would (root bypasses the limit, as in the kernel). */
#ifndef MEMLOCK_UTIL_H
#define MEMLOCK_UTIL_H

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static inline void drop_ipc_lock(uint64_t limit)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	struct rlimit rl = { limit, limit };

	if (syscall(SYS_capget, &hdr, data) == 0) {
		data[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
		syscall(SYS_capset, &hdr, data);
	}
	setrlimit(RLIMIT_MEMLOCK, &rl);
}

/* fork, run fn() (which returns its own failure count) and collect it */
static inline int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		failures = 0; /* count the child's own checks only */
		_exit(fn() ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

#endif
