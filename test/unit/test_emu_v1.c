/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * v1 containers (VFIO_SPAPR_TCE_IOMMU): tce_iommu_enable/disable, MAP/UNMAP through
 * tce_iommu_build/tce_iommu_clear, the lazily created default window, locked_vm
 * accounting, and the pSeries hypercall costs measured in a real 6.12 guest.
 */
#include "emu_test.h"
#include "memlock_util.h"

#define MiB (1ULL << 20)
#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* GET_INFO: tce_iommu_ioctl(VFIO_IOMMU_SPAPR_TCE_GET_INFO) */
static void get_info(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	CHECK_EQ(ioc(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info), 0);
	CHECK_EQ(info.dma32_window_start, 0);
	CHECK_EQ(info.dma32_window_size, 1ULL << 30);
	CHECK_EQ(info.flags, 0);            /* no DDW bit on a v1 container */
	CHECK_EQ(info.ddw.pgsizes, 0);
	info.argsz = 8;
	CHECK_ERR(ioc(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info), EINVAL);
	CHECK_ERR(ioc(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, NULL), EFAULT);
	/* v2-only ioctls on v1: ENOTTY */
	CHECK_ERR(reg_mem(c, 0, 65536, 1), ENOTTY);
	CHECK_ERR(tce_create(c, 16, 1ULL << 30, 1, NULL), ENOTTY);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* tce_iommu_enable()/disable() and the locked_vm charge */
static void enable_disable(void)
{
	struct emu_platform *p = make_platform("powernv", 1, 1);
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	CHECK_ERR(map_dma(c, 0, 0, 4096, RW), EPERM); /* MAP before ENABLE */
	CHECK_ERR(unmap_dma(c, 0, 4096), EPERM);
	CHECK_EQ(ioc(c, VFIO_IOMMU_ENABLE, NULL), 0);
	CHECK_EQ(counters(p).locked_bytes, 2ULL << 30); /* the whole 2 GiB window */
	CHECK_ERR(ioc(c, VFIO_IOMMU_ENABLE, NULL), EBUSY);
	CHECK_EQ(ioc(c, VFIO_IOMMU_DISABLE, NULL), 0);
	CHECK_EQ(counters(p).locked_bytes, 0);
	CHECK_EQ(ioc(c, VFIO_IOMMU_DISABLE, NULL), 0); /* disabling twice is fine */
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* every errno of MAP_DMA/UNMAP_DMA on v1 */
static void map_errors(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	uint8_t *buf = alloc_aligned(MiB, 1 << 16);
	uint64_t va = (uintptr_t)buf;
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	CHECK_EQ(ioc(c, VFIO_IOMMU_ENABLE, NULL), 0);
	CHECK_ERR(map_dma(c, va, 0, MiB, RW | 4), EINVAL);          /* unknown flag */
	CHECK_ERR(map_dma(c, va, 1ULL << 30, MiB, RW), ENXIO);       /* outside the window */
	CHECK_ERR(map_dma(c, va, 0, 100, RW), EINVAL);               /* size not 4K-aligned */
	CHECK_ERR(map_dma(c, va + 1, 0, 4096, RW), EINVAL);          /* vaddr not aligned */
	CHECK_ERR(map_dma(c, va, 0, 4096, 0), EINVAL);               /* neither READ nor WRITE */
	CHECK_EQ(map_dma(c, va, 0x100, 4096, RW), 1);                /* "a || b": returns 1 */
	CHECK_ERR(map_dma(c, 0x1000, 0, 4096, RW), EFAULT);          /* nothing mapped there */
	struct vfio_iommu_type1_dma_map small = { .argsz = 16, .flags = RW, .vaddr = va, .size = 4096 };
	CHECK_ERR(ioc(c, VFIO_IOMMU_MAP_DMA, &small), EINVAL);        /* argsz */
	/* read-only memory can back READ (to device) only */
	void *ro = mmap(NULL, 65536, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_ERR(map_dma(c, (uintptr_t)ro, 0, 4096, RW), EFAULT);
	CHECK_EQ(map_dma(c, (uintptr_t)ro, 0, 4096, VFIO_DMA_MAP_FLAG_READ), 0);
	CHECK_EQ(unmap_dma(c, 0, 4096), 0);
	munmap(ro, 65536);
	struct vfio_iommu_type1_dma_unmap um = { .argsz = sizeof(um), .flags = 1, .size = 4096 };
	CHECK_ERR(ioc(c, VFIO_IOMMU_UNMAP_DMA, &um), EINVAL);        /* UNMAP flags */
	CHECK_ERR(unmap_dma(c, 0, 100), EINVAL);
	CHECK_ERR(unmap_dma(c, 1ULL << 30, 4096), ENXIO);
	CHECK_EQ(unmap_dma(c, 0x100, 4096), 1);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* tce_iommu_build(): a failure in the middle rolls back the pages written before it */
static void partial_failure_rolls_back(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	uint8_t *buf = alloc_aligned(2 * MiB, 1 << 16);
	int c, g;

	munmap(buf + MiB, MiB); /* the second half is a hole */
	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	CHECK_EQ(ioc(c, VFIO_IOMMU_ENABLE, NULL), 0);
	CHECK_ERR(map_dma(c, (uintptr_t)buf, 0, 2 * MiB, RW), EFAULT);
	struct emu_counters k = counters(p);
	CHECK_EQ(k.tces_mapped, 256);
	CHECK_EQ(k.tces_cleared, 256); /* all rolled back */
	/* crossing the window end: the hypervisor refuses the first entry past it and the
	 * raw H_PARAMETER (-4) comes back as errno 4 */
	uint8_t *big = alloc_aligned(2 * MiB, 1 << 16);
	CHECK_ERR(map_dma(c, (uintptr_t)big, (1ULL << 30) - MiB, 2 * MiB, RW), EINTR);
	CHECK_EQ(counters(p).tces_mapped - counters(p).tces_cleared, 0);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* The hypercalls of the seed flow, as QEMU counted them in a 6.12 pSeries guest
 * (../shared/reference/qemu-pseries-probe/counts-612-e1000.txt). */
static void pseries_hypercalls(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	uint8_t *buf = alloc_aligned(64 * MiB, 1 << 16);
	struct emu_counters k0, k1;
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	CHECK_EQ(ioc(c, VFIO_IOMMU_ENABLE, NULL), 0);
	k0 = counters(p);
	CHECK_EQ(map_dma(c, (uintptr_t)buf, 0, MiB, RW), 0);
	k1 = counters(p);
	/* "v1:map size=1MiB": ddw_reset 1, H_STUFF_TCE 512, H_GET_TCE 256, H_PUT_TCE 256 */
	CHECK_EQ(k1.rtas_ddw_reset - k0.rtas_ddw_reset, 1);
	CHECK_EQ(k1.h_stuff_tce - k0.h_stuff_tce, 512);
	CHECK_EQ(k1.h_get_tce - k0.h_get_tce, 256);
	CHECK_EQ(k1.h_put_tce - k0.h_put_tce, 256);
	CHECK_EQ(k1.table_bytes, 2 * MiB); /* 262144 TCEs of 8 bytes */
	CHECK_EQ(k1.locked_bytes, (1ULL << 30) + 2 * MiB);
	k0 = k1;
	CHECK_EQ(unmap_dma(c, 0, MiB), 0);
	CHECK_EQ(map_dma(c, (uintptr_t)buf, 0, 64 * MiB, RW), 0);
	k1 = counters(p);
	CHECK_EQ(k1.h_get_tce - k0.h_get_tce, 256 + 16384);
	CHECK_EQ(k1.h_put_tce - k0.h_put_tce, 256 + 16384);
	CHECK_EQ(k1.h_put_tce_indirect, 0); /* the VFIO path never batches */
	k0 = k1;
	/* "v1:close(group)": every entry cleared, then the default window restored */
	emu_close(g);
	k1 = counters(p);
	CHECK_EQ(k1.h_get_tce - k0.h_get_tce, 262144);
	CHECK_EQ(k1.h_put_tce - k0.h_put_tce, 262144);
	CHECK_EQ(k1.rtas_ddw_reset - k0.rtas_ddw_reset, 1);
	CHECK_EQ(k1.h_stuff_tce - k0.h_stuff_tce, 512);
	CHECK_EQ(k1.locked_bytes, 0);
	CHECK_EQ(k1.table_bytes, 0);
	emu_close(c);
	emu_platform_destroy(p);
}

/* Opening and closing without mapping still restores the default window
 * ("info:end": ddw_reset 1, H_STUFF_TCE 512). */
static void attach_detach_costs(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	CHECK_EQ(ioc(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info), 0);
	emu_close(g);
	emu_close(c);
	CHECK_EQ(counters(p).rtas_ddw_reset, 1);
	CHECK_EQ(counters(p).h_stuff_tce, 512);
	CHECK_EQ(counters(p).h_get_tce, 0);
	emu_platform_destroy(p);
}

static int enomem_child(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	int c, g;

	drop_ipc_lock(64 << 10);
	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	CHECK_ERR(ioc(c, VFIO_IOMMU_ENABLE, NULL), ENOMEM); /* 1 GiB over a 64 KiB limit */
	CHECK_EQ(counters(p).locked_bytes, 0);
	/* raise the soft limit up to what is needed: ENABLE then works */
	struct rlimit rl = { (1ULL << 30) + (4 << 20), (1ULL << 30) + (4 << 20) };
	if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return 0; /* cannot raise it here: nothing more to test */
	CHECK_EQ(ioc(c, VFIO_IOMMU_ENABLE, NULL), 0);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
	return failures;
}

/* account_locked_vm(): RLIMIT_MEMLOCK applies unless CAP_IPC_LOCK */
static void memlock_limit(void)
{
	CHECK_EQ(in_child(enomem_child, &failures), 0);
}

int main(void)
{
	RUN(get_info);
	RUN(enable_disable);
	RUN(map_errors);
	RUN(partial_failure_rolls_back);
	RUN(pseries_hypercalls);
	RUN(attach_detach_costs);
	RUN(memlock_limit);
	return test_result();
}
