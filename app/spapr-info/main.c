/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * spapr-info: what a userspace driver gets on this POWER machine. Lists the PCI
 * devices bound to vfio-pci with their IOMMU groups and NUMA nodes, what the sPAPR TCE
 * IOMMU offers (asked through a container of the first group, or --group N), the
 * locked-memory limit, and, for --memory SIZE --hugepage SIZE, lib/tce's plan for that
 * much memory with its cost and the `ulimit -l` it needs. With --app PREFIX: the
 * containers, windows and counters of a running DPDK application instead (live.c).
 * With --check [ADDR...]: what the machine still needs, and the EAL options (check.c).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "live.h"
#include "tce_pci.h"
#include "tce.h"

#define MiB (UINT64_C(1) << 20)

/* Devices bound to vfio-pci; returns the first IOMMU group seen, or -1. */
static int list_devices(void)
{
	DIR *d = opendir(tce_pci_dir());
	struct dirent *e;
	int first = -1, count = 0;

	if (d == NULL) {
		fprintf(stderr, "spapr-info: cannot list %s: %s\n", tce_pci_dir(), strerror(errno));
		return -1;
	}
	printf("devices bound to vfio-pci (%s):\n", tce_pci_dir());
	while ((e = readdir(d)) != NULL) {
		struct tce_pci_function f;
		char err[256];

		if (!tce_pci_is_vfio(e->d_name))
			continue;
		if (tce_pci_read(e->d_name, &f, err, sizeof(err)) != 0) {
			printf("  %s  unreadable: %s\n", e->d_name, err);
			continue;
		}
		printf("  %s  %04x:%04x  class 0x%06x  IOMMU group %u  NUMA node %d\n", f.addr, f.vendor,
		       f.device, f.class_code, f.group, f.numa_node);
		if (first < 0 || f.group < (unsigned int)first)
			first = (int)f.group;
		count++;
	}
	closedir(d);
	if (count == 0)
		printf("  none: bind a device with driver_override=vfio-pci (see doc/tce.md)\n");
	return first;
}

static void print_pgsizes(uint64_t mask)
{
	for (int s = 12; s < 64; s++) {
		if (!(mask & (UINT64_C(1) << s)))
			continue;
		int unit = s >= 30 ? 30 : s >= 20 ? 20 : 10;
		printf(" %" PRIu64 "%c", UINT64_C(1) << (s - unit), unit == 30 ? 'G' : unit == 20 ? 'M' : 'K');
	}
}

static void print_limits(const struct tce_memlock *ml)
{
	char soft[32], hard[32];

	snprintf(soft, sizeof(soft), ml->soft == UINT64_MAX ? "unlimited" : "%" PRIu64 " KiB", ml->soft >> 10);
	snprintf(hard, sizeof(hard), ml->hard == UINT64_MAX ? "unlimited" : "%" PRIu64 " KiB", ml->hard >> 10);
	printf("locked memory: RLIMIT_MEMLOCK %s (hard %s), CAP_IPC_LOCK %s\n", soft, hard,
	       ml->cap_ipc_lock ? "yes (no limit applies)" : "no");
}

