/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IOVA <-> VA translation over the live mappings: one array sorted by VA and an index
 * sorted by IOVA, both searched by bisection. Mappings are few (coalesced runs) and
 * change only when memory is added or removed, so keeping them sorted is cheap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tce_internal.h"

static int cmp_iova(const void *a, const void *b, void *ctx)
{
	const struct tce_mapping *m = ctx;
	uint64_t x = m[*(const unsigned int *)a].iova, y = m[*(const unsigned int *)b].iova;

	return x < y ? -1 : x > y;
}

int tce_xlate_rebuild(struct tce_container *c)
{
	unsigned int *idx = realloc(c->by_iova, (c->nmaps ? c->nmaps : 1) * sizeof(*idx));

	if (idx == NULL)
		return -ENOMEM;
	c->by_iova = idx;
	for (unsigned int i = 0; i < c->nmaps; i++)
		idx[i] = i;
	qsort_r(idx, c->nmaps, sizeof(*idx), cmp_iova, c->maps);
	return 0;
}

int tce_xlate_add(struct tce_container *c, uint64_t va, uint64_t iova, uint64_t len, unsigned int w)
{
	struct tce_mapping *m = realloc(c->maps, (c->nmaps + 1) * sizeof(*m));
	unsigned int pos = 0;

	if (m == NULL)
		return -ENOMEM;
	c->maps = m;
	while (pos < c->nmaps && m[pos].va < va)
		pos++;
	memmove(&m[pos + 1], &m[pos], (c->nmaps - pos) * sizeof(*m));
	m[pos] = (struct tce_mapping){ va, iova, len, w };
	c->nmaps++;
	c->st.dma_bytes += len;
	return tce_xlate_rebuild(c);
}

void tce_xlate_remove(struct tce_container *c, unsigned int i)
{
	c->st.dma_bytes -= c->maps[i].len;
	memmove(&c->maps[i], &c->maps[i + 1], (c->nmaps - i - 1) * sizeof(c->maps[0]));
	c->nmaps--;
	tce_xlate_rebuild(c);
}

int tce_iova_of(const struct tce_container *c, uint64_t va, uint64_t *iova)
{
	unsigned int lo = 0, hi = c->nmaps;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct tce_mapping *m = &c->maps[mid];
		if (va < m->va)
			hi = mid;
		else if (va >= m->va + m->len)
			lo = mid + 1;
		else {
			*iova = m->iova + (va - m->va);
			return 0;
		}
	}
	return -ENOENT;
}

int tce_va_of(const struct tce_container *c, uint64_t iova, uint64_t *va)
{
	unsigned int lo = 0, hi = c->nmaps;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct tce_mapping *m = &c->maps[c->by_iova[mid]];
		if (iova < m->iova)
			hi = mid;
		else if (iova >= m->iova + m->len)
			lo = mid + 1;
		else {
			*va = m->va + (iova - m->iova);
			return 0;
		}
	}
	return -ENOENT;
}
