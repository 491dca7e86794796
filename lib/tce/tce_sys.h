/* SPDX-License-Identifier: BSD-3-Clause */
/* The OS boundary of lib/tce: every open/ioctl/close on /dev/vfio, every rlimit and
 * capability call and the hugepage pool in sysfs go through here, returning -errno. */
#ifndef TCE_SYS_H
#define TCE_SYS_H

#include <stdbool.h>
#include <stdint.h>

int tce_sys_open(const char *path);
long tce_sys_ioctl(int fd, unsigned long req, void *arg);
long tce_sys_ioctl_val(int fd, unsigned long req, unsigned long val);
void tce_sys_close(int fd);
/* Another fd for the same open file (close-on-exec). */
int tce_sys_dup(int fd);
int tce_sys_memlock(uint64_t *soft, uint64_t *hard, bool *cap_ipc_lock);
int tce_sys_set_memlock_soft(uint64_t soft);
uint64_t tce_sys_now_ns(void);
uint64_t tce_sys_hugepage_pool(uint64_t page_size);

#endif
