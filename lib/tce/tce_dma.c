/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Making memory DMA-able: plan, check the locked-memory need before any ioctl, then
 * ENABLE (v1) or drop the pending default window, REGISTER and CREATE (v2), and MAP;
 * any failure rolls back so that nothing stays mapped, registered or charged. Memory
 * added later goes into the existing windows; removal unmaps before it unregisters.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tce_internal.h"

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static uint64_t trunc_pages(const struct tce_container *c, uint64_t bytes)
{
	return bytes >> c->info.page_shift << c->info.page_shift;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t hcalls_per_tce(const struct tce_container *c)
{
	return c->info.hv == TCE_HV_PSERIES ? 2 : 0; /* H_GET_TCE + H_PUT_TCE */
}

/* --- single calls ----------------------------------------------------------------- */

static long do_register(struct tce_container *c, uint64_t va, uint64_t len, bool reg)
{
	struct vfio_iommu_spapr_register_memory r = { .argsz = sizeof(r), .vaddr = va, .size = len };
	long ret = tce_ioctl(c, reg ? VFIO_IOMMU_SPAPR_REGISTER_MEMORY
				    : VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, &r);
	bool first = false;

	if (ret) {
		tce_log(TCE_LOG_ERR, "cannot %sregister memory 0x%" PRIx64 "+0x%" PRIx64 ": %s",
			reg ? "" : "un", va, len, strerror((int)-ret));
		return ret;
	}
	if (reg && tce_prereg_take(va, len, &first) != 0)
		first = true; /* no memory for the bookkeeping: count it as a charge of its own */
	if (reg) {
		c->reg_bytes += len;
		tce_charge_shared(c, first ? (int64_t)len : 0);
	} else {
		c->reg_bytes -= len;
		tce_charge_shared(c, tce_prereg_drop(va, len) ? -(int64_t)len : 0);
	}
	return 0;
}

static int add_reg(struct tce_container *c, uint64_t va, uint64_t len)
{
	struct tce_plan_reg *r = realloc(c->regs, (c->nregs + 1) * sizeof(*r));

	if (r == NULL)
		return -ENOMEM;
	c->regs = r;
	c->regs[c->nregs++] = (struct tce_plan_reg){ va, len };
	return 0;
}

static bool has_reg(const struct tce_container *c, uint64_t va, uint64_t len)
{
	for (unsigned int i = 0; i < c->nregs; i++)
		if (c->regs[i].va == va && c->regs[i].len == len)
			return true;
	return false;
}

/* Register [va, va+len) in the pieces the process has registered already (another
 * container's: the same registration, charged once) and the rest anew. */
static long register_range(struct tce_container *c, uint64_t va, uint64_t len)
{
	struct tce_plan_reg *pieces = NULL;
	unsigned int n = 0;
	long ret = tce_prereg_plan(va, len, &pieces, &n);

	for (unsigned int i = 0; ret == 0 && i < n; i++) {
		if (has_reg(c, pieces[i].va, pieces[i].len))
			continue;
		ret = do_register(c, pieces[i].va, pieces[i].len, true);
		if (ret == 0 && (ret = add_reg(c, pieces[i].va, pieces[i].len)) != 0)
			do_register(c, pieces[i].va, pieces[i].len, false);
	}
	free(pieces);
	return ret;
}

static long do_map(struct tce_container *c, uint64_t va, uint64_t iova, uint64_t len, unsigned int w)
{
	struct vfio_iommu_type1_dma_map m = { .argsz = sizeof(m), .flags = RW, .vaddr = va,
					      .iova = iova, .size = len };
	uint64_t t0;
	long ret;

	if (!tce_plan_in_window(c->win[w].start, c->win[w].size, iova, len)) {
		/* never asked of the kernel: PowerNV's would write TCEs past the table */
		tce_log(TCE_LOG_ERR, "refusing to map 0x%" PRIx64 "+0x%" PRIx64 " at IOVA 0x%" PRIx64
			": not inside its DMA window 0x%" PRIx64 "+0x%" PRIx64 " (a bug: please report it)",
			va, len, iova, c->win[w].start, c->win[w].size);
		return -ERANGE;
	}
	t0 = tce_sys_now_ns();
	ret = tce_ioctl(c, VFIO_IOMMU_MAP_DMA, &m);
	c->st.map_ns += tce_sys_now_ns() - t0;
	if (ret) {
		tce_log(TCE_LOG_ERR, "cannot map 0x%" PRIx64 "+0x%" PRIx64 " at IOVA 0x%" PRIx64 ": %s",
			va, len, iova, ret > 0 ? "misaligned IOVA" : strerror((int)-ret));
		return ret > 0 ? -EINVAL : ret;
	}
	uint64_t tces = len >> c->win[w].page_shift;
	c->st.tces += tces;
	c->st.hcalls_est += hcalls_per_tce(c) * tces;
	return tce_xlate_add(c, va, iova, len, w);
}

static long do_unmap(struct tce_container *c, uint64_t iova, uint64_t len, unsigned int w)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = len };
	long ret = tce_ioctl(c, VFIO_IOMMU_UNMAP_DMA, &u);

	if (ret)
		tce_log(TCE_LOG_ERR, "cannot unmap IOVA 0x%" PRIx64 "+0x%" PRIx64 ": %s", iova, len,
			ret > 0 ? "misaligned IOVA" : strerror((int)-ret));
	else
		c->st.hcalls_est += hcalls_per_tce(c) * (len >> c->win[w].page_shift);
	return ret > 0 ? -EINVAL : ret;
}

