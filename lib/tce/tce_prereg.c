/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The process's memory pre-registrations (v2). The kernel keeps them per mm, shared by
 * every container of the process: registering again exactly the range of an existing
 * registration takes a reference to it and charges nothing (mm_iommu_get matches start
 * and size), while a range overlapping one partially is refused (mm_iommu_new: EINVAL).
 * A second container, or one opened again after a hot-unplug, must therefore register
 * memory in the pieces already registered and only the rest anew: this file keeps the
 * process's registrations and cuts ranges along them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tce_internal.h"

static struct tce_prereg *registry;     /* sorted by VA, never overlapping */
static unsigned int nregistry, registry_cap;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static int push_piece(struct tce_plan_reg **out, unsigned int *n, unsigned int *cap, uint64_t va, uint64_t len)
{
	if (*n == *cap) {
		unsigned int ncap = *cap ? 2 * *cap : 8;
		struct tce_plan_reg *p = realloc(*out, ncap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		*out = p;
		*cap = ncap;
	}
	(*out)[(*n)++] = (struct tce_plan_reg){ va, len };
	return 0;
}

int tce_prereg_pieces(const struct tce_prereg *set, unsigned int n, uint64_t va, uint64_t len,
		      struct tce_plan_reg **pieces, unsigned int *npieces)
{
	uint64_t cur = va, end = va + len;
	unsigned int cnt = 0, cap = 0;
	struct tce_plan_reg *out = NULL;
	int ret = 0;

	for (unsigned int i = 0; i < n && ret == 0; i++) {
		const struct tce_prereg *r = &set[i];
		if (r->va >= end || r->va + r->len <= va)
			continue;
		if (r->va > cur)
			ret = push_piece(&out, &cnt, &cap, cur, r->va - cur);
		if (ret == 0)
			ret = push_piece(&out, &cnt, &cap, r->va, r->len);
		if (r->va + r->len > cur)
			cur = r->va + r->len;
	}
	if (ret == 0 && cur < end)
		ret = push_piece(&out, &cnt, &cap, cur, end - cur);
	if (ret) {
		free(out);
		return ret;
	}
	*pieces = out;
	*npieces = cnt;
	return 0;
}

int tce_prereg_plan(uint64_t va, uint64_t len, struct tce_plan_reg **pieces, unsigned int *npieces)
{
	int ret;

	pthread_mutex_lock(&registry_lock);
	ret = tce_prereg_pieces(registry, nregistry, va, len, pieces, npieces);
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

static int find(uint64_t va, uint64_t len)
{
	for (unsigned int i = 0; i < nregistry; i++)
		if (registry[i].va == va && registry[i].len == len)
			return (int)i;
	return -1;
}

int tce_prereg_take(uint64_t va, uint64_t len, bool *first)
{
	int i, ret = 0;

	pthread_mutex_lock(&registry_lock);
	i = find(va, len);
	*first = i < 0;
	if (i >= 0) {
		registry[i].users++;
	} else if (nregistry == registry_cap &&
		   (registry = realloc(registry, (registry_cap = registry_cap ? 2 * registry_cap : 16) *
					      sizeof(*registry))) == NULL) {
		nregistry = registry_cap = 0;
		ret = -ENOMEM;
	} else {
		unsigned int at = 0;
		while (at < nregistry && registry[at].va < va)
			at++;
		memmove(&registry[at + 1], &registry[at], (nregistry - at) * sizeof(*registry));
		registry[at] = (struct tce_prereg){ va, len, 1 };
		nregistry++;
	}
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

bool tce_prereg_drop(uint64_t va, uint64_t len)
{
	bool last = false;
	int i;

	pthread_mutex_lock(&registry_lock);
	i = find(va, len);
	if (i >= 0 && --registry[i].users == 0) {
		memmove(&registry[i], &registry[i + 1], (nregistry - (unsigned int)i - 1) * sizeof(*registry));
		nregistry--;
		last = true;
	}
	pthread_mutex_unlock(&registry_lock);
	return last;
}

uint64_t tce_prereg_bytes_within(uint64_t va, uint64_t len)
{
	uint64_t bytes = 0;

	pthread_mutex_lock(&registry_lock);
	for (unsigned int i = 0; i < nregistry; i++)
		if (registry[i].va < va + len && registry[i].va + registry[i].len > va)
			bytes += registry[i].len;
	pthread_mutex_unlock(&registry_lock);
	return bytes;
}
