/* SPDX-License-Identifier: BSD-3-Clause */
/* The sparse TCE table: huge windows cost memory only for what is mapped. */
#include "emu_test.h"
#include "emu_internal.h"

static uint64_t count;
static void count_cb(void *ctx, uint64_t idx, uint64_t old)
{
	(void)ctx; (void)idx; (void)old;
	count++;
}

static void huge_sparse_window(void)
{
	/* 2^47 bytes of 4 KiB pages: 2^35 entries, one 512-entry leaf touched */
	struct emu_tce_table *t = emu_tce_table_new(1ULL << 59, 1ULL << 47, 12, 1);
	uint64_t first = (1ULL << 59) >> 12, last = first + (1ULL << 35) - 1;

	CHECK(t != NULL);
	CHECK_EQ(t->size, 1ULL << 35);
	CHECK_EQ(emu_tce_get(t, last), 0);
	CHECK_EQ(emu_tce_xchg(t, last, 0x5000 | EMU_TCE_READ), 0);
	CHECK_EQ(emu_tce_get(t, last), 0x5000 | EMU_TCE_READ);
	CHECK_EQ(emu_tce_xchg(t, first, 0x7000 | EMU_TCE_WRITE), 0);
	CHECK_EQ(t->nr_valid, 2);
	CHECK(emu_tce_contains(t, (1ULL << 59) + (1ULL << 47) - 1));
	CHECK(!emu_tce_contains(t, (1ULL << 59) + (1ULL << 47)));
	CHECK(!emu_tce_contains(t, 0));
	CHECK_EQ(emu_tce_get(t, first - 1), 0); /* outside reads as invalid */
	/* clearing the whole window visits only the valid entries */
	count = 0;
	emu_tce_clear_range(t, first, t->size, count_cb, NULL);
	CHECK_EQ(count, 2);
	CHECK_EQ(t->nr_valid, 0);
	CHECK_EQ(emu_tce_get(t, last), 0);
	emu_tce_table_free(t);
}

static void replace_and_clear(void)
{
	struct emu_tce_table *t = emu_tce_table_new(0, 1ULL << 30, 12, 1);

	for (uint64_t i = 0; i < 1000; i++)
		emu_tce_xchg(t, i * 7, (i << 12) | EMU_TCE_READ | EMU_TCE_WRITE);
	CHECK_EQ(t->nr_valid, 1000);
	CHECK_EQ(emu_tce_xchg(t, 7, 0x1000 | EMU_TCE_READ), (1 << 12) | EMU_TCE_READ | EMU_TCE_WRITE);
	CHECK_EQ(t->nr_valid, 1000); /* replaced, not added */
	count = 0;
	emu_tce_clear_range(t, 0, 700, count_cb, NULL); /* entries 0, 7, ..., 693 */
	CHECK_EQ(count, 100);
	CHECK_EQ(t->nr_valid, 900);
	emu_tce_table_free(t);
}

int main(void)
{
	RUN(huge_sparse_window);
	RUN(replace_and_clear);
	return test_result();
}
