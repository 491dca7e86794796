/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One lib/tce container per IOMMU group, and all DPDK memory DMA-mapped in it before a
 * driver probes: the memsegs at the first probe (memory does not exist at scan), memory
 * added or freed later through a memory-event callback (external memory added to a
 * malloc heap included: DPDK allocates from it), and external memory outside the heaps
 * (rte_extmem_register) through the bus's dma_map/dma_unmap, as its owner asks.
 *
 * IOVAs: what the device is given (mbuf->buf_iova) must be what the TCEs translate.
 *  - VA mode: DPDK's IOVA is the virtual address; the window covers them from 0
 *    (possible where a dynamic window can start at 0: PowerNV).
 *  - PA mode: DPDK reads each memseg's iova field; the bus assigns it: a compact layout
 *    in the window the platform gives (pSeries puts dynamic windows at 1<<59, where no
 *    physical or virtual address can be; the v1 window is small), written into the
 *    memsegs before any mempool or memzone takes IOVAs from them, and into the memsegs
 *    of memory added later from the memory-event callback. Physical addresses are never
 *    used for DMA: the TCEs translate.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/queue.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_string_fns.h>

#include "spapr_private.h"
#include "tce.h"

struct spapr_iommu {
	TAILQ_ENTRY(spapr_iommu) next;
	unsigned int group;
	struct tce_container *c;
	struct spapr_devopts opts;  /* what the group was set up with */
	unsigned int users;
	char users_names[SPAPR_GROUP_MAX_DEVS][SPAPR_NAME_LEN]; /* its devices, either bus */
};

static TAILQ_HEAD(, spapr_iommu) iommus = TAILQ_HEAD_INITIALIZER(iommus);
/* The list, and each listed container's mappings: the list changes on EAL's thread
 * (probe, unplug, cleanup); mappings change from memory events and rte_dev_dma_map/unmap
 * on any thread; telemetry reads both. A container being set up is not listed yet. */
static pthread_mutex_t iommus_lock = PTHREAD_MUTEX_INITIALIZER;

void spapr_iommu_lock(void) { pthread_mutex_lock(&iommus_lock); }
void spapr_iommu_unlock(void) { pthread_mutex_unlock(&iommus_lock); }
static bool mem_callback;
static int validators;          /* sockets with an allocation validator */
static uint64_t window_limit;   /* memory the windows can take (see limit_allocations) */
/* PA mode: once the bus has given DPDK's memory IOVAs (mbufs and rings hold them), they
 * are final: every container opened later, a device attached again included, maps
 * memory at those IOVAs, and memory added while no device is attached gets the next
 * ones (iova_cursor: the end of the highest one given). */
static bool iovas_assigned;
static uint64_t iova_cursor;

static void tce_to_rte_log(void *ctx, enum tce_log_level level, const char *msg)
{
	static const uint32_t levels[] = { RTE_LOG_ERR, RTE_LOG_WARNING, RTE_LOG_INFO, RTE_LOG_DEBUG };

	(void)ctx;
	rte_log(levels[level], spapr_logtype, "spapr: %s\n", msg);
}

/* --- DPDK memory as lib/tce regions ------------------------------------------------ */

struct regions {
	struct tce_region *r;
	unsigned int n, cap;
	uint64_t iova_end;          /* highest IOVA the window must cover (VA mode) */
	uint64_t reserved;          /* memory DPDK could still allocate (PA mode headroom) */
	uint64_t pool_page[8], pool_used[8]; /* of it, per hugepage size */
	unsigned int npools;
};

static int add_region(struct regions *rs, uint64_t va, uint64_t len, uint64_t page, int node, uint64_t iova)
{
	struct tce_region *last = rs->n ? &rs->r[rs->n - 1] : NULL;

	if (last && last->va + last->len == va && last->page_size == page &&
	    (iova == TCE_IOVA_ANY ? last->iova == TCE_IOVA_ANY : last->iova + last->len == iova)) {
		last->len += len; /* contiguous in VA and in IOVA */
		return 0;
	}
	if (rs->n == rs->cap) {
		struct tce_region *nr = realloc(rs->r, (rs->cap = rs->cap ? 2 * rs->cap : 64) * sizeof(*nr));
		if (nr == NULL)
			return -ENOMEM;
		rs->r = nr;
	}
	rs->r[rs->n++] = (struct tce_region){ va, len, page, node, iova };
	return 0;
}

/* PA mode: the bus chooses the IOVAs (see above) */
static bool bus_assigns_iova(void)
{
	return rte_eal_iova_mode() != RTE_IOVA_VA;
}

