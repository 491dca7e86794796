/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The process's mm as the sPAPR VFIO code sees it:
 *  - locked_vm accounting: mm/util.c __account_locked_vm(), with the real
 *    RLIMIT_MEMLOCK of the process and CAP_IPC_LOCK bypass (capable()).
 *  - pre-registered memory: arch/powerpc/mm/book3s64/iommu_api.c (mm_iommu_*).
 *  - the backing pages of user memory (pin_user_pages()), read from /proc/self/smaps.
 * The unit is the emulated kernel's PAGE_SIZE (64 KiB, as on ppc64).
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "emu_internal.h"

static bool capable_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return (data[CAP_IPC_LOCK / 32].effective >> (CAP_IPC_LOCK % 32)) & 1;
}

/* mlock()ed memory of the process is in the same mm->locked_vm as VFIO's charges. */
static uint64_t real_mlocked_pages(unsigned int page_shift)
{
	char line[256];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmLck: %" SCNu64 " kB", &kb) == 1)
			break;
	fclose(f);
	return ((kb << 10) + (1ULL << page_shift) - 1) >> page_shift;
}

int emu_mm_account(struct emu_platform *p, uint64_t pages, bool inc)
{
	struct emu_mm *mm = &p->mm;
	unsigned int shift = p->cfg.plat.page_shift;

	if (pages == 0)
		return 0;
	if (inc) {
		struct rlimit rl;
		uint64_t limit;

		getrlimit(RLIMIT_MEMLOCK, &rl);
		limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur >> shift;
		if (!capable_ipc_lock() &&
		    mm->locked_pages + real_mlocked_pages(shift) + pages > limit)
			return -ENOMEM;
		mm->locked_pages += pages;
		if (mm->locked_pages > mm->locked_peak)
			mm->locked_peak = mm->locked_pages;
	} else {
		mm->locked_pages -= pages < mm->locked_pages ? pages : mm->locked_pages;
	}
	p->c.locked_bytes = mm->locked_pages << shift;
	p->c.locked_peak = mm->locked_peak << shift;
	return 0;
}

/* --- /proc/self/smaps: what pin_user_pages() would find ------------------- */

struct vma { uint64_t start, end; bool accessible, writable; unsigned int page_shift; };

static unsigned int log2_u64(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

/* The VMAs overlapping [lo, hi), in address order; *out is malloc'ed. */
static int read_vmas(uint64_t lo, uint64_t hi, struct vma **out)
{
	char line[512];
	int n = 0, cap = 0;
	struct vma *v = NULL, *cur = NULL;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		uint64_t s, e, kps;
		char perms[8];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &s, &e, perms) == 3) {
			cur = NULL;
			if (e <= lo || s >= hi)
				continue;
			if (n == cap) {
				struct vma *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
				if (nv == NULL) {
					free(v);
					fclose(f);
					return -ENOMEM;
				}
				v = nv;
			}
			cur = &v[n++];
			*cur = (struct vma){ .start = s, .end = e, .page_shift = 12,
					     .accessible = perms[0] == 'r',
					     .writable = perms[1] == 'w' };
		} else if (cur != NULL && sscanf(line, "KernelPageSize: %" SCNu64 " kB", &kps) == 1) {
			cur->page_shift = log2_u64(kps << 10);
		}
	}
	fclose(f);
	*out = v;
	return n;
}

int emu_vma_query(uint64_t ua, uint64_t len, unsigned int kernel_page_shift,
		  struct emu_vma_info *info)
{
	struct vma *vmas = NULL;
	uint64_t pos = ua, end = ua + len;
	int n = read_vmas(ua, end, &vmas);

	memset(info, 0, sizeof(*info));
	if (n < 0)
		return n;
	info->min_page_shift = 64;
	info->writable = true;
	info->hugetlb = true;
	/* Require an unbroken run of accessible VMAs over the range (pinning fails on a
	 * hole or on PROT_NONE, such as DPDK's reserved but unbacked VA). */
	for (int i = 0; i < n && pos < end; i++) {
		bool huge = vmas[i].page_shift > 12;
		unsigned int shift = huge ? vmas[i].page_shift : kernel_page_shift;

		if (vmas[i].start > pos || !vmas[i].accessible)
			break;
		if (shift < info->min_page_shift)
			info->min_page_shift = shift;
		info->writable &= vmas[i].writable;
		info->hugetlb &= huge;
		pos = vmas[i].end;
	}
	free(vmas);
	info->present = pos >= end;
	if (!info->present) {
		info->writable = false;
		info->hugetlb = false;
	}
	return 0;
}

