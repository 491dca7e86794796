/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /dev/vfio/vfio and the sPAPR TCE IOMMU driver behind it: a model of
 * drivers/vfio/container.c (vfio_fops_unl_ioctl, vfio_ioctl_set_iommu,
 * vfio_container_ioctl_check_extension) and drivers/vfio/vfio_iommu_spapr_tce.c
 * (tce_iommu_ioctl and everything it calls). Each function names its original.
 * Called with the platform lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu_internal.h"

#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))

/* list_first_entry(&container->group_list): the newest group attached to the driver */
static struct emu_pe *first_pe(struct emu_container *c)
{
	for (struct emu_group *g = c->groups; g != NULL; g = g->next_in_container)
		if (g->attached)
			return &g->pe;
	return NULL;
}

static uint64_t page_bytes(struct emu_container *c)
{
	return 1ULL << c->plat->cfg.plat.page_shift;
}

/* tce_iommu_ioctl(VFIO_CHECK_EXTENSION) of the only IOMMU driver POWER registers. */
static long spapr_check_extension(struct emu_platform *p, unsigned long arg)
{
	switch (arg) {
	case VFIO_SPAPR_TCE_IOMMU:
	case VFIO_SPAPR_TCE_v2_IOMMU:
		return 1;
	case VFIO_EEH:
		return p->cfg.plat.eeh;
	default:
		return 0;
	}
}

/* tce_iommu_mm_set(): a container belongs to the process that first used it. The
 * memory this kernel models is its own process's: another process (a request on a
 * file it was given, emu_remote_*.c) cannot become a container's mm here (EPERM, as it
 * gets once the owner has used it). */
static int mm_set(struct emu_container *c)
{
	if (c->mm_set)
		return c->mm_pid == emu_caller_pid() ? 0 : -EPERM;
	if (emu_caller_pid() != getpid())
		return -EPERM;
	c->mm_set = true;
	c->mm_pid = getpid();
	return 0;
}

static int find_table(struct emu_container *c, uint64_t ioba, struct emu_tce_table **out)
{
	for (int i = 0; i < EMU_MAX_TABLES; i++)
		if (c->tables[i] && emu_tce_contains(c->tables[i], ioba)) {
			*out = c->tables[i];
			return i;
		}
	return -1;
}

/* --- clearing and building TCEs ------------------------------------------- */

/* The PEs whose windows hold table t (the table's it_group_list). */
static unsigned int linked_pes(struct emu_container *c, struct emu_tce_table *t)
{
	unsigned int n = 0;

	for (struct emu_group *g = c->groups; g != NULL; g = g->next_in_container)
		for (int i = 0; i < EMU_MAX_TABLES; i++)
			if (g->pe.tables[i] == t) {
				n++;
				break;
			}
	return n;
}

static void unuse_page_v2(void *arg, uint64_t idx, uint64_t old)
{
	struct emu_container *c = arg;
	struct emu_mm_mem *mem = emu_mm_lookup(c->plat, old & ~0xfffULL, 1);
	uint_fast64_t v;

	(void)idx;
	if (mem == NULL)
		return;
	/* mm_iommu_mapped_dec(): never below the base reference of 1 */
	v = atomic_load(&mem->mapped);
	while (v > 1 && !atomic_compare_exchange_weak(&mem->mapped, &v, v - 1))
		;
}

/* tce_iommu_clear() */
static void tce_clear(struct emu_container *c, struct emu_tce_table *t, uint64_t entry,
		      uint64_t pages)
{
	struct emu_pe *pe = first_pe(c);

	if (pe == NULL) {
		emu_tce_clear_range(t, entry, pages, c->v2 ? unuse_page_v2 : NULL, c);
		return;
	}
	emu_pe_clear_window_entries(pe, t, entry, pages, c->v2 ? unuse_page_v2 : NULL, c);
	emu_pe_tce_kill(pe, linked_pes(c, t));
}