static uint64_t seg_iova(const struct rte_memseg *ms)
{
	if (!bus_assigns_iova())
		return (uintptr_t)ms->addr;
	return iovas_assigned ? ms->iova : TCE_IOVA_ANY;
}

/* DPDK allocates from internal memory and from external memory added to a heap; other
 * external memory is its owner's, who maps it with rte_dev_dma_map(). */
static bool dpdk_managed(const struct rte_memseg_list *msl)
{
	return !msl->external || msl->heap;
}

static int collect_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	if (!dpdk_managed(msl))
		return 0;
	return add_region(arg, (uintptr_t)ms->addr, ms->len, ms->hugepage_sz, ms->socket_id, seg_iova(ms));
}

/* What is left of the kernel's pool of hugepages of `page_sz` after the memseg lists
 * counted so far (ordinary pages: no bound from here). */
static uint64_t pool_left(struct regions *rs, uint64_t page_sz)
{
	uint64_t pool = tce_hugepage_pool_bytes(page_sz), used = 0;

	if (pool == 0)
		return UINT64_MAX;
	for (unsigned int i = 0; i < rs->npools; i++)
		if (rs->pool_page[i] == page_sz)
			used = rs->pool_used[i];
	return pool > used ? pool - used : 0;
}

/* In VA mode all future memory lies inside the reserved memseg lists: size the window
 * for all of it, so that memory added later never needs a new window. */
static int reserved_end(const struct rte_memseg_list *msl, void *arg)
{
	struct regions *rs = arg;
	uint64_t end = (uintptr_t)msl->base_va + msl->len;

	if (msl->external)
		return 0;
	if (!bus_assigns_iova() && end > rs->iova_end)
		rs->iova_end = end;
	/* DPDK can never hold more of a page size than the kernel's pool of it */
	uint64_t add = RTE_MIN(msl->len, pool_left(rs, msl->page_sz));
	unsigned int i = 0;
	while (i < rs->npools && rs->pool_page[i] != msl->page_sz)
		i++;
	if (i == rs->npools && i < RTE_DIM(rs->pool_page))
		rs->pool_page[rs->npools++] = msl->page_sz;
	if (i < rs->npools)
		rs->pool_used[i] += add;
	rs->reserved += add;
	return 0;
}

static void set_iova(struct rte_memseg *ms, uint64_t iova)
{
	ms->iova = iova;
	if (iova + ms->len > iova_cursor)
		iova_cursor = iova + ms->len;
}

/* Write the IOVAs the bus chose into DPDK's memsegs of [va, va+len). */
static int assign_iovas(struct tce_container *c, uint64_t va, uint64_t len)
{
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list((void *)(uintptr_t)va);

	if (msl == NULL)
		return -ENOENT;
	for (uint64_t off = 0; off < len; off += msl->page_sz) {
		struct rte_memseg *ms = rte_mem_virt2memseg((void *)(uintptr_t)(va + off), msl);
		uint64_t iova;
		int ret = tce_iova_of(c, (uintptr_t)ms->addr, &iova);
		if (ret)
			return ret;
		set_iova(ms, iova);
	}
	return 0;
}

/* Memory added while no container exists: the IOVAs after the highest given, aligned to
 * its page (the IOMMU page of the window that will map it is never larger). */
static void assign_iovas_unmapped(const struct rte_memseg_list *msl, uint64_t va, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += msl->page_sz) {
		struct rte_memseg *ms = rte_mem_virt2memseg((void *)(uintptr_t)(va + off), msl);
		set_iova(ms, RTE_ALIGN_CEIL(iova_cursor, msl->page_sz));
	}
}

static int assign_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	if (!dpdk_managed(msl))
		return 0;
	return assign_iovas(arg, (uintptr_t)ms->addr, ms->len) ? -1 : 0;
}

/* --- memory added and freed at run time ---------------------------------------------- */

/* Memory DPDK added: the first container chooses its IOVAs (PA mode) and every other
 * container maps it at the same ones. */
static int collect_added(const struct rte_memseg_list *msl, const void *addr, size_t len, bool fixed,
			 struct regions *rs)
{
	rs->n = 0;
	for (uint64_t off = 0; off < len; off += msl->page_sz) {
		const void *va = (const uint8_t *)addr + off;
		const struct rte_memseg *ms = rte_mem_virt2memseg(va, msl);
		uint64_t iova = !bus_assigns_iova() ? (uintptr_t)va : fixed ? ms->iova : TCE_IOVA_ANY;
		int ret = add_region(rs, (uintptr_t)va, msl->page_sz, msl->page_sz, msl->socket_id, iova);
		if (ret)
			return ret;
	}
	return 0;
}

