/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/tce's planner over many memory layouts and platforms: pure functions, no fd. */
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tce_memlock.h"
#include "tce_parse.h"
#include "tce_plan.h"
#include "tce_prereg.h"


#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define BASE 0x100000000000ULL /* a 1 GiB-aligned VA */

/* What GET_INFO and the platform facts give on the emulator's presets. */
static const struct tce_iommu_info pseries = {
	.dma32_start = 0, .dma32_size = GiB, .v2 = true,
	.pgsizes = (1 << 12) | (1 << 16) | (1 << 21) | (1 << 24), .max_windows = 2, .levels = 1,
	.usable_windows = 1, .ddw_start = { 1ULL << 59, 1ULL << 59 }, .page_shift = 16,
	.hv = TCE_HV_PSERIES,
};
static const struct tce_iommu_info pseries_v1 = {
	.dma32_start = 0, .dma32_size = GiB, .v2 = false, .page_shift = 16, .hv = TCE_HV_PSERIES,
};
static const struct tce_iommu_info powernv = {
	.dma32_start = 0, .dma32_size = 2 * GiB, .v2 = true,
	.pgsizes = (1 << 12) | (1 << 16) | (1 << 21) | (1ULL << 30), .max_windows = 2, .levels = 5,
	.usable_windows = 2, .ddw_start = { 0, 1ULL << 59 }, .page_shift = 16, .hv = TCE_HV_POWERNV,
};

/* n hugepages of `page` bytes from va, each its own region (as DPDK's memsegs) */
static struct tce_region *pages(uint64_t va, unsigned int n, uint64_t page, int node)
{
	struct tce_region *r = calloc(n, sizeof(*r));
	for (unsigned int i = 0; i < n; i++)
		r[i] = (struct tce_region){ va + i * page, page, page, node, TCE_IOVA_ANY };
	return r;
}

