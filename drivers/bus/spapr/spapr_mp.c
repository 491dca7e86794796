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

#define MP_DEVICE_FD "bus_spapr_device_fd"
#define MP_TIMEOUT_S 5

struct mp_answer {
	int result; /* 0: the fd is attached; -errno: why not */
};

/* Primary: the device named in the request, if this bus probed it. */
static int answer_device_fd(const struct rte_mp_msg *msg, const void *peer)
{
	struct rte_mp_msg reply;
	struct mp_answer *a = (struct mp_answer *)reply.param;
	char name[RTE_DEV_NAME_MAX_LEN];
	struct rte_spapr_device *dev;

	memset(&reply, 0, sizeof(reply));
	strlcpy(reply.name, msg->name, sizeof(reply.name));
	reply.len_param = sizeof(*a);
	memcpy(name, msg->param, RTE_MIN((size_t)msg->len_param, sizeof(name)));
	name[RTE_MIN((size_t)msg->len_param, sizeof(name) - 1)] = '\0';
	dev = spapr_device_by_name(name);
	if (dev == NULL || dev->driver == NULL || dev->vfio_fd < 0) {
		a->result = -ENODEV;
	} else {
		a->result = 0;
		reply.num_fds = 1;
		reply.fds[0] = dev->vfio_fd;
	}
	return rte_mp_reply(&reply, peer);
}

static bool registered;

void spapr_mp_init(void)
{
	if (registered || rte_eal_process_type() != RTE_PROC_PRIMARY)
		return;
	/* ENOTSUP: no multi-process (--in-memory, --no-shconf): no secondaries to serve */
	if (rte_mp_action_register(MP_DEVICE_FD, answer_device_fd) == 0)
		registered = true;
	else if (rte_errno != ENOTSUP && rte_errno != EEXIST)
		SPAPR_LOG(WARNING, "cannot serve secondary processes their device fds: %s (they will"
			  " not do packet I/O)", rte_strerror(rte_errno));
}

void spapr_mp_fini(void)
{
	if (registered)
		rte_mp_action_unregister(MP_DEVICE_FD);
	registered = false;
}

int spapr_mp_device_fd(const char *name)
{
	struct rte_mp_msg req;
	struct rte_mp_reply rep = { 0 };
	struct timespec ts = { .tv_sec = MP_TIMEOUT_S };
	int ret;

	memset(&req, 0, sizeof(req));
	strlcpy(req.name, MP_DEVICE_FD, sizeof(req.name));
	req.len_param = (int)strlen(name) + 1;
	if (req.len_param > RTE_MP_MAX_PARAM_LEN)
		return -ENAMETOOLONG;
	memcpy(req.param, name, (size_t)req.len_param);
	if (rte_mp_request_sync(&req, &rep, &ts) != 0 || rep.nb_received != 1) {
		ret = rep.nb_received == 0 ? -ETIMEDOUT : -EIO;
	} else {
		const struct rte_mp_msg *m = &rep.msgs[0];
		const struct mp_answer *a = (const void *)m->param;
		ret = m->len_param < (int)sizeof(*a) ? -EPROTO : a->result;
		if (ret == 0)
			ret = m->num_fds == 1 ? m->fds[0] : -EPROTO;
		else
			for (int i = 0; i < m->num_fds; i++)
				close(m->fds[i]);
	}
	free(rep.msgs);
	return ret;
}