static int add_memory(struct spapr_iommu *io, const struct rte_memseg_list *msl, const void *addr,
		      size_t len, struct regions *rs)
{
	bool first = io == TAILQ_FIRST(&iommus);
	int ret = collect_added(msl, addr, len, !first, rs);

	if (ret == 0)
		ret = tce_dma_add(io->c, rs->r, rs->n);
	if (ret == 0 && first && bus_assigns_iova())
		ret = assign_iovas(io->c, (uintptr_t)addr, len);
	return ret;
}

/* Memory of smaller pages than the window's (external memory of ordinary pages, say)
 * cannot be mapped there: say which device option makes a window that takes it. */
static void page_advice(struct spapr_iommu *io, const struct rte_memseg_list *msl, const void *addr, size_t len)
{
	const struct tce_plan *p = tce_container_plan(io->c);
	uint64_t win_page = p->nwindows ? 1ULL << p->windows[0].page_shift : 4096;

	SPAPR_LOG(ERR, "mapping %zu bytes at %p for IOMMU group %u failed: its pages are %" PRIu64 " KiB,"
		  " the DMA window's %" PRIu64 " KiB: give the group's devices pagesize=%" PRIu64 "K"
		  " (-a bus=spapr,addr=...,pagesize=%" PRIu64 "K)", len, addr, io->group, msl->page_sz >> 10,
		  win_page >> 10, msl->page_sz >> 10, msl->page_sz >> 10);
}

static void mem_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(addr);
	struct regions rs = { 0 };
	struct spapr_iommu *io;

	(void)arg;
	/* external memory raises events only when it is added to or removed from a heap
	 * (when DPDK has not yet marked its list as a heap's) */
	if (msl == NULL)
		return;
	spapr_iommu_lock();
	if (type == RTE_MEM_EVENT_ALLOC && TAILQ_EMPTY(&iommus) && iovas_assigned)
		assign_iovas_unmapped(msl, (uintptr_t)addr, len);
	TAILQ_FOREACH(io, &iommus, next) {
		int ret = type == RTE_MEM_EVENT_ALLOC ? add_memory(io, msl, addr, len, &rs)
						      : tce_dma_remove(io->c, (uintptr_t)addr, len);
		if (ret == -EINVAL && type == RTE_MEM_EVENT_ALLOC)
			page_advice(io, msl, addr, len);
		else if (ret == -ENOENT && type == RTE_MEM_EVENT_FREE)
			SPAPR_LOG(DEBUG, "%zu bytes at %p freed: not mapped for IOMMU group %u (mapping them"
				  " failed when DPDK added them, and was reported then)", len, addr, io->group);
		else if (ret)
			SPAPR_LOG(ERR, "%s %zu bytes at %p for IOMMU group %u failed (%s): devices of"
				  " the group cannot DMA there", type == RTE_MEM_EVENT_ALLOC ? "mapping" : "unmapping",
				  len, addr, io->group, strerror(-ret));
		else
			SPAPR_LOG(DEBUG, "%s %zu bytes at %p for IOMMU group %u",
				  type == RTE_MEM_EVENT_ALLOC ? "mapped" : "unmapped", len, addr, io->group);
	}
	spapr_iommu_unlock();
	free(rs.r);
}

/* DPDK asks for more memory than the windows can take: refuse it before it is
 * allocated (memory handed out that the device cannot reach would freeze it at its
 * first DMA there), with the EAL options that avoid it. Called by EAL with the heap's
 * lock held: no DPDK allocation API here. */
static enum { LIMIT_V1, LIMIT_POOL, LIMIT_LOW_VA } limit_kind;

static bool limit_told; /* the first refusal says why; DPDK retries smaller sizes after it */

