/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SPAPR_PRIVATE_H
#define SPAPR_PRIVATE_H

#include <bus_driver.h>
#include <rte_bus.h>
#include <rte_log.h>

#include "bus_spapr_driver.h"

extern int spapr_logtype;
#define SPAPR_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, spapr_logtype, "spapr: " fmt "\n", ##__VA_ARGS__)

TAILQ_HEAD(spapr_device_list, rte_spapr_device);
TAILQ_HEAD(spapr_driver_list, rte_spapr_driver);
extern struct spapr_device_list spapr_devices;
extern struct spapr_driver_list spapr_drivers;

/* Device options (devargs): iommu=auto|v1|v2|eal, pagesize=auto|SIZE, dry_run=0|1 */
struct spapr_devopts {
	int iommu;                 /* enum tce_iommu_choice, or SPAPR_IOMMU_EAL */
	unsigned int page_shift;   /* 0: auto */
	bool dry_run;
};
/* iommu=eal: a bus/pci device left to EAL's own VFIO code */
#define SPAPR_IOMMU_EAL 100
int spapr_devopts_parse_str(const char *name, const char *str, struct spapr_devopts *o);
/* Parse and keep a device's options (EAL's devargs parse); a device's options, parsed
 * once (defaults when it has no devargs). 0 or -EINVAL. */
int spapr_devopts_remember(const char *name, const char *str);
int spapr_devopts_of(const char *name, struct spapr_devopts *o);
void spapr_devopts_forget(void);
void spapr_devopts_forget_one(const char *name);
/* the options given to this bus for a PCI address (-a bus=spapr,addr=ADDR,...), if any */
struct rte_devargs *spapr_find_devargs(const char *name);
/* The device strings of this bus (spapr_devstr.c): bus->parse, ->devargs_parse,
 * ->dev_iterate, and the devargs EAL lists, before a scan: legacy names renamed, options
 * kept (-EINVAL: bad options in one; `replaced` moves a device off an older devargs). */
int spapr_devstr_parse(const char *name, void *addr);
int spapr_devstr_devargs_parse(struct rte_devargs *da);
void *spapr_devstr_iterate(SPAPR_CONST_BUS_PARAM(bus) const void *start, const char *str,
			   const struct rte_dev_iterator *it);
int spapr_devstr_scan_devargs(void (*replaced)(struct rte_devargs *old, struct rte_devargs *da));
struct rte_device *spapr_bus_find_device(SPAPR_CONST_BUS_PARAM(bus) const struct rte_device *start, rte_dev_cmp_t cmp,
					 const void *data);
/* Whether the bus registered itself (its release guard passed: spapr_bus.c) */
extern bool spapr_bus_registered;

/* sysfs */
int spapr_scan_device(const char *name, struct rte_spapr_device **out);
int spapr_sysfs_group(const char *name, unsigned int *group);

/* This bus's device of that PCI address (NULL: none). */
struct rte_spapr_device *spapr_device_by_name(const char *name);

/* Secondary processes: the primary answers requests for a device's VFIO fd (init at
 * probe, fini at cleanup); a secondary asks (the fd, or -errno: -ENODEV when the
 * primary has no such device probed, -ETIMEDOUT with no primary answering). */
void spapr_mp_init(void);
void spapr_mp_fini(void);
int spapr_mp_device_fd(const char *name);
/* Secondary: the primary answers EAL's VFIO requests from now on (0, or -errno). */
int spapr_mp_eal_vfio(void);
/* Primary, while the bus/pci takeover is on (spapr_pci_mp.c): EAL's VFIO requests from
 * secondaries answered for devices on this bus's set-up (0, or -errno). */
int spapr_pci_mp_init(void);
bool spapr_pci_takeover_on(void);

/* The device's VFIO fd (from its group's fd) and region table; bus mastering on. */
int spapr_vfio_open(struct rte_spapr_device *dev, int group_fd);
void spapr_vfio_close(struct rte_spapr_device *dev);
/* A duplicate of a probed device's VFIO fd (for a secondary: closed after it is sent),
 * or -errno. */
int spapr_vfio_dup(struct rte_spapr_device *dev);

/* IOMMU containers and DPDK memory: one container per IOMMU group, shared by the
 * group's devices of either bus. group_fd: -1 (lib/tce opens the group) or a group fd
 * another VFIO user (EAL) opened. A dry run returns 1 and leaves nothing. */
#define SPAPR_GROUP_MAX_DEVS 16
struct spapr_iommu;
int spapr_iommu_attach(const char *name, unsigned int group, int group_fd, const struct spapr_devopts *o,
		       struct spapr_iommu **out);
void spapr_iommu_detach(struct spapr_iommu *io, const char *name);
void spapr_iommu_cleanup(void);
/* Out of the bus's hands, set-up untouched: the process's exit releases it (a device
 * still live at cleanup must not lose its DMA windows under it). */
void spapr_iommu_forget(struct spapr_iommu *io);
int spapr_iommu_dma_map(struct spapr_iommu *io, const char *name, void *addr, uint64_t iova, size_t len);
int spapr_iommu_dma_unmap(struct spapr_iommu *io, void *addr, uint64_t iova, size_t len);
int spapr_iommu_group_fd(const struct spapr_iommu *io);
int spapr_iommu_iova(const struct spapr_iommu *io, const void *va, uint64_t *iova);
/* What this machine's VFIO offers (NULL: no VFIO), asked once. */
struct tce_platform;
const struct tce_platform *spapr_platform(void);
/* The IOVA mode the bus needs for devices on this platform (PA on pSeries guests). */
enum rte_iova_mode spapr_iommu_mode(void);

/* DPDK's bus/pci devices on this bus's IOMMU set-up (spapr_pci.c) */
void spapr_pci_takeover(void);
bool spapr_claims(const char *name);
bool spapr_pci_serves_any(void);
bool spapr_pci_drives(const char *name);
bool spapr_pci_user_excludes(const char *name);
const char *spapr_pci_driver_of(const char *name);
void spapr_pci_cleanup(void);

/* iterating over the containers (telemetry) */
struct tce_container;
struct spapr_iommu_view {
	struct tce_container *c;
	unsigned int group;
	const struct spapr_iommu *it;
	unsigned int ndevices;
	const char (*devices)[SPAPR_NAME_LEN];
};
void spapr_iommu_lock(void);
void spapr_iommu_unlock(void);
struct spapr_iommu_view spapr_iommu_first(void);
struct spapr_iommu_view spapr_iommu_next(struct spapr_iommu_view v);

#endif
