/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Devices bound to vfio-pci, from sysfs (lib/tce's reader: $SYSFS_PCI_DEVICES, as DPDK's
 * bus/pci reads it, else /sys/bus/pci/devices): IDs, class, NUMA node, IOMMU group.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_memory.h>

#include "spapr_private.h"
#include "tce_pci.h"

/* The IOMMU group of a PCI function (its iommu_group link); -EINVAL without one. */
int spapr_sysfs_group(const char *name, unsigned int *group)
{
	struct tce_pci_function f;
	char err[256];

	if (tce_pci_read(name, &f, err, sizeof(err)) != 0)
		return -EINVAL;
	*group = f.group;
	return 0;
}

/* One device bound to vfio-pci; -ENODEV if it is not, -EINVAL for bad sysfs contents. */
int spapr_scan_device(const char *name, struct rte_spapr_device **out)
{
	struct tce_pci_function f;
	struct rte_spapr_device *dev;
	char err[256];
	int ret;

	if (!tce_pci_is_vfio(name))
		return -ENODEV;
	ret = tce_pci_read(name, &f, err, sizeof(err));
	if (ret) {
		SPAPR_LOG(ERR, "%s: device skipped: %s", name, err);
		return ret;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		return -ENOMEM;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->device.name = dev->name;
	dev->id.vendor_id = f.vendor;
	dev->id.device_id = f.device;
	dev->class_id = f.class_code;
	dev->group = f.group;
	dev->vfio_fd = -1;
	dev->device.numa_node = f.numa_node < 0 ? SOCKET_ID_ANY : f.numa_node;
	*out = dev;
	return 0;
}