static long remove_window(struct tce_container *c, uint64_t start)
{
	struct vfio_iommu_spapr_tce_remove rm = { .argsz = sizeof(rm), .start_addr = start };
	long ret = tce_ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm);

	if (ret)
		tce_log(TCE_LOG_ERR, "cannot remove the DMA window at 0x%" PRIx64 ": %s", start,
			strerror((int)-ret));
	return ret;
}

static long create_window(struct tce_container *c, const struct tce_plan_window *pw)
{
	struct vfio_iommu_spapr_tce_create cr = { .argsz = sizeof(cr), .page_shift = pw->page_shift,
						   .window_size = pw->size, .levels = pw->levels };
	struct tce_window_state *w = &c->win[c->nwin];
	long ret = tce_ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr);

	if (ret) {
		tce_log(TCE_LOG_ERR, "cannot create a %" PRIu64 " MiB DMA window of %u KiB pages"
			" (%u levels): %s", pw->size >> 20, 1u << (pw->page_shift - 10), pw->levels,
			strerror((int)-ret));
		return ret;
	}
	*w = (struct tce_window_state){ .start = cr.start_addr, .size = pw->size,
					.table_bytes = pw->table_bytes, .page_shift = pw->page_shift,
					.levels = pw->levels };
	c->nwin++;
	tce_charge(c, (int64_t)trunc_pages(c, pw->table_bytes));
	c->st.table_bytes += pw->table_bytes;
	if (c->info.hv == TCE_HV_PSERIES)
		c->st.hcalls_est += ((pw->size >> pw->page_shift) + 511) / 512; /* H_STUFF_TCE */
	if (c->plan.fixed_iova && cr.start_addr != pw->start) {
		tce_log(TCE_LOG_ERR, "the platform put the DMA window at 0x%llx, not at 0x%" PRIx64
			": the fixed IOVAs cannot be mapped", cr.start_addr, pw->start);
		return -ENOSPC;
	}
	return 0;
}

/* v2 keeping the default window: the kernel creates it (and charges its table) at the
 * first MAP; removing it at teardown, like any window, clears it and returns the table. */
static long use_default_window(struct tce_container *c, const struct tce_plan_window *pw)
{
	c->win[c->nwin++] = (struct tce_window_state){ .start = pw->start, .size = pw->size,
						       .table_bytes = pw->table_bytes,
						       .page_shift = pw->page_shift, .levels = 1 };
	tce_charge(c, (int64_t)trunc_pages(c, pw->table_bytes));
	c->st.table_bytes += pw->table_bytes;
	if (c->info.hv == TCE_HV_PSERIES)
		c->st.hcalls_est += ((pw->size >> pw->page_shift) + 511) / 512; /* H_STUFF_TCE */
	return 0;
}

