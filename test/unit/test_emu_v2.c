/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * v2 containers (VFIO_SPAPR_TCE_v2_IOMMU): memory pre-registration (iommu_api.c
 * mm_iommu_*), dynamic windows (tce_iommu_create_window/remove_window with the
 * platform's create_table), MAP/UNMAP into the right window, and the costs.
 */
#include "emu_test.h"
#include "memlock_util.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static void v2_info_and_enable(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	CHECK_EQ(ioc(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info), 0);
	CHECK_EQ(info.flags, VFIO_IOMMU_SPAPR_INFO_DDW);
	CHECK_EQ(info.ddw.pgsizes, (1 << 12) | (1 << 16) | (1 << 21) | (1 << 24));
	CHECK_EQ(info.ddw.max_dynamic_windows_supported, 2);
	CHECK_EQ(info.ddw.levels, 1);
	/* a short argsz gets the first 16 bytes only */
	struct vfio_iommu_spapr_tce_info shrt = { .argsz = 16 };
	CHECK_EQ(ioc(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &shrt), 0);
	CHECK_EQ(shrt.ddw.pgsizes, 0);
	CHECK_ERR(ioc(c, VFIO_IOMMU_ENABLE, NULL), ENOTTY);
	CHECK_ERR(ioc(c, VFIO_IOMMU_DISABLE, NULL), ENOTTY);
	CHECK_ERR(map_dma(c, 0, 0, 4096, RW), EPERM); /* nothing registered: not enabled */
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* tce_iommu_register_pages()/unregister_pages(), mm_iommu_new/get/put */
static void register_rules(void)
{
	struct emu_platform *p = make_platform("powernv", 1, 1);
	uint8_t *buf = alloc_aligned(4 * MiB, 1 << 16);
	uint64_t va = (uintptr_t)buf;
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	CHECK_ERR(reg_mem(c, va + 4096, MiB, 1), EINVAL);   /* not 64 KiB aligned */
	CHECK_ERR(reg_mem(c, va, MiB + 4096, 1), EINVAL);
	struct vfio_iommu_spapr_register_memory r = { .argsz = sizeof(r), .flags = 1, .vaddr = va, .size = MiB };
	CHECK_ERR(ioc(c, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, &r), EINVAL); /* flags */
	CHECK_ERR(reg_mem(c, 0x10000, MiB, 1), EFAULT);     /* nothing mapped there */
	CHECK_EQ(counters(p).locked_bytes, 0);              /* and nothing stays charged */
	CHECK_EQ(reg_mem(c, va, 2 * MiB, 1), 0);
	CHECK_EQ(counters(p).locked_bytes, 2 * MiB);
	CHECK_ERR(reg_mem(c, va, 2 * MiB, 1), EBUSY);       /* identical region twice */
	CHECK_ERR(reg_mem(c, va + MiB, 2 * MiB, 1), EINVAL); /* overlapping */
	CHECK_ERR(reg_mem(c, va, MiB, 0), ENOENT);          /* unregister needs exact match */
	CHECK_EQ(reg_mem(c, va, 2 * MiB, 0), 0);
	CHECK_EQ(counters(p).locked_bytes, 0);
	CHECK_ERR(reg_mem(c, va, 2 * MiB, 0), ENOENT);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* Unregistering memory that still has TCEs: the kernel's final mm_iommu_put() gives
 * -EBUSY but tce_iommu_unregister_pages() drops it, so the ioctl returns 0 and the
 * memory stays pinned and charged. Unmap first, then unregister. */
static void unregister_while_mapped(void)
{
	struct emu_platform *p = make_platform("powernv", 1, 1);
	uint8_t *buf = alloc_aligned(MiB, 1 << 16);
	uint64_t va = (uintptr_t)buf;
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	CHECK_EQ(reg_mem(c, va, MiB, 1), 0);
	CHECK_EQ(map_dma(c, va, 0, MiB, RW), 0); /* into the default window (4K pages) */
	CHECK_EQ(reg_mem(c, va, MiB, 0), 0);     /* "succeeds"... */
	CHECK_EQ(counters(p).registered_bytes, MiB); /* ...but stays registered */
	CHECK_EQ(unmap_dma(c, 0, MiB), 0);
	CHECK_ERR(reg_mem(c, va, MiB, 0), ENOENT); /* orphaned: no longer the container's */
	CHECK_EQ(reg_mem(c, va, MiB, 1), 0);       /* re-adopted by registering it again... */
	CHECK_EQ(reg_mem(c, va, MiB, 0), 0);
	CHECK_EQ(counters(p).registered_bytes, MiB); /* ...the orphan's reference stays */
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* MAP in v2: registered memory only, and the IOMMU page must fit the region's pages */
static void v2_map_rules(void)
{
	struct emu_platform *p = make_platform("powernv", 1, 1);
	uint8_t *buf = alloc_aligned(4 * MiB, 2 * MiB);
	uint64_t va = (uintptr_t)buf, start;
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	CHECK_EQ(reg_mem(c, va, 2 * MiB, 1), 0);
	CHECK_ERR(map_dma(c, va + 2 * MiB, 0, MiB, RW), EINVAL); /* not registered */
	CHECK_EQ(tce_create(c, 16, GiB, 1, &start), 0);           /* 64K pages */
	CHECK_EQ(start, 1ULL << 59);
	CHECK_EQ(map_dma(c, va, start, 2 * MiB, RW), 0);          /* base pages are 64K */
	CHECK_EQ(unmap_dma(c, start, 2 * MiB), 0);
	CHECK_EQ(tce_remove(c, start), 0);
	CHECK_EQ(tce_create(c, 21, GiB, 1, &start), 0);           /* 2M pages */
	CHECK_ERR(map_dma(c, va, start, 2 * MiB, RW), EINVAL);    /* THP/base pages: no */
	CHECK_EQ(tce_remove(c, start), 0);
	CHECK_EQ(reg_mem(c, va, 2 * MiB, 0), 0);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* The same with hugetlbfs pages, when the machine has 2 MiB hugepages reserved. */
static void hugepage_window(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	size_t len = 8 * MiB;
	uint8_t *huge = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	uint64_t start;
	int c, g;

	if (huge == MAP_FAILED) {
		printf("  (no 2 MiB hugepages reserved: hugetlb window case not run)\n");
		emu_platform_destroy(p);
		return;
	}
	memset(huge, 0, len);
	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	CHECK_EQ(reg_mem(c, (uintptr_t)huge, len, 1), 0);
	CHECK_EQ(tce_create(c, 21, 16 * MiB, 1, &start), 0);
	struct emu_counters k0 = counters(p);
	CHECK_EQ(map_dma(c, (uintptr_t)huge, start, len, RW), 0);
	struct emu_counters k1 = counters(p);
	CHECK_EQ(k1.h_put_tce - k0.h_put_tce, 4); /* 8 MiB in 2 MiB TCEs */
	CHECK_EQ(unmap_dma(c, start, len), 0);
	CHECK_EQ(tce_remove(c, start), 0);
	/* the hypervisor's one dynamic window is free again: create/remove cycles work */
	CHECK_EQ(tce_create(c, 24, 16 * MiB, 1, &start), 0);
	CHECK_EQ(tce_remove(c, start), 0);
	emu_close(g);
	emu_close(c);
	munmap(huge, len);
	emu_platform_destroy(p);
}

/* pSeries (QEMU) windows: spapr_tce_create_table() and the measured behaviour */
static void pseries_ddw_rules(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	struct emu_counters k0, k1;
	uint64_t start;
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	struct vfio_iommu_spapr_tce_create cr = { .argsz = sizeof(cr), .flags = 1, .page_shift = 16,
						   .window_size = GiB, .levels = 1 };
	CHECK_ERR(ioc(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr), EINVAL);  /* flags */
	k0 = counters(p);
	CHECK_ERR(tce_create(c, 13, GiB, 1, NULL), EINVAL);           /* not in pgsizes */
	k1 = counters(p);
	/* ...but the pending default window was created first: reset + 512 H_STUFF_TCE */
	CHECK_EQ(k1.rtas_ddw_reset - k0.rtas_ddw_reset, 1);
	CHECK_EQ(k1.h_stuff_tce - k0.h_stuff_tce, 512);
	CHECK_ERR(tce_create(c, 30, 4 * GiB, 1, NULL), EINVAL);       /* 1G: not on QEMU */
	k0 = counters(p);
	CHECK_ERR(tce_create(c, 24, 3 * GiB, 1, NULL), EINVAL);       /* not a power of 2 */
	CHECK_ERR(tce_create(c, 24, 4 * GiB, 2, NULL), EINVAL);       /* one level only */
	/* both failures still charged the table, and the kernel never gives it back */
	CHECK(counters(p).locked_leaked > k0.locked_leaked);
	/* "v2:remove default 32-bit window": every entry, 262144 x 2, no RTAS */
	k0 = counters(p);
	CHECK_EQ(tce_remove(c, 0), 0);
	k1 = counters(p);
	CHECK_EQ(k1.h_get_tce - k0.h_get_tce, 262144);
	CHECK_EQ(k1.h_put_tce - k0.h_put_tce, 262144);
	CHECK_EQ(k1.rtas_ddw_remove - k0.rtas_ddw_remove, 0);
	/* "v2:create 64GiB window shift=24": ddw_query 1, ddw_create 1, H_STUFF_TCE 8 */
	k0 = k1;
	CHECK_EQ(tce_create(c, 24, 64 * GiB, 1, &start), 0);
	k1 = counters(p);
	CHECK_EQ(start, 1ULL << 59);
	CHECK_EQ(k1.rtas_ddw_query - k0.rtas_ddw_query, 1);
	CHECK_EQ(k1.rtas_ddw_create - k0.rtas_ddw_create, 1);
	CHECK_EQ(k1.h_stuff_tce - k0.h_stuff_tce, 8);
	CHECK_EQ(k1.table_bytes, 4096 * 8);
	/* slot 0 holds the dynamic window now: the default window cannot come back */
	/* "(2nd window)": one query, then ENODEV, and the PE is poisoned */
	k0 = k1;
	CHECK_ERR(tce_create(c, 16, 64 * GiB, 1, NULL), ENODEV);
	k1 = counters(p);
	CHECK_EQ(k1.rtas_ddw_query - k0.rtas_ddw_query, 1);
	CHECK_EQ(k1.rtas_ddw_create - k0.rtas_ddw_create, 0);
	/* "v2:remove 64GiB window shift=24": 4096 x (H_GET_TCE + H_PUT_TCE), ddw_remove 1 */
	k0 = k1;
	CHECK_EQ(tce_remove(c, start), 0);
	k1 = counters(p);
	CHECK_EQ(k1.h_get_tce - k0.h_get_tce, 4096);
	CHECK_EQ(k1.h_put_tce - k0.h_put_tce, 4096);
	CHECK_EQ(k1.rtas_ddw_remove - k0.rtas_ddw_remove, 1);
	CHECK_ERR(tce_remove(c, start), EINVAL);
	/* poisoned until reboot: every later window create fails, the default one too */
	CHECK_ERR(tce_create(c, 24, 4 * GiB, 1, NULL), ENODEV);
	CHECK_ERR(tce_create(c, 12, GiB, 1, NULL), ENODEV);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* With the default window removed and a dynamic one in slot 1, slot 0 refuses a
 * second 64-bit window: "64-bit window already present" (EPERM). */
static void pseries_second_ddw_eperm(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	uint64_t start;
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	CHECK_EQ(tce_create(c, 24, 4 * GiB, 1, &start), 0); /* slot 1: the default is in 0 */
	CHECK_ERR(tce_create(c, 16, GiB, 1, NULL), ENOSPC);
	CHECK_EQ(tce_remove(c, 0), 0);
	CHECK_ERR(tce_create(c, 16, GiB, 1, NULL), EPERM);
	CHECK_EQ(tce_remove(c, start), 0);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* PowerNV windows: pnv_pci_ioda2_create_table() and the doubled table charge */
static void powernv_windows(void)
{
	struct emu_platform *p = make_platform("powernv", 1, 1);
	uint64_t s1, s2;
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	CHECK_EQ(tce_remove(c, 0), 0); /* the pending default window: just forgotten */
	CHECK_ERR(tce_create(c, 16, GiB, 0, NULL), EINVAL);  /* levels 0 */
	CHECK_ERR(tce_create(c, 16, GiB, 6, NULL), EINVAL);  /* levels > 5 */
	CHECK_EQ(counters(p).locked_leaked, 0);              /* refused before charging */
	CHECK_EQ(tce_create(c, 16, GiB, 1, &s1), 0);
	CHECK_EQ(s1, 0);                                     /* slot 0 is at tce32_start */
	/* 16384 TCEs = 128 KiB of table, doubled for the userspace view */
	CHECK_EQ(counters(p).table_bytes, 2 * 128 * 1024);
	CHECK_EQ(tce_create(c, 21, 64 * GiB, 2, &s2), 0);
	CHECK_EQ(s2, 1ULL << 59);
	CHECK_ERR(tce_create(c, 12, GiB, 1, NULL), ENOSPC);
	CHECK_EQ(counters(p).h_get_tce + counters(p).h_stuff_tce, 0); /* no hypervisor */
	CHECK_EQ(tce_remove(c, s1), 0);
	CHECK_EQ(tce_remove(c, s2), 0);
	CHECK_EQ(counters(p).table_bytes, 0);
	CHECK_EQ(counters(p).locked_bytes, 0);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

static int register_enomem_child(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	uint8_t *buf = alloc_aligned(MiB, 1 << 16);
	int c, g;

	drop_ipc_lock(64 << 10);
	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	CHECK_EQ(reg_mem(c, (uintptr_t)buf, 64 << 10, 1), 0);           /* as measured */
	CHECK_ERR(reg_mem(c, (uintptr_t)buf + (64 << 10), 512 << 10, 1), ENOMEM);
	CHECK_ERR(tce_create(c, 16, GiB, 1, NULL), ENOMEM);              /* the table too */
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
	return failures;
}

static void register_memlock(void)
{
	CHECK_EQ(in_child(register_enomem_child, &failures), 0);
}

int main(void)
{
	RUN(v2_info_and_enable);
	RUN(register_rules);
	RUN(unregister_while_mapped);
	RUN(v2_map_rules);
	RUN(hugepage_window);
	RUN(pseries_ddw_rules);
	RUN(pseries_second_ddw_eperm);
	RUN(powernv_windows);
	RUN(register_memlock);
	return test_result();
}
