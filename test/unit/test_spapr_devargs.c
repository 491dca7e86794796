/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spapr bus's device options (drivers/bus/spapr/spapr_devargs.c) without EAL: every
 * key, every value it takes and the ones it refuses, in the bus layer of -a
 * (bus=spapr,addr=...,k=v) and alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "spapr_private.h"
#include "tce.h"

int spapr_logtype; /* the bus registers it; here it is EAL's */


struct want { const char *text; int ret; int iommu; unsigned int page_shift; bool dry_run; };

static const struct want cases[] = {
	{ NULL, 0, TCE_IOMMU_AUTO, 0, false },
	{ "", 0, TCE_IOMMU_AUTO, 0, false },
	{ "iommu=auto", 0, TCE_IOMMU_AUTO, 0, false },
	{ "iommu=v1", 0, TCE_IOMMU_V1, 0, false },
	{ "iommu=v2", 0, TCE_IOMMU_V2, 0, false },
	{ "iommu=eal", 0, SPAPR_IOMMU_EAL, 0, false },
	{ "pagesize=auto", 0, TCE_IOMMU_AUTO, 0, false },
	{ "pagesize=4K", 0, TCE_IOMMU_AUTO, 12, false },
	{ "pagesize=64K", 0, TCE_IOMMU_AUTO, 16, false },
	{ "pagesize=2M", 0, TCE_IOMMU_AUTO, 21, false },
	{ "pagesize=16M", 0, TCE_IOMMU_AUTO, 24, false },
	{ "pagesize=0x10000", 0, TCE_IOMMU_AUTO, 16, false },
	{ "dry_run=0", 0, TCE_IOMMU_AUTO, 0, false },
	{ "dry_run=1", 0, TCE_IOMMU_AUTO, 0, true },
	{ "bus=spapr,addr=0000:00:01.0,iommu=v1,pagesize=2M,dry_run=1", 0, TCE_IOMMU_V1, 21, true },
	{ "iommu=v3", -EINVAL, 0, 0, false },
	{ "iommu=", -EINVAL, 0, 0, false },
	{ "pagesize=3K", -EINVAL, 0, 0, false },
	{ "pagesize=2K", -EINVAL, 0, 0, false },
	{ "pagesize=12345", -EINVAL, 0, 0, false },
	{ "pagesize=big", -EINVAL, 0, 0, false },
	{ "dry_run=2", -EINVAL, 0, 0, false },
	{ "dry_run=yes", -EINVAL, 0, 0, false },
	{ "colour=blue", -EINVAL, 0, 0, false },
	{ "iommu", -EINVAL, 0, 0, false },        /* no value: crashed the bus once */
	{ "pagesize", -EINVAL, 0, 0, false },
	{ "dry_run", -EINVAL, 0, 0, false },
};

/* Options are parsed once, when EAL parses the devargs, and kept by device name. */
static void kept_by_name(void)
{
	struct spapr_devopts o;

	CHECK_EQ(spapr_devopts_of("0000:00:05.0", &o), 0);          /* no devargs: defaults */
	CHECK_EQ(o.iommu, TCE_IOMMU_AUTO);
	CHECK_EQ(spapr_devopts_remember("0000:00:05.0", "bus=spapr,addr=0000:00:05.0,iommu=v1"), 0);
	CHECK_EQ(spapr_devopts_of("0000:00:05.0", &o), 0);
	CHECK_EQ(o.iommu, TCE_IOMMU_V1);
	CHECK_EQ(spapr_devopts_remember("0000:00:05.0", "iommu=v9"), -EINVAL); /* refused, kept */
	CHECK_EQ(spapr_devopts_of("0000:00:05.0", &o), 0);
	CHECK_EQ(o.iommu, TCE_IOMMU_V1);
	CHECK_EQ(spapr_devopts_remember("0000:00:05.0", "pagesize=64K"), 0);  /* attached again */
	CHECK_EQ(spapr_devopts_of("0000:00:05.0", &o), 0);
	CHECK_EQ(o.iommu, TCE_IOMMU_AUTO);
	CHECK_EQ(o.page_shift, 16);
	CHECK_EQ(spapr_devopts_of("0000:00:06.0", &o), 0);
	CHECK_EQ(o.page_shift, 0);
	spapr_devopts_forget();
	CHECK_EQ(spapr_devopts_of("0000:00:05.0", &o), 0);
	CHECK_EQ(o.page_shift, 0);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct want *w = &cases[i];
		struct spapr_devopts o;
		int before = failures;
		int ret = spapr_devopts_parse_str("0000:00:01.0", w->text, &o);

		CHECK_EQ(ret, w->ret);
		if (ret == 0) {
			CHECK_EQ(o.iommu, w->iommu);
			CHECK_EQ(o.page_shift, w->page_shift);
			CHECK_EQ(o.dry_run, w->dry_run);
		}
		printf("%-64s %s\n", w->text ? w->text : "(none)", failures == before ? "ok" : "FAILED");
	}
	RUN(kept_by_name);
	return test_result();
}
