/* SPDX-License-Identifier: BSD-3-Clause */
/* Drop CAP_IPC_LOCK and lower RLIMIT_MEMLOCK in a child, as for an unprivileged user. */
#ifndef MEMLOCK_UTIL_H
#define MEMLOCK_UTIL_H

#include <linux/capability.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* fork, reset the failure counter, run fn() and return its verdict */
static inline int in_child(int (*fn)(void), int *failures)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		*failures = 0;
		_exit(fn() ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

#endif