static int show_plan(const struct tce_iommu_info *info, uint64_t memory, uint64_t page,
		     const struct tce_memlock *ml)
{
	struct tce_region r = { 0x100000000000ULL, memory, page, 0, TCE_IOVA_ANY };
	struct tce_plan p;
	char err[400];
	uint64_t raise = 0;

	if (tce_plan_build(&r, 1, info, NULL, &p, err, sizeof(err)) != 0) {
		printf("plan for %" PRIu64 " MiB of %" PRIu64 " KiB pages: %s\n", memory >> 20, page >> 10, err);
		return 1;
	}
	printf("plan for %" PRIu64 " MiB of %" PRIu64 " KiB pages: %s\n", memory >> 20, page >> 10,
	       p.type == VFIO_SPAPR_TCE_v2_IOMMU ? "v2 (dynamic DMA windows)" : "v1 (the default window)");
	for (unsigned int w = 0; w < p.nwindows; w++)
		printf("  window %u: %" PRIu64 " MiB of %u KiB pages at 0x%" PRIx64 ", %u level(s), TCE table %" PRIu64 " KiB\n",
		       w, p.windows[w].size >> 20, 1u << (p.windows[w].page_shift - 10), p.windows[w].start,
		       p.windows[w].levels, p.windows[w].table_bytes >> 10);
	printf("  %u REGISTER, %u MAP, %" PRIu64 " TCEs, %" PRIu64 " ioctls\n", p.nregs, p.nmaps,
	       p.cost.tces, p.cost.ioctls);
	if (info->hv == TCE_HV_PSERIES)
		printf("  hypercalls (pSeries): %" PRIu64 " to map, %" PRIu64 " to tear down\n",
		       p.cost.hcalls_setup, p.cost.hcalls_teardown);
	printf("  locked memory charged: %" PRIu64 " bytes: needs ulimit -l %" PRIu64 " (KiB) or more\n",
	       p.cost.locked_bytes, (p.cost.locked_bytes + 1023) >> 10);
	switch (tce_memlock_check(p.cost.locked_bytes, ml, &raise, err, sizeof(err))) {
	case TCE_MEMLOCK_OK:
		printf("  the current limit allows it\n");
		break;
	case TCE_MEMLOCK_RAISE_SOFT:
		printf("  fits once the soft limit is raised to the hard one (lib/tce does that)\n");
		break;
	default:
		printf("  %s\n", err);
	}
	tce_plan_free(&p);
	return 0;
}


int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, 'g' }, { "memory", required_argument, NULL, 'm' },
		{ "hugepage", required_argument, NULL, 'p' }, { "app", required_argument, NULL, 'a' },
		{ "check", no_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t memory = 0, page = 2 * MiB;
	int group = -1, opt, ret = 0;
	bool check = false;
	struct tce_container *c = NULL;
	struct tce_memlock ml;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'g': group = atoi(optarg); break;
		case 'a': return show_live(optarg);
		case 'c': check = true; break;
		case 'm':
			if (tce_parse_size(optarg, &memory)) { fprintf(stderr, "spapr-info: bad --memory %s\n", optarg); return 2; }
			break;
		case 'p':
			if (tce_parse_size(optarg, &page) || (page & (page - 1))) {
				fprintf(stderr, "spapr-info: bad --hugepage %s (a power of two)\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("usage: spapr-info [--group N] [--memory SIZE [--hugepage SIZE]]\n"
			       "       spapr-info --app FILE_PREFIX   (a running DPDK application's containers)\n"
			       "       spapr-info --check [--memory SIZE] [PCI_ADDR...]   (is this machine ready?"
			       " exit 0 when it is)\n");
			return 0;
		default:
			return 2;
		}
	}
	if (check)
		return spapr_check(argv + optind, (unsigned int)(argc - optind), memory);
	if (optind < argc) {
		fprintf(stderr, "spapr-info: %s: device addresses go with --check\n", argv[optind]);
		return 2;
	}
	int first = list_devices();
	if (group < 0)
		group = first;
	tce_memlock_read(&ml);
	print_limits(&ml);
	if (group < 0) {
		fprintf(stderr, "spapr-info: no VFIO group to ask: bind a device to vfio-pci or give --group\n");
		return 1;
	}
	unsigned int g = (unsigned int)group;
	if (tce_container_open(&g, 1, TCE_IOMMU_AUTO, &c) != 0)
		return 1;
	const struct tce_iommu_info *info = tce_container_info(c);
	printf("IOMMU group %u: %s, %s\n", g, info->hv == TCE_HV_POWERNV ? "PowerNV (bare metal, EEH)" :
	       "pSeries guest (no EEH through VFIO)", info->v2 ? "v2 IOMMU" : "v1 IOMMU only");
	printf("  default DMA window: %" PRIu64 " MiB at 0x%" PRIx64 ", 4 KiB pages\n", info->dma32_size >> 20,
	       info->dma32_start);
	if (info->v2) {
		printf("  dynamic windows: %u reported, %u used safely, up to %u level(s), page sizes:",
		       info->max_windows, info->usable_windows, info->levels);
		print_pgsizes(info->pgsizes);
		printf("\n");
	}
	if (memory)
		ret = show_plan(info, memory, page, &ml);
	tce_container_close(c);
	return ret;
}
