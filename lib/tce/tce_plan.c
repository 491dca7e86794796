/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DMA planner. For v2 (dynamic windows): the IOMMU page is the largest size the
 * platform offers that the backing pages and the alignment allow; the window is the
 * next power of two over a compact IOVA layout (or over the caller's fixed IOVAs);
 * memory is registered in one call per VA-contiguous run of one page size and mapped
 * in one call per VA- and IOVA-contiguous run. The pending default window is dropped
 * first, which costs nothing while it is pending. For v1: the fixed default window,
 * with what does not fit reported (or left out, on request).
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tce_plan.h"

#define MiB (UINT64_C(1) << 20)
#define DEFAULT_MAX_LEVEL_BYTES (64ULL << 20)
#define STUFF_BATCH 512 /* TCEs per H_STUFF_TCE */
#define MAX_WINDOW (UINT64_C(1) << 59) /* bus addresses of a dynamic window: a pSeries one starts there */

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static unsigned int ilog2(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

/* 0 when it does not fit 64 bits */
static uint64_t next_pow2(uint64_t v)
{
	return v <= 1 ? 1 : v > (1ULL << 63) ? 0 : 1ULL << (64 - __builtin_clzll(v - 1));
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static uint64_t trunc_pages(uint64_t bytes, unsigned int page_shift)
{
	return bytes >> page_shift << page_shift; /* the kernel charges bytes >> PAGE_SHIFT */
}

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

uint64_t tce_table_bytes(enum tce_hv hv, unsigned int page_shift, uint64_t window_size,
			 unsigned int levels, unsigned int kernel_page_shift)
{
	uint64_t entries = window_size >> page_shift, bytes = 0, level_bytes, remaining;
	unsigned int shift_per_level;

	if (hv != TCE_HV_POWERNV)
		return entries * 8; /* one level of 8-byte TCEs */
	if (levels == 0 || entries == 0)
		return 0;
	/* Each level is a power of two of at least a kernel page; the first level holds
	 * the entries (at least 4 KiB), every next one 8 bytes per table below it. The
	 * userspace view doubles it. */
	shift_per_level = (ilog2(entries) + levels - 1) / levels + 3;
	if (shift_per_level < kernel_page_shift)
		shift_per_level = kernel_page_shift;
	level_bytes = 1ULL << shift_per_level;
	remaining = entries * 8 < 4096 ? 4096 : entries * 8;
	for (unsigned int l = 0; l < levels; l++) {
		bytes += div_up(remaining, level_bytes) * level_bytes;
		remaining = remaining / level_bytes * 8;
		if (remaining < level_bytes)
			remaining = level_bytes;
	}
	return 2 * bytes;
}

/* --- input ----------------------------------------------------------------------- */

static int cmp_va(const void *a, const void *b)
{
	const struct tce_region *x = a, *y = b;

	return x->va < y->va ? -1 : x->va > y->va;
}

static int check_regions(struct tce_region *r, unsigned int n, char *err, size_t errlen)
{
	bool fixed = r[0].iova != TCE_IOVA_ANY;

	if (n == 0)
		return fail(err, errlen, -EINVAL, "no memory to map");
	for (unsigned int i = 0; i < n; i++) {
		if (!is_pow2(r[i].page_size) || r[i].page_size < 4096 || r[i].len == 0 ||
		    (r[i].va | r[i].len) & (r[i].page_size - 1))
			return fail(err, errlen, -EINVAL,
				    "memory 0x%" PRIx64 "+0x%" PRIx64 " is not whole pages of %" PRIu64 " bytes",
				    r[i].va, r[i].len, r[i].page_size);
		if ((r[i].iova != TCE_IOVA_ANY) != fixed)
			return fail(err, errlen, -EINVAL,
				    "either every range has a fixed IOVA or none has");
	}
	qsort(r, n, sizeof(*r), cmp_va);
	for (unsigned int i = 1; i < n; i++)
		if (r[i - 1].va + r[i - 1].len > r[i].va)
			return fail(err, errlen, -EINVAL, "memory ranges overlap at 0x%" PRIx64, r[i].va);
	return 0;
}

/* Largest page in `mask` that the backing page and the alignment of the range allow. */
unsigned int tce_best_page_shift(const struct tce_region *r, uint64_t mask)
{
	uint64_t align = r->va | r->len | (r->iova == TCE_IOVA_ANY ? 0 : r->iova);
	unsigned int limit = ilog2(r->page_size);

	if (align && (unsigned int)__builtin_ctzll(align) < limit)
		limit = __builtin_ctzll(align);
	for (int s = (int)limit; s >= 12; s--)
		if (mask & (1ULL << s))
			return s;
	return 0;
}

/* --- building the lists ------------------------------------------------------------ */

static int add_map(struct tce_plan *p, uint64_t va, uint64_t len, uint64_t off, unsigned int w)
{
	struct tce_plan_map *last = p->nmaps ? &p->maps[p->nmaps - 1] : NULL;

	p->dma_bytes += len;
	if (last && last->window == w && last->va + last->len == va && last->offset + last->len == off) {
		last->len += len; /* coalesce: contiguous in VA and in IOVA */
		return 0;
	}
	struct tce_plan_map *m = realloc(p->maps, (p->nmaps + 1) * sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	p->maps = m;
	p->maps[p->nmaps++] = (struct tce_plan_map){ va, len, off, w };
	return 0;
}

/* One REGISTER per VA-contiguous run of one page size (a registration's IOMMU page is
 * the smallest page and alignment inside it). */
static int build_regs(struct tce_plan *p, const struct tce_region *r, unsigned int n,
		      unsigned int kernel_page_shift, char *err, size_t errlen)
{
	uint64_t kmask = (1ULL << kernel_page_shift) - 1;

	for (unsigned int i = 0; i < n; i++) {
		struct tce_plan_reg *last = p->nregs ? &p->regs[p->nregs - 1] : NULL;

		if ((r[i].va | r[i].len) & kmask)
			return fail(err, errlen, -EINVAL,
				    "memory 0x%" PRIx64 "+0x%" PRIx64 " is not aligned to the kernel page (%" PRIu64 " bytes)",
				    r[i].va, r[i].len, kmask + 1);
		if (last && last->va + last->len == r[i].va && r[i - 1].page_size == r[i].page_size) {
			last->len += r[i].len;
			continue;
		}
		struct tce_plan_reg *g = realloc(p->regs, (p->nregs + 1) * sizeof(*g));
		if (g == NULL)
			return -ENOMEM;
		p->regs = g;
		p->regs[p->nregs++] = (struct tce_plan_reg){ r[i].va, r[i].len };
	}
	return 0;
}

/* --- v1 ------------------------------------------------------------------------------ */

static int plan_v1(struct tce_plan *p, const struct tce_region *r, unsigned int n,
		   const struct tce_iommu_info *info, const struct tce_plan_opts *o,
		   char *err, size_t errlen)
{
	uint64_t start = info->dma32_start, size = info->dma32_size, next = 0, total = 0;
	int ret;

	if (size == 0)
		return fail(err, errlen, -ENOSPC, "the platform has no DMA window (v1 window size 0)");
	p->type = VFIO_SPAPR_TCE_IOMMU;
	p->fixed_iova = r[0].iova != TCE_IOVA_ANY;
	p->nwindows = 1;
	p->windows[0] = (struct tce_plan_window){ .start = start, .size = size, .page_shift = 12,
		.levels = 1, .table_bytes = tce_table_bytes(info->hv, 12, size, 1, info->page_shift) };
	for (unsigned int i = 0; i < n; i++) {
		uint64_t off, fit;

		total += r[i].len;
		if (r[i].iova == TCE_IOVA_ANY) {
			off = next;
			fit = off < size ? (r[i].len < size - off ? r[i].len : size - off) : 0;
		} else {
			off = r[i].iova - start;
			fit = r[i].iova >= start && off < size && r[i].len <= size - off ? r[i].len : 0;
		}
		p->unfit_bytes += r[i].len - fit;
		if (fit && (ret = add_map(p, r[i].va, fit, off, 0)) != 0)
			return ret;
		next = off + fit;
	}
	if (p->unfit_bytes && p->fixed_iova && !(o->flags & TCE_PLAN_PARTIAL))
		return fail(err, errlen, -ENOSPC,
			    "%" PRIu64 " MiB of DMA memory have IOVAs outside the %" PRIu64 " MiB DMA window"
			    " 0x%" PRIx64 "-0x%" PRIx64 " (no dynamic DMA windows on this platform)",
			    div_up(p->unfit_bytes, MiB), size / MiB, start, start + size - 1);
	if (p->unfit_bytes && !(o->flags & TCE_PLAN_PARTIAL))
		return fail(err, errlen, -ENOSPC,
			    "%" PRIu64 " MiB of DMA memory do not fit the %" PRIu64 " MiB DMA window at 0x%" PRIx64
			    " (no dynamic DMA windows on this platform): %" PRIu64 " MiB are left over;"
			    " make at most %" PRIu64 " MiB DMA-able",
			    div_up(total, MiB), size / MiB, start, div_up(p->unfit_bytes, MiB),
			    (total - p->unfit_bytes) / MiB);
	return 0;
}

/* --- v2 ------------------------------------------------------------------------------ */

/* Fewest levels whose every level the kernel can allocate (PowerNV); pSeries: one. */
static int choose_levels(const struct tce_iommu_info *info, unsigned int page_shift,
			 uint64_t size, uint64_t max_level_bytes)
{
	unsigned int entries_shift = ilog2(size) - page_shift;
	unsigned int max = info->levels ? info->levels : 1;

	if (info->hv != TCE_HV_POWERNV)
		return 1;
	for (unsigned int l = 1; l <= max; l++) {
		unsigned int level_shift = (entries_shift + l - 1) / l + 3;
		if (level_shift < info->page_shift)
			level_shift = info->page_shift;
		if ((level_shift - 3) * l + page_shift >= 55)
			break;
		if ((1ULL << level_shift) <= max_level_bytes)
			return l;
	}
	return -1;
}

static int finish_window(struct tce_plan *p, unsigned int w, uint64_t need,
			 const struct tce_iommu_info *info, const struct tce_plan_opts *o,
			 char *err, size_t errlen)
{
	struct tce_plan_window *win = &p->windows[w];
	uint64_t max_level = o->max_level_bytes ? o->max_level_bytes : DEFAULT_MAX_LEVEL_BYTES;
	int levels;

	if (need > MAX_WINDOW)
		return fail(err, errlen, -ENOSPC,
			    "a DMA window of %" PRIu64 " GiB asked for: more than any sPAPR platform gives"
			    " (at most %" PRIu64 " GiB)", need >> 30, MAX_WINDOW >> 30);
	win->size = next_pow2(need);
	if (win->size < (1ULL << win->page_shift))
		win->size = 1ULL << win->page_shift;
	levels = choose_levels(info, win->page_shift, win->size, max_level);
	if (levels < 0)
		return fail(err, errlen, -ENOSPC,
			    "a %" PRIu64 " MiB window of %u KiB pages needs a TCE table the kernel cannot"
			    " allocate in %u levels; use larger pages", win->size / MiB,
			    1u << (win->page_shift - 10), info->levels);
	win->levels = levels;
	win->table_bytes = tce_table_bytes(info->hv, win->page_shift, win->size, levels,
					   info->page_shift);
	return 0;
}

/* Fixed IOVAs: one window at the platform's address for its slot, covering them all. */
static int layout_fixed(struct tce_plan *p, const struct tce_region *r, unsigned int n,
			char *err, size_t errlen)
{
	struct tce_plan_window *win = &p->windows[0];
	uint64_t lo = UINT64_MAX, hi = 0;
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		if (r[i].iova < lo)
			lo = r[i].iova;
		if (r[i].iova + r[i].len > hi)
			hi = r[i].iova + r[i].len;
	}
	if (lo < win->start)
		return fail(err, errlen, -ENOSPC,
			    "IOVAs 0x%" PRIx64 "-0x%" PRIx64 " cannot be mapped: a dynamic DMA window on this"
			    " platform starts at 0x%" PRIx64, lo, hi - 1, win->start);
	for (unsigned int i = 0; i < n; i++)
		if ((ret = add_map(p, r[i].va, r[i].len, r[i].iova - win->start, 0)) != 0)
			return ret;
	return 0;
}

/* Fixed IOVAs that all lie in the default 32-bit window, some below where a dynamic
 * window can be (IOVA=VA in a pSeries guest, whose dynamic windows start far above any
 * virtual address, with DPDK's memory placed low): v2 maps them into the default window
 * as it is, in its 4 KiB pages. */
static bool fits_default_only(const struct tce_region *r, unsigned int n, const struct tce_iommu_info *info)
{
	uint64_t end = info->dma32_start + info->dma32_size;
	bool below_ddw = false;

	if (info->dma32_size == 0 || r[0].iova == TCE_IOVA_ANY)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		if (r[i].iova < info->dma32_start || r[i].iova >= end || r[i].len > end - r[i].iova)
			return false;
		below_ddw |= r[i].iova < info->ddw_start[0];
	}
	return below_ddw;
}

static int plan_v2_default(struct tce_plan *p, const struct tce_region *r, unsigned int n,
			   const struct tce_iommu_info *info, char *err, size_t errlen)
{
	int ret;

	p->type = VFIO_SPAPR_TCE_v2_IOMMU;
	p->fixed_iova = true;
	p->remove_default = false;
	p->nwindows = 1;
	p->windows[0] = (struct tce_plan_window){ .start = info->dma32_start, .size = info->dma32_size,
		.page_shift = 12, .levels = 1, .existing = true,
		.table_bytes = tce_table_bytes(info->hv, 12, info->dma32_size, 1, info->page_shift) };
	if ((ret = layout_fixed(p, r, n, err, errlen)) != 0)
		return ret;
	return build_regs(p, r, n, info->page_shift, err, errlen);
}

/* v2: dynamic windows. Each range gets the largest IOMMU page its backing page and
 * alignment allow among ddw.pgsizes (few TCEs: two hypercalls each in a pSeries guest).
 * One window when every range takes the same page size, or when the caller fixed the
 * IOVAs (they must land where one window is). Two windows, where the platform grants
 * two and the default window may go, when pages differ: the large-page ranges in
 * window 0, the rest in window 1 at the smallest page among them, so that a few small
 * pages do not force every range into small TCEs. Windows are sized to a power of two
 * over a compact layout (window_min leaves room for memory added later), with the
 * fewest levels whose table fits. */
static int plan_v2(struct tce_plan *p, const struct tce_region *r, unsigned int n,
		   const struct tce_iommu_info *info, const struct tce_plan_opts *o,
		   char *err, size_t errlen)
{
	bool keep = o->flags & TCE_PLAN_KEEP_DEFAULT, fixed = r[0].iova != TCE_IOVA_ANY;
	unsigned int slots = keep ? 1 : 2, nwin, shift[2] = { 64, 64 }, *which;
	uint64_t used[2] = { 0, 0 };
	int ret;

	if (fixed && fits_default_only(r, n, info))
		return plan_v2_default(p, r, n, info, err, errlen);
	p->type = VFIO_SPAPR_TCE_v2_IOMMU;
	p->fixed_iova = fixed;
	p->remove_default = !keep;
	nwin = info->usable_windows < slots ? info->usable_windows : slots;
	if (nwin == 0)
		return fail(err, errlen, -ENOSPC, "the platform grants no dynamic DMA window");
	which = calloc(n, sizeof(*which));
	if (which == NULL)
		return -ENOMEM;

	/* the IOMMU page of each range, and which window takes it */
	uint64_t mask = o->page_shift ? UINT64_C(1) << o->page_shift : info->pgsizes;
	unsigned int big = 0, small = 64;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int s = tce_best_page_shift(&r[i], mask);
		if (s == 0) {
			free(which);
			return fail(err, errlen, -EINVAL,
				    "memory 0x%" PRIx64 "+0x%" PRIx64 " (pages of %" PRIu64 " bytes) fits no IOMMU"
				    " page size of the platform (mask 0x%" PRIx64 ")", r[i].va, r[i].len,
				    r[i].page_size, mask);
		}
		which[i] = s; /* the best shift, for now */
		big = s > big ? s : big;
		small = s < small ? s : small;
	}
	if (fixed || big == small)
		nwin = 1;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int w = nwin == 2 && which[i] == big ? 0 : nwin - 1;
		if (w == nwin - 1 && nwin == 2 && which[i] < shift[1])
			shift[1] = which[i];
		which[i] = w;
	}
	shift[0] = nwin == 2 ? big : small;
	p->nwindows = nwin;
	for (unsigned int w = 0; w < nwin; w++) {
		unsigned int slot = keep ? 1 : w;
		p->windows[w] = (struct tce_plan_window){ .start = info->ddw_start[slot],
							  .page_shift = shift[w], .slot = slot };
	}

	if (fixed) {
		ret = layout_fixed(p, r, n, err, errlen);
		used[0] = ret == 0 && p->nmaps ? p->maps[p->nmaps - 1].offset + p->maps[p->nmaps - 1].len : 0;
		for (unsigned int i = 0; ret == 0 && i < p->nmaps; i++)
			if (p->maps[i].offset + p->maps[i].len > used[0])
				used[0] = p->maps[i].offset + p->maps[i].len;
	} else {
		ret = 0;
		for (unsigned int i = 0; ret == 0 && i < n; i++) {
			unsigned int w = which[i];
			ret = add_map(p, r[i].va, r[i].len, used[w], w);
			used[w] += r[i].len;
		}
	}
	free(which);
	if (ret)
		return ret;
	if (o->window_min > used[0])
		used[0] = o->window_min;
	for (unsigned int w = 0; w < nwin; w++)
		if ((ret = finish_window(p, w, used[w], info, o, err, errlen)) != 0)
			return ret;
	return build_regs(p, r, n, info->page_shift, err, errlen);
}