static uint64_t tce_perm(uint32_t flags, enum emu_hv_kind hv)
{
	uint64_t perm = 0;

	if (flags & VFIO_DMA_MAP_FLAG_READ)
		perm |= EMU_TCE_READ;
	if (flags & VFIO_DMA_MAP_FLAG_WRITE)
		perm |= EMU_TCE_WRITE;
	/* pnv_tce_xchg(): the PHB cannot do write-only */
	if (hv == EMU_HV_POWERNV && (perm & EMU_TCE_WRITE))
		perm |= EMU_TCE_READ;
	return perm;
}

/* v1: pin each page (pin_user_pages_fast) and check that the backing page covers the
 * IOMMU page (tce_page_is_contained). Returns 0 or the errno of page i. */
static int v1_check_page(struct emu_container *c, uint64_t ua, unsigned int it_shift,
			 bool write)
{
	struct emu_vma_info vi;
	int ret = emu_vma_query(ua, 1ULL << it_shift, c->plat->cfg.plat.page_shift, &vi);

	if (ret)
		return ret;
	if (!vi.present || (write && !vi.writable))
		return -EFAULT;
	if (vi.min_page_shift < it_shift)
		return -EPERM;
	return 0;
}

/* tce_iommu_build() and tce_iommu_build_v2() */
static long tce_build(struct emu_container *c, struct emu_tce_table *t, uint64_t entry,
		      uint64_t ua, uint64_t pages, uint64_t perm)
{
	struct emu_pe *pe = first_pe(c);
	uint64_t psize = 1ULL << t->page_shift, i;
	bool write = perm & EMU_TCE_WRITE;
	struct emu_vma_info vi;
	long ret = 0;

	/* One smaps read for the whole range when it is all good (v1). */
	bool range_ok = false;
	if (!c->v2 && emu_vma_query(ua, pages * psize, c->plat->cfg.plat.page_shift, &vi) == 0)
		range_ok = vi.present && (!write || vi.writable) && vi.min_page_shift >= t->page_shift;

	for (i = 0; i < pages; i++, ua += psize) {
		struct emu_mm_mem *mem = NULL;
		uint64_t val;

		if (c->v2) {
			/* IOMMU_TABLE_USERSPACE_ENTRY() makes the userspace view's leaf first */
			if (emu_tce_user_leaf_touch(t, entry + i)) {
				ret = -ENOMEM;
				break;
			}
			/* tce_iommu_prereg_ua_to_hpa() + mm_iommu_ua_to_hpa() */
			mem = emu_mm_lookup(c->plat, ua, psize);
			if (mem == NULL || t->page_shift > mem->pageshift) {
				ret = -EINVAL;
				break;
			}
			if (atomic_fetch_add(&mem->mapped, 1) == 0) { /* mm_iommu_mapped_inc */
				atomic_store(&mem->mapped, 0);
				break; /* being unregistered: the kernel stops, returning 0 */
			}
		} else if (!range_ok) {
			ret = v1_check_page(c, ua, t->page_shift, write);
			if (ret)
				break;
		}
		val = ua | perm;
		ret = emu_pe_xchg(pe, t, entry + i, &val);
		if (ret) {
			if (mem)
				unuse_page_v2(c, 0, ua);
			break;
		}
		if (c->v2 && (val & (EMU_TCE_READ | EMU_TCE_WRITE)))
			unuse_page_v2(c, 0, val); /* an old mapping was replaced */
	}
	if (ret)
		tce_clear(c, t, entry, i);
	else
		emu_pe_tce_kill(pe, linked_pes(c, t));
	return ret;
}

/* --- windows ---------------------------------------------------------------- */

static void account_table(struct emu_container *c, struct emu_tce_table *t, bool inc)
{
	uint64_t pages = t->charged_bytes / page_bytes(c);

	emu_mm_account(c->plat, pages, inc);
	emu_table_bytes_add(c->plat, inc ? (int64_t)t->charged_bytes : -(int64_t)t->charged_bytes);
}

/* tce_iommu_free_table() */
static void free_table(struct emu_container *c, struct emu_tce_table *t)
{
	account_table(c, t, false);
	emu_tce_table_free(t);
}

