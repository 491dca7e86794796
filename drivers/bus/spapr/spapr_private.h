/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SPAPR_PRIVATE_H
#define SPAPR_PRIVATE_H

#include <rte_log.h>

#include "rte_bus_spapr.h"

extern int spapr_logtype;
#define SPAPR_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, spapr_logtype, "spapr: " fmt "\n", ##__VA_ARGS__)

TAILQ_HEAD(spapr_device_list, rte_spapr_device);
TAILQ_HEAD(spapr_driver_list, rte_spapr_driver);
extern struct spapr_device_list spapr_devices;
extern struct spapr_driver_list spapr_drivers;

/* Device options (devargs): iommu=auto|v1|v2, pagesize=auto|SIZE, dry_run=0|1 */
struct spapr_devopts {
	int iommu;                 /* enum tce_iommu_choice */
	unsigned int page_shift;   /* 0: auto */
	bool dry_run;
};
int spapr_devopts_parse(const struct rte_devargs *da, struct spapr_devopts *o);
int spapr_devopts_parse_str(const char *name, const char *str, struct spapr_devopts *o);

/* sysfs */
const char *spapr_sysfs_devices(void);
int spapr_scan_device(const char *name, struct rte_spapr_device **out);
bool spapr_sysfs_is_vfio(const char *name);

/* IOMMU containers and DPDK memory */
int spapr_iommu_attach(struct rte_spapr_device *dev, const struct spapr_devopts *o);
void spapr_iommu_detach(struct rte_spapr_device *dev);
void spapr_iommu_cleanup(void);
int spapr_iommu_dma_map(struct rte_spapr_device *dev, void *addr, uint64_t iova, size_t len);
int spapr_iommu_dma_unmap(struct rte_spapr_device *dev, void *addr, uint64_t iova, size_t len);
int spapr_iommu_group_fd(struct rte_spapr_device *dev);

/* iterating over the containers (telemetry) */
struct tce_container;
struct spapr_iommu_view { struct tce_container *c; unsigned int group; const struct spapr_iommu *it; };
void spapr_iommu_lock(void);
void spapr_iommu_unlock(void);
struct spapr_iommu_view spapr_iommu_first(void);
struct spapr_iommu_view spapr_iommu_next(struct spapr_iommu_view v);

#endif
