/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The messages of VFIO files shared between processes (emu_remote_serve.c serves them,
 * emu_remote_use.c sends them): one request, one answer, on the connection that stands
 * for the file; fds travel with SCM_RIGHTS.
 */
#ifndef EMU_REMOTE_H
#define EMU_REMOTE_H

#include <stdint.h>
#include <sys/types.h>

#define NAME_PREFIX "spapr-emu-vfio."   /* the listener's abstract address */
#define MAX_PAYLOAD 65536               /* ioctl argument or region bytes per message */
#define MAX_FDS 64                      /* fds in one request (SET_IRQS vectors) */

enum remote_op { R_HELLO = 1, R_IOCTL, R_READ, R_WRITE, R_MMAP, R_MMIO };

struct remote_req {
	uint32_t op;
	uint32_t len;        /* payload bytes after the header */
	uint64_t a;          /* ioctl: request; read/write/mmap/mmio: device fd offset */
	uint64_t b;          /* ioctl: a value argument; read/write/mmap: length; mmio: size */
	uint64_t c;          /* mmap: flags; mmio: the value written */
	uint32_t flags;      /* REQ_* */
	uint32_t pad;
};
#define REQ_VALUE 1u     /* ioctl: the argument is the value b, not a struct */
#define REQ_WRITE 2u     /* mmio: a store */

struct remote_rep {
	int64_t ret;         /* >= 0 or -errno */
	uint32_t len;        /* payload bytes after the header */
	uint32_t pad;
	uint64_t val;        /* hello: the file's kind; mmap: its memfd offset; mmio: the value */
};

struct remote_area { uint64_t start, len; }; /* mmap: a register area, relative to the map */

/* One message: the header, the payload, the fds. */
ssize_t emu_remote_send(int s, const void *hdr, size_t hlen, const void *payload, size_t len, const int *fds,
			unsigned int nfds);
/* One message: the header, the payload (at most max bytes), the fds and the sender's pid
 * (when the socket passes credentials). 0 at end of file. */
ssize_t emu_remote_recv(int s, void *hdr, size_t hlen, void *payload, size_t max, int *fds, unsigned int *nfds,
			pid_t *pid);
void emu_remote_close_all(const int *fds, unsigned int n);

#endif /* EMU_REMOTE_H */