/* --- teardown ----------------------------------------------------------------------- */

/* closing: the group is about to be detached, which clears every TCE of a v1 window
 * anyway; unmapping first would only double the hypercalls. */
void tce_dma_teardown(struct tce_container *c, bool closing)
{
	if (c->type == VFIO_SPAPR_TCE_v2_IOMMU) {
		/* removing a window clears its TCEs: the registrations become free */
		for (unsigned int w = 0; w < c->nwin; w++) {
			if (remove_window(c, c->win[w].start) == 0)
				tce_charge(c, -(int64_t)trunc_pages(c, c->win[w].table_bytes));
			c->st.hcalls_est += hcalls_per_tce(c) * (c->win[w].size >> c->win[w].page_shift);
		}
		for (unsigned int i = 0; i < c->nregs; i++)
			do_register(c, c->regs[i].va, c->regs[i].len, false);
	} else {
		for (unsigned int i = 0; !closing && i < c->nmaps; i++)
			do_unmap(c, c->maps[i].iova, c->maps[i].len, c->maps[i].window);
		if (c->enabled && tce_ioctl(c, VFIO_IOMMU_DISABLE, NULL) == 0)
			c->enabled = false;
	}
	/* v1: the default window's table stays charged until the container is released */
	tce_charge(c, -(int64_t)(closing || c->type == VFIO_SPAPR_TCE_v2_IOMMU ? c->charged :
				 c->charged - trunc_pages(c, c->plan.windows[0].table_bytes)));
	c->nwin = c->nregs = c->nmaps = 0;
	c->st.dma_bytes = c->st.table_bytes = 0;
	c->mapped = false;
}

/* --- the initial mapping ---------------------------------------------------------- */

static int check_memlock(uint64_t need)
{
	struct tce_memlock ml;
	uint64_t raise = 0;
	char err[400];
	int ret = tce_memlock_read(&ml);

	if (ret) {
		tce_log(TCE_LOG_ERR, "cannot read RLIMIT_MEMLOCK: %s", strerror(-ret));
		return ret;
	}
	switch (tce_memlock_check(need, &ml, &raise, err, sizeof(err))) {
	case TCE_MEMLOCK_OK:
		return 0;
	case TCE_MEMLOCK_RAISE_SOFT:
		ret = tce_sys_set_memlock_soft(raise);
		if (ret == 0) {
			tce_log(TCE_LOG_INFO, "raised the RLIMIT_MEMLOCK soft limit to %" PRIu64 " bytes", raise);
			return 0;
		}
		tce_log(TCE_LOG_ERR, "cannot raise RLIMIT_MEMLOCK to %" PRIu64 " bytes: %s", raise, strerror(-ret));
		return -ENOMEM;
	default:
		tce_log(TCE_LOG_ERR, "%s", err);
		return -ENOMEM;
	}
}

static long exec_v1(struct tce_container *c)
{
	const struct tce_plan *p = &c->plan;
	long ret = tce_ioctl(c, VFIO_IOMMU_ENABLE, NULL);

	if (ret) {
		tce_log(TCE_LOG_ERR, "cannot enable the v1 IOMMU: %s", strerror((int)-ret));
		return ret;
	}
	c->enabled = true;
	tce_charge(c, (int64_t)trunc_pages(c, c->info.dma32_size));
	c->win[0] = (struct tce_window_state){ .start = c->info.dma32_start, .size = c->info.dma32_size,
					       .table_bytes = p->windows[0].table_bytes, .page_shift = 12,
					       .levels = 1 };
	c->nwin = 1;
	for (unsigned int i = 0; i < p->nmaps; i++) {
		const struct tce_plan_map *m = &p->maps[i];
		ret = do_map(c, m->va, c->info.dma32_start + m->offset, m->len, 0);
		if (ret)
			return ret;
		if (i == 0) { /* the first MAP created the default window and its table */
			tce_charge(c, (int64_t)trunc_pages(c, p->windows[0].table_bytes));
			c->st.table_bytes += p->windows[0].table_bytes;
			if (c->info.hv == TCE_HV_PSERIES)
				c->st.hcalls_est += ((c->info.dma32_size >> 12) + 511) / 512;
		}
	}
	return 0;
}