static void one_gib_of_2m_pages_pseries(void)
{
	struct tce_region *r = pages(BASE, 512, 2 * MiB, 0);
	struct tce_plan p;
	char err[256] = "";

	CHECK_EQ(tce_plan_build(r, 512, &pseries, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.type, VFIO_SPAPR_TCE_v2_IOMMU);
	CHECK(p.remove_default);
	CHECK_EQ(p.nwindows, 1);
	CHECK_EQ(p.windows[0].page_shift, 21);
	CHECK_EQ(p.windows[0].size, GiB);     /* compact: exactly the memory */
	CHECK_EQ(p.windows[0].start, 1ULL << 59);
	CHECK_EQ(p.windows[0].levels, 1);
	CHECK_EQ(p.windows[0].table_bytes, 512 * 8);
	CHECK_EQ(p.nregs, 1);                 /* 512 hugepages, one REGISTER */
	CHECK_EQ(p.regs[0].va, BASE);
	CHECK_EQ(p.regs[0].len, GiB);
	CHECK_EQ(p.nmaps, 1);                 /* and one MAP */
	CHECK_EQ(p.maps[0].offset, 0);
	CHECK_EQ(p.cost.tces, 512);
	CHECK_EQ(p.cost.ioctls, 6);           /* SET_IOMMU GET_INFO REMOVE REGISTER CREATE MAP */
	CHECK_EQ(p.cost.pinned_bytes, GiB);
	CHECK_EQ(p.cost.locked_bytes, GiB);   /* the 4 KiB table rounds down to 0 pages */
	CHECK_EQ(p.cost.hcalls_setup, 1 + 2 * 512);
	CHECK_EQ(p.cost.hcalls_teardown, 2 * 512 + 512); /* remove + default restored */
	tce_plan_free(&p);
	free(r);
}

static void va_holes_and_nodes(void)
{
	/* four 256 MiB chunks with gaps between them, on two NUMA nodes */
	struct tce_region r[4];
	struct tce_plan p;
	char err[256];

	for (int i = 0; i < 4; i++)
		r[i] = (struct tce_region){ BASE + i * GiB, 256 * MiB, 2 * MiB, i % 2, TCE_IOVA_ANY };
	CHECK_EQ(tce_plan_build(r, 4, &pseries, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.nregs, 4);
	CHECK_EQ(p.nmaps, 4);
	CHECK_EQ(p.windows[0].size, GiB); /* compact: the holes cost no IOVA space */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(p.maps[i].offset, i * 256 * MiB);
	tce_plan_free(&p);
}

static void unsorted_input_is_sorted(void)
{
	struct tce_region r[3] = {
		{ BASE + 4 * MiB, 2 * MiB, 2 * MiB, 0, TCE_IOVA_ANY },
		{ BASE, 2 * MiB, 2 * MiB, 0, TCE_IOVA_ANY },
		{ BASE + 2 * MiB, 2 * MiB, 2 * MiB, 1, TCE_IOVA_ANY },
	};
	struct tce_plan p;
	char err[256];

	CHECK_EQ(tce_plan_build(r, 3, &pseries, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.nmaps, 1);
	CHECK_EQ(p.maps[0].va, BASE);
	CHECK_EQ(p.maps[0].len, 6 * MiB);
	CHECK_EQ(p.windows[0].size, 8 * MiB);
	tce_plan_free(&p);
}

static void mixed_page_sizes(void)
{
	/* 2 GiB of 1 GiB pages, then 64 MiB of 2 MiB pages right after */
	struct tce_region r[34];
	struct tce_plan p;
	char err[256];

	r[0] = (struct tce_region){ BASE, GiB, GiB, 0, TCE_IOVA_ANY };
	r[1] = (struct tce_region){ BASE + GiB, GiB, GiB, 0, TCE_IOVA_ANY };
	for (int i = 0; i < 32; i++)
		r[2 + i] = (struct tce_region){ BASE + 2 * GiB + i * 2 * MiB, 2 * MiB, 2 * MiB, 0, TCE_IOVA_ANY };
	/* PowerNV: two windows, the 1 GiB pages in their own */
	CHECK_EQ(tce_plan_build(r, 34, &powernv, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.nwindows, 2);
	CHECK_EQ(p.windows[0].page_shift, 30);
	CHECK_EQ(p.windows[0].size, 2 * GiB);
	CHECK_EQ(p.windows[0].start, 0);
	CHECK_EQ(p.windows[1].page_shift, 21);
	CHECK_EQ(p.windows[1].size, 64 * MiB);
	CHECK_EQ(p.windows[1].start, 1ULL << 59);
	CHECK_EQ(p.cost.tces, 2 + 32);
	CHECK_EQ(p.nregs, 2);                 /* split where the page size changes */
	CHECK_EQ(p.regs[0].len, 2 * GiB);
	CHECK_EQ(p.nmaps, 2);
	CHECK_EQ(p.cost.hcalls_setup, 0);     /* bare metal: no hypervisor */
	tce_plan_free(&p);
	/* pSeries grants one dynamic window: all in 2 MiB pages */
	CHECK_EQ(tce_plan_build(r, 34, &pseries, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.nwindows, 1);
	CHECK_EQ(p.windows[0].page_shift, 21);
	CHECK_EQ(p.windows[0].size, 4 * GiB);
	CHECK_EQ(p.cost.tces, 1024 + 32);
	tce_plan_free(&p);
}

static void page_limited_by_alignment(void)
{
	/* 1 GiB pages but a region that is only 16 MiB aligned: 16 MiB TCEs at most */
	struct tce_region r = { BASE + 16 * MiB, 16 * MiB, 16 * MiB, 0, TCE_IOVA_ANY };
	struct tce_plan p;
	char err[256];

	CHECK_EQ(tce_plan_build(&r, 1, &pseries, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.windows[0].page_shift, 24);
	tce_plan_free(&p);
	/* ordinary memory: the kernel's 64 KiB pages */
	r = (struct tce_region){ BASE, 8 * MiB, 64 * KiB, 0, TCE_IOVA_ANY };
	CHECK_EQ(tce_plan_build(&r, 1, &pseries, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.windows[0].page_shift, 16);
	CHECK_EQ(p.cost.tces, 128);
	tce_plan_free(&p);
	/* a forced page size the memory cannot back */
	struct tce_plan_opts o = { .page_shift = 24 };
	CHECK_EQ(tce_plan_build(&r, 1, &pseries, &o, &p, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "fits no IOMMU page size") != NULL);
}

static void window_headroom(void)
{
	struct tce_region *r = pages(BASE, 128, 2 * MiB, 0);
	struct tce_plan_opts o = { .window_min = 4 * GiB };
	struct tce_plan p;
	char err[256];

	CHECK_EQ(tce_plan_build(r, 128, &pseries, &o, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.windows[0].size, 4 * GiB); /* room to add memory without a new window */
	CHECK_EQ(p.windows[0].table_bytes, 2048 * 8);
	CHECK_EQ(p.cost.tces, 128);
	/* registering what the window holds later will be charged then: known now */
	CHECK_EQ(p.cost.growth_bytes, 4 * GiB - 256 * MiB);
	tce_plan_free(&p);
	o.window_min = 0;
	CHECK_EQ(tce_plan_build(r, 128, &pseries, &o, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.cost.growth_bytes, 0);
	tce_plan_free(&p);
	free(r);
}

static void keep_default_window(void)
{
	struct tce_region *r = pages(BASE, 8, 2 * MiB, 0);
	struct tce_plan_opts o = { .flags = TCE_PLAN_KEEP_DEFAULT };
	struct tce_plan p;
	char err[256];

	CHECK_EQ(tce_plan_build(r, 8, &powernv, &o, &p, err, sizeof(err)), 0);
	CHECK(!p.remove_default);
	CHECK_EQ(p.windows[0].slot, 1);
	CHECK_EQ(p.windows[0].start, 1ULL << 59);
	/* the default window's table (2 GiB of 4 KiB TCEs, doubled) is charged too */
	CHECK_EQ(p.cost.table_bytes, p.windows[0].table_bytes + 2 * 4 * MiB);
	CHECK_EQ(p.cost.ioctls, 2 + 1 + 1 + 1);
	tce_plan_free(&p);
	free(r);
}

static void fixed_iovas(void)
{
	struct tce_region r[2] = {
		{ BASE, 64 * MiB, 2 * MiB, 0, 0x40000000 },
		{ BASE + GiB, 64 * MiB, 2 * MiB, 0, 0x80000000 },
	};
	struct tce_plan p;
	char err[256];

	/* PowerNV slot 0 starts at 0: the window covers the IOVAs as given */
	CHECK_EQ(tce_plan_build(r, 2, &powernv, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.nwindows, 1);
	CHECK_EQ(p.windows[0].start, 0);
	CHECK_EQ(p.windows[0].size, 4 * GiB);
	CHECK_EQ(p.maps[1].offset, 0x80000000);
	tce_plan_free(&p);
	/* pSeries puts dynamic windows at 1<<59: low IOVAs cannot be placed */
	CHECK_EQ(tce_plan_build(r, 2, &pseries, NULL, &p, err, sizeof(err)), -ENOSPC);
	CHECK_STR(err, "IOVAs 0x40000000-0x83ffffff cannot be mapped: a dynamic DMA window on this"
		       " platform starts at 0x800000000000000");
	/* v1: inside the 1 GiB window or not at all */
	r[1].iova = 0x20000000;
	CHECK_EQ(tce_plan_build(r, 2, &pseries_v1, NULL, &p, err, sizeof(err)), -ENOSPC);
	r[0].iova = 0;
	CHECK_EQ(tce_plan_build(r, 2, &pseries_v1, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.nmaps, 2);
	tce_plan_free(&p);
}

/* IOVA=VA on a pSeries guest (no physical addresses for a non-root user) with DPDK's
 * memory placed low (--base-virtaddr): v2 maps it into the default window as it is. */
static void fixed_iovas_in_the_default_window(void)
{
	struct tce_region r[2] = {
		{ 0x10200000, 32 * MiB, 2 * MiB, 0, 0x10200000 },
		{ 0x12200000, 32 * MiB, 2 * MiB, 0, 0x12200000 },
	};
	struct tce_plan_opts o = { .window_min = 0x500000000ULL };
	struct tce_plan p;
	char err[256];

	CHECK_EQ(tce_plan_build(r, 2, &pseries, &o, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.type, VFIO_SPAPR_TCE_v2_IOMMU);
	CHECK(!p.remove_default);
	CHECK_EQ(p.nwindows, 1);
	CHECK(p.windows[0].existing);
	CHECK_EQ(p.windows[0].start, 0);
	CHECK_EQ(p.windows[0].size, GiB);
	CHECK_EQ(p.windows[0].page_shift, 12);
	CHECK_EQ(p.nmaps, 1); /* VA- and IOVA-contiguous: one MAP */
	CHECK_EQ(p.maps[0].offset, 0x10200000);
	CHECK_EQ(p.nregs, 1);
	CHECK_EQ(p.cost.tces, 64 * MiB >> 12);
	CHECK_EQ(p.cost.ioctls, 2 + 1 + 1); /* SET_IOMMU, GET_INFO, REGISTER, MAP: no CREATE */
	/* pinned memory and the default window's table (1 GiB of 4 KiB TCEs: 2 MiB) */
	CHECK_EQ(p.cost.locked_bytes, 64 * MiB + 2 * MiB);
	/* room for memory added later: from the lowest IOVA to the window's end */
	CHECK_EQ(p.cost.growth_bytes, GiB - 0x10200000 - 64 * MiB);
	CHECK_EQ(p.capacity_bytes, GiB - 0x10200000);
	tce_plan_free(&p);
	/* one range beyond the default window: not mappable there, nor in a dynamic window */
	r[1].iova = r[1].va = GiB - 16 * MiB;
	CHECK_EQ(tce_plan_build(r, 2, &pseries, NULL, &p, err, sizeof(err)), -ENOSPC);
	CHECK_STR(err, "IOVAs 0x10200000-0x40ffffff cannot be mapped: a dynamic DMA window on this"
		       " platform starts at 0x800000000000000");
	/* PowerNV's dynamic window at 0 holds them as they are: no change there */
	r[1].iova = r[1].va = 0x12200000;
	CHECK_EQ(tce_plan_build(r, 2, &powernv, NULL, &p, err, sizeof(err)), 0);
	CHECK(!p.windows[0].existing);
	tce_plan_free(&p);
}

/* Memory freed and added again reuses its IOVAs: the lowest gap that holds it. */
static void first_fit(void)
{
	struct tce_plan_reg used[3] = { { 0, 4 * MiB }, { 8 * MiB, 2 * MiB }, { 12 * MiB, 4 * MiB } };
	uint64_t off = 1;

	CHECK_EQ(tce_plan_first_fit(used, 0, 16 * MiB, 16 * MiB, 2 * MiB, &off), 0);
	CHECK_EQ(off, 0);
	CHECK_EQ(tce_plan_first_fit(used, 3, 16 * MiB, 2 * MiB, 2 * MiB, &off), 0);
	CHECK_EQ(off, 4 * MiB);                   /* the first hole */
	CHECK_EQ(tce_plan_first_fit(used, 3, 16 * MiB, 4 * MiB, 2 * MiB, &off), 0);
	CHECK_EQ(off, 4 * MiB);                   /* exactly its size */
	CHECK_EQ(tce_plan_first_fit(used, 3, 32 * MiB, 8 * MiB, 2 * MiB, &off), 0);
	CHECK_EQ(off, 16 * MiB);                  /* after the last */
	CHECK_EQ(tce_plan_first_fit(used, 3, 16 * MiB, 8 * MiB, 2 * MiB, &off), -ENOSPC);
	CHECK_EQ(tce_plan_first_fit(used, 3, 16 * MiB, 2 * MiB, 16 * MiB, &off), -ENOSPC); /* alignment */
	used[0].len = 3 * MiB;                    /* a gap that alignment shrinks: 3..8 holds 4 at 4 */
	CHECK_EQ(tce_plan_first_fit(used, 3, 16 * MiB, 4 * MiB, 4 * MiB, &off), 0);
	CHECK_EQ(off, 4 * MiB);
	used[0].len = UINT64_MAX - MiB;           /* aligning the end would wrap around */
	CHECK_EQ(tce_plan_first_fit(used, 1, UINT64_MAX, MiB / 2, 2 * MiB, &off), -ENOSPC);
}

/* GET_INFO's answer, checked before it is planned on. */
static void parse_info(void)
{
	struct vfio_iommu_spapr_tce_info gi = { .argsz = sizeof(gi), .flags = VFIO_IOMMU_SPAPR_INFO_DDW,
		.dma32_window_start = 0, .dma32_window_size = 1u << 30,
		.ddw = { .pgsizes = (1 << 12) | (1 << 16) | (1 << 21) | (1 << 24),
			 .max_dynamic_windows_supported = 1, .levels = 1 } };
	struct tce_iommu_info in;
	char err[300] = "";

	CHECK_EQ(tce_parse_info(&gi, true, false, 16, &in, err, sizeof(err)), 0);
	CHECK(in.v2 && in.hv == TCE_HV_PSERIES && in.usable_windows == 1);
	CHECK_EQ(in.ddw_start[0], 1ULL << 59);
	CHECK_EQ(tce_parse_info(&gi, false, false, 16, &in, err, sizeof(err)), 0);
	CHECK(!in.v2 && in.max_windows == 0);              /* a v1 container: no windows */
	gi.ddw.max_dynamic_windows_supported = 2;
	CHECK_EQ(tce_parse_info(&gi, true, true, 16, &in, err, sizeof(err)), 0);
	CHECK(in.hv == TCE_HV_POWERNV && in.usable_windows == 2 && in.ddw_start[0] == 0);
	gi.dma32_window_start = 0xfffff000u;              /* wraps past 4 GiB */
	CHECK_EQ(tce_parse_info(&gi, true, true, 16, &in, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "GET_INFO: default window 0xfffff000+0x40000000 is not 4 KiB pages below 4 GiB:"
		       " not an sPAPR TCE window");
	gi.dma32_window_start = 0;
	gi.ddw.pgsizes = 0x800;                           /* no page size from 4 KiB up */
	CHECK_EQ(tce_parse_info(&gi, true, false, 16, &in, err, sizeof(err)), -EINVAL);
	gi.ddw.pgsizes = 1 << 12;
	gi.ddw.levels = 9;
	CHECK_EQ(tce_parse_info(&gi, true, false, 16, &in, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "GET_INFO: dynamic windows with page sizes 0x1000, 9 levels, 2 windows: not what an"
		       " sPAPR kernel offers");
	uint64_t v;
	CHECK_EQ(tce_parse_size("17179869184G", &v), -EINVAL); /* 2^64: does not fit */
	CHECK_EQ(tce_parse_size("16G", &v), 0);
	CHECK_EQ(v, 16 * GiB);
}

static void v1_fits_and_costs(void)
{
	struct tce_region *r = pages(BASE, 256, 2 * MiB, 0);
	struct tce_plan p;
	char err[256];

	CHECK_EQ(tce_plan_build(r, 256, &pseries_v1, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.type, VFIO_SPAPR_TCE_IOMMU);
	CHECK_EQ(p.nmaps, 1);
	CHECK_EQ(p.nregs, 0);
	CHECK_EQ(p.cost.tces, 131072);        /* 512 MiB in 4 KiB TCEs */
	CHECK_EQ(p.cost.ioctls, 4);           /* SET_IOMMU GET_INFO ENABLE MAP */
	CHECK_EQ(p.cost.locked_bytes, GiB + 2 * MiB); /* the window + its table */
	CHECK_EQ(p.cost.growth_bytes, 0);     /* v1 charged the whole window already */
	CHECK_EQ(p.cost.hcalls_setup, 512 + 2 * 131072);
	CHECK_EQ(p.cost.hcalls_teardown, 2 * 262144 + 512);
	tce_plan_free(&p);
	/* FORCE_V1 on a DDW platform */
	struct tce_plan_opts o = { .flags = TCE_PLAN_FORCE_V1 };
	CHECK_EQ(tce_plan_build(r, 256, &pseries, &o, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.type, VFIO_SPAPR_TCE_IOMMU);
	tce_plan_free(&p);
	free(r);
}

static void v1_too_small(void)
{
	struct tce_region *r = pages(BASE, 1024, 2 * MiB, 0);
	struct tce_plan_opts o = { .flags = TCE_PLAN_PARTIAL };
	struct tce_plan p;
	char err[300];

	CHECK_EQ(tce_plan_build(r, 1024, &pseries_v1, NULL, &p, err, sizeof(err)), -ENOSPC);
	CHECK_STR(err, "2048 MiB of DMA memory do not fit the 1024 MiB DMA window at 0x0 (no dynamic"
		       " DMA windows on this platform): 1024 MiB are left over; make at most 1024 MiB DMA-able");
	CHECK_EQ(p.nmaps, 0); /* nothing half-planned */
	CHECK_EQ(tce_plan_build(r, 1024, &pseries_v1, &o, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.dma_bytes, GiB);
	CHECK_EQ(p.unfit_bytes, GiB);
	CHECK_EQ(p.nmaps, 1);
	tce_plan_free(&p);
	o.flags = TCE_PLAN_FORCE_V2;
	CHECK_EQ(tce_plan_build(r, 1024, &pseries_v1, &o, &p, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "the v2 IOMMU (dynamic DMA windows) is not available on this platform");
	free(r);
}

static void powernv_levels(void)
{
	/* 2^47 bytes of 64 KiB pages: 2^31 TCEs, 16 GiB of table in one level: split */
	struct tce_region r = { 0, 2 * GiB, 64 * KiB, 0, 1ULL << 46 };
	struct tce_plan p;
	char err[256];

	r.va = BASE;
	CHECK_EQ(tce_plan_build(&r, 1, &powernv, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.windows[0].size, 1ULL << 47);
	CHECK(p.windows[0].levels >= 2);
	CHECK_EQ(p.windows[0].table_bytes, tce_table_bytes(TCE_HV_POWERNV, 16, 1ULL << 47,
							     p.windows[0].levels, 16));
	tce_plan_free(&p);
	/* the pSeries table is 8 bytes a TCE; PowerNV's is per level and doubled */
	CHECK_EQ(tce_table_bytes(TCE_HV_PSERIES, 21, GiB, 1, 16), 4096);
	CHECK_EQ(tce_table_bytes(TCE_HV_POWERNV, 16, GiB, 1, 16), 2 * 128 * KiB);
	CHECK_EQ(tce_table_bytes(TCE_HV_POWERNV, 12, 2 * GiB, 1, 16), 2 * 4 * MiB);
}

static void bad_input(void)
{
	struct tce_region r[2] = {
		{ BASE, 4 * MiB, 2 * MiB, 0, TCE_IOVA_ANY },
		{ BASE + 2 * MiB, 4 * MiB, 2 * MiB, 0, TCE_IOVA_ANY },
	};
	struct tce_plan p;
	char err[256];

	CHECK_EQ(tce_plan_build(r, 0, &pseries, NULL, &p, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "no memory to map");
	CHECK_EQ(tce_plan_build(r, 2, &pseries, NULL, &p, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "memory ranges overlap at 0x100000200000");
	r[1].va = BASE + 4 * MiB + 4096;
	CHECK_EQ(tce_plan_build(r, 2, &pseries, NULL, &p, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "memory 0x100000401000+0x400000 is not whole pages of 2097152 bytes");
	r[1].va = BASE + 4 * MiB;
	r[1].iova = 0;
	CHECK_EQ(tce_plan_build(r, 2, &pseries, NULL, &p, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "either every range has a fixed IOVA or none has");
	struct tce_iommu_info none = pseries;
	none.usable_windows = 0;
	r[1].iova = TCE_IOVA_ANY;
	CHECK_EQ(tce_plan_build(r, 2, &none, NULL, &p, err, sizeof(err)), -ENOSPC);
}

static void memlock(void)
{
	uint64_t need = GiB + 2 * MiB, raise = 0;
	struct tce_memlock ml = { .soft = 8 * MiB, .hard = 8 * MiB };
	char err[400];

	CHECK_EQ(tce_memlock_check(need, &ml, &raise, err, sizeof(err)), TCE_MEMLOCK_SHORT);
	CHECK_STR(err, "DMA mapping needs 1026 MiB of locked memory (1075838976 bytes) but "
		       "RLIMIT_MEMLOCK is 8 MiB (hard limit 8 MiB): raise it with 'ulimit -l 1050624' "
		       "or a memlock line in /etc/security/limits.conf, or grant CAP_IPC_LOCK");
	/* one byte short of the need, and exactly the need */
	ml.soft = ml.hard = need - 1;
	CHECK_EQ(tce_memlock_check(need, &ml, &raise, err, sizeof(err)), TCE_MEMLOCK_SHORT);
	ml.soft = ml.hard = need;
	CHECK_EQ(tce_memlock_check(need, &ml, &raise, err, sizeof(err)), TCE_MEMLOCK_OK);
	/* the soft limit can be raised up to the hard one */
	ml.soft = 64 * KiB;
	ml.hard = UINT64_MAX;
	CHECK_EQ(tce_memlock_check(need, &ml, &raise, err, sizeof(err)), TCE_MEMLOCK_RAISE_SOFT);
	CHECK_EQ(raise, need);
	/* what the process already locked counts */
	ml = (struct tce_memlock){ .soft = GiB, .hard = GiB, .locked = 512 * MiB };
	CHECK_EQ(tce_memlock_check(768 * MiB, &ml, &raise, err, sizeof(err)), TCE_MEMLOCK_SHORT);
	CHECK(strstr(err, "1280 MiB of locked memory (1342177280 bytes, with what the process already"
			  " locked) but RLIMIT_MEMLOCK is 1024 MiB (hard limit 1024 MiB)") != NULL);
	/* CAP_IPC_LOCK: no limit */
	ml.cap_ipc_lock = true;
	CHECK_EQ(tce_memlock_check(768 * MiB, &ml, &raise, err, sizeof(err)), TCE_MEMLOCK_OK);
}

/* Registering along the process's registrations: whole ones touched, gaps anew. */
static void prereg_pieces(void)
{
	const struct tce_prereg set[] = { { 0x100000, 0x100000, 1 }, { 0x300000, 0x200000, 2 } };
	struct tce_plan_reg *p = NULL;
	unsigned int n = 0;

	/* nothing registered: the range itself */
	CHECK_EQ(tce_prereg_pieces(set, 0, 0x100000, 0x400000, &p, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(p[0].va, 0x100000);
	CHECK_EQ(p[0].len, 0x400000);
	free(p);
	/* the very same ranges and the gap between them */
	CHECK_EQ(tce_prereg_pieces(set, 2, 0x100000, 0x400000, &p, &n), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(p[0].va, 0x100000);
	CHECK_EQ(p[0].len, 0x100000);
	CHECK_EQ(p[1].va, 0x200000);
	CHECK_EQ(p[1].len, 0x100000);
	CHECK_EQ(p[2].va, 0x300000);
	CHECK_EQ(p[2].len, 0x200000);
	free(p);
	/* partly inside a registration: all of it (a part would be refused), then the rest */
	CHECK_EQ(tce_prereg_pieces(set, 2, 0x400000, 0x300000, &p, &n), 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(p[0].va, 0x300000);
	CHECK_EQ(p[0].len, 0x200000);
	CHECK_EQ(p[1].va, 0x500000);
	CHECK_EQ(p[1].len, 0x200000);
	free(p);
	/* beside every registration: untouched */
	CHECK_EQ(tce_prereg_pieces(set, 2, 0x200000, 0x100000, &p, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(p[0].va, 0x200000);
	free(p);
}

/* every map lib/tce issues must lie inside its window (tce_dma.c's do_map) */
static void in_window(void)
{
	const uint64_t start = 1ULL << 59, size = 256 * MiB;

	CHECK(tce_plan_in_window(start, size, start, size));
	CHECK(tce_plan_in_window(start, size, start + size - 64 * 1024, 64 * 1024));
	CHECK(!tce_plan_in_window(start, size, start + size - 64 * 1024, 128 * 1024)); /* across the end */
	CHECK(!tce_plan_in_window(start, size, start + size, 64 * 1024));             /* at the end */
	CHECK(!tce_plan_in_window(start, size, start - 64 * 1024, 128 * 1024));       /* below */
	CHECK(!tce_plan_in_window(start, size, start, 0));
	CHECK(!tce_plan_in_window(start, size, start + 64 * 1024, UINT64_MAX));        /* wraps */
	CHECK(!tce_plan_in_window(0, 2048 * MiB, UINT64_MAX - 4095, 8192));
}

int main(void)
{
	RUN(one_gib_of_2m_pages_pseries);
	RUN(va_holes_and_nodes);
	RUN(unsorted_input_is_sorted);
	RUN(mixed_page_sizes);
	RUN(page_limited_by_alignment);
	RUN(window_headroom);
	RUN(keep_default_window);
	RUN(fixed_iovas);
	RUN(fixed_iovas_in_the_default_window);
	RUN(first_fit);
	RUN(in_window);
	RUN(parse_info);
	RUN(v1_fits_and_costs);
	RUN(v1_too_small);
	RUN(powernv_levels);
	RUN(bad_input);
	RUN(memlock);
	RUN(prereg_pieces);
	return failures ? 1 : 0;
}
