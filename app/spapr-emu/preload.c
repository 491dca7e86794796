/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The LD_PRELOAD shim of spapr-emu: the one place where libc calls are diverted.
 * open() of /dev/vfio/<name> and every call on the fds it returned go to the emulated
 * platform; sysfs paths of the emulated machine (/sys/bus/pci/devices/<its devices>,
 * /sys/kernel/iommu_groups/<its groups>, /sys/module/vfio*) are looked up in its
 * generated tree; everything else goes straight to libc. Inactive (pure pass-through) unless
 * SPAPR_EMU_CONFIG names a platform configuration, which spapr-emu run sets.
 */
/* Interpose the plain and the LFS64 names as separate symbols: no header redirects. */
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_sysfs.h"
#include "preload_pages.h"
#include "preload_stats.h"
#include "preload_traps.h"
#include "spapr_emu.h"

#define EXPORT __attribute__((visibility("default")))

static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static FILE *(*real_fopen)(const char *, const char *);
static FILE *(*real_fopen64)(const char *, const char *);
static DIR *(*real_opendir)(const char *);
static int (*real_stat)(const char *, struct stat *);
static int (*real_stat64)(const char *, struct stat64 *);
static int (*real_lstat)(const char *, struct stat *);
static int (*real_lstat64)(const char *, struct stat64 *);
static int (*real_xstat)(int, const char *, struct stat *);
static int (*real_xstat64)(int, const char *, struct stat64 *);
static int (*real_lxstat)(int, const char *, struct stat *);
static int (*real_lxstat64)(int, const char *, struct stat64 *);
static int (*real_fstatat)(int, const char *, struct stat *, int);
static int (*real_fstatat64)(int, const char *, struct stat64 *, int);
static int (*real_access)(const char *, int);
static ssize_t (*real_readlink)(const char *, char *, size_t);
static int (*real_statx)(int, const char *, int, unsigned int, struct statx *);
static ssize_t (*real_getxattr)(const char *, const char *, void *, size_t);
static ssize_t (*real_lgetxattr)(const char *, const char *, void *, size_t);
static char *sysfs_root;

static struct emu_platform *platform;
static int touched; /* a /dev/vfio file was opened: this process reports stats */

static void resolve(void)
{
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_close = dlsym(RTLD_NEXT, "close");
	real_dup = dlsym(RTLD_NEXT, "dup");
	real_dup2 = dlsym(RTLD_NEXT, "dup2");
	real_dup3 = dlsym(RTLD_NEXT, "dup3");
	real_fcntl = dlsym(RTLD_NEXT, "fcntl");
	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_pread = dlsym(RTLD_NEXT, "pread");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
	real_recvmsg = dlsym(RTLD_NEXT, "recvmsg");
	real_fopen = dlsym(RTLD_NEXT, "fopen");
	real_fopen64 = dlsym(RTLD_NEXT, "fopen64");
	real_opendir = dlsym(RTLD_NEXT, "opendir");
	real_stat = dlsym(RTLD_NEXT, "stat");
	real_stat64 = dlsym(RTLD_NEXT, "stat64");
	real_lstat = dlsym(RTLD_NEXT, "lstat");
	real_lstat64 = dlsym(RTLD_NEXT, "lstat64");
	real_xstat = dlsym(RTLD_NEXT, "__xstat");
	real_xstat64 = dlsym(RTLD_NEXT, "__xstat64");
	real_lxstat = dlsym(RTLD_NEXT, "__lxstat");
	real_lxstat64 = dlsym(RTLD_NEXT, "__lxstat64");
	real_fstatat = dlsym(RTLD_NEXT, "fstatat");
	real_fstatat64 = dlsym(RTLD_NEXT, "fstatat64");
	real_access = dlsym(RTLD_NEXT, "access");
	real_statx = dlsym(RTLD_NEXT, "statx");
	real_getxattr = dlsym(RTLD_NEXT, "getxattr");
	real_lgetxattr = dlsym(RTLD_NEXT, "lgetxattr");
	real_readlink = dlsym(RTLD_NEXT, "readlink");
}

/* Other libraries' constructors may call us before ours ran. */
static inline void ensure(void)
{
	if (__builtin_expect(real_readlink == NULL, 0))
		resolve();
}

/* At exit: the stats, then the device models stop (their threads must not DMA into
 * memory the exiting process is tearing down); later calls pass through to libc. */
static void at_exit(void)
{
	struct emu_platform *p = platform;

	preload_stats_exit(touched);
	emu_remote_shutdown();
	platform = NULL;
	emu_set_current(NULL);
	emu_platform_destroy(p);
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
	preload_stats_init(platform);
	preload_pages_init(1UL << cfg.plat.page_shift);
	preload_traps_init();
	if (getenv("SPAPR_EMU_SYSFS"))
		sysfs_root = strdup(getenv("SPAPR_EMU_SYSFS"));
	atexit(at_exit);
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

	if (fd >= 0 && !touched) {
		touched = 1;
		preload_stats_touched();
	}
	return ret_errno(fd);
}