static int alloc_validator(int socket_id, size_t cur_limit, size_t new_len)
{
	(void)cur_limit;
	if (new_len <= window_limit)
		return 0; /* EAL asks at the limit too */
	if (__atomic_exchange_n(&limit_told, true, __ATOMIC_RELAXED)) { /* any thread may allocate */
		SPAPR_LOG(DEBUG, "socket %d: refused growing the heap to %zu MiB (the DMA window holds %" PRIu64
			  " MiB)", socket_id, new_len >> 20, window_limit >> 20);
		return -1;
	}
	switch (limit_kind) {
	case LIMIT_V1:
		SPAPR_LOG(ERR, "socket %d: DPDK asks for %zu MiB of memory but the DMA window holds %" PRIu64
			  " MiB: start with -m %" PRIu64 " (or --socket-mem) or less, or on a platform with"
			  " dynamic DMA windows", socket_id, new_len >> 20, window_limit >> 20, window_limit >> 20);
		break;
	case LIMIT_POOL:
		SPAPR_LOG(ERR, "socket %d: DPDK asks for %zu MiB of memory but the DMA window holds %" PRIu64
			  " MiB (sized, and its locked memory checked, for the hugepages there were when the"
			  " first device was set up): reserve more hugepages before starting, or start with"
			  " -m %" PRIu64 " (or --socket-mem) or less", socket_id, new_len >> 20,
			  window_limit >> 20, window_limit >> 20);
		break;
	case LIMIT_LOW_VA:
		SPAPR_LOG(ERR, "socket %d: DPDK asks for %zu MiB of memory but with IOVA=VA the default DMA"
			  " window holds %" PRIu64 " MiB above DPDK's lowest address: start with -m %" PRIu64
			  " (or --socket-mem) or less, or as root (IOVA as PA, the bus then places memory in a"
			  " dynamic window)", socket_id, new_len >> 20, window_limit >> 20, window_limit >> 20);
		break;
	}
	return -1;
}

/* EAL asks the validator when a socket's heap would grow to the limit or beyond: the
 * windows' capacity as the first container planned it (the layout every container
 * shares). Per socket: with memory on several sockets, their sum is not checked here,
 * and a failed mapping is reported by the memory-event callback. VA mode on PowerNV: the
 * window covers every address DPDK may use; nothing to limit. */
static void limit_allocations(struct spapr_iommu *io)
{
	const struct tce_plan *p = tce_container_plan(io->c);

	if (validators)
		return;
	if (p->type == VFIO_SPAPR_TCE_IOMMU)
		limit_kind = LIMIT_V1;
	else if (bus_assigns_iova())
		limit_kind = LIMIT_POOL;
	else if (p->nwindows == 1 && p->windows[0].existing)
		limit_kind = LIMIT_LOW_VA;
	else
		return;
	window_limit = p->capacity_bytes;
	limit_told = false;
	for (unsigned int i = 0; i < rte_socket_count(); i++)
		if (rte_mem_alloc_validator_register("spapr-bus", alloc_validator, rte_socket_id_by_idx(i),
						     window_limit) == 0)
			validators++;
}

static void unlimit_allocations(void)
{
	for (unsigned int i = 0; validators && i < rte_socket_count(); i++)
		rte_mem_alloc_validator_unregister("spapr-bus", rte_socket_id_by_idx(i));
	validators = 0;
}

/* --- containers ------------------------------------------------------------------------ */

static void print_plan(const char *name, const struct tce_plan *p)
{
	SPAPR_LOG(NOTICE, "%s: dry run: %s, %u window(s), %u REGISTER, %u MAP, %" PRIu64 " TCEs,"
		  " %" PRIu64 " bytes locked (%" PRIu64 " more as DPDK adds memory), %" PRIu64 " bytes of"
		  " TCE table, %" PRIu64 " hypercalls (pSeries) to map", name,
		  p->type == VFIO_SPAPR_TCE_v2_IOMMU ? "v2" : "v1", p->nwindows, p->nregs, p->nmaps,
		  p->cost.tces, p->cost.locked_bytes, p->cost.growth_bytes, p->cost.table_bytes,
		  p->cost.hcalls_setup);
	for (unsigned int w = 0; w < p->nwindows; w++)
		SPAPR_LOG(NOTICE, "%s: window %u: 0x%" PRIx64 " bytes of %u KiB pages at 0x%" PRIx64 ", %u level(s)",
			  name, w, p->windows[w].size, 1u << (p->windows[w].page_shift - 10),
			  p->windows[w].start, p->windows[w].levels);
}

/* The fixed v1 window is too small for DPDK's memory: say which EAL options fix it. */
static void v1_advice(struct spapr_iommu *io, const struct regions *rs)
{
	const struct tce_iommu_info *info = tce_container_info(io->c);
	uint64_t total = 0;

	for (unsigned int i = 0; i < rs->n; i++)
		total += rs->r[i].len;
	if (info->v2)
		return;
	SPAPR_LOG(ERR, "IOMMU group %u: DPDK has %" PRIu64 " MiB of memory but the platform's only DMA"
		  " window (v1, no dynamic windows) holds %" PRIu64 " MiB: start with -m %" PRIu64
		  " (or --socket-mem) or less, %" PRIu64 " MiB less than now", io->group, total >> 20,
		  info->dma32_size >> 20, info->dma32_size >> 20,
		  total > info->dma32_size ? (total - info->dma32_size + (1 << 20) - 1) >> 20 : 0);
}

