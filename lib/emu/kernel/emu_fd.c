/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The file descriptors of emulated VFIO files. Each is a real fd (an eventfd: an
 * anonymous inode, not a regular file, like the kernel's VFIO files), so that fd
 * numbering, close-on-exec and fstat() behave as with a kernel; a table indexed by fd
 * number says which ones are ours. Lookups are one
 * atomic load: close() is called often by programs and must stay cheap.
 * Duplicated fds (dup, dup2, dup3, fcntl F_DUPFD) share one emu_file, as they share the
 * kernel's struct file: the object is released when the last of them closes.
 * A file received from another process (emu_remote_*.c) is a unix socket, not an
 * eventfd: the socket itself is the fd, installed here as it arrives.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "emu_internal.h"

#define EMU_MAX_FD 65536

static _Atomic(struct emu_file *) fd_table[EMU_MAX_FD];

/* A new emu_file for fd, in the table. */
static int install(struct emu_platform *p, int fd, enum emu_file_kind kind, enum emu_file_kind peer_kind,
		   void *obj)
{
	struct emu_file *f;

	if (fd < 0 || fd >= EMU_MAX_FD)
		return -EMFILE;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	f->kind = kind;
	f->peer_kind = peer_kind;
	f->plat = p;
	f->refs = 1;
	f->container = obj; /* the union member matches `kind` */
	atomic_store(&fd_table[fd], f);
	return fd;
}

int emu_fd_install(struct emu_platform *p, enum emu_file_kind kind, void *obj, bool cloexec)
{
	int fd = eventfd(0, cloexec ? EFD_CLOEXEC : 0), ret;

	if (fd < 0)
		return -errno;
	ret = install(p, fd, kind, 0, obj);
	if (ret < 0)
		close(fd);
	return ret;
}

int emu_fd_adopt(struct emu_platform *p, int fd, enum emu_file_kind peer_kind)
{
	return install(p, fd, EMU_FILE_REMOTE, peer_kind, NULL);
}

struct emu_file *emu_fd_get(int fd)
{
	if (fd < 0 || fd >= EMU_MAX_FD)
		return NULL;
	return atomic_load_explicit(&fd_table[fd], memory_order_acquire);
}

bool emu_fd_is_ours(int fd)
{
	return emu_fd_get(fd) != NULL;
}

int emu_fd_dup(struct emu_file *f, int newfd)
{
	if (newfd < 0 || newfd >= EMU_MAX_FD)
		return -EMFILE;
	f->refs++;
	atomic_store(&fd_table[newfd], f);
	return newfd;
}

bool emu_fd_remove(int fd)
{
	struct emu_file *f = atomic_exchange(&fd_table[fd], NULL);

	if (f == NULL || --f->refs)
		return false;
	free(f);
	return true;
}