/* sysfs paths of the emulated machine go to its tree (absolute paths only) */
static const char *redirect(const char *path, char *buf)
{
	if (platform == NULL || sysfs_root == NULL)
		return path;
	return emu_sysfs_redirect(platform, sysfs_root, path, buf, PATH_MAX);
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
	return openat(AT_FDCWD, path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...) __attribute__((alias("open")));

EXPORT int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

EXPORT int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	ensure();
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	char buf[PATH_MAX];

	if (platform && emu_path_is_vfio(path))
		return open_vfio(path, flags);
	int fd = real_openat(dirfd, redirect(path, buf), flags, mode);
	preload_pages_opened(path, fd);
	return fd;
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

EXPORT int close(int fd)
{
	ensure();
	if (platform && emu_fd_is_ours(fd))
		return ret_errno(emu_close(fd));
	preload_pages_closed(fd);
	return real_close(fd);
}

/* Duplicates of emulated fds share their file (a VFIO user may keep a group open
 * through its own dup while another component closes its fd). dup2/dup3 onto an
 * emulated fd close that one first, as the kernel does. */
EXPORT int dup(int fd)
{
	ensure();
	if (platform && emu_fd_is_ours(fd))
		return ret_errno(emu_dup(fd, -1, 0, false));
	return real_dup(fd);
}

EXPORT int dup3(int fd, int newfd, int flags)
{
	ensure();
	if (platform && emu_fd_is_ours(fd)) {
		if (fd == newfd || (flags & ~O_CLOEXEC)) {
			errno = EINVAL;
			return -1;
		}
		return ret_errno(emu_dup(fd, newfd, 0, flags & O_CLOEXEC));
	}
	if (platform && fd != newfd && emu_fd_is_ours(newfd))
		emu_close(newfd);
	return real_dup3(fd, newfd, flags);
}

EXPORT int dup2(int fd, int newfd)
{
	ensure();
	if (platform && emu_fd_is_ours(fd))
		return ret_errno(emu_dup(fd, newfd, 0, false));
	if (platform && fd != newfd && emu_fd_is_ours(newfd))
		emu_close(newfd);
	return real_dup2(fd, newfd);
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	ensure();
	va_list ap;
	void *arg;

	/* every fcntl argument is an int or a pointer: passed on as the ABI passes them */
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (platform && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && emu_fd_is_ours(fd))
		return ret_errno(emu_dup(fd, -1, (int)(intptr_t)arg, cmd == F_DUPFD_CLOEXEC));
	return real_fcntl(fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	ensure();
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
	ensure();
	if (platform && (flags & MAP_FIXED))
		preload_traps_unmapped(addr, len); /* whatever was mapped there is replaced */
	bool handled;
	void *m = preload_pages_mmap(addr, len, prot, flags, fd, offset, &handled);
	if (handled)
		return m;
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
	ensure();
	if (platform && emu_fd_is_ours(fd))
		return ret_ssize(emu_pread(fd, buf, count, offset));
	bool pagemap;
	ssize_t n = preload_pages_pread(fd, buf, count, offset, &pagemap);
	if (pagemap)
		return n;
	return real_pread(fd, buf, count, offset);
}

EXPORT ssize_t pread64(int fd, void *buf, size_t count, off_t offset) __attribute__((alias("pread")));

EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	ensure();
	if (platform && emu_fd_is_ours(fd))
		return ret_ssize(emu_pwrite(fd, buf, count, offset));
	return real_pwrite(fd, buf, count, offset);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset)
	__attribute__((alias("pwrite")));

/* --- VFIO fds sent to other processes (SCM_RIGHTS) -------------------------------- */

#define MAX_SENT_FDS 253 /* SCM_MAX_FD */

/* The fds of the message's SCM_RIGHTS headers that are emulated files. */
static bool sends_emulated(const struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (emu_fd_is_ours(fd))
				return true;
		}
	}
	return false;
}

/* A message that carries emulated files carries in their place fds that reach them
 * from the receiving process (emu_export); those are closed here once sent. */
