/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/tce: the sPAPR TCE IOMMU backend. A container with its IOMMU groups, the IOMMU
 * type chosen as QEMU does (v2 where the platform has dynamic DMA windows, else v1),
 * memory made DMA-able from a plan (tce_plan.h) after a locked-memory check, with
 * rollback on any failure, IOVA<->VA translation, statistics and EEH helpers.
 * Plain C, no DPDK types. Every function returns 0 (or a count) or a negative errno,
 * and logs one line a user can act on when it fails.
 *
 * Threads: a container has no lock of its own. Calls on one container (map, add,
 * remove, translate, stats, close) must be serialised by the caller; calls on different
 * containers may run at the same time (what they share in the process, the memory
 * registrations and the locked-memory total, is locked or atomic here). tce_set_log()
 * before any other call. The planner (tce_plan.h) and the parsers are pure and reentrant.
 * The DPDK bus serialises every container call with one mutex (doc/bus.md).
 */
#ifndef TCE_H
#define TCE_H

#include "tce_memlock.h"
#include "tce_parse.h"
#include "tce_plan.h"
#include "tce_prereg.h"

struct tce_container;

enum tce_log_level { TCE_LOG_ERR, TCE_LOG_WARN, TCE_LOG_INFO, TCE_LOG_DEBUG };
typedef void (*tce_log_fn)(void *ctx, enum tce_log_level level, const char *msg);
/* Where messages go (default: stderr, errors and warnings only). */
void tce_set_log(tce_log_fn fn, void *ctx);

enum tce_iommu_choice { TCE_IOMMU_AUTO, TCE_IOMMU_V1, TCE_IOMMU_V2 };

/* What this machine's VFIO offers, asked of an empty container: the sPAPR TCE IOMMU at
 * all (else: a type1 machine, or no VFIO: -errno, nothing logged), and EEH through VFIO
 * (PowerNV has it, pSeries guests have not). */
struct tce_platform { bool spapr, eeh; };
int tce_platform_query(struct tce_platform *out);

/* Open a container and attach the IOMMU groups (numbers as in /dev/vfio/<n>), then
 * set the IOMMU type: with AUTO, v2 if the groups accept it, else v1. */
int tce_container_open(const unsigned int *groups, unsigned int ngroups,
		       enum tce_iommu_choice choice, struct tce_container **out);
/* The same for one group that another VFIO user of the process opened already (a group
 * can be opened once: DPDK's EAL keeps the fd its bus/pci devices use). The container
 * holds its own duplicate of group_fd, so the group stays attached however the other
 * user closes its fd, until tce_container_close() unsets it. -EBUSY if the group is in
 * a container already. On failure the group is left as it was found. */
int tce_container_open_group_fd(unsigned int group, int group_fd, enum tce_iommu_choice choice,
				struct tce_container **out);
/* Undo everything: windows removed, memory unregistered, groups and container closed. */
void tce_container_close(struct tce_container *c);

int tce_container_fd(const struct tce_container *c);
int tce_group_fd(const struct tce_container *c, unsigned int group);
const struct tce_iommu_info *tce_container_info(const struct tce_container *c);

/* Make the regions DMA-able: plan, check RLIMIT_MEMLOCK (raising the soft limit up to
 * the hard one if needed), then execute. Nothing stays mapped, registered or charged
 * when it fails. Only once per container; add memory later with tce_dma_add(). */
int tce_dma_map(struct tce_container *c, const struct tce_region *regions, unsigned int n,
		const struct tce_plan_opts *opts);
/* Add memory into the existing windows (memory hot-plug): after what is mapped, or at
 * the region's own IOVA when it has one; or remove it again. */
int tce_dma_add(struct tce_container *c, const struct tce_region *regions, unsigned int n);
/* tce_dma_remove: -ENOENT, without a log line, when nothing of the range is mapped. */
int tce_dma_remove(struct tce_container *c, uint64_t va, uint64_t len);

/* Translation over what is mapped; O(log n). -ENOENT when not mapped. */
int tce_iova_of(const struct tce_container *c, uint64_t va, uint64_t *iova);
int tce_va_of(const struct tce_container *c, uint64_t iova, uint64_t *va);

struct tce_stats {
	uint64_t ioctls, ioctl_maps, ioctl_registers, ioctl_windows;
	uint64_t tces;              /* TCEs written */
	uint64_t hcalls_est;        /* hypercalls a pSeries guest made for them (estimate) */
	uint64_t locked_bytes;      /* charged to locked_vm now (estimate) */
	uint64_t table_bytes;
	uint64_t dma_bytes;         /* bytes mapped now */
	uint64_t map_ns;            /* wall time of the map calls */
	unsigned int windows, registrations, maps;
};
void tce_get_stats(const struct tce_container *c, struct tce_stats *s);

/* The live windows: where the platform put them. Returns how many (at most max). */
struct tce_window_info {
	uint64_t start, size, table_bytes;
	unsigned int page_shift, levels;
	uint64_t used;            /* IOVA space taken from the start (bump allocation) */
};
unsigned int tce_get_windows(const struct tce_container *c, struct tce_window_info *out,
			     unsigned int max);
int tce_container_type(const struct tce_container *c);
const struct tce_plan *tce_container_plan(const struct tce_container *c);

/* EEH: state (VFIO_EEH_PE_STATE_*), unfreeze, a hot reset with its deactivate and
 * configure steps, and replaying every mapping afterwards. */
int tce_eeh_state(struct tce_container *c);
int tce_eeh_unfreeze(struct tce_container *c);
int tce_eeh_reset(struct tce_container *c);
int tce_eeh_replay(struct tce_container *c);

/* The process's RLIMIT_MEMLOCK, CAP_IPC_LOCK and what lib/tce already charged. */
int tce_memlock_read(struct tce_memlock *ml);

/* Bytes of hugepages of `page_size` the kernel can give at most (its pool, overcommit
 * included): a bound on memory of that page size that can ever need mapping. */
uint64_t tce_hugepage_pool_bytes(uint64_t page_size);

#endif /* TCE_H */