/* What EAL tests before it chooses the IOVA mode: the kernel shows page frames in
 * /proc/self/pagemap to CAP_SYS_ADMIN only. */
static bool have_physical_addresses(void)
{
	uint64_t local = 0;

	return rte_mem_virt2phy(&local) != RTE_BAD_PHYS_ADDR;
}

/* VA mode where the dynamic windows start above every virtual address (pSeries). Without
 * physical addresses (not root: /proc/self/pagemap hides them) EAL takes VA whatever
 * --iova-mode says; then only the default window at 0 can hold DPDK's memory, placed
 * low. */
static void va_advice(struct spapr_iommu *io)
{
	const struct tce_iommu_info *info = tce_container_info(io->c);
	uint64_t end = info->dma32_start + info->dma32_size;
	uint64_t base = RTE_ALIGN_CEIL(RTE_MAX(info->dma32_start, UINT64_C(0x10000000)), UINT64_C(0x10000000));
	bool no_pa = !have_physical_addresses();

	if (!no_pa) {
		SPAPR_LOG(ERR, "IOMMU group %u: in VA mode DPDK's IOVAs are virtual addresses, which this"
			  " platform's DMA windows cannot hold: start with --iova-mode=pa (the bus then"
			  " chooses the IOVAs)", io->group);
		return;
	}
	if (end <= base + (UINT64_C(16) << 20)) {
		SPAPR_LOG(ERR, "IOMMU group %u: DPDK uses IOVA=VA because it cannot read physical addresses"
			  " (only root can, in /proc/self/pagemap), and this platform's DMA windows cannot"
			  " hold virtual addresses: run as root (the bus then chooses the IOVAs)", io->group);
		return;
	}
	char why[160];
	if (info->v2)
		snprintf(why, sizeof(why), "the dynamic DMA windows of this platform start at 0x%" PRIx64
			 ", above every virtual address", info->ddw_start[0]);
	else
		snprintf(why, sizeof(why), "its virtual addresses lie outside this platform's only DMA window");
	SPAPR_LOG(ERR, "IOMMU group %u: DPDK uses IOVA=VA because it cannot read physical addresses (only"
		  " root can, in /proc/self/pagemap), and %s: run as root (the bus then chooses the IOVAs),"
		  " or keep DPDK's memory inside the default window 0x%" PRIx64 "-0x%" PRIx64 " with"
		  " --base-virtaddr=0x%" PRIx64 " and -m %" PRIu64 " or less (what DPDK adds later must fit"
		  " there too)", io->group, why, info->dma32_start, end - 1, base, ((end - base) >> 20) - 16);
}

/* Memory in pieces smaller than the kernel's page (--no-huge: DPDK's memsegs are 4 KiB)
 * still lives in whole kernel pages (64 KiB on ppc64): a region aligned to them is mapped
 * with IOMMU pages of that size, 16 times fewer TCEs than 4 KiB ones. */
static void promote_to_kernel_pages(struct regions *rs)
{
	uint64_t kpage = (uint64_t)sysconf(_SC_PAGESIZE);

	for (unsigned int i = 0; i < rs->n; i++) {
		struct tce_region *r = &rs->r[i];
		uint64_t fixed = r->iova == TCE_IOVA_ANY ? 0 : r->iova;

		if (r->page_size < kpage && !((r->va | r->len | fixed) & (kpage - 1)))
			r->page_size = kpage;
	}
}

/* All of DPDK's memory into a new container: the memsegs DPDK has now, at the IOVAs the
 * mode asks for (PA: the bus chooses, or the ones it gave before; VA: the VAs), with the
 * window sized for what DPDK may still allocate (PA: the hugepage pools, capped by RAM;
 * VA: up to the end of the reserved memseg lists). A dry run plans and prints (1). After
 * the first mapping in PA mode the IOVAs the bus chose are written into the memsegs,
 * before any mempool or memzone reads them. Errors say which EAL option fixes them. */
