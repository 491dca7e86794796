/* SPDX-License-Identifier: BSD-3-Clause */
/* Device options, in the bus layer of the devargs (checked when EAL parses them, so a
 * bad one stops EAL init):  -a bus=spapr,addr=ADDR,iommu=auto|v1|v2|eal,pagesize=auto|SIZE,dry_run=0|1
 * (iommu=eal: a device DPDK's bus/pci drives is left to EAL's own VFIO code) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_devargs.h>
#include <rte_kvargs.h>

#include "spapr_private.h"
#include "tce.h"

static const char *const keys[] = { "bus", "addr", "iommu", "pagesize", "dry_run", NULL };

static int set_iommu(const char *key, const char *val, void *arg)
{
	struct spapr_devopts *o = arg;

	(void)key;
	if (val == NULL) /* "iommu" without a value */
		return -EINVAL;
	if (strcmp(val, "auto") == 0)
		o->iommu = TCE_IOMMU_AUTO;
	else if (strcmp(val, "v1") == 0)
		o->iommu = TCE_IOMMU_V1;
	else if (strcmp(val, "v2") == 0)
		o->iommu = TCE_IOMMU_V2;
	else if (strcmp(val, "eal") == 0)
		o->iommu = SPAPR_IOMMU_EAL;
	else
		return -EINVAL;
	return 0;
}

static int set_pagesize(const char *key, const char *val, void *arg)
{
	struct spapr_devopts *o = arg;
	uint64_t v;

	(void)key;
	if (val == NULL)
		return -EINVAL;
	if (strcmp(val, "auto") == 0) {
		o->page_shift = 0;
		return 0;
	}
	if (tce_parse_size(val, &v) != 0 || v < 4096 || (v & (v - 1)))
		return -EINVAL;
	o->page_shift = 63 - __builtin_clzll(v);
	return 0;
}

static int set_dry_run(const char *key, const char *val, void *arg)
{
	struct spapr_devopts *o = arg;

	(void)key;
	if (val == NULL || (strcmp(val, "0") && strcmp(val, "1")))
		return -EINVAL;
	o->dry_run = val[0] == '1';
	return 0;
}

int spapr_devopts_parse_str(const char *name, const char *str, struct spapr_devopts *o)
{
	struct rte_kvargs *kv;
	int ret = 0;

	memset(o, 0, sizeof(*o));
	if (str == NULL || str[0] == '\0')
		return 0;
	kv = rte_kvargs_parse(str, keys);
	if (kv == NULL) {
		SPAPR_LOG(ERR, "%s: bad device options '%s' (known: iommu=auto|v1|v2|eal, pagesize=auto|SIZE,"
			  " dry_run=0|1)", name, str);
		return -EINVAL;
	}
	if (rte_kvargs_process(kv, "iommu", set_iommu, o) < 0) {
		SPAPR_LOG(ERR, "%s: iommu= takes auto, v1, v2 or eal", name);
		ret = -EINVAL;
	} else if (rte_kvargs_process(kv, "pagesize", set_pagesize, o) < 0) {
		SPAPR_LOG(ERR, "%s: pagesize= takes auto or a power of two of at least 4K (64K, 2M, 16M)", name);
		ret = -EINVAL;
	} else if (rte_kvargs_process(kv, "dry_run", set_dry_run, o) < 0) {
		SPAPR_LOG(ERR, "%s: dry_run= takes 0 or 1", name);
		ret = -EINVAL;
	}
	rte_kvargs_free(kv);
	return ret;
}

struct rte_devargs *spapr_find_devargs(const char *name)
{
	struct rte_devargs *da;

	RTE_EAL_DEVARGS_FOREACH("spapr", da)
		if (strcmp(da->name, name) == 0)
			return da;
	return NULL;
}

/* The options of each device named for this bus, kept at each scan from the devargs EAL
 * lists (the bus layer: bus=spapr,addr=...,k=v; the legacy spapr:ADDR,k=v), or parsed
 * at first use. Devices without devargs have the defaults. */
struct known_opts { char name[SPAPR_NAME_LEN]; struct spapr_devopts o; };
static struct known_opts *known;
static unsigned int nknown;

static void remember(const char *name, const struct spapr_devopts *o)
{
	struct known_opts *k;

	for (unsigned int i = 0; i < nknown; i++)
		if (strcmp(known[i].name, name) == 0) {
			known[i].o = *o;
			return;
		}
	k = realloc(known, (nknown + 1) * sizeof(*known));
	if (k == NULL)
		return; /* parsed again at the next use */
	known = k;
	snprintf(known[nknown].name, sizeof(known[nknown].name), "%s", name);
	known[nknown++].o = *o;
}

int spapr_devopts_remember(const char *name, const char *str)
{
	struct spapr_devopts o;
	int ret = spapr_devopts_parse_str(name, str, &o);

	if (ret == 0)
		remember(name, &o);
	return ret;
}

int spapr_devopts_of(const char *name, struct spapr_devopts *o)
{
	const struct rte_devargs *da;
	int ret;

	for (unsigned int i = 0; i < nknown; i++)
		if (strcmp(known[i].name, name) == 0) {
			*o = known[i].o;
			return 0;
		}
	da = spapr_find_devargs(name);
	if (da == NULL) {
		memset(o, 0, sizeof(*o));
		return 0;
	}
	ret = spapr_devopts_parse_str(da->name, da->bus_str && strstr(da->bus_str, "bus=") ? da->bus_str
				      : da->args, o);
	if (ret == 0)
		remember(name, o);
	return ret;
}

/* Its devargs are gone (a hot-unplug, a failed hot-plug): the defaults again. */
void spapr_devopts_forget_one(const char *name)
{
	for (unsigned int i = 0; i < nknown; i++)
		if (strcmp(known[i].name, name) == 0) {
			known[i] = known[--nknown];
			return;
		}
}

void spapr_devopts_forget(void)
{
	free(known);
	known = NULL;
	nknown = 0;
}
