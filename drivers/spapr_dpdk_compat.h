/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver-facing DPDK APIs that differ between the releases this tree builds against
 * (22.11, 23.11, 24.11, 25.11, 26.07), in one place: RTE_VERSION checks here, none in the
 * drivers (which test the named macros this header defines).
 */
#ifndef SPAPR_DPDK_COMPAT_H
#define SPAPR_DPDK_COMPAT_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_log.h>
#include <rte_version.h>

/* The release guard. A plugin is compiled against one release's structures (struct
 * rte_bus, the ethdev ops, the devargs) while the dynamic linker checks only sonames, and
 * 26.07 kept 25.11's (.26) although its struct rte_bus changed: a plugin built for
 * another release must refuse itself, in its constructor, before it registers anything.
 * Point releases of a series share its ABI: year and month are compared with the
 * running EAL's rte_version() (a function in every release; the RTE_VER_* macros are
 * what this plugin was built with). On a mismatch: one line naming both releases and
 * the fix; the application goes on without the plugin. */
static inline bool spapr_dpdk_release_matches(void)
{
	const char *running = rte_version();
	unsigned int year, month;
	Dl_info self = {0};

	if (sscanf(running, "%*s %u.%u", &year, &month) == 2 && year == RTE_VER_YEAR && month == RTE_VER_MONTH)
		return true;
	/* this function's address is in the plugin that inlined it: its file name */
	dladdr((void *)(uintptr_t)spapr_dpdk_release_matches, &self);
	RTE_LOG(ERR, EAL,
		"%s: built for DPDK %d.%02d, but this application runs %s: not loaded (nothing of it registered); rebuild the plugin against DPDK %u.%02u (doc/building.md)\n",
		self.dli_fname != NULL ? self.dli_fname : "a spapr plugin", RTE_VER_YEAR, RTE_VER_MONTH, running,
		year, month);
	return false;
}

/* Telemetry: rte_tel_data_add_dict_u64 became _uint in 23.03 (and went in 25.11). */
#if RTE_VERSION >= RTE_VERSION_NUM(23, 3, 0, 0)
#define spapr_tel_dict_u64 rte_tel_data_add_dict_uint
#else
#define spapr_tel_dict_u64 rte_tel_data_add_dict_u64
#endif

/* ethdev: 25.11 moved the per-queue counters out of struct rte_eth_stats into struct
 * eth_queue_stats, a third argument of the stats_get op. SPAPR_QSTATS_PARAM declares it,
 * SPAPR_QSTATS(s) names the structure that holds the q_* arrays (NULL: not asked). */
#if RTE_VERSION >= RTE_VERSION_NUM(25, 11, 0, 0)
#define SPAPR_QSTATS_PARAM , struct eth_queue_stats *qstats
#define SPAPR_QSTATS(s) (qstats)
#else
#define SPAPR_QSTATS_PARAM
#define SPAPR_QSTATS(s) (s)
#endif

/* ethdev: the rx_queue_count op returns int from 25.11 on (a negative errno possible). */
#if RTE_VERSION >= RTE_VERSION_NUM(25, 11, 0, 0)
typedef int spapr_rxq_count_t;
#else
typedef uint32_t spapr_rxq_count_t;
#endif

/* ethdev: dev_supported_ptypes_get also returns the list's length from 24.11 on.
 * SPAPR_PTYPES_PARAM declares it; SPAPR_PTYPES_RETURN(list, n) returns the list (whose
 * element n is RTE_PTYPE_UNKNOWN, the end before 24.11). */
#if RTE_VERSION >= RTE_VERSION_NUM(24, 3, 0, 0)
#define SPAPR_PTYPES_PARAM , size_t *no_of_elements
#define SPAPR_PTYPES_RETURN(list, n) do { *no_of_elements = (n); return (list); } while (0)
#else
#define SPAPR_PTYPES_PARAM
#define SPAPR_PTYPES_RETURN(list, n) do { (void)(n); return (list); } while (0)
#endif

/* The symbol dpdk-pmdinfo.py reads a driver's name from: 25.11 (dev_driver.h) takes the
 * name alone; before, an index as well. */
#if RTE_VERSION >= RTE_VERSION_NUM(25, 11, 0, 0)
#define SPAPR_PMD_EXPORT_NAME(nm) RTE_PMD_EXPORT_NAME(nm)
#else
#define SPAPR_PMD_EXPORT_NAME(nm) RTE_PMD_EXPORT_NAME(nm, __COUNTER__)
#endif

/* The bus API. 26.07 gives the bus to probe, find_device, dev_iterate and cleanup;
 * replaces plug/unplug (the bus picks the driver) by match, probe_device(drv, dev) and
 * unplug_device (EAL picks the driver from those listed in the bus: rte_bus_add_driver),
 * and its bus/pci unplug no longer frees the device. SPAPR_BUS_2607 says which API is
 * there; the bus's files write each op once with these:
 *   SPAPR_BUS_PARAM(b)        probe's and cleanup's parameter list
 *   SPAPR_CONST_BUS_PARAM(b)  the leading parameter of find_device and dev_iterate
 *   SPAPR_BUS_ARG(b)          the leading argument of a call of find_device
 *   SPAPR_BUS_SELF(b)         the argument of a call of probe or cleanup
 *   SPAPR_BUS_ALLOWLIST(b)    whether the bus probes only the devices named for it: its
 *                             scan mode, or 26.07's -A (no auto-probing) where the mode is
 *                             undefined (a device no devargs names is ignored then) */
#if RTE_VERSION >= RTE_VERSION_NUM(26, 7, 0, 0)
#define SPAPR_BUS_2607 1
#define SPAPR_BUS_PARAM(b) struct rte_bus *b __rte_unused
#define SPAPR_CONST_BUS_PARAM(b) const struct rte_bus *b __rte_unused,
#define SPAPR_BUS_ARG(b) b,
#define SPAPR_BUS_SELF(b) b
#define SPAPR_BUS_ALLOWLIST(b) rte_bus_device_is_ignored(b, "")
#else
#define SPAPR_BUS_2607 0
#define SPAPR_BUS_PARAM(b) void
#define SPAPR_CONST_BUS_PARAM(b)
#define SPAPR_BUS_ARG(b)
#define SPAPR_BUS_SELF(b)
#define SPAPR_BUS_ALLOWLIST(b) ((b)->conf.scan_mode == RTE_BUS_SCAN_ALLOWLIST)
#endif

/* EAL's VFIO group API (rte_vfio_get_group_fd, rte_vfio_clear_group): 26.11 removed it,
 * and with it the way this bus takes bus/pci's groups over. */
#define SPAPR_VFIO_GROUP_API (RTE_VERSION < RTE_VERSION_NUM(26, 11, 0, 0))

#endif
