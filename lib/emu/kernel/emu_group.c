/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /dev/vfio/<group>: a model of drivers/vfio/group.c (vfio_group_fops_unl_ioctl and
 * the open/release rules). Called with the platform lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "emu_internal.h"

#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))

/* vfio_group_ioctl_get_status() */
static long get_status(struct emu_group *g, struct vfio_group_status *arg)
{
	struct vfio_group_status st;
	size_t minsz = offsetofend(struct vfio_group_status, flags);

	COPY_FROM_USER(&st, arg, minsz);
	if (st.argsz < minsz)
		return -EINVAL;
	st.flags = 0;
	if (g->container)
		st.flags = VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
	else if (g->dma_owners == 0) /* !iommu_group_dma_owner_claimed() */
		st.flags = VFIO_GROUP_FLAGS_VIABLE;
	memcpy(arg, &st, minsz);
	return 0;
}

/* vfio_group_ioctl_set_container() */
static long set_container(struct emu_group *g, const int *arg)
{
	struct emu_file *f;
	int fd;

	COPY_FROM_USER(&fd, arg, sizeof(fd));
	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (g->container)
		return -EINVAL;
	f = emu_fd_get(fd);
	if (f == NULL || f->kind != EMU_FILE_CONTAINER || f->plat != g->pe.plat)
		return -EBADFD;
	if (g->dma_owners) /* iommu_group_claim_dma_owner(): a kernel driver owns it */
		return -EBUSY;
	return emu_container_attach_group(f->container, g);
}

/* vfio_group_ioctl_unset_container() */
static long unset_container(struct emu_group *g)
{
	if (g->container == NULL)
		return -EINVAL;
	if (g->container_users != 1)
		return -EBUSY;
	emu_container_detach_group(g->container, g);
	return 0;
}

/* vfio_group_ioctl_get_device_fd(): the device must be in this group, and the
 * container must have an IOMMU driver (vfio_group_use_container). */
static long get_device_fd(struct emu_group *g, const char *name)
{
	struct emu_platform *p = g->pe.plat;
	struct emu_device *d = NULL;
	int fd;

	if (name == NULL)
		return -EFAULT; /* strndup_user() */
	for (unsigned int i = 0; i < p->ndevices; i++)
		if (p->devices[i].group == g && p->devices[i].vfio_bound &&
		    strncmp(p->devices[i].addr, name, 4096) == 0)
			d = &p->devices[i]; /* only vfio-pci's devices are VFIO devices */
	if (d == NULL)
		return -ENODEV;
	if (g->container == NULL || !g->container->driver_set)
		return -EINVAL;
	fd = emu_fd_install(p, EMU_FILE_DEVICE, d, true);
	if (fd < 0)
		return fd;
	if (d->open_count++ == 0) {
		g->container_users++;
		emu_pe_eeh_dev_owner(&g->pe); /* vfio-pci's first open: eeh_dev_open() */
	}
	p->open_devices++;
	return fd;
}

long emu_group_ioctl(struct emu_group *g, unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_GROUP_GET_STATUS:
		return get_status(g, arg);
	case VFIO_GROUP_SET_CONTAINER:
		return set_container(g, arg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return unset_container(g);
	case VFIO_GROUP_GET_DEVICE_FD:
		return get_device_fd(g, arg);
	default:
		return -ENOTTY;
	}
}

/* vfio_group_fops_release(): runs once the fd and every device fd are closed
 * (device fds hold a reference on the group file). */
void emu_group_release(struct emu_group *g)
{
	struct emu_platform *p = g->pe.plat;

	if (g->fd_open)
		return;
	for (unsigned int i = 0; i < p->ndevices; i++)
		if (p->devices[i].group == g && p->devices[i].open_count)
			return;
	if (g->container)
		emu_container_detach_group(g->container, g);
	if (g->opened)
		p->open_groups--;
	g->opened = false;
}
