/* SPDX-License-Identifier: BSD-3-Clause */
/* The OS boundary of lib/tce (see tce_sys.h): thin wrappers, nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tce_sys.h"

int tce_sys_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

long tce_sys_ioctl(int fd, unsigned long req, void *arg)
{
	long ret = ioctl(fd, req, arg);

	return ret < 0 ? -errno : ret;
}

long tce_sys_ioctl_val(int fd, unsigned long req, unsigned long val)
{
	long ret = ioctl(fd, req, val);

	return ret < 0 ? -errno : ret;
}

int tce_sys_dup(int fd)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return nfd < 0 ? -errno : nfd;
}

void tce_sys_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

int tce_sys_memlock(uint64_t *soft, uint64_t *hard, bool *cap_ipc_lock)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return -errno;
	*soft = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
	*hard = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : rl.rlim_max;
	*cap_ipc_lock = syscall(SYS_capget, &hdr, data) == 0 &&
			((data[CAP_IPC_LOCK / 32].effective >> (CAP_IPC_LOCK % 32)) & 1);
	return 0;
}

int tce_sys_set_memlock_soft(uint64_t soft)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return -errno;
	rl.rlim_cur = soft;
	return setrlimit(RLIMIT_MEMLOCK, &rl) == 0 ? 0 : -errno;
}

uint64_t tce_sys_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* The kernel's pool of hugepages of one size (persistent plus overcommit): no process
 * can have more memory of that page size. 0 when the size has no pool. */
uint64_t tce_sys_hugepage_pool(uint64_t page_size)
{
	static const char *const attrs[] = { "nr_hugepages", "nr_overcommit_hugepages" };
	uint64_t pages = 0;

	for (unsigned int i = 0; i < 2; i++) {
		char path[128];
		unsigned long long n;
		FILE *f;

		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/%s",
			 (unsigned long long)(page_size >> 10), attrs[i]);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fscanf(f, "%llu", &n) == 1)
			pages += n;
		fclose(f);
	}
	return pages * page_size;
}
