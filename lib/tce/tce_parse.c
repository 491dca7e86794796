/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsers of outside text (tce_parse.h): pure functions. */
#include <errno.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tce_parse.h"
#include "tce_plan.h"

int tce_parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	unsigned int shift = 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v == 0 || v > (UINT64_MAX >> shift))
		return -EINVAL; /* also a size that does not fit 64 bits */
	v <<= shift;
	*out = v;
	return 0;
}

int tce_parse_number(const char *text, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 0);
	if (errno || end == text || (*end != '\n' && *end != '\0') || (*end == '\n' && end[1] != '\0') ||
	    v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The kernel's answer, checked before anything is planned on it: what no sPAPR kernel
 * says would make the planner compute windows that wrap or tables of absurd sizes. */
int tce_parse_info(const struct vfio_iommu_spapr_tce_info *gi, bool v2_type, bool eeh,
		   unsigned int kernel_page_shift, struct tce_iommu_info *in, char *err, size_t errlen)
{
	memset(in, 0, sizeof(*in));
	if (gi->dma32_window_size & 0xfff || gi->dma32_window_start & 0xfff ||
	    gi->dma32_window_start + (uint64_t)gi->dma32_window_size < gi->dma32_window_start ||
	    gi->dma32_window_start + (uint64_t)gi->dma32_window_size > (1ULL << 32)) {
		snprintf(err, errlen, "GET_INFO: default window 0x%x+0x%x is not 4 KiB pages below 4 GiB:"
			 " not an sPAPR TCE window", gi->dma32_window_start, gi->dma32_window_size);
		return -EINVAL;
	}
	in->dma32_start = gi->dma32_window_start;
	in->dma32_size = gi->dma32_window_size;
	in->v2 = v2_type && (gi->flags & VFIO_IOMMU_SPAPR_INFO_DDW);
	if (in->v2) {
		/* IOMMU pages from 4 KiB to 16 GiB; tables of at most 5 levels (the kernel's) */
		uint64_t pgsizes = gi->ddw.pgsizes & ((1ULL << 35) - 1) & ~((1ULL << 12) - 1);
		if (pgsizes == 0 || gi->ddw.levels > 5 || gi->ddw.max_dynamic_windows_supported > 2) {
			snprintf(err, errlen, "GET_INFO: dynamic windows with page sizes 0x%" PRIx64 ", %u"
				 " levels, %u windows: not what an sPAPR kernel offers", (uint64_t)gi->ddw.pgsizes,
				 gi->ddw.levels, gi->ddw.max_dynamic_windows_supported);
			return -EINVAL;
		}
		in->pgsizes = pgsizes;
		in->max_windows = gi->ddw.max_dynamic_windows_supported;
		in->levels = gi->ddw.levels;
	}
	in->hv = eeh ? TCE_HV_POWERNV : TCE_HV_PSERIES;
	/* a pSeries guest gets one dynamic window (asking for a second fails and poisons
	 * the device) */
	unsigned int grant = eeh ? 2u : 1u;
	in->usable_windows = in->max_windows < grant ? in->max_windows : grant;
	in->ddw_start[0] = eeh ? in->dma32_start : 1ULL << 59;
	in->ddw_start[1] = 1ULL << 59;
	/* POWER distributions run 64 KiB-page kernels; registrations aligned to 64 KiB are
	 * valid for a 4 KiB-page kernel too */
	in->page_shift = kernel_page_shift > 16 ? kernel_page_shift : 16;
	return 0;
}