/* --- costs --------------------------------------------------------------------------- */

static void cost(struct tce_plan *p, const struct tce_iommu_info *info)
{
	struct tce_plan_cost *c = &p->cost;
	bool pseries = info->hv == TCE_HV_PSERIES;
	uint64_t dflt_entries = info->dma32_size >> 12;
	/* the default window's table, when the kernel creates it (v1, or v2 keeping it) */
	uint64_t dflt_table = tce_table_bytes(info->hv, 12, info->dma32_size, 1, info->page_shift);

	for (unsigned int i = 0; i < p->nmaps; i++)
		c->tces += p->maps[i].len >> p->windows[p->maps[i].window].page_shift;
	c->ioctls = 2 + p->nmaps; /* SET_IOMMU, GET_INFO, the maps */
	if (p->type == VFIO_SPAPR_TCE_IOMMU) {
		c->ioctls += 1; /* ENABLE */
		c->table_bytes = dflt_table;
		c->locked_bytes = trunc_pages(info->dma32_size, info->page_shift) +
				  trunc_pages(dflt_table, info->page_shift);
		if (pseries) {
			/* default window created at the first MAP: reset + clear with STUFF;
			 * at release every entry is cleared one by one, then reset again */
			c->hcalls_setup = div_up(dflt_entries, STUFF_BATCH) + 2 * c->tces;
			c->hcalls_teardown = 2 * dflt_entries + div_up(dflt_entries, STUFF_BATCH);
		}
		return;
	}
	c->ioctls += p->remove_default + p->nregs;
	for (unsigned int i = 0; i < p->nregs; i++)
		c->pinned_bytes += p->regs[i].len;
	c->locked_bytes = c->pinned_bytes;
	for (unsigned int w = 0; w < p->nwindows; w++) {
		uint64_t entries = p->windows[w].size >> p->windows[w].page_shift;
		if (p->windows[w].existing)
			continue; /* the default window: counted below */
		c->ioctls++;
		c->table_bytes += p->windows[w].table_bytes;
		c->locked_bytes += trunc_pages(p->windows[w].table_bytes, info->page_shift);
		if (pseries) {
			c->hcalls_setup += div_up(entries, STUFF_BATCH);   /* create */
			c->hcalls_teardown += 2 * entries;                 /* remove */
		}
	}
	if (!p->remove_default) {
		c->table_bytes += dflt_table;
		c->locked_bytes += trunc_pages(dflt_table, info->page_shift);
		if (pseries) {
			c->hcalls_setup += div_up(dflt_entries, STUFF_BATCH);
			c->hcalls_teardown += 2 * dflt_entries;
		}
	}
	if (pseries) {
		c->hcalls_setup += 2 * c->tces;
		c->hcalls_teardown += div_up(dflt_entries, STUFF_BATCH); /* default restored */
	}
}