/* tce_iommu_create_table() + tce_iommu_create_window() */
static long create_window(struct emu_container *c, uint32_t page_shift, uint64_t window_size,
			  uint32_t levels, uint64_t *start_addr)
{
	struct emu_pe *pe = first_pe(c);
	struct emu_tce_table *t = NULL;
	uint64_t table_size, pages;
	int num = -1;
	long ret;

	for (int i = 0; i < EMU_MAX_TABLES; i++)
		if (c->tables[i] == NULL) {
			num = i;
			break;
		}
	if (num < 0)
		return -ENOSPC;
	if (page_shift >= 64 || !(emu_cfg(pe)->pgsizes & (1ULL << page_shift)))
		return -EINVAL;
	table_size = emu_pe_table_size(pe, page_shift, window_size, levels);
	if (table_size == 0)
		return -EINVAL;
	pages = table_size / page_bytes(c);
	ret = emu_mm_account(c->plat, pages, true);
	if (ret)
		return ret;
	ret = emu_pe_create_table(pe, num, page_shift, window_size, levels, &t);
	if (ret) {
		/* The kernel does not give the charge back when create_table() fails. */
		EMU_COUNT(c->plat, locked_leaked, table_size);
		return ret;
	}
	t->charged_bytes = table_size;
	emu_table_bytes_add(c->plat, (int64_t)table_size);
	for (struct emu_group *g = c->groups; g != NULL; g = g->next_in_container) {
		ret = emu_pe_set_window(&g->pe, num, t);
		if (ret) {
			for (struct emu_group *u = c->groups; u != NULL; u = u->next_in_container)
				emu_pe_unset_window(&u->pe, num);
			free_table(c, t);
			return ret;
		}
	}
	c->tables[num] = t;
	*start_addr = t->offset << t->page_shift;
	EMU_COUNT(c->plat, windows_created, 1);
	return 0;
}

/* tce_iommu_remove_window() */
static long remove_window(struct emu_container *c, uint64_t start_addr)
{
	struct emu_tce_table *t;
	int num = find_table(c, start_addr, &t);

	if (num < 0)
		return -EINVAL;
	tce_clear(c, t, t->offset, t->size);
	for (struct emu_group *g = c->groups; g != NULL; g = g->next_in_container)
		emu_pe_unset_window(&g->pe, num);
	free_table(c, t);
	c->tables[num] = NULL;
	EMU_COUNT(c->plat, windows_removed, 1);
	return 0;
}

/* tce_iommu_create_default_window(): created lazily, on the first MAP, UNMAP or
 * CREATE after the first group was attached. */
static long create_default_window(struct emu_container *c)
{
	uint64_t start = 0;
	long ret;

	if (!c->def_window_pending)
		return 0;
	if (c->groups == NULL)
		return -ENODEV;
	ret = create_window(c, 12, emu_cfg(first_pe(c))->tce32_size, 1, &start);
	if (ret == 0)
		c->def_window_pending = false;
	return ret;
}

/* --- ioctls ----------------------------------------------------------------- */

static long get_info(struct emu_container *c, void *arg)
{
	struct vfio_iommu_spapr_tce_info info;
	size_t minsz = offsetofend(struct vfio_iommu_spapr_tce_info, dma32_window_size);
	size_t ddwsz = offsetofend(struct vfio_iommu_spapr_tce_info, ddw);
	struct emu_platform_cfg *cfg;

	if (c->groups == NULL)
		return -ENXIO;
	cfg = emu_cfg(first_pe(c));
	COPY_FROM_USER(&info, arg, minsz);
	if (info.argsz < minsz)
		return -EINVAL;
	info.dma32_window_start = cfg->tce32_start;
	info.dma32_window_size = cfg->tce32_size;
	info.flags = 0;
	memset(&info.ddw, 0, sizeof(info.ddw));
	if (cfg->max_dyn_windows && c->v2) {
		info.flags |= VFIO_IOMMU_SPAPR_INFO_DDW;
		info.ddw.pgsizes = cfg->pgsizes;
		info.ddw.max_dynamic_windows_supported = cfg->max_dyn_windows;
		info.ddw.levels = cfg->max_levels;
	}
	if (info.argsz >= ddwsz)
		minsz = ddwsz;
	memcpy(arg, &info, minsz);
	return 0;
}

