/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VFIO files shared between processes. A kernel's file can be handed to another
 * process (SCM_RIGHTS over a unix socket: DPDK's multi-process channel gives its
 * secondaries the primary's container, group and device fds this way) and works there
 * as in the process that opened it. The emulated kernel of a process lives in that
 * process, so a file it hands out becomes a request channel to it:
 *
 *  - emu_export(fd) (the sender, for each emulated fd in an SCM_RIGHTS message):
 *    a SOCK_SEQPACKET connection to this process's listener, whose accepted end a
 *    server thread serves with its own duplicate of the file; the connecting end is
 *    what travels. The file lives while any process holds that end (the server sees
 *    end-of-file when the last copy closes and drops its duplicate), as a struct file
 *    lives while any process holds it.
 *  - emu_adopt(fd) (the receiver, for each fd that arrives): a socket connected to
 *    such a listener (its abstract address says so) is asked what it is and installed
 *    as an emulated file of kind EMU_FILE_REMOTE; every ioctl, pread/pwrite and mmap on
 *    it, and each access to a trapped register of a mapping of it, is a request.
 *
 * Requests carry the caller's credentials (SO_PASSCRED): the server runs each one as
 * that process (emu_caller_pid), so the kernel's "container belongs to the mm that
 * first used it" (tce_iommu_mm_set: EPERM from another mm) holds across processes.
 * Fds inside ioctl arguments travel with SCM_RIGHTS: eventfds of SET_IRQS as
 * themselves, VFIO files (SET_CONTAINER, PCI_HOT_RESET) recognised by their socket's
 * cookie as connections of this server; a new file (GET_DEVICE_FD) comes back
 * exported.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_remote.h"
#include "spapr_emu.h"

struct conn {
	int s;            /* the accepted end */
	int sfd;          /* this server's duplicate of the emulated file */
	uint64_t cookie;  /* the connecting end's socket cookie (SO_COOKIE) */
	struct conn *next;
};

static pthread_mutex_t export_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t serve_lock = PTHREAD_RWLOCK_INITIALIZER; /* requests vs shutdown */
static bool stopping;
static int listener = -1;
static struct sockaddr_un listen_addr;
static socklen_t listen_len;
static struct conn *conns;
static __thread pid_t caller;

pid_t emu_caller_pid(void)
{
	return caller ? caller : getpid();
}

/* A child of fork() has no server threads: it serves nothing of its parent's (its
 * copies of the connections would keep a dead parent's files looking alive). */
static void before_fork(void)
{
	pthread_mutex_lock(&export_lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&export_lock);
}

static void after_fork_child(void)
{
	while (conns != NULL) {
		struct conn *c = conns;
		conns = c->next;
		close(c->s);
		free(c); /* its duplicate of the file is the child's copy of the parent's fd table */
	}
	if (listener >= 0)
		close(listener);
	listener = -1;
	pthread_mutex_unlock(&export_lock);
}

static int listen_once(void)
{
	static bool atfork;
	struct timespec ts;

	if (!atfork && pthread_atfork(before_fork, after_fork_parent, after_fork_child) == 0)
		atfork = true;
	if (listener >= 0)
		return 0;
	listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (listener < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(&listen_addr, 0, sizeof(listen_addr));
	listen_addr.sun_family = AF_UNIX;
	/* abstract: nothing to clean up; the pid and a clock make it this process's */
	int n = snprintf(listen_addr.sun_path + 1, sizeof(listen_addr.sun_path) - 1, NAME_PREFIX "%d.%ld",
			 (int)getpid(), (long)ts.tv_nsec);
	listen_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	if (bind(listener, (struct sockaddr *)&listen_addr, listen_len) != 0 || listen(listener, 16) != 0) {
		int err = -errno;
		close(listener);
		listener = -1;
		return err;
	}
	return 0;
}

static uint64_t cookie_of(int s)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(s, SOL_SOCKET, SO_COOKIE, &c, &len) != 0)
		return 0;
	return c;
}

/* The server's fd of the file a received fd stands for (one of this server's
 * connections), or -1. */
static int sfd_of(int fd)
{
	uint64_t c = cookie_of(fd);
	int sfd = -1;

	pthread_mutex_lock(&export_lock);
	for (struct conn *k = conns; k != NULL && c != 0; k = k->next)
		if (k->cookie == c)
			sfd = k->sfd;
	pthread_mutex_unlock(&export_lock);
	return sfd;
}

