/* SPDX-License-Identifier: BSD-3-Clause */
/* The emulated kernel's page size as the program sees it (preload_pages.c). */
#ifndef PRELOAD_PAGES_H
#define PRELOAD_PAGES_H
#include <stdbool.h>
#include <sys/types.h>

void preload_pages_init(unsigned long kernel_page);
void preload_pages_opened(const char *path, int fd);
void preload_pages_closed(int fd);
ssize_t preload_pages_pread(int fd, void *buf, size_t n, off_t off, bool *handled);
void *preload_pages_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset, bool *handled);
#endif