static long exec_v2(struct tce_container *c)
{
	const struct tce_plan *p = &c->plan;
	long ret;

	if (p->remove_default) {
		/* still pending (nothing mapped yet): dropping it costs nothing */
		ret = remove_window(c, c->info.dma32_start);
		if (ret)
			return ret;
		c->default_removed = true;
	}
	for (unsigned int i = 0; i < p->nregs; i++)
		if ((ret = register_range(c, p->regs[i].va, p->regs[i].len)) != 0)
			return ret;
	for (unsigned int w = 0; w < p->nwindows; w++)
		if ((ret = p->windows[w].existing ? use_default_window(c, &p->windows[w])
						  : create_window(c, &p->windows[w])) != 0)
			return ret;
	for (unsigned int i = 0; i < p->nmaps; i++) {
		const struct tce_plan_map *m = &p->maps[i];
		ret = do_map(c, m->va, c->win[m->window].start + m->offset, m->len, m->window);
		if (ret)
			return ret;
	}
	return 0;
}

static void note_window_use(struct tce_container *c)
{
	for (unsigned int i = 0; i < c->nmaps; i++) {
		struct tce_window_state *w = &c->win[c->maps[i].window];
		uint64_t end = c->maps[i].iova - w->start + c->maps[i].len;
		if (end > w->next_off)
			w->next_off = end;
	}
}

/* Pinned bytes of the plan the process registered already: charged once, not again. */
static uint64_t shared_bytes(const struct tce_plan *p)
{
	uint64_t bytes = 0;

	for (unsigned int i = 0; i < p->nregs; i++) {
		uint64_t b = tce_prereg_bytes_within(p->regs[i].va, p->regs[i].len);
		bytes += min_u64(b, p->regs[i].len);
	}
	return min_u64(bytes, p->cost.locked_bytes);
}

int tce_dma_map(struct tce_container *c, const struct tce_region *regions, unsigned int n,
		const struct tce_plan_opts *opts)
{
	char err[400];
	long ret;

	if (c->mapped) {
		tce_log(TCE_LOG_ERR, "memory is already mapped in this container: add more with tce_dma_add()");
		return -EBUSY;
	}
	tce_plan_free(&c->plan);
	ret = tce_plan_build(regions, n, &c->info, opts, &c->plan, err, sizeof(err));
	if (ret) {
		tce_log(TCE_LOG_ERR, "%s", err);
		return (int)ret;
	}
	if (c->plan.unfit_bytes)
		tce_log(TCE_LOG_WARN, "%" PRIu64 " MiB do not fit the DMA window and stay unmapped",
			c->plan.unfit_bytes >> 20);
	/* what the kernel charges now, and what registering the memory added later will
	 * (counted by the process's first container: later ones share its registrations) */
	ret = check_memlock(c->plan.cost.locked_bytes - shared_bytes(&c->plan) +
			    (tce_process_charged() == 0 ? c->plan.cost.growth_bytes : 0));
	if (ret)
		return (int)ret;
	ret = c->type == VFIO_SPAPR_TCE_v2_IOMMU ? exec_v2(c) : exec_v1(c);
	if (ret) {
		tce_dma_teardown(c, false);
		return (int)ret;
	}
	c->mapped = true;
	note_window_use(c);
	return 0;
}

/* --- memory added and removed later ----------------------------------------------- */

