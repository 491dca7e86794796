/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI functions as sysfs describes them ($SYSFS_PCI_DEVICES, as DPDK's bus/pci reads it,
 * else /sys/bus/pci/devices): what a VFIO user learns before it opens anything. Plain
 * C, no DPDK types: the spapr bus and the tools share it.
 */
#ifndef TCE_PCI_H
#define TCE_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tce_pci_function {
	char addr[16];            /* "dddd:bb:dd.f" */
	uint16_t vendor, device;
	uint32_t class_code;
	int numa_node;            /* -1: the machine has no NUMA information */
	unsigned int group;       /* IOMMU group */
	char driver[32];          /* the kernel driver it is bound to, "" when none */
};

/* The directory of the PCI functions. */
const char *tce_pci_dir(void);

/* "dddd:bb:dd.f" with hex digits, nothing else. */
bool tce_pci_is_addr(const char *s);

/* The kernel driver bound to addr into drv ("" when none): 0, or -errno. */
int tce_pci_driver(const char *addr, char *drv, size_t len);

/* Bound to vfio-pci. */
bool tce_pci_is_vfio(const char *addr);

/* Everything above about one function: 0; -ENOENT when there is no such function;
 * -EINVAL when an attribute is unreadable or malformed, or the function has no IOMMU
 * group, with one line in err naming the file. */
int tce_pci_read(const char *addr, struct tce_pci_function *out, char *err, size_t errlen);

/* The PCI functions of IOMMU group `group` (/sys/kernel/iommu_groups/N/devices), at
 * most max of them into addrs: how many there are, or -errno. */
int tce_pci_group_members(unsigned int group, char (*addrs)[16], unsigned int max);

/* A driver that leaves a group viable for VFIO: vfio-pci itself, none, or one the
 * kernel lets share a group with a VFIO user (pci-stub, pcieport). */
bool tce_pci_driver_vfio_safe(const char *driver);

#endif