static int map_memory(struct spapr_iommu *io, const char *name, const struct spapr_devopts *o)
{
	struct regions rs = { 0 };
	struct tce_plan_opts po = { .page_shift = o->page_shift };
	int ret;

	ret = rte_memseg_walk(collect_seg, &rs);
	if (ret == 0)
		promote_to_kernel_pages(&rs);
	if (ret == 0)
		ret = rte_memseg_list_walk(reserved_end, &rs);
	if (ret == 0 && rs.n == 0) {
		SPAPR_LOG(ERR, "%s: DPDK has no memory to map", name);
		ret = -ENOMEM;
	}
	if (ret == 0) {
		for (unsigned int i = 0; i < rs.n; i++)
			if (rs.r[i].iova + rs.r[i].len > rs.iova_end)
				rs.iova_end = rs.r[i].iova + rs.r[i].len;
		if (bus_assigns_iova()) {
			/* room for the memory DPDK may allocate later, as far as the machine has */
			uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
			po.window_min = rs.reserved < ram ? rs.reserved : ram;
		} else {
			po.window_min = rs.iova_end; /* windows for fixed IOVAs start at 0 */
		}
		if (o->dry_run) {
			struct tce_plan p;
			char err[400];
			ret = tce_plan_build(rs.r, rs.n, tce_container_info(io->c), &po, &p, err, sizeof(err));
			if (ret == 0) {
				print_plan(name, &p);
				tce_plan_free(&p);
				ret = 1;
			} else {
				SPAPR_LOG(ERR, "%s: dry run: %s", name, err);
			}
		} else {
			ret = tce_dma_map(io->c, rs.r, rs.n, &po);
			if (ret == -ENOSPC && bus_assigns_iova())
				v1_advice(io, &rs);
			else if (ret == -ENOSPC && !rte_eal_has_hugepages())
				SPAPR_LOG(ERR, "IOMMU group %u: --no-huge memory has no physical addresses, so DPDK"
					  " gives it IOVA=VA, which this platform's DMA windows cannot hold: use"
					  " hugepages (the bus then chooses the IOVAs)", io->group);
			else if (ret == -ENOSPC)
				va_advice(io);
			if (ret == 0 && bus_assigns_iova() && !iovas_assigned) {
				ret = rte_memseg_walk(assign_seg, io->c);
				iovas_assigned = ret == 0;
			}
		}
	}
	free(rs.r);
	return ret;
}

static void add_user(struct spapr_iommu *io, const char *name)
{
	if (io->users < SPAPR_GROUP_MAX_DEVS)
		strlcpy(io->users_names[io->users], name, SPAPR_NAME_LEN);
	io->users++;
}

static void drop_user(struct spapr_iommu *io, const char *name)
{
	unsigned int n = RTE_MIN(io->users, (unsigned int)SPAPR_GROUP_MAX_DEVS);

	for (unsigned int i = 0; i < n; i++)
		if (strcmp(io->users_names[i], name) == 0) {
			memmove(io->users_names[i], io->users_names[i + 1], (n - i - 1) * SPAPR_NAME_LEN);
			break;
		}
	io->users--;
}

static bool same_opts(const struct spapr_devopts *a, const struct spapr_devopts *b)
{
	return a->iommu == b->iommu && a->page_shift == b->page_shift;
}

/* A second device of a group shares its container: it must not ask for another set-up. */
static int join(struct spapr_iommu *io, const char *name, const struct spapr_devopts *o)
{
	if (!same_opts(&io->opts, o)) {
		SPAPR_LOG(ERR, "%s: its options (iommu=, pagesize=) differ from those IOMMU group %u was"
			  " set up with for %s: give every device of a group the same options", name,
			  io->group, io->users_names[0]);
		return -EINVAL;
	}
	spapr_iommu_lock();
	add_user(io, name);
	spapr_iommu_unlock();
	return 0;
}

int spapr_iommu_attach(const char *name, unsigned int group, int group_fd, const struct spapr_devopts *o,
		       struct spapr_iommu **out)
{
	struct spapr_iommu *io;
	int ret;