/* The DPDK memory the windows can hold in all, now and added later: v1, the fixed
 * window (from the lowest fixed IOVA on); v2, what the windows are sized to hold, up
 * to window_min. v2 registers memory as it is added: the part beyond what is mapped now
 * is charged later and must fit the memlock limit as well (else memory DPDK hands out
 * later could not be mapped); v1 charged the whole window already. */
static void capacity(struct tce_plan *p, const struct tce_iommu_info *info, const struct tce_plan_opts *o)
{
	bool v2 = p->type == VFIO_SPAPR_TCE_v2_IOMMU;
	uint64_t hold = 0, lowest;

	for (unsigned int w = 0; w < p->nwindows; w++)
		hold += p->windows[w].size;
	if (v2 && o != NULL && o->window_min < hold)
		hold = o->window_min;
	if (p->fixed_iova && p->nwindows == 1) {
		/* fixed IOVAs (offsets into a window): from the lowest one on */
		lowest = hold;
		for (unsigned int i = 0; i < p->nmaps; i++)
			lowest = p->maps[i].offset < lowest ? p->maps[i].offset : lowest;
		hold -= lowest;
	}
	p->capacity_bytes = hold;
	if (v2 && o != NULL)
		p->cost.growth_bytes = hold > p->dma_bytes ? trunc_pages(hold - p->dma_bytes, info->page_shift) : 0;
}

