/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live counters through DPDK telemetry (dpdk-telemetry.py):
 *   /spapr/containers  one entry per IOMMU group: IOMMU type, platform, devices
 *   /spapr/windows     the DMA windows: bus address, size, IOMMU page, levels, table
 *   /spapr/stats       ioctls by kind, TCEs, estimated hypercalls, locked and table
 *                      bytes, bytes mapped, time spent mapping
 * each for every IOMMU group ({"group<N>": ...}), or for one: /spapr/stats,<N>.
 */
#include <linux/vfio.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_telemetry.h>

#include "spapr_dpdk_compat.h"
#include "spapr_private.h"
#include "tce.h"

typedef void (*fill_fn)(struct rte_tel_data *d, const struct spapr_iommu_view *v);

/* devices of either bus: the spapr bus's own and DPDK's bus/pci ones it serves */
static void fill_container(struct rte_tel_data *d, const struct spapr_iommu_view *v)
{
	const struct tce_iommu_info *info = tce_container_info(v->c);
	char devs[SPAPR_GROUP_MAX_DEVS * SPAPR_NAME_LEN] = "";
	size_t n = 0;

	for (unsigned int i = 0; i < v->ndevices; i++)
		n += snprintf(devs + n, n < sizeof(devs) ? sizeof(devs) - n : 0, "%s%s", n ? " " : "",
			      v->devices[i]);
	spapr_tel_dict_u64(d, "group", v->group);
	rte_tel_data_add_dict_string(d, "iommu", tce_container_type(v->c) == VFIO_SPAPR_TCE_v2_IOMMU ? "v2" : "v1");
	rte_tel_data_add_dict_string(d, "platform", info->hv == TCE_HV_POWERNV ? "powernv" : "pseries");
	rte_tel_data_add_dict_string(d, "devices", devs);
	spapr_tel_dict_u64(d, "dma32_window_size", info->dma32_size);
	spapr_tel_dict_u64(d, "dynamic_windows", info->usable_windows);
}

static void fill_windows(struct rte_tel_data *d, const struct spapr_iommu_view *v)
{
	struct tce_window_info w[2];
	unsigned int n = tce_get_windows(v->c, w, 2);
	char key[32];

	for (unsigned int i = 0; i < n; i++) {
		struct rte_tel_data *wd = rte_tel_data_alloc();
		if (wd == NULL)
			return;
		rte_tel_data_start_dict(wd);
		spapr_tel_dict_u64(wd, "start", w[i].start);
		spapr_tel_dict_u64(wd, "size", w[i].size);
		spapr_tel_dict_u64(wd, "page_size", 1ULL << w[i].page_shift);
		spapr_tel_dict_u64(wd, "levels", w[i].levels);
		spapr_tel_dict_u64(wd, "table_bytes", w[i].table_bytes);
		spapr_tel_dict_u64(wd, "used", w[i].used);
		snprintf(key, sizeof(key), "window%u", i);
		rte_tel_data_add_dict_container(d, key, wd, 0);
	}
}

static void fill_stats(struct rte_tel_data *d, const struct spapr_iommu_view *v)
{
	struct tce_stats s;

	tce_get_stats(v->c, &s);
	spapr_tel_dict_u64(d, "ioctls", s.ioctls);
	spapr_tel_dict_u64(d, "ioctls_map_unmap", s.ioctl_maps);
	spapr_tel_dict_u64(d, "ioctls_register", s.ioctl_registers);
	spapr_tel_dict_u64(d, "ioctls_window", s.ioctl_windows);
	spapr_tel_dict_u64(d, "tces", s.tces);
	spapr_tel_dict_u64(d, "hypercalls_estimated", s.hcalls_est);
	spapr_tel_dict_u64(d, "locked_bytes", s.locked_bytes);
	spapr_tel_dict_u64(d, "table_bytes", s.table_bytes);
	spapr_tel_dict_u64(d, "dma_bytes", s.dma_bytes);
	spapr_tel_dict_u64(d, "map_ns", s.map_ns);
	spapr_tel_dict_u64(d, "windows", s.windows);
	spapr_tel_dict_u64(d, "registrations", s.registrations);
	spapr_tel_dict_u64(d, "maps", s.maps);
}

/* The parameter names one IOMMU group (as DPDK's /ethdev/stats,<port>): -1 for none,
 * -2 for something else. */
static long group_param(const char *params)
{
	char *end;
	long g;

	if (params == NULL || *params == '\0')
		return -1;
	g = strtol(params, &end, 10);
	return end != params && *end == '\0' && g >= 0 && g <= INT32_MAX ? g : -2;
}

/* With a group number: that group's { ... }, or an error (-EINVAL) if it has no
 * container. Without: { "group<N>": { ... }, ... } */
static int per_group(const char *params, struct rte_tel_data *d, fill_fn fill)
{
	long only = group_param(params);
	char key[32];
	int ret = 0;

	if (only == -2)
		return -EINVAL;
	rte_tel_data_start_dict(d);
	spapr_iommu_lock();
	if (only >= 0) {
		ret = -EINVAL;
		for (struct spapr_iommu_view v = spapr_iommu_first(); v.c; v = spapr_iommu_next(v))
			if (v.group == (unsigned long)only) {
				fill(d, &v);
				ret = 0;
				break;
			}
		spapr_iommu_unlock();
		return ret;
	}
	for (struct spapr_iommu_view v = spapr_iommu_first(); v.c; v = spapr_iommu_next(v)) {
		struct rte_tel_data *g = rte_tel_data_alloc();
		if (g == NULL) {
			ret = -1;
			break;
		}
		rte_tel_data_start_dict(g);
		fill(g, &v);
		snprintf(key, sizeof(key), "group%u", v.group);
		rte_tel_data_add_dict_container(d, key, g, 0);
	}
	spapr_iommu_unlock();
	return ret;
}

static int tel_containers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return per_group(params, d, fill_container);
}

static int tel_windows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return per_group(params, d, fill_windows);
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return per_group(params, d, fill_stats);
}

RTE_INIT(spapr_telemetry)
{
	if (!spapr_bus_registered)
		return;
	rte_telemetry_register_cmd("/spapr/containers", tel_containers,
				   "The spapr bus's IOMMU containers, one per IOMMU group. Parameter: a group number");
	rte_telemetry_register_cmd("/spapr/windows", tel_windows,
				   "The DMA windows of each IOMMU group. Parameter: a group number");
	rte_telemetry_register_cmd("/spapr/stats", tel_stats,
				   "sPAPR IOMMU counters of each IOMMU group. Parameter: a group number");
}