/* The window with the largest page the region can use. */
static int pick_window(const struct tce_container *c, const struct tce_region *r)
{
	int best = -1;

	for (unsigned int w = 0; w < c->nwin; w++) {
		unsigned int s = tce_best_page_shift(r, 1ULL << c->win[w].page_shift);
		if (s && (best < 0 || c->win[w].page_shift > c->win[best].page_shift))
			best = (int)w;
	}
	return best;
}

static int find_mapping(const struct tce_container *c, uint64_t va)
{
	for (unsigned int i = 0; i < c->nmaps; i++)
		if (c->maps[i].va == va)
			return (int)i;
	return -1;
}

/* Undo a partial tce_dma_add(): its maps, then its registrations. */
static void add_rollback(struct tce_container *c, const struct tce_region *r, unsigned int mapped,
			 unsigned int first_reg)
{
	for (unsigned int k = 0; k < mapped; k++) {
		int i = find_mapping(c, r[k].va);
		if (i >= 0 && do_unmap(c, c->maps[i].iova, c->maps[i].len, c->maps[i].window) == 0)
			tce_xlate_remove(c, (unsigned int)i);
	}
	while (c->nregs > first_reg) {
		c->nregs--;
		do_register(c, c->regs[c->nregs].va, c->regs[c->nregs].len, false);
	}
}

/* The window's live mappings as (offset, length), by offset. */
static struct tce_plan_reg *window_maps(const struct tce_container *c, unsigned int w, unsigned int *n)
{
	struct tce_plan_reg *used = malloc((c->nmaps + 1) * sizeof(*used));

	*n = 0;
	for (unsigned int k = 0; used && k < c->nmaps; k++) {
		const struct tce_mapping *m = &c->maps[c->by_iova[k]];
		if (m->window == w)
			used[(*n)++] = (struct tce_plan_reg){ m->iova - c->win[w].start, m->len };
	}
	return used;
}

static int lowest_free(const struct tce_container *c, unsigned int w, uint64_t len, uint64_t align, uint64_t *off)
{
	unsigned int n;
	struct tce_plan_reg *used = window_maps(c, w, &n);
	int ret;

	if (used == NULL)
		return -ENOMEM;
	ret = tce_plan_first_fit(used, n, c->win[w].size, len, align, off);
	free(used);
	return ret;
}

static uint64_t window_used(const struct tce_container *c, unsigned int w)
{
	uint64_t bytes = 0;

	for (unsigned int k = 0; k < c->nmaps; k++)
		if (c->maps[k].window == w)
			bytes += c->maps[k].len;
	return bytes;
}

