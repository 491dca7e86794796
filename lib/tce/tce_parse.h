/* SPDX-License-Identifier: BSD-3-Clause */
/* The parsers of outside text lib/tce and its users share: sizes given by users, numbers
 * the kernel writes into sysfs. */
#ifndef TCE_PARSE_H
#define TCE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vfio_iommu_spapr_tce_info;
struct tce_iommu_info;

/* "4096", "0x1000", "64K", "2M", "1G": 0, or -EINVAL (also for 0). */
int tce_parse_size(const char *s, uint64_t *out);

/* A sysfs number as the kernel writes it ("0x1af4\n", "-1\n", "12\n"), within
 * [min, max]: 0 or -EINVAL. */
int tce_parse_number(const char *text, long long min, long long max, long long *out);

/* What VFIO_IOMMU_SPAPR_TCE_GET_INFO said, checked (a default window that is not 4 KiB
 * pages below 4 GiB, dynamic windows with no page size, more than 5 levels or 2 windows:
 * -EINVAL, one line in err) and completed with what it does not say: the hypervisor
 * (EEH through VFIO: PowerNV), the windows it is safe to create, where they start. */
int tce_parse_info(const struct vfio_iommu_spapr_tce_info *gi, bool v2_type, bool eeh,
		   unsigned int kernel_page_shift, struct tce_iommu_info *in, char *err, size_t errlen);

#endif
