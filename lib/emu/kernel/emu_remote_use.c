/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Another process's VFIO files, here (emu_remote_serve.c says how they travel): a
 * received fd that is one of them is adopted as an emulated file; each ioctl,
 * pread/pwrite, mmap and trapped register access on it is one request to that process.
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

/* One request and its answer at a time on any of them: a pair must not interleave with
 * another thread's on the same socket, and these are control-path calls (a doorbell
 * area is plain shared memory). */
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;

static long call(int fd, const struct remote_req *q, const void *payload, const int *fds, unsigned int nfds,
		 struct remote_rep *r, void *out, size_t outmax, int *out_fd)
{
	int rfds[MAX_FDS];
	unsigned int rn = 0;
	ssize_t n;

	pthread_mutex_lock(&call_lock);
	n = emu_remote_send(fd, q, sizeof(*q), payload, q->len, fds, nfds);
	if (n >= 0)
		n = emu_remote_recv(fd, r, sizeof(*r), out, outmax, rfds, &rn, NULL);
	pthread_mutex_unlock(&call_lock);
	if (n == 0 || n == -EPIPE || n == -ECONNRESET)
		n = -EIO; /* the process that has the file is gone: as a device that is gone */
	if (n < 0)
		return n;
	if (out_fd != NULL)
		*out_fd = rn ? rfds[0] : -1;
	emu_remote_close_all(rfds + (out_fd != NULL && rn), rn - (out_fd != NULL && rn));
	r->len = (uint32_t)((size_t)n - sizeof(*r));
	return r->ret;
}

bool emu_adopt(struct emu_platform *p, int fd)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	struct remote_req q = { .op = R_HELLO };
	struct remote_rep r;

	if (p == NULL || getpeername(fd, (struct sockaddr *)&a, &len) != 0 || a.sun_family != AF_UNIX ||
	    len <= offsetof(struct sockaddr_un, sun_path) + sizeof(NAME_PREFIX) ||
	    a.sun_path[0] != '\0' || strncmp(a.sun_path + 1, NAME_PREFIX, sizeof(NAME_PREFIX) - 1) != 0)
		return false;
	if (call(fd, &q, NULL, NULL, 0, &r, NULL, 0, NULL) != 0 || r.val < EMU_FILE_CONTAINER ||
	    r.val > EMU_FILE_DEVICE)
		return false;
	return emu_fd_adopt(p, fd, (enum emu_file_kind)r.val) >= 0;
}

/* The VFIO ioctls by how their argument travels (_IOC_NR; the same number can mean
 * one thing on a container and another on a device, but travels alike). */
enum arg_kind { ARG_NONE, ARG_VALUE, ARG_FD, ARG_STRING, ARG_STRUCT };

static enum arg_kind arg_kind(unsigned long req)
{
	if (_IOC_TYPE(req) != VFIO_TYPE)
		return ARG_STRUCT;
	switch (_IOC_NR(req) - VFIO_BASE) {
	case 0: case 5: case 11: case 15: case 16:  /* API_VERSION, UNSET_CONTAINER, RESET, ENABLE, DISABLE */
		return ARG_NONE;
	case 1: case 2:                             /* CHECK_EXTENSION, SET_IOMMU */
		return ARG_VALUE;
	case 4:                                     /* GROUP_SET_CONTAINER */
		return ARG_FD;
	case 6:                                     /* GROUP_GET_DEVICE_FD */
		return ARG_STRING;
	default:
		return ARG_STRUCT;
	}
}

/* The fds inside a struct argument that travel with it (eventfds of SET_IRQS, group
 * files of PCI_HOT_RESET), in order; how many. */
static unsigned int struct_fds(const struct emu_file *f, unsigned long req, const uint8_t *arg, uint32_t len,
			       int *fds)
{
	unsigned int n = 0;

	if (f->peer_kind != EMU_FILE_DEVICE)
		return 0;
	if (req == VFIO_DEVICE_SET_IRQS && len >= sizeof(struct vfio_irq_set)) {
		const struct vfio_irq_set *set = (const void *)arg;
		if ((set->flags & VFIO_IRQ_SET_DATA_EVENTFD) && len >= sizeof(*set) + (uint64_t)set->count * 4)
			for (uint32_t i = 0; i < set->count && n < MAX_FDS; i++)
				if (((const int32_t *)set->data)[i] >= 0)
					fds[n++] = ((const int32_t *)set->data)[i];
	} else if (req == VFIO_DEVICE_PCI_HOT_RESET && len >= sizeof(struct vfio_pci_hot_reset)) {
		const struct vfio_pci_hot_reset *r = (const void *)arg;
		if (len >= sizeof(*r) + (uint64_t)r->count * 4)
			for (uint32_t i = 0; i < r->count && n < MAX_FDS; i++)
				fds[n++] = r->group_fds[i];
	}
	return n;
}

/* VFIO files named in an argument travel as exported fds (a file of this process's
 * own kernel included: its cookie is what the other side recognises); closed after. */