EXPORT ssize_t sendmsg(int sock, const struct msghdr *msg, int flags)
{
	ensure();
	if (platform == NULL || msg == NULL || msg->msg_controllen == 0 || !sends_emulated(msg))
		return real_sendmsg(sock, msg, flags);
	struct msghdr m = *msg;
	int sent[MAX_SENT_FDS];
	unsigned int nsent = 0;
	ssize_t ret = 0;
	void *control = malloc(msg->msg_controllen);

	if (control == NULL) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(control, msg->msg_control, msg->msg_controllen);
	m.msg_control = control;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL && ret == 0; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) && ret == 0; i++) {
			int fd, x;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (!emu_fd_is_ours(fd))
				continue;
			x = emu_export(fd);
			if (x < 0 || nsent == MAX_SENT_FDS) {
				ret = x < 0 ? x : -EMFILE;
				if (x >= 0)
					real_close(x);
				break;
			}
			sent[nsent++] = x;
			memcpy(CMSG_DATA(c) + i * sizeof(int), &x, sizeof(x));
		}
	}
	if (ret == 0)
		ret = real_sendmsg(sock, &m, flags);
	else
		ret = ret_errno(ret);
	int err = errno;
	while (nsent > 0)
		real_close(sent[--nsent]);
	free(control);
	errno = err;
	return ret;
}

/* Fds that arrive may be another process's emulated files: they become ours here. */
EXPORT ssize_t recvmsg(int sock, struct msghdr *msg, int flags)
{
	ensure();
	ssize_t n = real_recvmsg(sock, msg, flags);

	if (n < 0 || platform == NULL || msg->msg_controllen == 0)
		return n;
	int err = errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			emu_adopt(platform, fd);
		}
	}
	errno = err;
	return n;
}

/* --- sysfs lookups: libc's own wrappers call the kernel directly, so each entry
 * point that takes a path is wrapped. -------------------------------------------- */

int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);

#define WRAP_PATH(ret, name, real, params, ...) \
	EXPORT ret name params \
	{ \
		char buf[PATH_MAX]; \
		ensure(); \
		path = redirect(path, buf); \
		return real(__VA_ARGS__); \
	}

/* fopen of a VFIO file opens the emulated file, as open() does (the tree's /dev/vfio
 * names are for looking only) */
static FILE *fopen_vfio(const char *path, const char *mode)
{
	int flags = strpbrk(mode, "+wa") ? O_RDWR : O_RDONLY;
	int fd = open(path, flags | (strchr(mode, 'e') ? O_CLOEXEC : 0));
	FILE *f = fd >= 0 ? fdopen(fd, mode) : NULL;

	if (fd >= 0 && f == NULL) {
		int err = errno;
		close(fd);
		errno = err;
	}
	return f;
}

/* real: where ensure() put the libc function (read after it) */
static FILE *fopen_redirected(FILE *(**real)(const char *, const char *), const char *path,
			      const char *mode)
{
	char buf[PATH_MAX];

	ensure();
	if (platform && emu_path_is_vfio(path))
		return fopen_vfio(path, mode);
	return (*real)(redirect(path, buf), mode);
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	return fopen_redirected(&real_fopen, path, mode);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return fopen_redirected(&real_fopen64, path, mode);
}
WRAP_PATH(DIR *, opendir, real_opendir, (const char *path), path)
WRAP_PATH(int, stat, real_stat, (const char *path, struct stat *st), path, st)
WRAP_PATH(int, stat64, real_stat64, (const char *path, struct stat64 *st), path, st)
WRAP_PATH(int, lstat, real_lstat, (const char *path, struct stat *st), path, st)
WRAP_PATH(int, lstat64, real_lstat64, (const char *path, struct stat64 *st), path, st)
WRAP_PATH(int, __xstat, real_xstat, (int ver, const char *path, struct stat *st), ver, path, st)
WRAP_PATH(int, __xstat64, real_xstat64, (int ver, const char *path, struct stat64 *st), ver, path, st)
WRAP_PATH(int, __lxstat, real_lxstat, (int ver, const char *path, struct stat *st), ver, path, st)
WRAP_PATH(int, __lxstat64, real_lxstat64, (int ver, const char *path, struct stat64 *st), ver, path, st)
WRAP_PATH(int, fstatat, real_fstatat, (int dirfd, const char *path, struct stat *st, int flags),
	  dirfd, path, st, flags)
WRAP_PATH(int, fstatat64, real_fstatat64, (int dirfd, const char *path, struct stat64 *st, int flags),
	  dirfd, path, st, flags)
WRAP_PATH(int, statx, real_statx, (int dirfd, const char *path, int flags, unsigned int mask,
	  struct statx *st), dirfd, path, flags, mask, st)
WRAP_PATH(ssize_t, getxattr, real_getxattr, (const char *path, const char *name, void *value,
	  size_t size), path, name, value, size)
WRAP_PATH(ssize_t, lgetxattr, real_lgetxattr, (const char *path, const char *name, void *value,
	  size_t size), path, name, value, size)
WRAP_PATH(int, access, real_access, (const char *path, int mode), path, mode)
WRAP_PATH(ssize_t, readlink, real_readlink, (const char *path, char *out, size_t len), path, out, len)
