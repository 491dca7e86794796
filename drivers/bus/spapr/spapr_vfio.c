/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VFIO device of a spapr bus device: its fd from the group, its regions as
 * VFIO_DEVICE_GET_REGION_INFO describes them (offsets are the kernel driver's to choose:
 * vfio-pci puts region i at i << 40, other VFIO drivers elsewhere), bus mastering, and
 * the region access, reset and queue interrupts (MSI-X through eventfds) drivers use.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_byteorder.h>

#include "spapr_private.h"

/* A region as VFIO_DEVICE_GET_REGION_INFO describes it, asked once, when first used
 * (NULL: no such region). */
static const struct rte_spapr_region *region(struct rte_spapr_device *dev, unsigned int index)
{
	if (index >= RTE_SPAPR_MAX_REGIONS || dev->vfio_fd < 0)
		return NULL;
	if (!(dev->regions_known & (1u << index))) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

		if (ioctl(dev->vfio_fd, VFIO_DEVICE_GET_REGION_INFO, &ri) != 0)
			return NULL;
		dev->regions[index] = (struct rte_spapr_region){ ri.offset, ri.size, ri.flags };
		dev->regions_known |= 1u << index;
	}
	return dev->regions[index].size ? &dev->regions[index] : NULL;
}

/* vfio-pci leaves bus mastering to the user (it clears it at release): without it a real
 * device issues no DMA at all (QEMU's virtio-net in a pSeries guest never touched its
 * rings). */
static int enable_bus_master(struct rte_spapr_device *dev)
{
	uint16_t cmd;

	if (rte_spapr_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, &cmd, 2, PCI_COMMAND) != 2)
		return -EIO;
	cmd = rte_le_to_cpu_16(cmd);
	if (cmd & PCI_COMMAND_MASTER)
		return 0;
	cmd = rte_cpu_to_le_16(cmd | PCI_COMMAND_MASTER);
	return rte_spapr_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, &cmd, 2, PCI_COMMAND) == 2 ? 0 : -EIO;
}

/* The device fd changes in EAL's thread (probe, unplug) and is read by the
 * multi-process thread (a secondary asking for it): under this lock. */
static pthread_mutex_t vfio_fd_lock = PTHREAD_MUTEX_INITIALIZER;

int spapr_vfio_open(struct rte_spapr_device *dev, int group_fd)
{
	int ret, fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, dev->name);

	pthread_mutex_lock(&vfio_fd_lock);
	dev->vfio_fd = fd;
	pthread_mutex_unlock(&vfio_fd_lock);
	if (dev->vfio_fd < 0) {
		ret = -errno;
		SPAPR_LOG(ERR, "%s: cannot get its VFIO device fd: %s", dev->name, strerror(errno));
		return ret;
	}
	dev->regions_known = 0;
	if (enable_bus_master(dev) != 0)
		SPAPR_LOG(WARNING, "%s: cannot enable bus mastering in its command register: the device"
			  " cannot DMA", dev->name);
	return 0;
}

void spapr_vfio_close(struct rte_spapr_device *dev)
{
	pthread_mutex_lock(&vfio_fd_lock);
	if (dev->vfio_fd >= 0)
		close(dev->vfio_fd);
	dev->vfio_fd = -1;
	pthread_mutex_unlock(&vfio_fd_lock);
	dev->regions_known = 0;
}

