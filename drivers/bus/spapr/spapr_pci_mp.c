/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bus/pci devices of secondary processes, on this bus's set-up. A secondary's bus/pci
 * sets its devices up through EAL's VFIO code, which asks the primary's EAL over the
 * multi-process channel for the group's fd (which arrives with the answer, already in
 * its container: the secondary only takes the device fd from it) and for the IOMMU type
 * of the primary's default container. The groups of the devices this bus serves are in
 * containers of this bus, not in EAL's default one, so the primary's EAL has no type to
 * give and the secondary stops (`Could not sync default VFIO container`). While the
 * takeover is on, this bus answers those requests in EAL's place (from the first
 * secondary that needs it: spapr_mp.c), as EAL does, with the type of the set-up its
 * devices have: sPAPR (VFIO_SPAPR_TCE_v2_IOMMU, the one EAL knows).
 *
 * The messages are EAL's own (lib/eal/linux/eal_vfio.h, internal): three ints, and
 * request codes that changed within LTS branches, read in each version's librte_eal.
 * Debian's 22.11.11 and 25.11.4: container 0x100, group 0x200, IOMMU type 0x400, and
 * rte_vfio_get_container_fd() gives EAL's default container. 24.11.8 (and 22.11.4):
 * container 0x100, group 0x200, default container 0x400, IOMMU type 0x800, and
 * rte_vfio_get_container_fd() opens a new container each time. Which one runs is told
 * apart by the latter: two calls, one fd or two. A secondary's request for a container gets what EAL gives there; on the
 * older scheme its default-container request gets a new container: groups are already
 * in their containers when a secondary sees them.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_string_fns.h>
#include <rte_version.h>
#include <rte_vfio.h>

#include "spapr_private.h"

#define EAL_VFIO_MP "eal_vfio_mp_sync"
#define REQ_CONTAINER 0x100
#define REQ_GROUP 0x200
#define REQ_0x400 0x400 /* IOMMU type, or (older scheme) default container */
#define REQ_OLD_IOMMU_TYPE 0x800
#define RES_OK 0x0
#define RES_NO_FD 0x1
#define RES_ERR 0xff

struct eal_vfio_mp_param {
	int req;
	int result;
	int arg; /* the group number, or the IOMMU type id */
};

/* rte_vfio_get_container_fd() opens a new container (the older scheme) rather than
 * giving EAL's default one: set once, before the answer is registered. */
static bool older_scheme;

static int answer(const struct rte_mp_msg *msg, const void *peer)
{
	const struct eal_vfio_mp_param *m = (const void *)msg->param;
	struct rte_mp_msg reply;
	struct eal_vfio_mp_param *r = (struct eal_vfio_mp_param *)reply.param;
	bool iommu_type = m->req == REQ_OLD_IOMMU_TYPE || (m->req == REQ_0x400 && !older_scheme);
	int fd = -1, ret;

	if (msg->len_param != (int)sizeof(*m))
		return -1;
	memset(&reply, 0, sizeof(reply));
	r->req = m->req;
	if (iommu_type) {
		r->arg = VFIO_SPAPR_TCE_v2_IOMMU; /* EAL's only sPAPR type */
		r->result = RES_OK;
	} else if (m->req == REQ_GROUP) {
		r->arg = m->arg;
		fd = rte_vfio_get_group_fd(m->arg);
		r->result = fd >= 0 ? RES_OK : fd == -ENOENT ? RES_NO_FD : RES_ERR;
	} else if (m->req == REQ_CONTAINER || m->req == REQ_0x400) { /* 0x400: a default container */
		fd = rte_vfio_get_container_fd();
		r->result = fd >= 0 ? RES_OK : RES_ERR;
	} else {
		SPAPR_LOG(ERR, "a secondary process asked EAL's VFIO for %#x: not a request of DPDK %s", m->req,
			  rte_version());
		return -1;
	}
	if (fd >= 0) {
		reply.num_fds = 1;
		reply.fds[0] = fd;
	}
	strlcpy(reply.name, EAL_VFIO_MP, sizeof(reply.name));
	reply.len_param = sizeof(*r);
	ret = rte_mp_reply(&reply, peer);
	SPAPR_LOG(DEBUG, "a secondary asked EAL's VFIO for %#x (%d): answered %#x, %d, fd %d: %s", m->req, m->arg,
		  r->result, r->arg, fd, ret == 0 ? "sent" : rte_strerror(rte_errno));
	if (older_scheme && fd >= 0 && m->req != REQ_GROUP)
		close(fd); /* a new container: the secondary has its own */
	return ret;
}

static bool answering;

/* Called from the multi-process thread (a secondary's request), long after EAL's init
 * registered its own answer: replacing it cannot race with that registration. */
int spapr_pci_mp_init(void)
{
	int a, b;

	if (answering)
		return 0;
	a = rte_vfio_get_container_fd();
	b = rte_vfio_get_container_fd();
	older_scheme = a != b;
	if (older_scheme) {
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
	}
	rte_mp_action_unregister(EAL_VFIO_MP);
	if (rte_mp_action_register(EAL_VFIO_MP, answer) != 0) {
		SPAPR_LOG(WARNING, "cannot answer secondary processes' VFIO requests: %s (their bus/pci"
			  " devices will not be set up)", rte_strerror(rte_errno));
		return -rte_errno;
	}
	answering = true;
	SPAPR_LOG(DEBUG, "EAL's VFIO requests from secondary processes answered for this bus's set-up");
	return 0;
}
