/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device files for secondary processes. The primary owns the container, the groups and
 * the devices (it opened them; the container's DMA is its memory). A secondary that
 * does packet I/O needs the device's registers (the doorbells): it asks the primary
 * over EAL's multi-process channel for the device's VFIO fd, which arrives with the
 * reply (SCM_RIGHTS), as DPDK's own VFIO code hands its group and container fds to
 * secondaries. The fd is the same file: the secondary maps the BAR through it; the
 * kernel keeps the device open until every holder closed it. Only the device fd
 * travels: a secondary sets up no DMA (the kernel would refuse it: another mm).
 *
 * A secondary with bus/pci devices also asks, at its scan, that the primary answer EAL's
 * VFIO requests for this bus's set-up (spapr_pci_mp.c): EAL registers its own answer at
 * the end of its initialisation, after every bus probed, so the primary can only take
 * it over later: when a secondary first needs it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_string_fns.h>

#include "spapr_private.h"

#define MP_NAME "bus_spapr_mp"
#define MP_TIMEOUT_S 5

enum mp_op { MP_DEVICE_FD = 1, MP_EAL_VFIO };

struct mp_request {
	int op;
	char name[RTE_MP_MAX_PARAM_LEN - sizeof(int)]; /* MP_DEVICE_FD: the device */
};

struct mp_answer {
	int result; /* 0: done (the fd is attached); -errno: why not */
};

/* Primary: the device named in the request, if this bus probed it: a duplicate of its
 * fd (the device may be unplugged meanwhile: EAL's thread closes its own), sent and
 * closed by the caller. */
static int device_fd(const struct mp_request *q, struct rte_mp_msg *reply)
{
	struct rte_spapr_device *dev = spapr_device_by_name(q->name);
	int fd = dev != NULL ? spapr_vfio_dup(dev) : -ENODEV;

	if (fd < 0)
		return fd;
	reply->num_fds = 1;
	reply->fds[0] = fd;
	return 0;
}

static int answer(const struct rte_mp_msg *msg, const void *peer)
{
	struct rte_mp_msg reply;
	struct mp_answer *a = (struct mp_answer *)reply.param;
	struct mp_request q;
	int ret;

	memset(&reply, 0, sizeof(reply));
	memset(&q, 0, sizeof(q));
	strlcpy(reply.name, msg->name, sizeof(reply.name));
	reply.len_param = sizeof(*a);
	memcpy(&q, msg->param, RTE_MIN((size_t)msg->len_param, sizeof(q)));
	q.name[sizeof(q.name) - 1] = '\0';
	switch (q.op) {
	case MP_DEVICE_FD:
		a->result = device_fd(&q, &reply);
		break;
	case MP_EAL_VFIO:
		a->result = spapr_pci_takeover_on() ? spapr_pci_mp_init() : -ENODEV;
		break;
	default:
		a->result = -EINVAL;
		break;
	}
	ret = rte_mp_reply(&reply, peer);
	for (int i = 0; i < reply.num_fds; i++)
		close(reply.fds[i]); /* the secondary has its own */
	return ret;
}

static bool registered;

void spapr_mp_init(void)
{
	if (registered || rte_eal_process_type() != RTE_PROC_PRIMARY)
		return;
	/* ENOTSUP: no multi-process (--in-memory, --no-shconf): no secondaries to serve */
	if (rte_mp_action_register(MP_NAME, answer) == 0)
		registered = true;
	else if (rte_errno != ENOTSUP && rte_errno != EEXIST)
		SPAPR_LOG(WARNING, "cannot serve secondary processes their device fds: %s (they will"
			  " not do packet I/O)", rte_strerror(rte_errno));
}

void spapr_mp_fini(void)
{
	if (registered)
		rte_mp_action_unregister(MP_NAME);
	registered = false;
}

/* Secondary: one request to the primary; its result, the fd in *fd if one came. */
static int ask(const struct mp_request *q, int *fd)
{
	struct rte_mp_msg req;
	struct rte_mp_reply rep = { 0 };
	struct timespec ts = { .tv_sec = MP_TIMEOUT_S };
	int ret;

	memset(&req, 0, sizeof(req));
	strlcpy(req.name, MP_NAME, sizeof(req.name));
	req.len_param = sizeof(*q);
	memcpy(req.param, q, sizeof(*q));
	if (fd != NULL)
		*fd = -1;
	if (rte_mp_request_sync(&req, &rep, &ts) != 0 || rep.nb_received != 1) {
		ret = rep.nb_received == 0 ? -ETIMEDOUT : -EIO;
	} else {
		const struct rte_mp_msg *m = &rep.msgs[0];
		const struct mp_answer *a = (const void *)m->param;
		ret = m->len_param < (int)sizeof(*a) ? -EPROTO : a->result;
		for (int i = 0; i < m->num_fds; i++) {
			if (ret == 0 && fd != NULL && *fd < 0)
				*fd = m->fds[i];
			else
				close(m->fds[i]);
		}
	}
	free(rep.msgs);
	return ret;
}

int spapr_mp_device_fd(const char *name)
{
	struct mp_request q = { .op = MP_DEVICE_FD };
	int fd, ret;

	if (strlcpy(q.name, name, sizeof(q.name)) >= sizeof(q.name))
		return -ENAMETOOLONG;
	ret = ask(&q, &fd);
	return ret == 0 && fd < 0 ? -EPROTO : ret == 0 ? fd : ret;
}

int spapr_mp_eal_vfio(void)
{
	struct mp_request q = { .op = MP_EAL_VFIO };

	return ask(&q, NULL);
}
