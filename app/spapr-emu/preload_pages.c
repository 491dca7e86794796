/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulated machine's page size, as the program sees it. A ppc64 kernel has 64 KiB
 * pages: getpagesize() and sysconf() say so, anonymous memory the kernel places starts
 * on a page boundary and comes in whole pages, and /proc/self/pagemap has one entry per
 * 64 KiB page. Programs that compute with the page size (DPDK sizes and aligns its
 * reservations with it) then lay memory out as on POWER, where the kernel pre-registers
 * only whole pages. The x86 host underneath still has 4 KiB pages: pagemap entries are
 * the host's entry for the first present 4 KiB of each 64 KiB page with the frame
 * number scaled, exact for memory physically contiguous over 64 KiB (hugepages).
 */
/* lseek and lseek64 are both defined here (64-bit offsets either way on LP64) */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload_pages.h"

#define EXPORT __attribute__((visibility("default")))
#define HOST_PAGE 4096UL
#define PFN_MASK ((1ULL << 55) - 1)
#define MAX_PAGEMAPS 16               /* pagemap files open at once */

static unsigned long kernel_page;        /* 0: the host's page size is shown */
static long (*real_sysconf)(int);
static int (*real_getpagesize)(void);
static off_t (*real_lseek)(int, off_t, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
/* The open pagemap files: fd (-1: free slot), position in the emulated pagemap, and
 * which file (an fd closed behind our back, by fclose, may come back as another). */
static struct pagemap { int fd; off_t pos; dev_t dev; ino_t ino; } pagemaps[MAX_PAGEMAPS];
static int npagemaps;

static void resolve(void)
{
	if (real_read)
		return;
	real_sysconf = dlsym(RTLD_NEXT, "sysconf");
	real_getpagesize = dlsym(RTLD_NEXT, "getpagesize");
	real_lseek = dlsym(RTLD_NEXT, "lseek");
	real_pread = dlsym(RTLD_NEXT, "pread");
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_read = dlsym(RTLD_NEXT, "read");
}

void preload_pages_init(unsigned long page)
{
	resolve();
	for (int i = 0; i < MAX_PAGEMAPS; i++)
		pagemaps[i].fd = -1;
	kernel_page = page > HOST_PAGE ? page : 0;
}

static unsigned long scale(void)
{
	return kernel_page / HOST_PAGE;
}

EXPORT int getpagesize(void)
{
	resolve();
	return kernel_page ? (int)kernel_page : real_getpagesize();
}

EXPORT long sysconf(int name)
{
	long v;

	resolve();
	v = real_sysconf(name);
	if (!kernel_page || v < 0)
		return v;
	switch (name) {
	case _SC_PAGESIZE:
		return (long)kernel_page;
	case _SC_PHYS_PAGES:
	case _SC_AVPHYS_PAGES:
		return v / (long)scale();
	default:
		return v;
	}
}

/* --- /proc/self/pagemap at the kernel's page size -------------------------------- */

static struct pagemap *find_pagemap(int fd)
{
	struct stat st;

	if (npagemaps == 0 || fd < 0)
		return NULL;
	for (int i = 0; i < MAX_PAGEMAPS; i++) {
		struct pagemap *pm = &pagemaps[i];
		if (pm->fd != fd)
			continue;
		if (fstat(fd, &st) == 0 && st.st_dev == pm->dev && st.st_ino == pm->ino)
			return pm;
		pm->fd = -1; /* stale */
		npagemaps--;
	}
	return NULL;
}

void preload_pages_opened(const char *path, int fd)
{
	struct stat st;

	if (fd < 0 || !kernel_page)
		return;
	preload_pages_closed(fd);
	if (path == NULL ||
	    (strcmp(path, "/proc/self/pagemap") != 0 && strcmp(path, "/proc/thread-self/pagemap") != 0) ||
	    fstat(fd, &st) != 0)
		return;
	for (int i = 0; i < MAX_PAGEMAPS; i++) {
		if (pagemaps[i].fd >= 0)
			continue;
		pagemaps[i] = (struct pagemap){ fd, 0, st.st_dev, st.st_ino };
		npagemaps++;
		return;
	}
}

void preload_pages_closed(int fd)
{
	for (int i = 0; npagemaps && i < MAX_PAGEMAPS; i++)
		if (pagemaps[i].fd == fd) {
			pagemaps[i] = (struct pagemap){ -1, 0, 0, 0 };
			npagemaps--;
		}
}

/* One entry of the emulated pagemap: from the first host page of that kernel page the
 * host has present (a stack or heap page may be touched only at its end), its frame
 * taken back to the start of the kernel page. */
static int emulated_entry(int fd, uint64_t index, uint64_t *out)
{
	uint64_t e[64];
	unsigned long n = scale() < 64 ? scale() : 64;
	ssize_t r = real_pread(fd, e, n * 8, (off_t)(index * scale() * 8));

	if (r < 8)
		return -1;
	*out = e[0];
	for (unsigned long k = 0; k < (unsigned long)r / 8; k++) {
		uint64_t pfn = e[k] & PFN_MASK;
		if (pfn) {
			*out = (e[k] & ~PFN_MASK) | ((pfn >= k ? pfn - k : 0) / scale());
			break;
		}
	}
	return 0;
}

/* Entries [pos/8, pos/8 + n/8) of the emulated pagemap. */
static ssize_t read_entries(int fd, void *buf, size_t n, off_t pos)
{
	size_t done = 0;

	if (pos % 8 || n % 8) {
		errno = EINVAL;
		return -1;
	}
	for (; done < n; done += 8) {
		uint64_t e;
		if (emulated_entry(fd, (uint64_t)(pos + (off_t)done) / 8, &e) != 0)
			return done ? (ssize_t)done : -1;
		memcpy((uint8_t *)buf + done, &e, 8);
	}
	return (ssize_t)done;
}

EXPORT off_t lseek(int fd, off_t off, int whence)
{
	struct pagemap *pm;

	resolve();
	pm = find_pagemap(fd);
	if (pm == NULL || (whence != SEEK_SET && whence != SEEK_CUR))
		return real_lseek(fd, off, whence);
	pm->pos = whence == SEEK_SET ? off : pm->pos + off;
	return pm->pos;
}

EXPORT off_t lseek64(int fd, off_t off, int whence) __attribute__((alias("lseek")));

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	struct pagemap *pm;
	ssize_t r;

	resolve();
	pm = find_pagemap(fd);
	if (pm == NULL)
		return real_read(fd, buf, n);
	r = read_entries(fd, buf, n, pm->pos);
	if (r > 0)
		pm->pos += r;
	return r;
}

ssize_t preload_pages_pread(int fd, void *buf, size_t n, off_t off, bool *handled)
{
	*handled = find_pagemap(fd) != NULL;
	return *handled ? read_entries(fd, buf, n, off) : 0;
}

/* --- anonymous memory in whole kernel pages ---------------------------------------- */

/* Memory the program lets the kernel place: aligned to the kernel's page and rounded up
 * to whole pages. An address the program asks for is left as it is. */
void *preload_pages_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset, bool *handled)
{
	size_t page = kernel_page, whole;
	uint8_t *m, *start;

	*handled = kernel_page && addr == NULL && (flags & MAP_ANONYMOUS) && !(flags & MAP_HUGETLB) && len;
	if (!*handled)
		return NULL;
	resolve();
	whole = (len + page - 1) & ~(page - 1);
	m = real_mmap(NULL, whole + page, prot, flags, fd, offset);
	if (m == MAP_FAILED)
		return m;
	start = (uint8_t *)(((uintptr_t)m + page - 1) & ~(uintptr_t)(page - 1));
	if (start > m)
		munmap(m, (size_t)(start - m));
	if (m + whole + page > start + whole)
		munmap(start + whole, (size_t)(m + whole + page - (start + whole)));
	return start;
}