int tce_plan_build(const struct tce_region *regions, unsigned int n,
		   const struct tce_iommu_info *info, const struct tce_plan_opts *opts,
		   struct tce_plan *plan, char *err, size_t errlen)
{
	static const struct tce_plan_opts none;
	const struct tce_plan_opts *o = opts ? opts : &none;
	struct tce_region *r;
	bool v2;
	int ret;

	memset(plan, 0, sizeof(*plan));
	if (n == 0)
		return fail(err, errlen, -EINVAL, "no memory to map");
	r = malloc(n * sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	memcpy(r, regions, n * sizeof(*r));
	ret = check_regions(r, n, err, errlen);
	if (ret == 0) {
		v2 = info->v2 && info->max_windows > 0 && !(o->flags & TCE_PLAN_FORCE_V1);
		if ((o->flags & TCE_PLAN_FORCE_V2) && !v2)
			ret = fail(err, errlen, -EINVAL,
				   "the v2 IOMMU (dynamic DMA windows) is not available on this platform");
		else if (v2)
			ret = plan_v2(plan, r, n, info, o, err, errlen);
		else
			ret = plan_v1(plan, r, n, info, o, err, errlen);
	}
	free(r);
	if (ret) {
		tce_plan_free(plan);
		return ret;
	}
	cost(plan, info);
	capacity(plan, info, opts);
	return 0;
}

void tce_plan_free(struct tce_plan *plan)
{
	free(plan->regs);
	free(plan->maps);
	plan->regs = NULL;
	plan->maps = NULL;
	plan->nregs = plan->nmaps = 0;
}

bool tce_plan_in_window(uint64_t start, uint64_t size, uint64_t iova, uint64_t len)
{
	return len != 0 && iova >= start && len <= size && iova - start <= size - len;
}

int tce_plan_first_fit(const struct tce_plan_reg *used, unsigned int n, uint64_t size, uint64_t len,
		       uint64_t align, uint64_t *off)
{
	uint64_t cursor = 0;

	for (unsigned int i = 0; i <= n; i++) {
		uint64_t at = (cursor + align - 1) & ~(align - 1);
		uint64_t limit = i < n && used[i].va < size ? used[i].va : size;
		if (at >= cursor && at <= limit && len <= limit - at) {
			*off = at;
			return 0;
		}
		if (i < n && used[i].va + used[i].len > cursor)
			cursor = used[i].va + used[i].len;
	}
	return -ENOSPC;
}