int tce_dma_add(struct tce_container *c, const struct tce_region *regions, unsigned int n)
{
	bool v2 = c->type == VFIO_SPAPR_TCE_v2_IOMMU;
	uint64_t need = 0, saved_off[2] = { c->win[0].next_off, c->win[1].next_off };
	unsigned int mapped = 0, first_reg = c->nregs;
	long ret = 0;

	if (!c->mapped) {
		tce_log(TCE_LOG_ERR, "nothing is mapped yet: map with tce_dma_map() first");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++)
		if (v2) /* what the process registered already is not charged again */
			need += regions[i].len - min_u64(regions[i].len,
							 tce_prereg_bytes_within(regions[i].va, regions[i].len));
	if ((ret = check_memlock(need)) != 0)
		return (int)ret;
	for (unsigned int i = 0; i < n && ret == 0; i++) {
		const struct tce_region *r = &regions[i];
		int w = pick_window(c, r);
		struct tce_window_state *win;
		uint64_t off, align;

		if (w < 0) {
			tce_log(TCE_LOG_ERR, "memory 0x%" PRIx64 "+0x%" PRIx64 " fits the page size of no"
				" DMA window", r->va, r->len);
			ret = -EINVAL;
			break;
		}
		win = &c->win[w];
		align = 1ULL << win->page_shift;
		if (r->iova != TCE_IOVA_ANY) {
			/* the caller's IOVA: it must lie inside that window */
			w = -1;
			for (unsigned int k = 0; k < c->nwin; k++)
				if (tce_plan_in_window(c->win[k].start, c->win[k].size, r->iova, r->len) &&
				    !((r->iova | r->va | r->len) & ((1ULL << c->win[k].page_shift) - 1)))
					w = (int)k;
			if (w < 0) {
				tce_log(TCE_LOG_ERR, "IOVA 0x%" PRIx64 "+0x%" PRIx64 " is outside the DMA windows"
					" (or not aligned to their pages): it cannot be mapped", r->iova, r->len);
				ret = -ENOSPC;
				break;
			}
			if (v2 && (ret = register_range(c, r->va, r->len)) != 0)
				break;
			ret = do_map(c, r->va, r->iova, r->len, (unsigned int)w);
			if (ret == 0) {
				/* memory added later without an IOVA goes after it */
				uint64_t end = r->iova - c->win[w].start + r->len;
				if (end > c->win[w].next_off)
					c->win[w].next_off = end;
				mapped++;
			}
			continue;
		}
		if ((ret = lowest_free(c, (unsigned int)w, r->len, align, &off)) != 0) {
			if (ret == -ENOSPC)
				tce_log(TCE_LOG_ERR, "the %" PRIu64 " MiB DMA window is full (%" PRIu64 " MiB used,"
					" %" PRIu64 " MiB more asked): size it for the memory to come (window_min)",
					win->size >> 20, window_used(c, (unsigned int)w) >> 20, r->len >> 20);
			break;
		}
		if (v2 && (ret = register_range(c, r->va, r->len)) != 0)
			break;
		ret = do_map(c, r->va, win->start + off, r->len, (unsigned int)w);
		if (ret == 0) {
			if (off + r->len > win->next_off)
				win->next_off = off + r->len;
			mapped++;
		}
	}
	if (ret) {
		add_rollback(c, regions, mapped, first_reg);
		c->win[0].next_off = saved_off[0];
		c->win[1].next_off = saved_off[1];
	}
	return (int)ret;
}

int tce_dma_remove(struct tce_container *c, uint64_t va, uint64_t len)
{
	uint64_t end = va + len;
	bool found = false;
	long ret;

	for (unsigned int i = 0; i < c->nmaps;) {
		struct tce_mapping m = c->maps[i];
		uint64_t lo = va > m.va ? va : m.va, hi = end < m.va + m.len ? end : m.va + m.len;
		uint64_t pmask = (1ULL << c->win[m.window].page_shift) - 1;

		if (lo >= hi) {
			i++;
			continue;
		}
		if ((lo | hi) & pmask) {
			tce_log(TCE_LOG_ERR, "cannot remove 0x%" PRIx64 "+0x%" PRIx64 ": not whole %u KiB"
				" IOMMU pages", va, len, 1u << (c->win[m.window].page_shift - 10));
			return -EINVAL;
		}
		ret = do_unmap(c, m.iova + (lo - m.va), hi - lo, m.window);
		if (ret)
			return (int)ret;
		found = true;
		tce_xlate_remove(c, i);
		/* what is left of the mapping on either side stays mapped */
		if (lo > m.va && (ret = tce_xlate_add(c, m.va, m.iova, lo - m.va, m.window)) != 0)
			return (int)ret;
		if (hi < m.va + m.len &&
		    (ret = tce_xlate_add(c, hi, m.iova + (hi - m.va), m.va + m.len - hi, m.window)) != 0)
			return (int)ret;
		i = 0; /* the array changed: start over (removal is rare) */
	}
	/* unmapped first, now the registrations wholly inside the range can go */
	for (unsigned int i = 0; i < c->nregs;) {
		struct tce_plan_reg r = c->regs[i];
		if (r.va >= va && r.va + r.len <= end && do_register(c, r.va, r.len, false) == 0) {
			memmove(&c->regs[i], &c->regs[i + 1], (c->nregs - i - 1) * sizeof(r));
			c->nregs--;
			found = true;
			continue;
		}
		i++;
	}
	if (!found)
		return -ENOENT; /* not logged: the caller knows whether that is an error */
	return 0;
}
