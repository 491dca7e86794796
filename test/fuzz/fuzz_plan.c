/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer: lib/tce's planner on what the kernel answered (GET_INFO, checked by
 * tce_parse_info) and any memory layout: a plan that is accepted keeps every map inside
 * its window and registered, and the IOVA allocator's answers lie in free space.
 */
#include <linux/vfio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	struct vfio_iommu_spapr_tce_info gi;
	uint8_t v2_type, eeh, flags, page_shift, nregions;
	uint64_t window_min;
};

static void check_plan(const struct tce_plan *p)
{
	if (p->nwindows > 2)
		abort();
	for (unsigned int i = 0; i < p->nmaps; i++) {
		const struct tce_plan_map *m = &p->maps[i];
		const struct tce_plan_window *w = &p->windows[m->window];
		if (m->window >= p->nwindows || m->offset > w->size || m->len > w->size - m->offset || m->len == 0)
			abort();
		if (p->type == VFIO_SPAPR_TCE_IOMMU)
			continue;
		/* v2: every byte mapped is registered (the kernel looks each TCE's page up in
		 * the registrations: a map may span adjacent ones) */
		for (uint64_t at = m->va; at < m->va + m->len;) {
			uint64_t next = at;
			for (unsigned int r = 0; r < p->nregs; r++)
				if (at >= p->regs[r].va && at < p->regs[r].va + p->regs[r].len)
					next = p->regs[r].va + p->regs[r].len;
			if (next == at)
				abort();
			at = next;
		}
	}
}

static void check_first_fit(const uint8_t *data, size_t size)
{
	struct tce_plan_reg used[16];
	unsigned int n = 0;
	uint64_t at = 0, off;

	for (size_t i = 0; i + 2 <= size && n < 16; i += 2) {
		at += (uint64_t)data[i] << 21;
		used[n++] = (struct tce_plan_reg){ at, ((uint64_t)data[i + 1] + 1) << 21 };
		at += used[n - 1].len;
	}
	if (tce_plan_first_fit(used, n, 1ULL << 30, 4ULL << 20, 2ULL << 20, &off) == 0) {
		if (off % (2ULL << 20) || off + (4ULL << 20) > (1ULL << 30))
			abort();
		for (unsigned int k = 0; k < n; k++)
			if (off < used[k].va + used[k].len && used[k].va < off + (4ULL << 20))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;
	struct tce_iommu_info info;
	struct tce_region r[32];
	struct tce_plan p;
	char err[400];

	check_first_fit(data, size);
	if (size < sizeof(in))
		return 0;
	memcpy(&in, data, sizeof(in));
	data += sizeof(in);
	size -= sizeof(in);
	if (tce_parse_info(&in.gi, in.v2_type & 1, in.eeh & 1, 16, &info, err, sizeof(err)) != 0)
		return 0;
	unsigned int n = 0;
	while (n < 32 && n < in.nregions && size >= 4 * sizeof(uint64_t)) {
		uint64_t f[4];
		memcpy(f, data, sizeof(f));
		data += sizeof(f);
		size -= sizeof(f);
		/* pages of a size the kernel has, memory where user space can be */
		uint64_t page = 1ULL << (12 + f[2] % 19);
		r[n] = (struct tce_region){ .va = (f[0] % (1ULL << 47)) & ~(page - 1), .len = ((f[1] % 64) + 1) * page,
					    .page_size = page, .node = (int)(f[2] >> 32) % 4 - 1,
					    .iova = (f[3] & 1) ? TCE_IOVA_ANY : (f[3] % (1ULL << 62)) & ~(page - 1) };
		n++;
	}
	if (n == 0)
		return 0;
	for (unsigned int i = 1; i < n; i++) /* either every IOVA is fixed or none is */
		if ((r[i].iova == TCE_IOVA_ANY) != (r[0].iova == TCE_IOVA_ANY))
			r[i].iova = r[0].iova == TCE_IOVA_ANY ? TCE_IOVA_ANY : r[i].va;
	struct tce_plan_opts o = { .flags = in.flags & 0xf, .window_min = in.window_min,
				   .page_shift = in.page_shift % 2 ? 12 + in.page_shift % 24 : 0 };
	if (tce_plan_build(r, n, &info, &o, &p, err, sizeof(err)) == 0) {
		check_plan(&p);
		tce_plan_free(&p);
	}
	return 0;
}
