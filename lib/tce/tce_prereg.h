/* SPDX-License-Identifier: BSD-3-Clause */
/* Memory pre-registration (v2): the kernel keeps one list per process (mm_iommu), shares
 * a registration only for the very same range and refuses partial overlaps. */
#ifndef TCE_PREREG_H
#define TCE_PREREG_H

#include <stdint.h>

struct tce_plan_reg;

/* A pre-registration of the process (the kernel's mm_iommu list) and its users. */
struct tce_prereg { uint64_t va, len; unsigned int users; };

/* The ranges to register so that [va, va+len) is registered when the process already
 * has `set` (sorted by VA, not overlapping): every registration it touches, whole, and
 * the parts none covers, in VA order. 0 or -ENOMEM; *pieces is malloc'ed. */
int tce_prereg_pieces(const struct tce_prereg *set, unsigned int n, uint64_t va, uint64_t len,
		      struct tce_plan_reg **pieces, unsigned int *npieces);

#endif
