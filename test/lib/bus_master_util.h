/* SPDX-License-Identifier: BSD-3-Clause */
/* A driver's first step before its device may DMA, through libc as on POWER: bus
 * mastering on in the command register (vfio-pci leaves it off, and clears it when the
 * device fd is closed). 0, or -1. */
#ifndef BUS_MASTER_UTIL_H
#define BUS_MASTER_UTIL_H

#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Where region `index` starts in the device fd: the VFIO driver says (-1 if none). */
static inline off_t vfio_region_offset(int device_fd, unsigned int index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	return ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &ri) == 0 ? (off_t)ri.offset : -1;
}

static inline int vfio_bus_master_on(int device_fd)
{
	const off_t cfg = vfio_region_offset(device_fd, VFIO_PCI_CONFIG_REGION_INDEX);
	const off_t cmd_off = cfg + PCI_COMMAND;
	uint16_t cmd = 0;

	if (cfg < 0 || pread(device_fd, &cmd, 2, cmd_off) != 2)
		return -1;
	cmd |= PCI_COMMAND_MASTER;
	return pwrite(device_fd, &cmd, 2, cmd_off) == 2 ? 0 : -1;
}

#endif