static long call_with_files(int fd, const struct remote_req *q, const void *payload, const int *files,
			    unsigned int n, struct remote_rep *r, void *out, size_t outmax)
{
	int fds[MAX_FDS];
	unsigned int k;
	long ret = 0;

	for (k = 0; k < n && ret == 0; k++) {
		struct emu_file *f = emu_fd_get(files[k]);
		fds[k] = f != NULL ? emu_export(files[k]) : (int)syscall(SYS_fcntl, files[k], F_DUPFD_CLOEXEC, 0);
		if (fds[k] < 0)
			ret = f != NULL ? fds[k] : -EBADF;
	}
	if (ret == 0)
		ret = call(fd, q, payload, fds, n, r, out, outmax, NULL);
	else
		k--;
	while (k-- > 0)
		close(fds[k]);
	return ret;
}

long emu_remote_ioctl(struct emu_file *f, int fd, unsigned long req, void *arg)
{
	struct remote_req q = { .op = R_IOCTL, .a = req };
	struct remote_rep r;
	int fds[MAX_FDS], out_fd = -1;
	unsigned int nfds = 0;
	long ret;

	switch (arg_kind(req)) {
	case ARG_NONE:
	case ARG_VALUE:
		q.flags = REQ_VALUE;
		q.b = (uint64_t)(uintptr_t)arg;
		return call(fd, &q, NULL, NULL, 0, &r, NULL, 0, NULL);
	case ARG_FD:
		if (arg == NULL)
			return -EFAULT;
		return call_with_files(fd, &q, NULL, (int *)arg, 1, &r, NULL, 0);
	case ARG_STRING:
		if (arg == NULL)
			return -EFAULT;
		q.len = (uint32_t)strnlen(arg, 256) + 1;
		ret = call(fd, &q, arg, NULL, 0, &r, NULL, 0, &out_fd);
		if (ret < 0 || out_fd < 0)
			return ret < 0 ? ret : -EIO;
		if (!emu_adopt(f->plat, out_fd)) {
			close(out_fd);
			return -EIO;
		}
		return out_fd;
	default:
		break;
	}
	if (arg == NULL)
		return -EFAULT;
	memcpy(&q.len, arg, sizeof(q.len)); /* argsz leads every VFIO argument */
	if (q.len < sizeof(uint32_t) || q.len > MAX_PAYLOAD)
		return -EINVAL;
	nfds = struct_fds(f, req, arg, q.len, fds);
	if (req == VFIO_DEVICE_PCI_HOT_RESET)
		return call_with_files(fd, &q, arg, fds, nfds, &r, arg, q.len);
	ret = call(fd, &q, arg, fds, nfds, &r, arg, q.len, NULL);
	return ret;
}

ssize_t emu_remote_rw(int fd, void *buf, size_t count, off_t offset, bool write)
{
	size_t done = 0;

	while (done < count) {
		size_t chunk = count - done < MAX_PAYLOAD ? count - done : MAX_PAYLOAD;
		struct remote_req q = { .op = write ? R_WRITE : R_READ, .a = (uint64_t)offset + done,
					.b = chunk, .len = write ? (uint32_t)chunk : 0 };
		struct remote_rep r;
		long n = call(fd, &q, (uint8_t *)buf + done, NULL, 0, &r, write ? NULL : (uint8_t *)buf + done,
			      write ? 0 : chunk, NULL);

		if (n < 0)
			return done ? (ssize_t)done : n;
		done += (size_t)n;
		if ((size_t)n < chunk)
			break;
	}
	return (ssize_t)done;
}

void *emu_remote_mmap(int fd, void *addr, size_t len, int prot, int flags, off_t offset, int *err)
{
	struct remote_req q = { .op = R_MMAP, .a = (uint64_t)offset, .b = len, .c = (uint64_t)flags };
	struct remote_area areas[EMU_MAX_TRAP_AREAS];
	struct remote_rep r;
	int memfd = -1;
	long ret = call(fd, &q, NULL, NULL, 0, &r, areas, sizeof(areas), &memfd);
	void *m;

	*err = 0;
	if (ret < 0 || memfd < 0) {
		*err = ret < 0 ? (int)ret : -EIO;
		if (memfd >= 0)
			close(memfd);
		return MAP_FAILED;
	}
	m = mmap(addr, len, prot, flags, memfd, (off_t)r.val);
	*err = m == MAP_FAILED ? -errno : 0;
	close(memfd);
	for (unsigned int i = 0; m != MAP_FAILED && i < r.len / sizeof(areas[0]); i++) {
		*err = emu_trap_add_remote(fd, (uint64_t)offset + areas[i].start, (uint8_t *)m + areas[i].start,
					   areas[i].len);
		if (*err) {
			emu_trap_forget(m, len);
			munmap(m, len);
			m = MAP_FAILED;
		}
	}
	return m;
}

int emu_remote_mmio(int fd, uint64_t off, uint64_t *val, unsigned int size, bool write)
{
	struct remote_req q = { .op = R_MMIO, .a = off, .b = size, .c = *val, .flags = write ? REQ_WRITE : 0 };
	struct remote_rep r;
	long ret = call(fd, &q, NULL, NULL, 0, &r, NULL, 0, NULL);

	if (ret == 0 && !write)
		*val = r.val;
	return (int)ret;
}