	TAILQ_FOREACH(io, &iommus, next)
		if (io->group == group) {
			ret = join(io, name, o);
			if (ret == 0)
				*out = io;
			return ret;
		}
	tce_set_log(tce_to_rte_log, NULL);
	io = calloc(1, sizeof(*io));
	if (io == NULL)
		return -ENOMEM;
	io->group = group;
	io->opts = *o;
	ret = group_fd >= 0 ? tce_container_open_group_fd(group, group_fd, (enum tce_iommu_choice)o->iommu, &io->c)
			    : tce_container_open(&io->group, 1, (enum tce_iommu_choice)o->iommu, &io->c);
	if (ret == 0)
		ret = map_memory(io, name, o);
	if (ret) {
		tce_container_close(io->c);
		free(io);
		return ret;
	}
	if (!mem_callback) {
		ret = rte_mem_event_callback_register("spapr-bus", mem_event, NULL);
		if (ret == 0 || rte_errno == EEXIST)
			mem_callback = true;
		else if (rte_errno == ENOTSUP) /* legacy memory, --no-huge: it all exists now */
			SPAPR_LOG(INFO, "legacy memory: all of it is mapped now, none comes later");
		else
			SPAPR_LOG(WARNING, "no memory-event callback (%s): memory added later is not"
				  " DMA-mapped", rte_strerror(rte_errno));
	}
	add_user(io, name);
	spapr_iommu_lock();
	TAILQ_INSERT_TAIL(&iommus, io, next);
	spapr_iommu_unlock();
	limit_allocations(io);
	const struct tce_plan *p = tce_container_plan(io->c);
	SPAPR_LOG(INFO, "IOMMU group %u: %s, %u window(s), %u MAP for %" PRIu64 " bytes of DPDK memory,"
		  " %" PRIu64 " bytes of locked memory needed (%" PRIu64 " now, the rest as DPDK adds"
		  " memory)", io->group, p->type == VFIO_SPAPR_TCE_v2_IOMMU ? "v2" : "v1", p->nwindows,
		  p->nmaps, p->dma_bytes, p->cost.locked_bytes + p->cost.growth_bytes, p->cost.locked_bytes);
	*out = io;
	return 0;
}

void spapr_iommu_detach(struct spapr_iommu *io, const char *name)
{
	if (io == NULL)
		return;
	spapr_iommu_lock();
	drop_user(io, name);
	if (io->users) {
		spapr_iommu_unlock();
		return;
	}
	TAILQ_REMOVE(&iommus, io, next);
	spapr_iommu_unlock();
	tce_container_close(io->c);
	free(io);
	/* the memory-event callback stays: memory added before a device is attached again
	 * gets its IOVAs now (PA mode), those of the memory mapped before are final */
	if (TAILQ_EMPTY(&iommus) && !iovas_assigned && mem_callback) {
		rte_mem_event_callback_unregister("spapr-bus", NULL);
		mem_callback = false;
	}
	if (TAILQ_EMPTY(&iommus))
		unlimit_allocations();
}

void spapr_iommu_cleanup(void)
{
	struct spapr_iommu *io;

	spapr_iommu_lock();
	while ((io = TAILQ_FIRST(&iommus)) != NULL) {
		TAILQ_REMOVE(&iommus, io, next);
		tce_container_close(io->c);
		free(io);
	}
	spapr_iommu_unlock();
	if (mem_callback) {
		rte_mem_event_callback_unregister("spapr-bus", NULL);
		mem_callback = false;
	}
	unlimit_allocations();
}

/* pSeries guests (no EEH through VFIO) place dynamic windows where no address can be:
 * there the bus assigns the IOVAs itself, which DPDK allows only in PA mode. PowerNV
 * maps DPDK's IOVAs as they are, PA or VA. Not an sPAPR machine: no say. */
enum rte_iova_mode spapr_iommu_mode(void)
{
	const struct tce_platform *pf = spapr_platform();

	if (pf == NULL || !pf->spapr)
		return RTE_IOVA_DC;
	/* No physical addresses (--no-huge memory; a user who is not root): EAL (23.11 on)
	 * would stop on PA; in VA the probe says what works, or maps into the default window */
	if (!rte_eal_has_hugepages() || !have_physical_addresses())
		return RTE_IOVA_DC;
	return pf->eeh ? RTE_IOVA_DC : RTE_IOVA_PA;
}

/* What the machine's VFIO offers does not change while the process runs: asked once. */
const struct tce_platform *spapr_platform(void)
{
	static struct tce_platform pf;
	static int known; /* 0: not asked yet, 1: known, -1: no VFIO */

	if (known == 0)
		known = tce_platform_query(&pf) == 0 ? 1 : -1;
	return known > 0 ? &pf : NULL;
}

void spapr_iommu_forget(struct spapr_iommu *io)
{
	spapr_iommu_lock();
	TAILQ_REMOVE(&iommus, io, next);
	spapr_iommu_unlock();
}

int spapr_iommu_group_fd(const struct spapr_iommu *io)
{
	return io ? tce_group_fd(io->c, io->group) : -ENODEV;
}

