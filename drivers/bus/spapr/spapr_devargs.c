/* SPDX-License-Identifier: BSD-3-Clause */
/* Device options: -a spapr:ADDR,iommu=auto|v1|v2,pagesize=auto|64K|2M|...,dry_run=0|1 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_devargs.h>
#include <rte_kvargs.h>

#include "spapr_private.h"
#include "tce.h"

static const char *const keys[] = { "iommu", "pagesize", "dry_run", NULL };

static int set_iommu(const char *key, const char *val, void *arg)
{
	struct spapr_devopts *o = arg;

	(void)key;
	if (strcmp(val, "auto") == 0)
		o->iommu = TCE_IOMMU_AUTO;
	else if (strcmp(val, "v1") == 0)
		o->iommu = TCE_IOMMU_V1;
	else if (strcmp(val, "v2") == 0)
		o->iommu = TCE_IOMMU_V2;
	else
		return -EINVAL;
	return 0;
}

static int set_pagesize(const char *key, const char *val, void *arg)
{
	struct spapr_devopts *o = arg;
	char *end;
	unsigned long long v;

	(void)key;
	if (strcmp(val, "auto") == 0) {
		o->page_shift = 0;
		return 0;
	}
	v = strtoull(val, &end, 0);
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v < 4096 || (v & (v - 1)))
		return -EINVAL;
	o->page_shift = 63 - __builtin_clzll(v);
	return 0;
}

static int set_dry_run(const char *key, const char *val, void *arg)
{
	struct spapr_devopts *o = arg;

	(void)key;
	if (strcmp(val, "0") && strcmp(val, "1"))
		return -EINVAL;
	o->dry_run = val[0] == '1';
	return 0;
}

int spapr_devopts_parse(const struct rte_devargs *da, struct spapr_devopts *o)
{
	struct rte_kvargs *kv;
	int ret = 0;

	memset(o, 0, sizeof(*o));
	if (da == NULL || da->args == NULL || da->args[0] == '\0')
		return 0;
	kv = rte_kvargs_parse(da->args, keys);
	if (kv == NULL) {
		SPAPR_LOG(ERR, "%s: bad device options '%s' (known: iommu=auto|v1|v2, pagesize=auto|SIZE,"
			  " dry_run=0|1)", da->name, da->args);
		return -EINVAL;
	}
	if (rte_kvargs_process(kv, "iommu", set_iommu, o) < 0) {
		SPAPR_LOG(ERR, "%s: iommu= takes auto, v1 or v2", da->name);
		ret = -EINVAL;
	} else if (rte_kvargs_process(kv, "pagesize", set_pagesize, o) < 0) {
		SPAPR_LOG(ERR, "%s: pagesize= takes auto or a power of two of at least 4K (64K, 2M, 16M)",
			  da->name);
		ret = -EINVAL;
	} else if (rte_kvargs_process(kv, "dry_run", set_dry_run, o) < 0) {
		SPAPR_LOG(ERR, "%s: dry_run= takes 0 or 1", da->name);
		ret = -EINVAL;
	}
	rte_kvargs_free(kv);
	return ret;
}