static void forget_conn(struct conn *c)
{
	pthread_mutex_lock(&export_lock);
	for (struct conn **pp = &conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	pthread_mutex_unlock(&export_lock);
}

/* ioctl arguments that name fds: the received ones stand in, in order */
static long serve_ioctl(struct conn *c, const struct remote_req *q, uint8_t *buf, int *fds, unsigned int nfds,
			int *out_fd)
{
	unsigned long req = (unsigned long)q->a;
	long ret;

	if (q->flags & REQ_VALUE)
		return emu_ioctl(c->sfd, req, (void *)(uintptr_t)q->b);
	switch (req) {
	case VFIO_GROUP_SET_CONTAINER: {
		/* a file of this kernel stands for itself; anything else is what it is here */
		int cfd = nfds != 1 ? -1 : sfd_of(fds[0]) >= 0 ? sfd_of(fds[0]) : fds[0];
		return emu_ioctl(c->sfd, req, &cfd);
	}
	case VFIO_GROUP_GET_DEVICE_FD:
		buf[q->len ? q->len - 1 : 0] = '\0';
		ret = emu_ioctl(c->sfd, req, buf);
		if (ret >= 0) {
			int dfd = (int)ret;
			*out_fd = emu_export(dfd);
			emu_close(dfd); /* the new connection holds the file */
			ret = *out_fd < 0 ? *out_fd : 0;
		}
		return ret;
	default:
		break;
	}
	if (q->len < sizeof(uint32_t))
		return -EINVAL;
	if (req == VFIO_DEVICE_SET_IRQS && q->len >= sizeof(struct vfio_irq_set)) {
		struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
		if ((set->flags & VFIO_IRQ_SET_DATA_EVENTFD) &&
		    q->len >= sizeof(*set) + (uint64_t)set->count * sizeof(int)) {
			int32_t *data = (int32_t *)set->data;
			unsigned int k = 0;
			for (uint32_t i = 0; i < set->count; i++)
				if (data[i] >= 0)
					data[i] = k < nfds ? fds[k++] : -1;
		}
	} else if (req == VFIO_DEVICE_PCI_HOT_RESET && q->len >= sizeof(struct vfio_pci_hot_reset)) {
		struct vfio_pci_hot_reset *r = (struct vfio_pci_hot_reset *)buf;
		if (q->len >= sizeof(*r) + (uint64_t)r->count * sizeof(int32_t) && r->count == nfds)
			for (unsigned int i = 0; i < nfds; i++)
				r->group_fds[i] = sfd_of(fds[i]) >= 0 ? sfd_of(fds[i]) : fds[i];
	}
	return emu_ioctl(c->sfd, req, buf);
}

static long serve_mmap(struct conn *c, const struct remote_req *q, uint8_t *buf, uint32_t *len, uint64_t *pos,
		       int *out_fd)
{
	struct emu_file *f = emu_fd_get(c->sfd);
	uint64_t off[EMU_MAX_TRAP_AREAS], alen[EMU_MAX_TRAP_AREAS];
	struct remote_area *areas = (struct remote_area *)buf;
	unsigned int index, n;
	int ret;

	if (f == NULL || f->kind != EMU_FILE_DEVICE)
		return -ENODEV;
	index = (unsigned int)(q->a >> f->plat->cfg.plat.region_shift);
	pthread_mutex_lock(&f->plat->lock);
	ret = emu_device_mmap_check(f->device, q->b, (int)q->c, q->a, pos);
	if (ret == 0) {
		n = emu_device_trap_areas(f->device, index, *pos, q->b, off, alen, EMU_MAX_TRAP_AREAS);
		for (unsigned int i = 0; i < n; i++)
			areas[i] = (struct remote_area){ off[i] - *pos, alen[i] };
		*len = n * sizeof(*areas);
		*out_fd = f->device->bars[index].memfd; /* sent, not closed: the device's */
	}
	pthread_mutex_unlock(&f->plat->lock);
	return ret;
}

static long serve_one(struct conn *c, const struct remote_req *q, uint8_t *buf, int *fds, unsigned int nfds,
		      struct remote_rep *r, int *out_fd, bool *close_out)
{
	struct emu_file *f = emu_fd_get(c->sfd);

	switch (q->op) {
	case R_HELLO:
		r->val = f ? f->kind : 0;
		return 0;
	case R_IOCTL:
		*close_out = true;
		return serve_ioctl(c, q, buf, fds, nfds, out_fd);
	case R_READ:
		if (q->b > MAX_PAYLOAD)
			return -EINVAL;
		r->len = 0;
		{
			ssize_t n = emu_pread(c->sfd, buf, q->b, (off_t)q->a);
			if (n > 0)
				r->len = (uint32_t)n;
			return n;
		}
	case R_WRITE:
		return emu_pwrite(c->sfd, buf, q->len, (off_t)q->a);
	case R_MMAP:
		return serve_mmap(c, q, buf, &r->len, &r->val, out_fd);
	case R_MMIO:
		if (f == NULL || f->kind != EMU_FILE_DEVICE)
			return -ENODEV;
		r->val = q->c;
		return emu_device_mmio(f->device, q->a, &r->val, (unsigned int)q->b, q->flags & REQ_WRITE);
	default:
		return -EINVAL;
	}
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	uint8_t *buf = malloc(MAX_PAYLOAD);
	int fds[MAX_FDS];

	while (buf != NULL) {
		struct remote_req q;
		struct remote_rep r = { 0 };
		unsigned int nfds;
		pid_t pid = 0;
		int out_fd = -1;
		bool close_out = false;
		ssize_t n = emu_remote_recv(c->s, &q, sizeof(q), buf, MAX_PAYLOAD, fds, &nfds, &pid);

		if (n <= 0)
			break;
		q.len = (uint32_t)((size_t)n - sizeof(q));
		pthread_rwlock_rdlock(&serve_lock);
		if (stopping) {
			pthread_rwlock_unlock(&serve_lock);
			emu_remote_close_all(fds, nfds);
			break;
		}
		caller = pid;
		r.ret = serve_one(c, &q, buf, fds, nfds, &r, &out_fd, &close_out);
		caller = 0;
		pthread_rwlock_unlock(&serve_lock);
		if (q.op == R_IOCTL && !(q.flags & REQ_VALUE) && r.ret >= 0 && out_fd < 0)
			r.len = q.len; /* the argument as the ioctl left it */
		emu_remote_send(c->s, &r, sizeof(r), buf, r.len, &out_fd, out_fd >= 0);
		if (close_out && out_fd >= 0)
			close(out_fd);
		emu_remote_close_all(fds, nfds);
	}
	free(buf);
	pthread_rwlock_rdlock(&serve_lock);
	forget_conn(c);
	if (!stopping)
		emu_close(c->sfd); /* the last holder elsewhere closed its end */
	pthread_rwlock_unlock(&serve_lock);
	close(c->s);
	free(c);
	return NULL;
}

int emu_export(int fd)
{
	struct emu_file *f = emu_fd_get(fd);
	struct conn *c;
	pthread_attr_t attr;
	pthread_t t;
	int cs = -1, ret, one = 1;

	if (f == NULL)
		return -EBADF;
	if (f->kind == EMU_FILE_REMOTE) { /* another process's file, passed on: the same socket */
		int d = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
		return d < 0 ? -errno : d;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->s = c->sfd = -1;
	pthread_mutex_lock(&export_lock);
	ret = listen_once();
	if (ret == 0 && (cs = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		ret = -errno;
	if (ret == 0 && connect(cs, (struct sockaddr *)&listen_addr, listen_len) != 0)
		ret = -errno;
	if (ret == 0 && (c->s = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) < 0)
		ret = -errno;
	if (ret == 0 && setsockopt(c->s, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0)
		ret = -errno;
	if (ret == 0 && (c->sfd = emu_dup(fd, -1, 0, true)) < 0)
		ret = c->sfd;
	if (ret == 0) {
		c->cookie = cookie_of(cs);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		ret = -pthread_create(&t, &attr, serve, c);
		pthread_attr_destroy(&attr);
	}
	if (ret == 0) {
		c->next = conns;
		conns = c;
	}
	pthread_mutex_unlock(&export_lock);
	if (ret != 0) {
		if (c->sfd >= 0)
			emu_close(c->sfd);
		if (c->s >= 0)
			close(c->s);
		if (cs >= 0)
			close(cs);
		free(c);
		return ret;
	}
	return cs;
}

void emu_remote_shutdown(void)
{
	pthread_rwlock_wrlock(&serve_lock);
	stopping = true;
	pthread_rwlock_unlock(&serve_lock);
	pthread_mutex_lock(&export_lock);
	for (struct conn *c = conns; c != NULL; c = c->next) {
		shutdown(c->s, SHUT_RDWR);
		/* this process's kernel goes with it: its files too, whoever holds them */
		emu_close(c->sfd);
		c->sfd = -1;
	}
	if (listener >= 0)
		close(listener);
	listener = -1;
	pthread_mutex_unlock(&export_lock);
}