int spapr_iommu_dma_map(struct spapr_iommu *io, const char *name, void *addr, uint64_t iova, size_t len)
{
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(addr);
	struct tce_region r = { (uintptr_t)addr, len, msl ? msl->page_sz : 4096, SOCKET_ID_ANY, iova };

	if (io == NULL) {
		rte_errno = ENODEV;
		return -1;
	}
	spapr_iommu_lock();
	int ret = tce_dma_add(io->c, &r, 1);
	spapr_iommu_unlock();
	if (ret) {
		const struct tce_plan *p = tce_container_plan(io->c);
		if (ret == -ENOSPC && p->nwindows)
			SPAPR_LOG(ERR, "%s: dma_map of %p+0x%zx at IOVA 0x%" PRIx64 ": the DMA window is"
				  " 0x%" PRIx64 "+0x%" PRIx64 "; give external memory IOVAs inside it, or add it"
				  " to a malloc heap (rte_malloc_heap_memory_add, testpmd --mp-alloc=xmem*),"
				  " where the bus gives it IOVAs", name, addr, len, iova, p->windows[0].start,
				  p->windows[0].size);
		else if (ret == -EINVAL && msl)
			SPAPR_LOG(ERR, "%s: dma_map of %p+0x%zx: its pages are %" PRIu64 " KiB, the DMA window's"
				  " %" PRIu64 " KiB: give the device pagesize=%" PRIu64 "K", name, addr, len,
				  msl->page_sz >> 10, (uint64_t)(p->nwindows ? 1ULL << p->windows[0].page_shift : 4096) >> 10,
				  msl->page_sz >> 10);
		rte_errno = -ret;
		return -1;
	}
	return 0;
}

int spapr_iommu_dma_unmap(struct spapr_iommu *io, void *addr, uint64_t iova, size_t len)
{
	(void)iova;
	if (io == NULL) {
		rte_errno = ENODEV;
		return -1;
	}
	spapr_iommu_lock();
	int ret = tce_dma_remove(io->c, (uintptr_t)addr, len);
	spapr_iommu_unlock();
	if (ret) {
		if (ret == -ENOENT)
			SPAPR_LOG(ERR, "dma_unmap of %p+0x%zx: nothing is mapped there", addr, len);
		rte_errno = -ret;
		return -1;
	}
	return 0;
}

int spapr_iommu_iova(const struct spapr_iommu *io, const void *va, uint64_t *iova)
{
	return io ? tce_iova_of(io->c, (uintptr_t)va, iova) : -ENODEV;
}

int rte_spapr_iova(struct rte_spapr_device *dev, const void *va, uint64_t *iova)
{
	return spapr_iommu_iova(dev->iommu, va, iova);
}

bool rte_spapr_eeh_available(struct rte_spapr_device *dev)
{
	const struct tce_platform *pf = spapr_platform();

	return dev->iommu != NULL && pf != NULL && pf->eeh;
}

int rte_spapr_eeh_recover(struct rte_spapr_device *dev)
{
	struct spapr_iommu *io = dev->iommu;
	int ret, state;

	if (!rte_spapr_eeh_available(dev))
		return -ENODEV;
	spapr_iommu_lock(); /* no mapping changes while the PE is reset and replayed */
	ret = tce_eeh_reset(io->c);
	if (ret == 0)
		ret = tce_eeh_unfreeze(io->c);
	if (ret == 0)
		ret = tce_eeh_replay(io->c);
	state = ret == 0 ? tce_eeh_state(io->c) : ret;
	spapr_iommu_unlock();
	if (ret == 0 && state != VFIO_EEH_PE_STATE_NORMAL) {
		SPAPR_LOG(ERR, "%s: IOMMU group %u: the PE is still not working after its reset (EEH state %d)",
			  dev->name, io->group, state);
		return -EIO;
	}
	if (ret)
		SPAPR_LOG(ERR, "%s: IOMMU group %u: EEH recovery failed (%s)", dev->name, io->group, strerror(-ret));
	else
		SPAPR_LOG(NOTICE, "%s: IOMMU group %u: PE recovered (reset, thawed, mappings written again)",
			  dev->name, io->group);
	return ret ? -EIO : 0;
}

static struct spapr_iommu_view view_of(const struct spapr_iommu *io)
{
	struct spapr_iommu_view v = { io ? io->c : NULL, io ? io->group : 0, io, 0, NULL };

	if (io) {
		v.ndevices = RTE_MIN(io->users, (unsigned int)SPAPR_GROUP_MAX_DEVS);
		v.devices = io->users_names;
	}
	return v;
}

struct spapr_iommu_view spapr_iommu_first(void)
{
	return view_of(TAILQ_FIRST(&iommus));
}

struct spapr_iommu_view spapr_iommu_next(struct spapr_iommu_view v)
{
	return view_of(TAILQ_NEXT(v.it, next));
}
