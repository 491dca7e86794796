/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spapr bus: PCI functions bound to vfio-pci on POWER machines with the sPAPR TCE
 * IOMMU, handed to the poll-mode drivers registered here. The bus keeps every byte of
 * DPDK memory DMA-mapped (lib/tce) before a driver's probe runs: drivers never map.
 */
#ifndef BUS_SPAPR_DRIVER_H
#define BUS_SPAPR_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <dev_driver.h>

#include "spapr_dpdk_compat.h"

#define SPAPR_NAME_LEN 16 /* "dddd:bb:dd.f" */

struct rte_spapr_id {
	uint16_t vendor_id, device_id;   /* vendor_id 0 ends a table */
};

struct spapr_iommu;

/* A VFIO region of the device as VFIO_DEVICE_GET_REGION_INFO describes it (size 0: none). */
struct rte_spapr_region {
	uint64_t offset;                 /* where it is in the device fd */
	uint64_t size;
	uint32_t flags;                  /* VFIO_REGION_INFO_FLAG_* */
};
#define RTE_SPAPR_MAX_REGIONS 8          /* VFIO_PCI_CONFIG_REGION_INDEX + 1: BARs, ROM, config */

struct rte_spapr_device {
	TAILQ_ENTRY(rte_spapr_device) next;
	struct rte_device device;        /* device.name is the PCI address */
	char name[SPAPR_NAME_LEN];
	struct rte_spapr_id id;
	uint32_t class_id;
	unsigned int group;              /* IOMMU group */
	int vfio_fd;                     /* the VFIO device fd, once probed (else -1) */
	struct rte_spapr_region regions[RTE_SPAPR_MAX_REGIONS];
	uint32_t regions_known;          /* the regions asked about so far (a bit each) */
	struct spapr_iommu *iommu;       /* the container its group is in */
	struct rte_spapr_driver *driver;
};

struct rte_spapr_driver {
	TAILQ_ENTRY(rte_spapr_driver) next;
	struct rte_driver driver;
	const struct rte_spapr_id *id_table;
	int (*probe)(struct rte_spapr_driver *drv, struct rte_spapr_device *dev);
	int (*remove)(struct rte_spapr_device *dev);
};

#define RTE_DEV_TO_SPAPR(d) container_of(d, struct rte_spapr_device, device)

void rte_spapr_register(struct rte_spapr_driver *drv);
void rte_spapr_unregister(struct rte_spapr_driver *drv);

/* Register a driver (not if the plugin was built for another DPDK release than the one
 * running: spapr_dpdk_release_matches), and say what dpdk-pmdinfo.py reads from a driver's .so: its name
 * and the kernel module its devices need (DPDK's own build generates that string with
 * its pmdinfogen from the same symbols; an out-of-tree driver writes it here). */
#define RTE_SPAPR_REGISTER_DRIVER(nm, drv)                                       \
	RTE_INIT(spapr_register_##nm)                                            \
	{                                                                        \
		if (!spapr_dpdk_release_matches())                               \
			return;                                                  \
		(drv).driver.name = RTE_STR(nm);                                 \
		rte_spapr_register(&(drv));                                      \
	}                                                                        \
	SPAPR_PMD_EXPORT_NAME(nm);                                               \
	RTE_PMD_REGISTER_KMOD_DEP(nm, "vfio-pci");                               \
	static const char nm##_pmd_info[] __rte_used =                           \
		"PMD_INFO_STRING= {\"name\": \"" RTE_STR(nm) "\", \"kmod\": \"vfio-pci\", \"pci_ids\": []}"

/* Region access (VFIO_PCI_*_REGION_INDEX): size and whether [off, off+len) can be
 * mmap'ed; read/write through the device fd; a mapping where the region allows it. */
int rte_spapr_region_info(struct rte_spapr_device *dev, unsigned int index, uint64_t *size,
			  bool *mappable);
ssize_t rte_spapr_region_read(struct rte_spapr_device *dev, unsigned int index, void *buf,
			      size_t len, uint64_t off);
ssize_t rte_spapr_region_write(struct rte_spapr_device *dev, unsigned int index, const void *buf,
			       size_t len, uint64_t off);
void *rte_spapr_region_map(struct rte_spapr_device *dev, unsigned int index, uint64_t off,
			   size_t len);
int rte_spapr_reset(struct rte_spapr_device *dev);
/* Queue interrupts: MSI-X vectors 0..n-1 of the device each signal an eventfd, made
 * here and returned in efds[0..n-1] (non-blocking; the caller closes them after
 * rte_spapr_msix_disable()). 0, or -ENOTSUP (fewer vectors), -errno: nothing left set. */
int rte_spapr_msix_enable(struct rte_spapr_device *dev, unsigned int n, int *efds);
int rte_spapr_msix_disable(struct rte_spapr_device *dev);
/* The IOVA the device must use for memory at va (-ENOENT if not DMA-mapped). */
int rte_spapr_iova(struct rte_spapr_device *dev, const void *va, uint64_t *iova);

/* EEH (PowerNV: VFIO offers it; pSeries guests have none). Whether the device's PE can
 * be recovered after it froze. */
bool rte_spapr_eeh_available(struct rte_spapr_device *dev);
/* Recover the device's PE (its whole IOMMU group) after it froze: hot reset, thaw, and
 * every mapping of the group written again, so that the device finds each IOVA where
 * it was. The devices come back reset: their drivers bring them up again. 0; -ENODEV
 * without EEH; -EIO if the PE does not come back. */
int rte_spapr_eeh_recover(struct rte_spapr_device *dev);

#endif
