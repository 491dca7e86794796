/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A partitionable endpoint (PE) and its iommu_table_group_ops, per platform:
 *  - pSeries guest: arch/powerpc/platforms/pseries/iommu.c (spapr_tce_* ops, the DDW
 *    RTAS calls, tce_exchange_pseries = H_GET_TCE + H_PUT_TCE per entry) with the
 *    costs measured in a real 6.12 guest under QEMU (docs: qemu-pseries-notes.md).
 *  - PowerNV: arch/powerpc/platforms/powernv/pci-ioda{,-tce}.c (TCE tables in memory,
 *    multi-level, the userspace view charged with the table, one TCE kill per ioctl).
 *  - EEH: arch/powerpc/kernel/eeh.c (eeh_pe_get_state, eeh_pe_reset, set_option).
 */
#include <errno.h>
#include <stddef.h>

#include "emu_internal.h"

#define H_PARAMETER (-4) /* what tce_exchange_pseries() hands back for a bad ioba */
#define POWERNV_MAX_LEVELS 5

static bool is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static unsigned int ilog2_u64(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* --- table sizes (get_table_size) ------------------------------------------ */

/* pnv_pci_ioda2_get_table_size(): all levels, doubled for the userspace view. */
static uint64_t powernv_table_size(unsigned int page_shift, uint64_t window_size,
				   unsigned int levels, unsigned int kernel_page_shift)
{
	unsigned int entries_shift, table_shift;
	uint64_t tce_table_size, direct_table_size, bytes = 0;

	if (levels == 0 || levels > POWERNV_MAX_LEVELS || !is_pow2(window_size) ||
	    ilog2_u64(window_size) < page_shift)
		return 0;
	entries_shift = ilog2_u64(window_size) - page_shift;
	table_shift = entries_shift + 3;
	tce_table_size = table_shift < 12 ? 0x1000 : 1ULL << table_shift;
	entries_shift = (entries_shift + levels - 1) / levels;
	table_shift = entries_shift + 3;
	if (table_shift < kernel_page_shift)
		table_shift = kernel_page_shift;
	direct_table_size = 1ULL << table_shift;
	for (; levels; --levels) {
		bytes += div_round_up(tce_table_size, direct_table_size) * direct_table_size;
		tce_table_size /= direct_table_size;
		tce_table_size <<= 3;
		if (tce_table_size < direct_table_size)
			tce_table_size = direct_table_size;
	}
	return bytes + bytes;
}

uint64_t emu_pe_table_size(struct emu_pe *pe, unsigned int page_shift, uint64_t window_size,
			   unsigned int levels)
{
	struct emu_platform_cfg *cfg = emu_cfg(pe);

	if (cfg->hv == EMU_HV_POWERNV)
		return powernv_table_size(page_shift, window_size, levels, cfg->page_shift);
	/* spapr_tce_get_table_size(): one level only; ~0U otherwise (and it is charged). */
	if (levels > 1)
		return 0xffffffffULL;
	return window_size >> (page_shift - 3);
}

/* --- pSeries hypervisor costs ---------------------------------------------- */

/* H_STUFF_TCE in batches of 512 over `entries` TCEs. */
static void pseries_stuff(struct emu_platform *p, uint64_t entries)
{
	EMU_COUNT(p, h_stuff_tce, div_round_up(entries, EMU_STUFF_BATCH));
	EMU_COUNT(p, tces_stuffed, entries);
}

/* ibm,reset-pe-dma-windows: the default window comes back and any DDW goes; the kernel
 * then clears the table it makes for it, `entries` TCEs (the whole default window when
 * it restores the kernel's own, the requested size when VFIO asks for a 4 KiB window:
 * measured in the QEMU guest, test/qemu). */
static void pseries_reset_default(struct emu_pe *pe, uint64_t entries)
{
	EMU_COUNT(pe->plat, rtas_ddw_reset, 1);
	pseries_stuff(pe->plat, entries);
	pe->default_present = true;
	pe->ddw_active = 0;
}

static int pseries_create_ddw(struct emu_pe *pe, unsigned int page_shift, uint64_t window_size)
{
	struct emu_platform_cfg *cfg = emu_cfg(pe);
	struct emu_platform *p = pe->plat;
	uint64_t tces = window_size >> page_shift;

	EMU_COUNT(p, rtas_ddw_query, 1);
	if (pe->ddw_active >= cfg->ddw_creatable) {
		/* Measured: no window left, the guest kernel gives up with ENODEV and puts
		 * the device on its failed-DDW list for good. */
		pe->ddw_failed = true;
		return -ENODEV;
	}
	if (cfg->ddw_max_tces < tces)
		return -EINVAL; /* "retry with a smaller window" */
	EMU_COUNT(p, rtas_ddw_create, 1);
	if (!(cfg->pgsizes & (1ULL << page_shift)) || ilog2_u64(window_size) < page_shift) {
		pe->ddw_failed = true; /* RTAS parameter error: create_ddw() failed */
		return -ENODEV;
	}
	pseries_stuff(p, tces);
	pe->ddw_active++;
	return 0;
}

/* spapr_tce_create_table() of pseries/iommu.c */
static int pseries_create_table(struct emu_pe *pe, int num, unsigned int page_shift,
				uint64_t window_size, unsigned int levels,
				struct emu_tce_table **out)
{
	struct emu_platform_cfg *cfg = emu_cfg(pe);
	bool default_request = window_size <= cfg->tce32_size && page_shift == 12;
	struct emu_tce_table *t;
	uint64_t start;
	int ret;

	if (!is_pow2(window_size) || levels > 1)
		return -EINVAL;
	if (pe->ddw_failed)
		return -ENODEV;
	if (num == 0 && default_request && !pe->default_present) {
		if (pe->ddw_active)
			return -EPERM; /* a reset would destroy the 64-bit window */
		pseries_reset_default(pe, window_size >> 12);
		start = cfg->tce32_start;
	} else {
		if (num == 0 && pe->ddw_active)
			return -EPERM; /* "64-bit window already present" */
		ret = pseries_create_ddw(pe, page_shift, window_size);
		if (ret)
			return ret;
		start = cfg->ddw_start;
	}
	t = emu_tce_table_new(start, window_size, page_shift, levels);
	if (t == NULL)
		return -ENOMEM;
	t->is_default = start == cfg->tce32_start && default_request;
	/* pSeries' create_table() installs the table in the (first) group's table_group;
	 * set_window() only checks it. */
	pthread_rwlock_wrlock(&pe->plat->dma_lock);
	pe->tables[num] = t;
	pthread_rwlock_unlock(&pe->plat->dma_lock);
	*out = t;
	return 0;
}

/* pnv_pci_ioda2_create_table(): the default window at tce32_start, the second at the
 * bypass base (1 << 59); pnv_pci_ioda2_table_alloc_pages() limits the levels. */
static int powernv_create_table(struct emu_pe *pe, int num, unsigned int page_shift,
				uint64_t window_size, unsigned int levels,
				struct emu_tce_table **out)
{
	struct emu_platform_cfg *cfg = emu_cfg(pe);
	unsigned int entries_shift, level_shift;
	struct emu_tce_table *t;
	uint64_t min_entries;

	if (levels == 0 || levels > POWERNV_MAX_LEVELS || !is_pow2(window_size) ||
	    ilog2_u64(window_size) < page_shift)
		return -EINVAL;
	entries_shift = ilog2_u64(window_size) - page_shift;
	level_shift = (entries_shift + levels - 1) / levels + 3;
	if (level_shift < cfg->page_shift)
		level_shift = cfg->page_shift;
	if ((level_shift - 3) * levels + page_shift >= 55)
		return -EINVAL;
	/* pnv_pci_ioda2_table_alloc_pages(): the table is at least a kernel page, and
	 * it_size counts its entries, not the window's: a 256 MiB window of 64 KiB pages
	 * translates (and is cleared over) 8192 entries, 512 MiB (measured, test/qemu). */
	min_entries = (1ULL << cfg->page_shift) >> 3;
	t = emu_tce_table_new(num ? cfg->ddw_start : cfg->tce32_start,
			      (window_size >> page_shift) < min_entries ? min_entries << page_shift :
									window_size,
			      page_shift, levels);
	if (t == NULL)
		return -ENOMEM;
	t->is_default = num == 0 && window_size <= cfg->tce32_size && page_shift == 12;
	if (levels > 1)
		t->level_entries = 1ULL << (level_shift - 3); /* it_level_size */
	*out = t;
	return 0;
}

int emu_pe_create_table(struct emu_pe *pe, int num, unsigned int page_shift,
			uint64_t window_size, unsigned int levels, struct emu_tce_table **out)
{
	if (emu_cfg(pe)->hv == EMU_HV_POWERNV)
		return powernv_create_table(pe, num, page_shift, window_size, levels, out);
	return pseries_create_table(pe, num, page_shift, window_size, levels, out);
}

/* pnv_pci_ioda2_tce_invalidate_pe(): PHB4 asks OPAL, PHB3 writes the kill register. */
static void powernv_kill_pe(struct emu_pe *pe)
{
	if (emu_cfg(pe)->phb != 3)
		EMU_COUNT(pe->plat, opal_tce_kill, 1);
}

/* pnv_pci_ioda2_set_window() / unset_window(): the TVE through OPAL, then the PE's
 * TCE cache killed. */
static void powernv_map_window(struct emu_pe *pe)
{
	EMU_COUNT(pe->plat, opal_map_window, 1);
	powernv_kill_pe(pe);
}

int emu_pe_set_window(struct emu_pe *pe, int num, struct emu_tce_table *t)
{
	if (emu_cfg(pe)->hv == EMU_HV_PSERIES)
		return pe->tables[num] == t ? 0 : -EPERM; /* spapr_tce_set_window() */
	powernv_map_window(pe);
	pthread_rwlock_wrlock(&pe->plat->dma_lock);
	pe->tables[num] = t;
	pthread_rwlock_unlock(&pe->plat->dma_lock);
	return 0;
}

void emu_pe_unset_window(struct emu_pe *pe, int num)
{
	struct emu_tce_table *t = pe->tables[num];

	if (t == NULL)
		return;
	if (emu_cfg(pe)->hv == EMU_HV_PSERIES) {
		if (num == 0 && t->is_default)
			pe->default_present = false; /* "ibm,dma-window": no RTAS call seen */
		else {
			EMU_COUNT(pe->plat, rtas_ddw_remove, 1);
			if (pe->ddw_active)
				pe->ddw_active--;
		}
	} else {
		powernv_map_window(pe);
	}
	pthread_rwlock_wrlock(&pe->plat->dma_lock);
	pe->tables[num] = NULL;
	pthread_rwlock_unlock(&pe->plat->dma_lock);
}

/* The platform gives the PE to VFIO: its own default window goes away (no
 * hypercalls were seen for it), and userspace creates what it needs. */
int emu_pe_take_ownership(struct emu_pe *pe)
{
	/* pnv_ioda2_take_ownership(): bypass off, the kernel's window 0 unset */
	if (emu_cfg(pe)->hv == EMU_HV_POWERNV && pe->default_present) {
		EMU_COUNT(pe->plat, opal_bypass, 1);
		powernv_map_window(pe);
	}
	pe->default_present = false;
	return 0;
}

/* Back to the kernel: the default window is restored (pSeries: a reset, which clears
 * the whole window with H_STUFF_TCE). */
void emu_pe_release_ownership(struct emu_pe *pe)
{
	if (pe->default_present)
		return;
	if (emu_cfg(pe)->hv == EMU_HV_PSERIES) {
		pseries_reset_default(pe, emu_cfg(pe)->tce32_size >> 12);
	} else {
		/* pnv_pci_ioda2_setup_default_config(): a new table (iommu_init_table() clears
		 * it: one tce_kill, not yet linked to the PE, so no OPAL call), set as window 0,
		 * bypass on */
		EMU_COUNT(pe->plat, tce_kill, 1);
		powernv_map_window(pe);
		EMU_COUNT(pe->plat, opal_bypass, 1);
		pe->default_present = true;
	}
}

/* --- TCE updates ------------------------------------------------------------ */

static void count_tce_change(struct emu_platform *p, uint64_t old, uint64_t val)
{
	bool was = old & (EMU_TCE_READ | EMU_TCE_WRITE);
	bool is = val & (EMU_TCE_READ | EMU_TCE_WRITE);

	if (is)
		EMU_COUNT(p, tces_mapped, 1);
	else if (was)
		EMU_COUNT(p, tces_cleared, 1);
}

/* iommu_tce_xchg_no_kill(): returns 0 and the old entry in *val, or an error. */
int emu_pe_xchg(struct emu_pe *pe, struct emu_tce_table *t, uint64_t idx, uint64_t *val)
{
	struct emu_platform *p = pe->plat;
	bool in_window = idx >= t->offset && idx - t->offset < t->size;
	uint64_t old;

	EMU_COUNT(p, tce_xchg, 1);
	if (emu_cfg(pe)->hv == EMU_HV_PSERIES) {
		EMU_COUNT(p, h_get_tce, 1);
		if (!in_window)
			return H_PARAMETER; /* QEMU's h_get_tce(); passed up unconverted */
		EMU_COUNT(p, h_put_tce, 1);
	} else if (!in_window) {
		return -EINVAL; /* pnv_tce_xchg() has no bounds check; refuse instead */
	}
	old = emu_tce_xchg(t, idx, *val);
	count_tce_change(p, old, *val);
	*val = old;
	return 0;
}

struct clear_ctx {
	struct emu_platform *p;
	void (*fn)(void *, uint64_t, uint64_t);
	void *ctx;
};

static void clear_one(void *arg, uint64_t idx, uint64_t old)
{
	struct clear_ctx *cc = arg;

	EMU_COUNT(cc->p, tces_cleared, 1);
	if (cc->fn != NULL)
		cc->fn(cc->ctx, idx, old);
}

/* tce_iommu_clear()'s loop: pSeries pays H_GET_TCE + H_PUT_TCE for every entry of the
 * range, valid or not (one H_GET_TCE that fails for entries past the window). */
void emu_pe_clear_window_entries(struct emu_pe *pe, struct emu_tce_table *t, uint64_t first,
				 uint64_t n, void (*fn)(void *, uint64_t, uint64_t), void *ctx)
{
	uint64_t end = first + n, lo = first, hi = end;
	struct clear_ctx cc = { pe->plat, fn, ctx };

	if (lo < t->offset)
		lo = t->offset;
	if (hi > t->offset + t->size)
		hi = t->offset + t->size;
	if (emu_cfg(pe)->hv == EMU_HV_PSERIES) {
		uint64_t inside = hi > lo ? hi - lo : 0;
		EMU_COUNT(pe->plat, h_get_tce, n);
		EMU_COUNT(pe->plat, h_put_tce, inside);
		EMU_COUNT(pe->plat, tce_xchg, n);
	} else {
		/* a multi-level table's entries in absent leaves of the userspace view are
		 * skipped (no xchg) */
		EMU_COUNT(pe->plat, tce_xchg, hi > lo ? emu_tce_user_entries(t, lo, hi - lo) : 0);
	}
	if (hi > lo)
		emu_tce_clear_range(t, lo, hi - lo, clear_one, &cc);
}

/* iommu_tce_kill(): PowerNV invalidates the TCE cache once per ioctl, for every PE
 * the table is linked to (PHB4: one OPAL call each, PHB3: register writes); pSeries has
 * no tce_kill hook (the hypervisor does it). */
void emu_pe_tce_kill(struct emu_pe *pe, unsigned int linked)
{
	if (emu_cfg(pe)->hv != EMU_HV_POWERNV)
		return;
	EMU_COUNT(pe->plat, tce_kill, 1);
	if (emu_cfg(pe)->phb != 3)
		EMU_COUNT(pe->plat, opal_tce_kill, linked);
}

/* --- EEH --------------------------------------------------------------------- */

void emu_pe_freeze(struct emu_pe *pe)
{
	bool was = atomic_exchange(&pe->frozen_dma, true);

	atomic_store(&pe->frozen_mmio, true);
	if (!was)
		EMU_COUNT(pe->plat, eeh_freezes, 1);
}

/* eeh_pe_get_state(): the VFIO_EEH_PE_STATE_* value, from the PE's freeze state
 * (pnv_eeh_get_state(): one OPAL_PCI_EEH_FREEZE_STATUS). No RESET: a hot reset is done
 * by the time the ioctl returns, and the PE stays frozen until its deactivate. */
static int eeh_state(struct emu_pe *pe)
{
	bool mmio = !atomic_load(&pe->frozen_mmio), dma = !atomic_load(&pe->frozen_dma);

	EMU_COUNT(pe->plat, eeh_get_state, 1);
	if (mmio && dma)
		return VFIO_EEH_PE_STATE_NORMAL;
	if (!mmio && !dma)
		return VFIO_EEH_PE_STATE_STOPPED;
	if (mmio && !dma)
		return VFIO_EEH_PE_STATE_STOPPED_DMA;
	return VFIO_EEH_PE_STATE_UNAVAIL;
}

/* eeh_pci_enable(EEH_OPT_THAW_MMIO/DMA): the state first, OPAL only for a frozen part. */
static void eeh_thaw(struct emu_pe *pe, _Atomic bool *frozen)
{
	(void)eeh_state(pe);
	if (atomic_exchange(frozen, false)) {
		EMU_COUNT(pe->plat, opal_freeze_clear, 1);
		EMU_COUNT(pe->plat, eeh_unfreezes, 1);
	}
}

void emu_pe_eeh_dev_owner(struct emu_pe *pe)
{
	/* eeh_pe_change_owner(): the state, nothing more for a PE that is not frozen */
	if (emu_cfg(pe)->eeh)
		(void)eeh_state(pe);
}

static void reset_pe_devices(struct emu_pe *pe)
{
	struct emu_platform *p = pe->plat;

	for (unsigned int i = 0; i < p->ndevices; i++)
		if (&p->devices[i].group->pe == pe)
			emu_device_reset_model(&p->devices[i]);
}

/* vfio_spapr_ioctl_eeh_pe_op() */
int emu_pe_eeh_op(struct emu_pe *pe, struct vfio_eeh_pe_op *op)
{
	if (!emu_cfg(pe)->eeh)
		return -ENODEV; /* eeh_iommu_group_to_pe() found no PE: pSeries guests */
	if (op->argsz < offsetof(struct vfio_eeh_pe_op, op) + sizeof(op->op) || op->flags)
		return -EINVAL;
	switch (op->op) {
	case VFIO_EEH_PE_DISABLE:
		pe->eeh_enabled = false;
		return 0;
	case VFIO_EEH_PE_ENABLE:
		pe->eeh_enabled = true;
		(void)eeh_state(pe); /* eeh_pe_change_owner() */
		return 0;
	case VFIO_EEH_PE_UNFREEZE_IO:
		eeh_thaw(pe, &pe->frozen_mmio);
		return 0;
	case VFIO_EEH_PE_UNFREEZE_DMA:
		eeh_thaw(pe, &pe->frozen_dma);
		return 0;
	case VFIO_EEH_PE_GET_STATE:
		return eeh_state(pe);
	case VFIO_EEH_PE_RESET_HOT:
	case VFIO_EEH_PE_RESET_FUNDAMENTAL:
		/* eeh_pe_reset(): the PE frozen first (OPAL_PCI_EEH_FREEZE_SET) so that no
		 * MMIO reaches a device in reset, and it stays frozen until the deactivate.
		 * pnv_eeh_reset() of a PE behind a root port: a hot reset is the PCI core's
		 * secondary bus reset, assert and deassert at once (OPAL_PCI_RESET three times,
		 * measured on 6.12, test/qemu), a fundamental one asserts now and deasserts at
		 * the deactivate. */
		atomic_store(&pe->frozen_mmio, true);
		atomic_store(&pe->frozen_dma, true);
		EMU_COUNT(pe->plat, opal_freeze_set, 1);
		pe->reset_fundamental = op->op == VFIO_EEH_PE_RESET_FUNDAMENTAL;
		EMU_COUNT(pe->plat, opal_pci_reset, pe->reset_fundamental ? 1 : 3);
		reset_pe_devices(pe);
		EMU_COUNT(pe->plat, eeh_resets, 1);
		return 0;
	case VFIO_EEH_PE_RESET_DEACTIVATE:
		/* the deassert (a no-op for a hot reset), then eeh_pe_reenable_devices()
		 * thaws MMIO, then DMA */
		if (pe->reset_fundamental)
			EMU_COUNT(pe->plat, opal_pci_reset, 1);
		pe->reset_fundamental = false;
		eeh_thaw(pe, &pe->frozen_mmio);
		eeh_thaw(pe, &pe->frozen_dma);
		return 0;
	case VFIO_EEH_PE_CONFIGURE:
		return 0;
	case VFIO_EEH_PE_INJECT_ERR:
		if (op->argsz < offsetof(struct vfio_eeh_pe_op, err.mask) + sizeof(op->err.mask))
			return -EINVAL;
		emu_pe_freeze(pe);
		return 0;
	default:
		return -EINVAL;
	}
}
