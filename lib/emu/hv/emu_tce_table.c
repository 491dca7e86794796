/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A TCE table: one 8-byte entry per IOMMU page of a window, holding the host address
 * of the page and the READ/WRITE permission bits. A window can have billions of
 * entries (2^47 bytes of 4 KiB pages), so entries live in a radix of 512-entry leaves
 * allocated on first write; an absent leaf reads as all-invalid. Writers hold the
 * platform lock; device DMA reads entries with atomic loads under the DMA read lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"

#define RADIX_BITS 9
#define RADIX_FANOUT (1u << RADIX_BITS)

static unsigned int radix_depth(uint64_t entries)
{
	unsigned int depth = 1;
	uint64_t span = RADIX_FANOUT;

	while (span < entries) {
		span <<= RADIX_BITS;
		depth++;
	}
	return depth;
}

struct emu_tce_table *emu_tce_table_new(uint64_t bus_start, uint64_t window_size,
					unsigned int page_shift, unsigned int levels)
{
	struct emu_tce_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->page_shift = page_shift;
	t->offset = bus_start >> page_shift;
	t->size = window_size >> page_shift;
	t->levels = levels;
	t->depth = radix_depth(t->size);
	return t;
}

static void free_node(void *node, unsigned int depth)
{
	if (node == NULL)
		return;
	if (depth > 1) {
		void **slots = node;
		for (unsigned int i = 0; i < RADIX_FANOUT; i++)
			free_node(slots[i], depth - 1);
	}
	free(node);
}

void emu_tce_table_free(struct emu_tce_table *t)
{
	if (t == NULL)
		return;
	free_node(t->root, t->depth);
	free(t->user_leaves);
	free(t);
}

/* Pointer to the entry of relative index `rel`, allocating the path if `alloc`. */
static _Atomic uint64_t *entry_ptr(const struct emu_tce_table *t, uint64_t rel, bool alloc)
{
	void *_Atomic *slot = (void *_Atomic *)&((struct emu_tce_table *)t)->root;

	for (unsigned int level = t->depth; level > 0; level--) {
		void *node = atomic_load_explicit(slot, memory_order_acquire);
		unsigned int shift = (level - 1) * RADIX_BITS;
		unsigned int i = (rel >> shift) & (RADIX_FANOUT - 1);

		if (node == NULL) {
			if (!alloc)
				return NULL;
			node = calloc(RADIX_FANOUT, level > 1 ? sizeof(void *) : sizeof(uint64_t));
			if (node == NULL)
				return NULL;
			atomic_store_explicit(slot, node, memory_order_release);
		}
		if (level == 1)
			return &((_Atomic uint64_t *)node)[i];
		slot = &((void *_Atomic *)node)[i];
	}
	return NULL;
}

static bool tce_valid(uint64_t v)
{
	return (v & (EMU_TCE_READ | EMU_TCE_WRITE)) != 0;
}

uint64_t emu_tce_xchg(struct emu_tce_table *t, uint64_t idx, uint64_t val)
{
	_Atomic uint64_t *e = entry_ptr(t, idx - t->offset, val != 0);
	uint64_t old;

	if (e == NULL)
		return 0;
	old = atomic_exchange_explicit(e, val, memory_order_acq_rel);
	atomic_fetch_add_explicit(&t->gen, 1, memory_order_release);
	if (tce_valid(old) && !tce_valid(val))
		t->nr_valid--;
	else if (!tce_valid(old) && tce_valid(val))
		t->nr_valid++;
	return old;
}

uint64_t emu_tce_get(const struct emu_tce_table *t, uint64_t idx)
{
	_Atomic uint64_t *e;

	if (idx < t->offset || idx - t->offset >= t->size)
		return 0;
	e = entry_ptr(t, idx - t->offset, false);
	return e ? atomic_load_explicit(e, memory_order_acquire) : 0;
}

/* First position in the sorted leaf list not below `leaf`. */
static size_t leaf_pos(const struct emu_tce_table *t, uint64_t leaf)
{
	size_t lo = 0, hi = t->nr_user_leaves;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->user_leaves[mid] < leaf)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int emu_tce_user_leaf_touch(struct emu_tce_table *t, uint64_t idx)
{
	uint64_t leaf;
	size_t pos;

	if (t->level_entries == 0 || idx < t->offset)
		return 0;
	leaf = (idx - t->offset) / t->level_entries;
	pos = leaf_pos(t, leaf);
	if (pos < t->nr_user_leaves && t->user_leaves[pos] == leaf)
		return 0;
	if (t->nr_user_leaves == t->cap_user_leaves) {
		size_t cap = t->cap_user_leaves ? t->cap_user_leaves * 2 : 16;
		uint64_t *n = realloc(t->user_leaves, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		t->user_leaves = n;
		t->cap_user_leaves = cap;
	}
	memmove(&t->user_leaves[pos + 1], &t->user_leaves[pos],
		(t->nr_user_leaves - pos) * sizeof(*t->user_leaves));
	t->user_leaves[pos] = leaf;
	t->nr_user_leaves++;
	return 0;
}

uint64_t emu_tce_user_entries(const struct emu_tce_table *t, uint64_t first, uint64_t n)
{
	uint64_t lo, hi, count = 0;

	if (t->level_entries == 0)
		return n;
	lo = first - t->offset;
	hi = lo + n;
	for (size_t i = leaf_pos(t, lo / t->level_entries); i < t->nr_user_leaves; i++) {
		uint64_t a = t->user_leaves[i] * t->level_entries, b = a + t->level_entries;

		if (a >= hi)
			break;
		count += (b < hi ? b : hi) - (a > lo ? a : lo);
	}
	return count;
}

bool emu_tce_contains(const struct emu_tce_table *t, uint64_t bus_addr)
{
	uint64_t idx = bus_addr >> t->page_shift;

	return idx >= t->offset && idx - t->offset < t->size;
}

/* Clear [first, first+n) relative entries below `node`, skipping absent subtrees. */
static void clear_node(struct emu_tce_table *t, void *node, unsigned int level, uint64_t base,
		       uint64_t first, uint64_t end,
		       void (*fn)(void *, uint64_t, uint64_t), void *ctx)
{
	uint64_t span = 1ULL << ((level - 1) * RADIX_BITS);

	for (unsigned int i = 0; i < RADIX_FANOUT; i++) {
		uint64_t lo = base + i * span, hi = lo + span;

		if (hi <= first || lo >= end)
			continue;
		if (level > 1) {
			void *child = ((void **)node)[i];
			if (child != NULL)
				clear_node(t, child, level - 1, lo, first, end, fn, ctx);
			continue;
		}
		_Atomic uint64_t *e = &((_Atomic uint64_t *)node)[i];
		uint64_t old = atomic_exchange_explicit(e, 0, memory_order_acq_rel);
		if (tce_valid(old)) {
			t->nr_valid--;
			if (fn != NULL)
				fn(ctx, t->offset + lo, old);
		}
	}
}

void emu_tce_clear_range(struct emu_tce_table *t, uint64_t first, uint64_t n,
			 void (*fn)(void *ctx, uint64_t idx, uint64_t old), void *ctx)
{
	uint64_t rel = first - t->offset;

	if (t->root == NULL || n == 0)
		return;
	clear_node(t, t->root, t->depth, 0, rel, rel + n, fn, ctx);
	atomic_fetch_add_explicit(&t->gen, 1, memory_order_release);
}