int spapr_vfio_dup(struct rte_spapr_device *dev)
{
	int fd = -ENODEV;

	pthread_mutex_lock(&vfio_fd_lock);
	if (dev->driver != NULL && dev->vfio_fd >= 0) {
		fd = fcntl(dev->vfio_fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fd = -errno;
	}
	pthread_mutex_unlock(&vfio_fd_lock);
	return fd;
}

/* --- region access for drivers ------------------------------------------------------ */

int rte_spapr_region_info(struct rte_spapr_device *dev, unsigned int index, uint64_t *size, bool *mappable)
{
	const struct rte_spapr_region *r = region(dev, index);

	if (r == NULL)
		return -EINVAL;
	*size = r->size;
	*mappable = r->flags & VFIO_REGION_INFO_FLAG_MMAP;
	return 0;
}

static ssize_t region_rw(struct rte_spapr_device *dev, unsigned int index, void *buf, size_t len,
			 uint64_t off, bool write)
{
	const struct rte_spapr_region *r = region(dev, index);
	ssize_t n;

	if (r == NULL)
		return -EINVAL;
	n = write ? pwrite(dev->vfio_fd, buf, len, (off_t)(r->offset + off))
		  : pread(dev->vfio_fd, buf, len, (off_t)(r->offset + off));
	return n < 0 ? -errno : n;
}

ssize_t rte_spapr_region_read(struct rte_spapr_device *dev, unsigned int index, void *buf, size_t len,
			      uint64_t off)
{
	return region_rw(dev, index, buf, len, off, false);
}

ssize_t rte_spapr_region_write(struct rte_spapr_device *dev, unsigned int index, const void *buf,
			       size_t len, uint64_t off)
{
	return region_rw(dev, index, (void *)(uintptr_t)buf, len, off, true);
}

void *rte_spapr_region_map(struct rte_spapr_device *dev, unsigned int index, uint64_t off, size_t len)
{
	const struct rte_spapr_region *r = region(dev, index);
	void *m;

	if (r == NULL)
		return NULL;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dev->vfio_fd, (off_t)(r->offset + off));
	return m == MAP_FAILED ? NULL : m;
}

int rte_spapr_reset(struct rte_spapr_device *dev)
{
	return ioctl(dev->vfio_fd, VFIO_DEVICE_RESET) == 0 ? 0 : -errno;
}

/* MSI-X vectors 0..n-1 each signal an eventfd of their own (VFIO_DEVICE_SET_IRQS,
 * DATA_EVENTFD | ACTION_TRIGGER), as a driver's queue interrupts need. */
int rte_spapr_msix_enable(struct rte_spapr_device *dev, unsigned int n, int *efds)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vfio_irq_set *set;
	size_t len = sizeof(*set) + sizeof(int) * n;
	unsigned int i;
	int ret = 0;

	if (dev->vfio_fd < 0 || n == 0)
		return -EINVAL;
	if (ioctl(dev->vfio_fd, VFIO_DEVICE_GET_IRQ_INFO, &info) != 0 || !(info.flags & VFIO_IRQ_INFO_EVENTFD) ||
	    info.count < n) {
		SPAPR_LOG(ERR, "%s: %u MSI-X vectors wanted for queue interrupts, the device has %u", dev->name, n,
			  info.count);
		return -ENOTSUP;
	}
	set = calloc(1, len);
	if (set == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		efds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (efds[i] < 0) {
			ret = -errno;
			break;
		}
	}
	if (ret == 0) {
		*set = (struct vfio_irq_set){ .argsz = (uint32_t)len, .index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0,
					      .count = n, .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER };
		memcpy(set->data, efds, sizeof(int) * n);
		if (ioctl(dev->vfio_fd, VFIO_DEVICE_SET_IRQS, set) != 0)
			ret = -errno;
	}
	free(set);
	if (ret != 0) {
		SPAPR_LOG(ERR, "%s: cannot set up %u MSI-X interrupts: %s", dev->name, n, strerror(-ret));
		while (i-- > 0)
			close(efds[i]);
	}
	return ret;
}

/* Every MSI-X vector off (DATA_NONE | ACTION_TRIGGER, count 0); the caller closes the
 * eventfds it was given. */
int rte_spapr_msix_disable(struct rte_spapr_device *dev)
{
	struct vfio_irq_set set = { .argsz = sizeof(set), .index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = 0,
				    .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER };

	if (dev->vfio_fd < 0)
		return -ENODEV;
	return ioctl(dev->vfio_fd, VFIO_DEVICE_SET_IRQS, &set) == 0 ? 0 : -errno;
}
