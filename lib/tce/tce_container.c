/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Container and group lifecycle: open /dev/vfio/vfio, attach the groups, choose the
 * IOMMU type as QEMU does (v2, and v1 when the groups refuse it), read what the
 * platform offers, and tear down in the reverse order, on error paths too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tce_internal.h"

/* Put a group into the container: a group opened here (fd < 0) or a duplicate of a
 * caller's open group fd (adopted: it must not be in a container yet). */
static int attach_group(struct tce_container *c, unsigned int id, int fd)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	bool adopted = fd >= 0;
	char path[32];
	long ret;

	snprintf(path, sizeof(path), "/dev/vfio/%u", id);
	fd = adopted ? tce_sys_dup(fd) : tce_sys_open(path);
	if (fd < 0) {
		tce_log(TCE_LOG_ERR, "cannot %s %s: %s%s", adopted ? "duplicate the fd of" : "open",
			path, strerror(-fd), fd == -ENOENT ? " (bind the group's devices to vfio-pci)" :
			fd == -EBUSY ? " (another process or container uses the group)" : "");
		return fd;
	}
	ret = tce_sys_ioctl(fd, VFIO_GROUP_GET_STATUS, &st);
	if (ret == 0 && !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		tce_log(TCE_LOG_ERR, "VFIO group %u is not viable: bind every device of"
			" /sys/kernel/iommu_groups/%u/devices to vfio-pci", id, id);
		ret = -EPERM;
	} else if (ret == 0 && adopted && (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET)) {
		tce_log(TCE_LOG_ERR, "VFIO group %u is in a container already: another VFIO user of"
			" the process set its IOMMU up", id);
		ret = -EBUSY;
	}
	if (ret == 0)
		ret = tce_sys_ioctl(fd, VFIO_GROUP_SET_CONTAINER, &c->fd);
	if (ret) {
		if (ret != -EPERM && ret != -EBUSY)
			tce_log(TCE_LOG_ERR, "cannot add VFIO group %u to a container: %s", id, strerror(-ret));
		tce_sys_close(fd); /* an adopted group is left as it was: only our dup goes */
		return (int)ret;
	}
	c->group_ids[c->ngroups] = id;
	c->group_adopted[c->ngroups] = adopted;
	c->group_fds[c->ngroups++] = fd;
	return 0;
}

/* QEMU's order: v2 where the groups take it, else v1 (one group per container). */
static int set_type(struct tce_container *c, enum tce_iommu_choice choice)
{
	long ret = -EINVAL;

	if (choice != TCE_IOMMU_V1 &&
	    tce_sys_ioctl_val(c->fd, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_v2_IOMMU) > 0) {
		ret = tce_sys_ioctl_val(c->fd, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU);
		if (ret == 0) {
			c->type = VFIO_SPAPR_TCE_v2_IOMMU;
			return 0;
		}
		if (choice == TCE_IOMMU_V2) {
			tce_log(TCE_LOG_ERR, "the v2 sPAPR IOMMU was refused (%s): the platform has no"
				" dynamic DMA windows; use the v1 IOMMU", strerror((int)-ret));
			return (int)ret;
		}
	}
	ret = tce_sys_ioctl_val(c->fd, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU);
	if (ret == 0) {
		c->type = VFIO_SPAPR_TCE_IOMMU;
		return 0;
	}
	tce_log(TCE_LOG_ERR, "cannot set the sPAPR TCE IOMMU: %s%s", strerror((int)-ret),
		ret == -EBUSY && c->ngroups > 1 ?
		" (the v1 IOMMU takes one group per container: open one container per group)" : "");
	return (int)ret;
}

/* GET_INFO, checked and completed (tce_parse_info). */
static int read_info(struct tce_container *c)
{
	struct vfio_iommu_spapr_tce_info gi = { .argsz = sizeof(gi) };
	long ret = tce_sys_ioctl(c->fd, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &gi);
	unsigned int page_shift = 63 - __builtin_clzll((uint64_t)getpagesize());
	char err[300];

	if (ret) {
		tce_log(TCE_LOG_ERR, "VFIO_IOMMU_SPAPR_TCE_GET_INFO failed: %s", strerror((int)-ret));
		return (int)ret;
	}
	ret = tce_parse_info(&gi, c->type == VFIO_SPAPR_TCE_v2_IOMMU,
			     tce_sys_ioctl_val(c->fd, VFIO_CHECK_EXTENSION, VFIO_EEH) > 0, page_shift, &c->info,
			     err, sizeof(err));
	if (ret)
		tce_log(TCE_LOG_ERR, "%s", err);
	return (int)ret;
}

