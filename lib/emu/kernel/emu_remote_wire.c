/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The messages of VFIO files shared between processes (emu_remote.h), sent and received
 * with the system calls themselves: the LD_PRELOAD shim interposes sendmsg/recvmsg to
 * export and adopt VFIO fds, which these messages must not go through.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "emu_remote.h"

ssize_t emu_remote_send(int s, const void *hdr, size_t hlen, const void *payload, size_t len,
			const int *fds, unsigned int nfds)
{
	struct iovec iov[2] = { { (void *)hdr, hlen }, { (void *)payload, len } };
	union { char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)]; struct cmsghdr align; } u;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (nfds) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = syscall(SYS_sendmsg, s, &m, MSG_NOSIGNAL); /* not the shim's: nothing to export */
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t emu_remote_recv(int s, void *hdr, size_t hlen, void *payload, size_t max, int *fds,
			unsigned int *nfds, pid_t *pid)
{
	struct iovec iov[2] = { { hdr, hlen }, { payload, max } };
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	*nfds = 0;
	do
		n = syscall(SYS_recvmsg, s, &m, MSG_CMSG_CLOEXEC); /* not the shim's: nothing to adopt */
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS) {
			unsigned int k = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds + *nfds, CMSG_DATA(c), sizeof(int) * k);
			*nfds += k;
		} else if (c->cmsg_type == SCM_CREDENTIALS && pid != NULL) {
			struct ucred cr;
			memcpy(&cr, CMSG_DATA(c), sizeof(cr));
			*pid = cr.pid;
		}
	}
	if ((size_t)n < hlen || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (unsigned int i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EPROTO;
	}
	return n;
}

void emu_remote_close_all(const int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}
