/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The LD_PRELOAD shim of spapr-emu: the one place where libc calls are diverted.
 * open() of /dev/vfio/<name> and every call on the fds it returned go to the emulated
 * platform; everything else goes straight to libc. Inactive (pure pass-through) unless
 * SPAPR_EMU_CONFIG names a platform configuration, which spapr-emu run sets.
 */
/* Interpose the plain and the LFS64 names as separate symbols: no header redirects. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "spapr_emu.h"

#define EXPORT __attribute__((visibility("default")))

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);

static struct emu_platform *platform;
static int touched; /* a /dev/vfio file was opened: this process reports stats */

static void resolve(void)
{
	real_open = dlsym(RTLD_NEXT, "open");
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_close = dlsym(RTLD_NEXT, "close");
	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_pread = dlsym(RTLD_NEXT, "pread");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
}

static void write_stats(void)
{
	const char *path = getenv("SPAPR_EMU_STATS");
	char tmp[512];
	FILE *f;

	if (platform == NULL || !touched || path == NULL || *path == '\0')
		return;
	/* write then rename: a reader never sees half a file */
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "we");
	if (f == NULL) {
		fprintf(stderr, "spapr-emu: cannot write stats %s: %s\n", tmp, strerror(errno));
		return;
	}
	emu_write_stats(platform, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		fprintf(stderr, "spapr-emu: cannot write stats %s: %s\n", path, strerror(errno));
}

__attribute__((constructor)) static void preload_init(void)
{
	const char *cfg_path = getenv("SPAPR_EMU_CONFIG");
	struct emu_config cfg;
	char err[512];

	resolve();
	if (cfg_path == NULL || *cfg_path == '\0')
		return;
	emu_config_init(&cfg, NULL);
	if (emu_config_load(&cfg, cfg_path, err, sizeof(err)) != 0 ||
	    emu_config_finish(&cfg, err, sizeof(err)) != 0 ||
	    emu_platform_create(&cfg, &platform, err, sizeof(err)) != 0) {
		fprintf(stderr, "spapr-emu: %s\n", err);
		_exit(2);
	}
	emu_set_current(platform);
	atexit(write_stats);
}

static int ret_errno(long ret)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return (int)ret;
}

static int open_vfio(const char *path, int flags)
{
	int fd = emu_open(platform, path, flags);

	if (fd >= 0)
		touched = 1;
	return ret_errno(fd);
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	if (platform && emu_path_is_vfio(path))
		return open_vfio(path, flags);
	return real_open(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...) __attribute__((alias("open")));

EXPORT int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

EXPORT int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	if (platform && emu_path_is_vfio(path))
		return open_vfio(path, flags);
	return real_openat(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

EXPORT int close(int fd)
{
	if (platform && emu_fd_is_ours(fd))
		return ret_errno(emu_close(fd));
	return real_close(fd);
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (platform && emu_fd_is_ours(fd))
		return ret_errno(emu_ioctl(fd, request, arg));
	return real_ioctl(fd, request, arg);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	if (platform && emu_fd_is_ours(fd)) {
		int err = 0;
		void *m = emu_mmap(addr, len, prot, flags, fd, offset, &err);
		if (m == MAP_FAILED)
			errno = -err;
		return m;
	}
	return real_mmap(addr, len, prot, flags, fd, offset);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
	__attribute__((alias("mmap")));

static ssize_t ret_ssize(ssize_t ret)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

EXPORT ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
	if (platform && emu_fd_is_ours(fd))
		return ret_ssize(emu_pread(fd, buf, count, offset));
	return real_pread(fd, buf, count, offset);
}

EXPORT ssize_t pread64(int fd, void *buf, size_t count, off_t offset) __attribute__((alias("pread")));

EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	if (platform && emu_fd_is_ours(fd))
		return ret_ssize(emu_pwrite(fd, buf, count, offset));
	return real_pwrite(fd, buf, count, offset);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset)
	__attribute__((alias("pwrite")));
