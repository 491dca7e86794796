/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Devices bound to vfio-pci, from sysfs ($SYSFS_PCI_DEVICES, as DPDK's bus/pci reads it,
 * else /sys/bus/pci/devices): IDs, class, NUMA node, IOMMU group.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_malloc.h>

#include "spapr_private.h"

const char *spapr_sysfs_devices(void)
{
	const char *env = getenv("SYSFS_PCI_DEVICES");

	return env && *env ? env : "/sys/bus/pci/devices";
}

static int read_hex(const char *dev, const char *attr, unsigned long *out)
{
	char path[PATH_MAX], buf[32], *end;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", spapr_sysfs_devices(), dev, attr);
	f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	errno = 0;
	*out = strtoul(buf, &end, 0);
	if (errno || end == buf || (*end != '\n' && *end != '\0'))
		return -EINVAL;
	return 0;
}

static int link_name(const char *dev, const char *attr, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s/%s", spapr_sysfs_devices(), dev, attr);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	snprintf(out, len, "%s", basename(target));
	return 0;
}

static bool is_pci_addr(const char *s)
{
	unsigned int d, b, s2, f;
	char tail;

	return strlen(s) == 12 && sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &s2, &f, &tail) == 4;
}

bool spapr_sysfs_is_vfio(const char *name)
{
	char drv[64];

	return is_pci_addr(name) && link_name(name, "driver", drv, sizeof(drv)) == 0 &&
	       strcmp(drv, "vfio-pci") == 0;
}

/* The IOMMU group of a PCI function (its iommu_group link); -EINVAL without one. */
int spapr_sysfs_group(const char *name, unsigned int *group)
{
	char grp[32], *end;
	unsigned long g;

	if (link_name(name, "iommu_group", grp, sizeof(grp)) != 0)
		return -EINVAL;
	errno = 0;
	g = strtoul(grp, &end, 10);
	if (errno || end == grp || *end != '\0' || g > UINT_MAX)
		return -EINVAL;
	*group = (unsigned int)g;
	return 0;
}

/* One device bound to vfio-pci; -ENODEV if it is not, -EINVAL for bad sysfs contents. */
int spapr_scan_device(const char *name, struct rte_spapr_device **out)
{
	unsigned long vendor, device, cls;
	unsigned long node = 0;
	unsigned int group;
	struct rte_spapr_device *dev;

	if (!spapr_sysfs_is_vfio(name))
		return -ENODEV;
	if (read_hex(name, "vendor", &vendor) || read_hex(name, "device", &device) ||
	    read_hex(name, "class", &cls) || vendor > 0xffff || device > 0xffff) {
		SPAPR_LOG(ERR, "%s: unreadable vendor/device/class in %s/%s: device skipped", name,
			  spapr_sysfs_devices(), name);
		return -EINVAL;
	}
	if (spapr_sysfs_group(name, &group) != 0) {
		SPAPR_LOG(ERR, "%s: no IOMMU group link in sysfs: device skipped", name);
		return -EINVAL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		return -ENOMEM;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->device.name = dev->name;
	dev->id.vendor_id = (uint16_t)vendor;
	dev->id.device_id = (uint16_t)device;
	dev->class_id = (uint32_t)cls;
	dev->group = group;
	dev->vfio_fd = -1;
	/* numa_node is -1 on machines without NUMA information */
	char path[PATH_MAX], buf[16];
	snprintf(path, sizeof(path), "%s/%s/numa_node", spapr_sysfs_devices(), name);
	FILE *f = fopen(path, "r");
	if (f != NULL && fgets(buf, sizeof(buf), f) != NULL)
		node = (unsigned long)strtol(buf, NULL, 10);
	if (f)
		fclose(f);
	dev->device.numa_node = (int)(long)node < 0 ? SOCKET_ID_ANY : (int)(long)node;
	*out = dev;
	return 0;
}
