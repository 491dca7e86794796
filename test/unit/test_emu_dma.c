/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device DMA through the TCE tables and EEH: a bad DMA freezes the PE, MMIO reads all
 * ones, VFIO_EEH_PE_OP recovers it (eeh_pe_get_state/set_option/reset/configure).
 * Also: device DMA from threads while the driver maps and unmaps.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "emu_test.h"

#define MiB (1ULL << 20)
#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static long eeh(int c, uint32_t op)
{
	struct vfio_eeh_pe_op o = { .argsz = sizeof(o), .op = op };
	return ioc(c, VFIO_EEH_PE_OP, &o);
}

static void dma_through_tces(void)
{
	struct emu_platform *p = make_platform("powernv", 1, 1);
	struct emu_device *dev = emu_device_find(p, "0000:00:01.0");
	uint8_t *buf = alloc_aligned(MiB, 1 << 16), out[64];
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	CHECK_EQ(ioc(c, VFIO_IOMMU_ENABLE, NULL), 0);
	CHECK_EQ(map_dma(c, (uintptr_t)buf, 0x10000, MiB, RW), 0);
	memcpy(buf + 0x2ff0, "hello, device! crossing a page", 31);
	/* bus mastering is off until the driver turns it on: no DMA, nothing frozen */
	CHECK_EQ(emu_dma_read(dev, 0x12ff0, out, 31), -EACCES);
	CHECK(!emu_device_frozen(dev));
	CHECK_EQ(counters(p).dma_no_bus_master, 1);
	int d = device_bus_master(g, "0000:00:01.0");
	CHECK(d >= 0);
	CHECK_EQ(emu_dma_read(dev, 0x12ff0, out, 31), 0);       /* crosses a 4K TCE */
	CHECK(memcmp(out, "hello, device! crossing a page", 31) == 0);
	CHECK_EQ(emu_dma_write(dev, 0x10008, "written by DMA", 15), 0);
	CHECK(memcmp(buf + 8, "written by DMA", 15) == 0);
	CHECK_EQ(counters(p).dma_faults, 0);
	CHECK(!emu_device_frozen(dev));
	/* closing the device turns bus mastering off again (vfio-pci's release) */
	emu_close(d);
	CHECK_EQ(emu_dma_read(dev, 0x10000, out, 1), -EACCES);
	CHECK_EQ(unmap_dma(c, 0x10000, MiB), 0);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* The PE freezes on: an unmapped IOVA, an IOVA outside every window, a write through
 * a read-only TCE. */
static void bad_dma_freezes(void)
{
	static const struct { uint64_t iova; bool write; } bad[] = {
		{ 0x200000, false },       /* no TCE */
		{ 1ULL << 40, false },     /* outside the windows */
		{ 0x10000, true },         /* the TCE is READ only */
	};
	struct emu_platform *p = make_platform("powernv", 1, 1);
	struct emu_device *dev = emu_device_find(p, "0000:00:01.0");
	uint8_t *buf = alloc_aligned(MiB, 1 << 16), x = 0;
	int c, g, d;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	d = device_bus_master(g, "0000:00:01.0");
	CHECK_EQ(ioc(c, VFIO_IOMMU_ENABLE, NULL), 0);
	CHECK_EQ(map_dma(c, (uintptr_t)buf, 0x10000, 65536, VFIO_DMA_MAP_FLAG_READ), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t vendor = 0;
		CHECK_EQ(eeh(c, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_NORMAL);
		CHECK_ERR(bad[i].write ? emu_dma_write(dev, bad[i].iova, &x, 1)
				       : emu_dma_read(dev, bad[i].iova, &x, 1), EIO);
		CHECK(emu_device_frozen(dev));
		CHECK_EQ(eeh(c, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_STOPPED);
		/* a frozen PE: DMA fails, MMIO and config reads return all ones */
		CHECK_ERR(emu_dma_read(dev, 0x10000, &x, 1), EIO);
		CHECK_EQ(emu_pread(d, &vendor, 4, (off_t)VFIO_PCI_CONFIG_REGION_INDEX << 40), 4);
		CHECK_EQ(vendor, 0xffffffffu);
		/* recovery: MMIO first (DMA still stopped), then DMA */
		CHECK_EQ(eeh(c, VFIO_EEH_PE_UNFREEZE_IO), 0);
		CHECK_EQ(eeh(c, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_STOPPED_DMA);
		CHECK_EQ(eeh(c, VFIO_EEH_PE_UNFREEZE_DMA), 0);
		CHECK_EQ(eeh(c, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_NORMAL);
		CHECK_EQ(emu_dma_read(dev, 0x10000, &x, 1), 0);
	}
	CHECK_EQ(counters(p).eeh_freezes, 3);
	CHECK_EQ(counters(p).dma_faults, 3);
	/* a hot reset: the PE frozen (one OPAL freeze, three OPAL resets) until the
	 * deactivate thaws MMIO and DMA (two OPAL thaws); NORMAL after it and configure */
	struct emu_counters before = counters(p);
	CHECK_EQ(eeh(c, VFIO_EEH_PE_RESET_HOT), 0);
	CHECK_EQ(eeh(c, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_STOPPED);
	CHECK_EQ(emu_dma_read(dev, 0x10000, &x, 1), -EIO);
	CHECK_EQ(eeh(c, VFIO_EEH_PE_RESET_DEACTIVATE), 0);
	CHECK_EQ(counters(p).opal_freeze_set - before.opal_freeze_set, 1);
	CHECK_EQ(counters(p).opal_pci_reset - before.opal_pci_reset, 3);
	CHECK_EQ(counters(p).opal_freeze_clear - before.opal_freeze_clear, 2);
	CHECK_EQ(counters(p).eeh_get_state - before.eeh_get_state, 3); /* ours + two thaws */
	CHECK_EQ(eeh(c, VFIO_EEH_PE_CONFIGURE), 0);
	CHECK_EQ(eeh(c, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_NORMAL);
	/* the TCEs survive a PE reset */
	CHECK_EQ(emu_dma_read(dev, 0x10000, &x, 1), 0);
	/* error injection freezes too; bad op and flags are EINVAL */
	struct vfio_eeh_pe_op inj = { .argsz = sizeof(inj), .op = VFIO_EEH_PE_INJECT_ERR };
	CHECK_EQ(ioc(c, VFIO_EEH_PE_OP, &inj), 0);
	CHECK(emu_device_frozen(dev));
	CHECK_ERR(eeh(c, 42), EINVAL);
	struct vfio_eeh_pe_op fl = { .argsz = sizeof(fl), .flags = 1, .op = VFIO_EEH_PE_GET_STATE };
	CHECK_ERR(ioc(c, VFIO_EEH_PE_OP, &fl), EINVAL);
	emu_close(d);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* pSeries guests: no EEH through VFIO (VFIO_EEH extension 0, EEH_PE_OP ENODEV) */
static void pseries_has_no_eeh(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	CHECK_EQ(ioc_val(c, VFIO_CHECK_EXTENSION, VFIO_EEH), 0);
	CHECK_ERR(eeh(c, VFIO_EEH_PE_GET_STATE), ENODEV);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

struct dma_thread {
	struct emu_device *dev;
	struct emu_platform *plat;
	bool session;
	atomic_bool stop;
	atomic_uint_fast64_t ok, faults;
};

static void *dma_loop(void *arg)
{
	struct dma_thread *t = arg;
	uint8_t b[256];

	while (!t->stop) {
		/* as a device thread does: bursts in a DMA session, or one access at a time */
		if (t->session)
			emu_dma_begin(t->plat);
		for (int i = 0; i < (t->session ? 64 : 1); i++) {
			if (emu_dma_read(t->dev, 0x10000 + 256 * (uint64_t)i, b, sizeof(b)) == 0)
				t->ok++;
			else
				t->faults++;
		}
		if (t->session)
			emu_dma_end();
	}
	return NULL;
}

/* A device thread DMAs into a window that another window's creation, removal and
 * mappings keep changing next to it: the model stays consistent. */
static void concurrent_dma_and_ioctls_in(bool session)
{
	struct emu_platform *p = make_platform("powernv", 1, 1);
	struct dma_thread t = { .dev = emu_device_find(p, "0000:00:01.0"), .plat = p, .session = session };
	uint8_t *buf = alloc_aligned(4 * MiB, 1 << 16);
	pthread_t th;
	uint64_t start;
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	int d = device_bus_master(g, "0000:00:01.0");
	CHECK(d >= 0);
	CHECK_EQ(reg_mem(c, (uintptr_t)buf, 4 * MiB, 1), 0);
	CHECK_EQ(map_dma(c, (uintptr_t)buf, 0x10000, MiB, RW), 0);
	pthread_create(&th, NULL, dma_loop, &t);
	/* at least 200 cycles, and until the device has done a good number of DMAs */
	for (int i = 0; i < 200 || atomic_load(&t.ok) < 10000; i++) {
		CHECK_EQ(tce_create(c, 16, 1ULL << 30, 1, &start), 0);
		CHECK_EQ(map_dma(c, (uintptr_t)buf + MiB, start, 2 * MiB, RW), 0);
		CHECK_EQ(unmap_dma(c, start, 2 * MiB), 0);
		CHECK_EQ(tce_remove(c, start), 0);
	}
	t.stop = true;
	pthread_join(th, NULL);
	CHECK(t.ok > 0);
	CHECK_EQ(t.faults, 0);
	CHECK_EQ(unmap_dma(c, 0x10000, MiB), 0);
	CHECK_EQ(reg_mem(c, (uintptr_t)buf, 4 * MiB, 0), 0);
	emu_close(d);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

static void concurrent_dma_and_ioctls(void)
{
	concurrent_dma_and_ioctls_in(false);
	/* sessions hold the DMA lock for whole bursts, back to back: window changes still
	 * get their turn (the lock prefers writers) */
	concurrent_dma_and_ioctls_in(true);
}

/* A DMA session: no lock per access, counters added at its end, translations cached
 * but exact (an entry unmapped inside the session faults at the next access), host
 * pointers only inside a session and only within one IOMMU page. */
static void dma_session_is_exact(void)
{
	struct emu_platform *p = make_platform("powernv", 1, 1);
	struct emu_device *dev = emu_device_find(p, "0000:00:01.0");
	uint8_t *buf = alloc_aligned(MiB, 1 << 16), out[32];
	uint64_t reads;
	int c, g, d;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	d = device_bus_master(g, "0000:00:01.0");
	CHECK_EQ(ioc(c, VFIO_IOMMU_ENABLE, NULL), 0);
	CHECK_EQ(map_dma(c, (uintptr_t)buf, 0x10000, MiB, RW), 0);
	memcpy(buf + 0x1ff8, "across two TCEs", 16);
	CHECK(emu_dma_ptr(dev, 0x10000, 8, false) == NULL);        /* no session */
	reads = counters(p).dma_reads;
	emu_dma_begin(p);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(emu_dma_read(dev, 0x11ff8, out, 16), 0);   /* 4 KiB TCEs: two entries */
		CHECK(memcmp(out, "across two TCEs", 16) == 0);
	}
	CHECK(emu_dma_ptr(dev, 0x10010, 8, true) == buf + 0x10);
	CHECK(emu_dma_ptr(dev, 0x10ffc, 8, false) == NULL);        /* crosses a TCE */
	CHECK_EQ(counters(p).dma_reads, reads);                     /* added at the end */
	/* the driver unmaps the second page while the session goes on: the cached
	 * translation is not used again */
	CHECK_EQ(unmap_dma(c, 0x12000, 0x1000), 0);
	CHECK_ERR(emu_dma_read(dev, 0x11ff8, out, 16), EIO);
	CHECK(emu_device_frozen(dev));
	CHECK(emu_dma_ptr(dev, 0x10010, 8, false) == NULL);        /* frozen */
	emu_dma_end();
	CHECK_EQ(counters(p).dma_reads, reads + 3);
	CHECK_EQ(counters(p).dma_writes, 1);
	CHECK_EQ(counters(p).dma_faults, 1);
	emu_close(d);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

int main(void)
{
	RUN(dma_through_tces);
	RUN(bad_dma_freezes);
	RUN(pseries_has_no_eeh);
	RUN(concurrent_dma_and_ioctls);
	RUN(dma_session_is_exact);
	return test_result();
}