/* --- mm_iommu: pre-registered memory -------------------------------------- */

struct emu_mm_mem *emu_mm_get(struct emu_platform *p, uint64_t ua, uint64_t entries)
{
	for (struct emu_mm_mem *m = p->mm.mem_list; m != NULL; m = m->next)
		if (m->ua == ua && m->entries == entries) {
			m->used++;
			return m;
		}
	return NULL;
}

struct emu_mm_mem *emu_mm_lookup(struct emu_platform *p, uint64_t ua, uint64_t size)
{
	unsigned int shift = p->cfg.plat.page_shift;

	for (struct emu_mm_mem *m = p->mm.mem_list; m != NULL; m = m->next)
		if (m->ua <= ua && ua + size <= m->ua + (m->entries << shift))
			return m;
	return NULL;
}

/* mm_iommu_do_alloc(): charge, pin (FOLL_WRITE|FOLL_LONGTERM), refuse overlaps, and
 * compute the largest IOMMU page the region can back. */
int emu_mm_new(struct emu_platform *p, uint64_t ua, uint64_t entries, struct emu_mm_mem **out)
{
	unsigned int shift = p->cfg.plat.page_shift;
	uint64_t size = entries << shift;
	struct emu_vma_info vi;
	struct emu_mm_mem *mem;
	int ret;

	ret = emu_mm_account(p, entries, true);
	if (ret)
		return ret;
	ret = emu_vma_query(ua, size, shift, &vi);
	if (ret == 0 && (!vi.present || !vi.writable))
		ret = -EFAULT;
	if (ret)
		goto unaccount;
	for (mem = p->mm.mem_list; mem != NULL; mem = mem->next)
		if (mem->ua < ua + size && ua < mem->ua + (mem->entries << shift)) {
			ret = -EINVAL;
			goto unaccount;
		}
	mem = calloc(1, sizeof(*mem));
	if (mem == NULL) {
		ret = -ENOMEM;
		goto unaccount;
	}
	mem->ua = ua;
	mem->entries = entries;
	mem->used = 1;
	atomic_init(&mem->mapped, 1);
	/* Natural alignment of ua and size bounds the page; only hugetlb pages (PageHuge)
	 * allow more than PAGE_SIZE. */
	mem->pageshift = __builtin_ctzll(ua | size);
	{
		unsigned int backing = vi.hugetlb ? vi.min_page_shift : shift;
		if (backing < mem->pageshift)
			mem->pageshift = backing;
	}
	mem->next = p->mm.mem_list;
	p->mm.mem_list = mem;
	p->c.registered_bytes += size;
	*out = mem;
	return 0;

unaccount:
	emu_mm_account(p, entries, false);
	return ret;
}

static void mm_release(struct emu_platform *p, struct emu_mm_mem *mem)
{
	struct emu_mm_mem **pp = &p->mm.mem_list;

	while (*pp != mem)
		pp = &(*pp)->next;
	*pp = mem->next;
	p->c.registered_bytes -= mem->entries << p->cfg.plat.page_shift;
	free(mem);
}

/* mm_iommu_put(): drop a reference; the last one fails with EBUSY while TCEs still
 * point into the region, else releases and un-charges it. */
int emu_mm_put(struct emu_platform *p, struct emu_mm_mem *mem)
{
	uint_fast64_t one = 1;
	uint64_t entries;

	if (mem->used == 0)
		return -ENOENT;
	if (--mem->used)
		return 0;
	if (!atomic_compare_exchange_strong(&mem->mapped, &one, 0)) {
		mem->used++;
		return -EBUSY;
	}
	entries = mem->entries;
	mm_release(p, mem);
	emu_mm_account(p, entries, false);
	return 0;
}