static long map_dma(struct emu_container *c, void *arg)
{
	struct vfio_iommu_type1_dma_map param;
	struct emu_tce_table *t = NULL;
	uint64_t mask;
	long ret;

	if (!c->enabled)
		return -EPERM;
	COPY_FROM_USER(&param, arg, offsetofend(struct vfio_iommu_type1_dma_map, size));
	if (param.argsz < offsetofend(struct vfio_iommu_type1_dma_map, size))
		return -EINVAL;
	if (param.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
		return -EINVAL;
	ret = create_default_window(c);
	if (ret)
		return ret;
	if (find_table(c, param.iova, &t) < 0)
		return -ENXIO;
	mask = (1ULL << t->page_shift) - 1;
	if ((param.size & mask) || (param.vaddr & mask))
		return -EINVAL;
	if (!(param.flags & (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)))
		return -EINVAL;
	/* iommu_tce_put_param_check() is "a || b" of two -EINVAL checks: the ioctl
	 * returns 1, not an error, for a misaligned IOVA. */
	if (param.iova & mask)
		return 1;
	return tce_build(c, t, param.iova >> t->page_shift, param.vaddr,
			 param.size >> t->page_shift, tce_perm(param.flags, emu_cfg(first_pe(c))->hv));
}

static long unmap_dma(struct emu_container *c, void *arg)
{
	struct vfio_iommu_type1_dma_unmap param;
	struct emu_tce_table *t = NULL;
	uint64_t mask;
	long ret;

	if (!c->enabled)
		return -EPERM;
	COPY_FROM_USER(&param, arg, offsetofend(struct vfio_iommu_type1_dma_unmap, size));
	if (param.argsz < offsetofend(struct vfio_iommu_type1_dma_unmap, size))
		return -EINVAL;
	if (param.flags)
		return -EINVAL;
	ret = create_default_window(c);
	if (ret)
		return ret;
	if (find_table(c, param.iova, &t) < 0)
		return -ENXIO;
	mask = (1ULL << t->page_shift) - 1;
	if (param.size & mask)
		return -EINVAL;
	if (param.iova & mask)
		return 1; /* iommu_tce_clear_param_check(), as above */
	tce_clear(c, t, param.iova >> t->page_shift, param.size >> t->page_shift);
	return 0;
}

static bool in_prereg(struct emu_container *c, struct emu_mm_mem *mem, struct emu_prereg ***link)
{
	for (struct emu_prereg **pp = &c->prereg; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->mem == mem) {
			if (link)
				*link = pp;
			return true;
		}
	return false;
}

/* tce_iommu_register_pages() */
static long register_pages(struct emu_container *c, uint64_t vaddr, uint64_t size)
{
	uint64_t pmask = page_bytes(c) - 1, entries = size / page_bytes(c);
	struct emu_mm_mem *mem;
	struct emu_prereg *pr;
	long ret;

	if ((vaddr & pmask) || (size & pmask) || vaddr + size < vaddr)
		return -EINVAL;
	mem = emu_mm_get(c->plat, vaddr, entries);
	if (mem != NULL) {
		if (in_prereg(c, mem, NULL)) {
			emu_mm_put(c->plat, mem);
			return -EBUSY;
		}
	} else {
		ret = emu_mm_new(c->plat, vaddr, entries, &mem);
		if (ret)
			return ret;
	}
	pr = calloc(1, sizeof(*pr));
	if (pr == NULL) {
		emu_mm_put(c->plat, mem);
		return -ENOMEM;
	}
	pr->mem = mem;
	pr->next = c->prereg;
	c->prereg = pr;
	c->enabled = true;
	return 0;
}

/* tce_iommu_prereg_free() */
static long prereg_free(struct emu_container *c, struct emu_prereg **link)
{
	struct emu_prereg *pr = *link;
	long ret = emu_mm_put(c->plat, pr->mem);

	if (ret)
		return ret;
	*link = pr->next;
	free(pr);
	return 0;
}

/* tce_iommu_unregister_pages(). Note the kernel's reference dance: mm_iommu_get()
 * takes a reference, so prereg_free() never sees the last one and the final put's
 * -EBUSY (mappings left) is dropped: unregistering mapped memory "succeeds" and
 * leaves it pinned, charged and orphaned. */
static long unregister_pages(struct emu_container *c, uint64_t vaddr, uint64_t size)
{
	uint64_t pmask = page_bytes(c) - 1;
	struct emu_prereg **link = NULL;
	struct emu_mm_mem *mem;
	long ret;

	if ((vaddr & pmask) || (size & pmask))
		return -EINVAL;
	mem = emu_mm_get(c->plat, vaddr, size / page_bytes(c));
	if (mem == NULL)
		return -ENOENT;
	ret = in_prereg(c, mem, &link) ? prereg_free(c, link) : -ENOENT;
	emu_mm_put(c->plat, mem);
	return ret;
}

static long register_ioctl(struct emu_container *c, void *arg, bool reg)
{
	struct vfio_iommu_spapr_register_memory param;
	size_t minsz = offsetofend(struct vfio_iommu_spapr_register_memory, size);
	long ret;

	if (reg) {
		ret = mm_set(c);
		if (ret)
			return ret;
	} else if (!c->mm_set) {
		return -EPERM;
	}
	COPY_FROM_USER(&param, arg, minsz);
	if (param.argsz < minsz || param.flags)
		return -EINVAL;
	return reg ? register_pages(c, param.vaddr, param.size)
		   : unregister_pages(c, param.vaddr, param.size);
}

/* tce_iommu_enable(): v1 charges the whole default window to locked_vm. */
static long enable(struct emu_container *c)
{
	uint64_t pages;
	long ret;

	if (c->enabled)
		return -EBUSY;
	if (c->groups == NULL)
		return -ENODEV;
	if (emu_cfg(first_pe(c))->tce32_size == 0)
		return -EPERM;
	ret = mm_set(c);
	if (ret)
		return ret;
	pages = emu_cfg(first_pe(c))->tce32_size / page_bytes(c);
	ret = emu_mm_account(c->plat, pages, true);
	if (ret)
		return ret;
	c->locked_pages = pages;
	c->enabled = true;
	return 0;
}

/* tce_iommu_disable() */
static void disable(struct emu_container *c)
{
	if (!c->enabled)
		return;
	c->enabled = false;
	emu_mm_account(c->plat, c->locked_pages, false);
	c->locked_pages = 0;
}

static long eeh_pe_op(struct emu_container *c, void *arg)
{
	struct vfio_eeh_pe_op op;
	long ret = 0;

	memset(&op, 0, sizeof(op));
	COPY_FROM_USER(&op, arg, offsetofend(struct vfio_eeh_pe_op, op));
	if (op.op == VFIO_EEH_PE_INJECT_ERR && op.argsz >= offsetofend(struct vfio_eeh_pe_op, err.mask))
		memcpy(&op, arg, offsetofend(struct vfio_eeh_pe_op, err.mask));
	for (struct emu_group *g = c->groups; g != NULL; g = g->next_in_container) {
		ret = emu_pe_eeh_op(&g->pe, &op);
		if (ret)
			return ret;
	}
	return ret;
}

/* The common head of TCE_CREATE and TCE_REMOVE: the mm, a group, argsz and flags.
 * Both structs start with argsz and flags. */
static long window_ioctl_head(struct emu_container *c, void *dst, const void *arg, size_t minsz)
{
	struct { uint32_t argsz, flags; } head;
	long ret = mm_set(c);

	if (ret)
		return ret;
	if (c->groups == NULL)
		return -ENXIO;
	COPY_FROM_USER(dst, arg, minsz);
	memcpy(&head, dst, sizeof(head));
	return head.argsz < minsz || head.flags ? -EINVAL : 0;
}

static long tce_create(struct emu_container *c, void *arg)
{
	struct vfio_iommu_spapr_tce_create create;
	size_t minsz = offsetofend(struct vfio_iommu_spapr_tce_create, start_addr);
	uint64_t start = 0;
	long ret = window_ioctl_head(c, &create, arg, minsz);

	if (ret == 0)
		ret = create_default_window(c);
	if (ret == 0)
		ret = create_window(c, create.page_shift, create.window_size, create.levels, &start);
	if (ret == 0) {
		create.start_addr = start;
		memcpy(arg, &create, minsz);
	}
	return ret;
}

static long tce_remove(struct emu_container *c, void *arg)
{
	struct vfio_iommu_spapr_tce_remove remove;
	long ret = window_ioctl_head(c, &remove, arg,
				     offsetofend(struct vfio_iommu_spapr_tce_remove, start_addr));

	if (ret)
		return ret;
	if (c->def_window_pending && remove.start_addr == 0) {
		c->def_window_pending = false;
		return 0;
	}
	return remove_window(c, remove.start_addr);
}

/* tce_iommu_ioctl() past VFIO_CHECK_EXTENSION */
static long spapr_ioctl(struct emu_container *c, unsigned long req, void *arg)
{
	if (c->mm_set && c->mm_pid != emu_caller_pid())
		return -EPERM;
	switch (req) {
	case VFIO_IOMMU_SPAPR_TCE_GET_INFO:
		return get_info(c, arg);
	case VFIO_IOMMU_MAP_DMA:
		return map_dma(c, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return unmap_dma(c, arg);
	case VFIO_IOMMU_SPAPR_REGISTER_MEMORY:
	case VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY:
		if (!c->v2)
			break;
		return register_ioctl(c, arg, req == VFIO_IOMMU_SPAPR_REGISTER_MEMORY);
	case VFIO_IOMMU_ENABLE:
		if (c->v2)
			break;
		return enable(c);
	case VFIO_IOMMU_DISABLE:
		if (c->v2)
			break;
		disable(c);
		return 0;
	case VFIO_EEH_PE_OP:
		return eeh_pe_op(c, arg);
	case VFIO_IOMMU_SPAPR_TCE_CREATE:
		if (!c->v2)
			break;
		return tce_create(c, arg);
	case VFIO_IOMMU_SPAPR_TCE_REMOVE:
		if (!c->v2)
			break;
		return tce_remove(c, arg);
	}
	return -ENOTTY;
}

/* --- groups in the container ------------------------------------------------ */

/* tce_iommu_attach_group() */
static int attach_group(struct emu_container *c, struct emu_group *g)
{
	struct emu_platform_cfg *cfg = emu_cfg(&g->pe);
	int ret = 0, i;

	if (c->v2 && cfg->max_dyn_windows == 0)
		return -EINVAL; /* v2 requires full support of dynamic DMA windows */
	if (!c->v2 && first_pe(c) != NULL)
		return -EBUSY; /* v1 does not share tables among PEs */
	if (g->attached)
		return -EBUSY;
	/* tce_iommu_take_ownership(): program the existing windows into the new PE */
	for (i = 0; i < EMU_MAX_TABLES; i++) {
		if (c->tables[i] == NULL)
			continue;
		ret = emu_pe_set_window(&g->pe, i, c->tables[i]);
		if (ret)
			break;
	}
	if (ret)
		for (i = 0; i < EMU_MAX_TABLES; i++)
			emu_pe_unset_window(&g->pe, i);
	if (first_pe(c) == NULL && c->tables[0] == NULL)
		c->def_window_pending = true;
	if (ret == 0)
		g->attached = true;
	return ret;
}

/* tce_iommu_detach_group() + tce_iommu_release_ownership(): every window is cleared
 * entry by entry (what makes closing a group expensive in a pSeries guest). */
static void detach_group(struct emu_container *c, struct emu_group *g)
{
	if (!g->attached)
		return;
	g->attached = false;
	for (int i = 0; i < EMU_MAX_TABLES; i++) {
		if (c->tables[i] == NULL)
			continue;
		emu_pe_clear_window_entries(&g->pe, c->tables[i], c->tables[i]->offset,
					    c->tables[i]->size, c->v2 ? unuse_page_v2 : NULL, c);
		emu_pe_tce_kill(&g->pe, linked_pes(c, c->tables[i]));
		emu_pe_unset_window(&g->pe, i);
	}
}

/* tce_iommu_release(): the driver's data goes when the last group leaves. */
static void spapr_release(struct emu_container *c)
{
	for (int i = 0; i < EMU_MAX_TABLES; i++)
		if (c->tables[i]) {
			free_table(c, c->tables[i]);
			c->tables[i] = NULL;
		}
	while (c->prereg != NULL) {
		if (prereg_free(c, &c->prereg) != 0) { /* WARN_ON in the kernel: memory stays */
			struct emu_prereg *pr = c->prereg;
			c->prereg = pr->next;
			free(pr);
		}
	}
	disable(c);
	c->driver_set = c->v2 = c->enabled = c->def_window_pending = c->mm_set = false;
}

/* vfio_ioctl_set_iommu() with the sPAPR driver as the only candidate. */
static long set_iommu(struct emu_container *c, unsigned long type)
{
	int ret = 0;

	if (c->groups == NULL || c->driver_set)
		return -EINVAL;
	if (spapr_check_extension(c->plat, type) <= 0)
		return -ENODEV; /* no driver claims it: type1 is not built on POWER */
	if (type != VFIO_SPAPR_TCE_IOMMU && type != VFIO_SPAPR_TCE_v2_IOMMU)
		return -EINVAL; /* tce_iommu_open(): "Wrong IOMMU type" */
	c->v2 = type == VFIO_SPAPR_TCE_v2_IOMMU;
	/* __vfio_container_attach_groups(), unwinding on failure */
	for (struct emu_group *g = c->groups; g != NULL; g = g->next_in_container) {
		ret = attach_group(c, g);
		if (ret)
			break;
	}
	if (ret) {
		for (struct emu_group *g = c->groups; g != NULL; g = g->next_in_container)
			detach_group(c, g);
		spapr_release(c);
		return ret;
	}
	c->driver_set = true;
	return 0;
}

long emu_container_ioctl(struct emu_container *c, unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return spapr_check_extension(c->plat, (unsigned long)arg);
	case VFIO_SET_IOMMU:
		return set_iommu(c, (unsigned long)arg);
	default:
		if (!c->driver_set)
			return -EINVAL;
		return spapr_ioctl(c, req, arg);
	}
}

/* vfio_container_attach_group(): called by VFIO_GROUP_SET_CONTAINER. */
int emu_container_attach_group(struct emu_container *c, struct emu_group *g)
{
	int ret;

	emu_pe_take_ownership(&g->pe); /* iommu_group_claim_dma_owner() */
	if (c->driver_set) {
		ret = attach_group(c, g);
		if (ret) {
			emu_pe_release_ownership(&g->pe);
			return ret;
		}
	}
	g->next_in_container = c->groups; /* list_add(): newest first */
	c->groups = g;
	if (c->idle) {
		c->idle = false;
		c->plat->idle_containers--;
	}
	g->container = c;
	g->container_users = 1;
	c->refs++;
	return 0;
}

/* vfio_group_detach_container() */
void emu_container_detach_group(struct emu_container *c, struct emu_group *g)
{
	struct emu_group **pp = &c->groups;

	if (c->driver_set)
		detach_group(c, g);
	while (*pp != NULL && *pp != g)
		pp = &(*pp)->next_in_container;
	if (*pp)
		*pp = g->next_in_container;
	g->next_in_container = NULL;
	emu_pe_release_ownership(&g->pe); /* iommu_group_release_dma_owner() */
	g->container = NULL;
	g->container_users = 0;
	if (c->driver_set && c->groups == NULL)
		spapr_release(c);
	if (c->groups == NULL && !c->idle) {
		c->idle = true;
		c->plat->idle_containers++;
	}
	emu_container_put(c);
}

void emu_container_put(struct emu_container *c)
{
	if (--c->refs > 0)
		return;
	c->plat->open_containers--;
	if (c->idle)
		c->plat->idle_containers--;
	free(c);
}
