/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/tce planning: pure functions (no fd, no system call) that turn "this memory must
 * be DMA-able" plus what the platform offers into the sPAPR VFIO calls to make, and
 * what they will cost: windows, registrations, coalesced map calls, the locked memory
 * the kernel will charge, and the hypercalls a pSeries guest would make.
 * No DPDK types: any userspace driver can use it.
 */
#ifndef TCE_PLAN_H
#define TCE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCE_IOVA_ANY UINT64_MAX

/* One range of memory to make DMA-able. */
struct tce_region {
	uint64_t va, len;
	uint64_t page_size;   /* backing page as the kernel sees it: the hugepage size,
	                       * or the kernel's PAGE_SIZE for ordinary memory */
	int node;             /* NUMA node, -1 if unknown */
	uint64_t iova;        /* TCE_IOVA_ANY: the planner chooses; else this IOVA */
};

enum tce_hv { TCE_HV_UNKNOWN, TCE_HV_PSERIES, TCE_HV_POWERNV };

/* What the platform offers: VFIO_IOMMU_SPAPR_TCE_GET_INFO of a v2 container (or of a
 * v1 one when v2 is refused) and facts about the platform. */
struct tce_iommu_info {
	uint64_t dma32_start, dma32_size;  /* the default window */
	bool v2;                           /* the v2 IOMMU type is available */
	uint64_t pgsizes;                  /* ddw.pgsizes */
	uint32_t max_windows;              /* ddw.max_dynamic_windows_supported */
	uint32_t levels;                   /* ddw.levels */
	uint32_t usable_windows;           /* dynamic windows it is safe to create: a failed
	                                    * create poisons a pSeries device, so never more
	                                    * than the platform really grants */
	uint64_t ddw_start[2];             /* bus address of a window in slot 0 / slot 1 */
	unsigned int page_shift;           /* the kernel's PAGE_SHIFT (16 on ppc64) */
	enum tce_hv hv;                    /* pSeries guest (hypercalls) or PowerNV */
};

enum tce_plan_flags {
	TCE_PLAN_FORCE_V1 = 1 << 0,      /* the fixed 32-bit window only */
	TCE_PLAN_FORCE_V2 = 1 << 1,
	TCE_PLAN_PARTIAL = 1 << 2,       /* v1: map what fits instead of failing */
	TCE_PLAN_KEEP_DEFAULT = 1 << 3,  /* v2: keep the default window next to ours */
};

struct tce_plan_opts {
	unsigned int flags;
	uint64_t window_min;      /* size the dynamic window for at least this much memory,
	                           * so that memory added later fits without a new window */
	unsigned int page_shift;  /* force this IOMMU page shift (0: choose) */
	uint64_t max_level_bytes; /* largest table level the kernel can allocate
	                           * (0: 64 MiB, PowerNV's usual MAX_ORDER limit) */
};

struct tce_plan_window {
	uint64_t start;           /* bus address the platform will give it */
	uint64_t size;
	unsigned int page_shift, levels;
	uint64_t table_bytes;     /* the table as the kernel charges it */
	unsigned int slot;
	bool existing;            /* v2: the platform's default window, used as it is
	                           * (fixed IOVAs below every dynamic window), not created */
};

struct tce_plan_reg { uint64_t va, len; };

struct tce_plan_map {
	uint64_t va, len;
	uint64_t offset;          /* IOVA = window start + offset */
	unsigned int window;      /* index in windows[]; v1: 0 = the default window */
};

/* What the calls cost, as the kernel and a pSeries hypervisor count them. */
struct tce_plan_cost {
	uint64_t ioctls;          /* from SET_IOMMU to the last MAP */
	uint64_t tces;            /* TCEs written by the maps */
	uint64_t locked_bytes;    /* locked_vm charged: pinned pages, tables, v1 window */
	uint64_t table_bytes;     /* TCE tables charged */
	uint64_t pinned_bytes;    /* registered (v2) memory */
	uint64_t growth_bytes;    /* v2: registering the memory added later, up to
	                           * window_min: charged as it comes, checked up front */
	uint64_t hcalls_setup;    /* pSeries: H_GET/PUT/STUFF_TCE until mapped */
	uint64_t hcalls_teardown; /* pSeries: unmap, remove and release */
};

struct tce_plan {
	int type;                 /* VFIO_SPAPR_TCE_IOMMU or VFIO_SPAPR_TCE_v2_IOMMU */
	bool fixed_iova;          /* the caller fixed the IOVAs: windows must start as planned */
	bool remove_default;      /* v2: drop the (still pending) default window first */
	struct tce_plan_window windows[2];
	unsigned int nwindows;
	struct tce_plan_reg *regs;
	unsigned int nregs;
	struct tce_plan_map *maps;
	unsigned int nmaps;
	uint64_t dma_bytes;       /* bytes the maps cover */
	uint64_t unfit_bytes;     /* v1: bytes that do not fit the window (not mapped) */
	uint64_t capacity_bytes;  /* DPDK memory the windows hold in all, mapped now and
	                           * added later (v2: up to window_min) */
	struct tce_plan_cost cost;
};

/* Plan for regions[0..n). 0, or -EINVAL/-ENOSPC/-ENOMEM with one line in err. */
int tce_plan_build(const struct tce_region *regions, unsigned int n,
		   const struct tce_iommu_info *info, const struct tce_plan_opts *opts,
		   struct tce_plan *plan, char *err, size_t errlen);
void tce_plan_free(struct tce_plan *plan);

/* Where `len` bytes aligned to `align` go in a window of `size` bytes whose used parts
 * are used[0..n) (offset, length), sorted by offset: the lowest gap that holds them, so
 * that memory freed and added again reuses its IOVAs instead of creeping up the window.
 * 0 and *off, or -ENOSPC. */
int tce_plan_first_fit(const struct tce_plan_reg *used, unsigned int n, uint64_t size, uint64_t len,
		       uint64_t align, uint64_t *off);

/* Whether [iova, iova+len) lies inside the window [start, start+size), without overflow.
 * Every map lib/tce issues is checked with it: a PowerNV kernel accepts a map that starts
 * inside a window and runs past its end, and writes TCEs past the table. */
bool tce_plan_in_window(uint64_t start, uint64_t size, uint64_t iova, uint64_t len);

/* The TCE table bytes the kernel charges for a window (get_table_size of the
 * platform): pSeries 8 B per TCE, PowerNV every level and its userspace copy. */
uint64_t tce_table_bytes(enum tce_hv hv, unsigned int page_shift, uint64_t window_size,
			 unsigned int levels, unsigned int kernel_page_shift);

/* The largest IOMMU page shift in `mask` that the region's backing page and alignment
 * allow; 0 if none. */
unsigned int tce_best_page_shift(const struct tce_region *r, uint64_t mask);

#endif /* TCE_PLAN_H */