int tce_platform_query(struct tce_platform *out)
{
	int fd = tce_sys_open("/dev/vfio/vfio");

	if (fd < 0)
		return fd;
	out->spapr = tce_sys_ioctl_val(fd, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU) > 0;
	out->eeh = out->spapr && tce_sys_ioctl_val(fd, VFIO_CHECK_EXTENSION, VFIO_EEH) > 0;
	tce_sys_close(fd);
	return 0;
}

static int open_container(struct tce_container **out)
{
	struct tce_container *c = calloc(1, sizeof(*c));
	long ret;

	if (c == NULL)
		return -ENOMEM;
	c->fd = tce_sys_open("/dev/vfio/vfio");
	if (c->fd < 0) {
		ret = c->fd;
		tce_log(TCE_LOG_ERR, "cannot open /dev/vfio/vfio: %s (load the vfio-pci module)",
			strerror((int)-ret));
		free(c);
		return (int)ret;
	}
	ret = tce_sys_ioctl(c->fd, VFIO_GET_API_VERSION, NULL);
	if (ret != VFIO_API_VERSION) {
		tce_log(TCE_LOG_ERR, "unknown VFIO API version %ld", ret);
		ret = -EINVAL;
	} else if (tce_sys_ioctl_val(c->fd, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU) <= 0) {
		tce_log(TCE_LOG_ERR, "VFIO has no sPAPR TCE IOMMU here: not a POWER machine");
		ret = -ENODEV;
	} else {
		*out = c;
		return 0;
	}
	tce_container_close(c);
	return (int)ret;
}

int tce_container_open(const unsigned int *groups, unsigned int ngroups,
		       enum tce_iommu_choice choice, struct tce_container **out)
{
	struct tce_container *c;
	int ret;

	if (ngroups == 0 || ngroups > TCE_MAX_GROUPS) {
		tce_log(TCE_LOG_ERR, "a container takes 1 to %d IOMMU groups, not %u", TCE_MAX_GROUPS, ngroups);
		return -EINVAL;
	}
	if ((ret = open_container(&c)) != 0)
		return ret;
	for (unsigned int i = 0; i < ngroups; i++)
		if ((ret = attach_group(c, groups[i], -1)) != 0)
			goto fail;
	if ((ret = set_type(c, choice)) != 0 || (ret = read_info(c)) != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	tce_container_close(c);
	return ret;
}

int tce_container_open_group_fd(unsigned int group, int group_fd, enum tce_iommu_choice choice,
				struct tce_container **out)
{
	struct tce_container *c;
	int ret;

	if (group_fd < 0)
		return -EBADF;
	if ((ret = open_container(&c)) != 0)
		return ret;
	if ((ret = attach_group(c, group, group_fd)) == 0 && (ret = set_type(c, choice)) == 0 &&
	    (ret = read_info(c)) == 0) {
		*out = c;
		return 0;
	}
	tce_container_close(c);
	return ret;
}

void tce_container_close(struct tce_container *c)
{
	if (c == NULL)
		return;
	tce_dma_teardown(c, true);
	for (unsigned int i = 0; i < c->ngroups; i++) {
		/* an adopted group goes back out of the container: its other fd may live on
		 * (EBUSY while a device fd is open; the kernel detaches it at its release) */
		if (c->group_adopted[i])
			tce_sys_ioctl(c->group_fds[i], VFIO_GROUP_UNSET_CONTAINER, NULL);
		tce_sys_close(c->group_fds[i]);
	}
	tce_sys_close(c->fd);
	tce_plan_free(&c->plan);
	free(c->regs);
	free(c->maps);
	free(c->by_iova);
	free(c);
}

int tce_container_fd(const struct tce_container *c)
{
	return c->fd;
}

int tce_group_fd(const struct tce_container *c, unsigned int group)
{
	for (unsigned int i = 0; i < c->ngroups; i++)
		if (c->group_ids[i] == group)
			return c->group_fds[i];
	return -ENOENT;
}

const struct tce_iommu_info *tce_container_info(const struct tce_container *c)
{
	return &c->info;
}

const struct tce_plan *tce_container_plan(const struct tce_container *c)
{
	return &c->plan;
}

void tce_get_stats(const struct tce_container *c, struct tce_stats *s)
{
	*s = c->st;
	s->windows = c->nwin;
	s->registrations = c->nregs;
	s->maps = c->nmaps;
}

unsigned int tce_get_windows(const struct tce_container *c, struct tce_window_info *out,
			     unsigned int max)
{
	unsigned int n = c->nwin < max ? c->nwin : max;

	for (unsigned int i = 0; i < n; i++)
		out[i] = (struct tce_window_info){ c->win[i].start, c->win[i].size, c->win[i].table_bytes,
						   c->win[i].page_shift, c->win[i].levels, c->win[i].next_off };
	return n;
}

int tce_container_type(const struct tce_container *c)
{
	return c->type;
}
