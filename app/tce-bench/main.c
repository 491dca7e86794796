/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tce-bench: make N MiB of real hugepage memory DMA-able through VFIO sPAPR twice,
 * with lib/tce's plan and with stock DPDK's strategy (lib/eal/linux/eal_vfio.c in
 * 22.11: v2 only; drop the default window; one window from 0 sized to the next power
 * of two over the highest address, page size of the hugepages, one level; one
 * REGISTER plus one MAP per hugepage; close without unmapping), and report ioctls,
 * TCEs, hypercalls, locked and table bytes and wall time for each.
 * Runs on POWER and under spapr-emu run (which it then also asks for the hypercalls
 * it really counted).
 *
 *   tce-bench [--memory SIZE] [--hugepage SIZE] [--group N] [--strategy ours|dpdk|both] [--json]
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/mman.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "spapr_emu.h"
#include "tce.h"

#define MiB (UINT64_C(1) << 20)

struct result {
	const char *name;
	bool ok;
	char note[200];
	uint64_t ioctls, tces, hcalls_setup, hcalls_teardown, locked, table;
	uint64_t setup_ns, teardown_ns;
	bool measured;                /* under spapr-emu: what the emulator counted */
	uint64_t m_hcalls_setup, m_hcalls_teardown, m_locked_peak, m_table_peak;
};

/* --- the emulator's counters, when running under spapr-emu ---------------------- */

static struct emu_platform *(*emu_cur)(void);
static void (*emu_ctrs)(struct emu_platform *, struct emu_counters *);

static bool emu_counters(struct emu_counters *c)
{
	if (emu_cur == NULL || emu_cur() == NULL)
		return false;
	emu_ctrs(emu_cur(), c);
	return true;
}

static uint64_t hc(const struct emu_counters *c)
{
	return c->h_get_tce + c->h_put_tce + c->h_put_tce_indirect + c->h_stuff_tce;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}


static void *alloc_hugepages(uint64_t len, uint64_t page)
{
	int shift = 63 - __builtin_clzll(page);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (shift << MAP_HUGE_SHIFT), -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len); /* fault every page in, as DPDK does */
	return p;
}

/* --- ours ----------------------------------------------------------------------- */

static void run_ours(uint8_t *mem, uint64_t len, uint64_t page, unsigned int group, struct result *r)
{
	unsigned int n = len / page;
	struct tce_region *regs = calloc(n, sizeof(*regs));
	struct tce_container *c = NULL;
	struct emu_counters e0, e1, e2;
	struct tce_stats st;
	uint64_t t0;
	int ret;

	r->name = "ours";
	for (unsigned int i = 0; i < n; i++) /* one region a hugepage, as DPDK's memsegs */
		regs[i] = (struct tce_region){ (uintptr_t)mem + i * page, page, page, 0, TCE_IOVA_ANY };
	r->measured = emu_counters(&e0);
	t0 = now_ns();
	ret = tce_container_open(&group, 1, TCE_IOMMU_AUTO, &c);
	if (ret == 0)
		ret = tce_dma_map(c, regs, n, NULL);
	r->setup_ns = now_ns() - t0;
	if (ret) {
		snprintf(r->note, sizeof(r->note), "failed: %s", strerror(-ret));
		tce_container_close(c);
		free(regs);
		return;
	}
	const struct tce_plan *p = tce_container_plan(c);
	tce_get_stats(c, &st);
	r->ok = true;
	r->ioctls = st.ioctls + 2; /* SET_IOMMU and GET_INFO were made by tce_container_open */
	r->tces = p->cost.tces;
	r->hcalls_setup = p->cost.hcalls_setup;
	r->hcalls_teardown = p->cost.hcalls_teardown;
	r->locked = p->cost.locked_bytes;
	r->table = p->cost.table_bytes;
	snprintf(r->note, sizeof(r->note), "%s, %u window(s) of %u KiB pages, %u REGISTER, %u MAP",
		 p->type == VFIO_SPAPR_TCE_v2_IOMMU ? "v2" : "v1", p->nwindows,
		 1u << (p->windows[0].page_shift - 10), p->nregs, p->nmaps);
	if (r->measured) {
		emu_counters(&e1);
		r->m_hcalls_setup = hc(&e1) - hc(&e0);
	}
	t0 = now_ns();
	tce_container_close(c);
	r->teardown_ns = now_ns() - t0;
	if (r->measured) {
		emu_counters(&e2);
		r->m_hcalls_teardown = hc(&e2) - hc(&e1);
		r->m_locked_peak = e2.locked_peak;
		r->m_table_peak = e2.table_peak;
	}
	free(regs);
}

/* --- DPDK 22.11's strategy ---------------------------------------------------------- */

static long dioctl(struct result *r, int fd, unsigned long req, void *arg)
{
	r->ioctls++;
	return ioctl(fd, req, arg);
}

static uint64_t next_pow2(uint64_t v)
{
	return v <= 1 ? 1 : 1ULL << (64 - __builtin_clzll(v - 1));
}

static void run_dpdk(uint8_t *mem, uint64_t len, uint64_t page, unsigned int group, struct result *r)
{
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	struct vfio_iommu_spapr_tce_remove rm = { .argsz = sizeof(rm) };
	struct vfio_iommu_spapr_tce_create cr = { .argsz = sizeof(cr) };
	struct emu_counters e0, e1, e2;
	char path[32];
	int c, g;
	uint64_t t0 = now_ns();

	r->name = "dpdk";
	r->measured = emu_counters(&e0);
	snprintf(path, sizeof(path), "/dev/vfio/%u", group);
	c = open("/dev/vfio/vfio", O_RDWR);
	g = open(path, O_RDWR);
	if (c < 0 || g < 0 || dioctl(r, g, VFIO_GROUP_SET_CONTAINER, &c) != 0) {
		snprintf(r->note, sizeof(r->note), "cannot open the container or group %u: %s", group, strerror(errno));
		goto out;
	}
	if (dioctl(r, c, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_SPAPR_TCE_v2_IOMMU) != 0) {
		snprintf(r->note, sizeof(r->note), "fails: DPDK has no v1 path (SET_IOMMU v2: %s)", strerror(errno));
		goto out;
	}
	dioctl(r, c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info);
	rm.start_addr = info.dma32_window_start;
	dioctl(r, c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm);
	/* iova = va: the window covers 0 .. the highest address, next power of two */
	cr.window_size = next_pow2((uintptr_t)mem + len);
	cr.page_shift = __builtin_ctzll(page);
	cr.levels = 1;
	if (dioctl(r, c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr) != 0) {
		snprintf(r->note, sizeof(r->note), "fails: cannot create a %" PRIu64 " GiB window: %s",
			 (uint64_t)cr.window_size >> 30, strerror(errno));
		goto out;
	}
	uint64_t entries = cr.window_size >> cr.page_shift;
	r->table = info.flags && ioctl(c, VFIO_CHECK_EXTENSION, VFIO_EEH) > 0 ?
		   tce_table_bytes(TCE_HV_POWERNV, cr.page_shift, cr.window_size, 1, 16) :
		   tce_table_bytes(TCE_HV_PSERIES, cr.page_shift, cr.window_size, 1, 16);
	if (cr.start_addr != 0)
		snprintf(r->note, sizeof(r->note), "stock DPDK stops here (window at 0x%llx, not 0);"
			 " measured as if it went on, IOVA = window start + VA", cr.start_addr);
	else
		snprintf(r->note, sizeof(r->note), "one REGISTER + MAP per hugepage, a %" PRIu64 " GiB window",
			 (uint64_t)cr.window_size >> 30);
	for (uint64_t off = 0; off < len; off += page) {
		struct vfio_iommu_spapr_register_memory reg = { .argsz = sizeof(reg),
			.vaddr = (uintptr_t)mem + off, .size = page };
		struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)mem + off, .iova = cr.start_addr + (uintptr_t)mem + off, .size = page };
		if (dioctl(r, c, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, &reg) != 0 ||
		    dioctl(r, c, VFIO_IOMMU_MAP_DMA, &map) != 0) {
			snprintf(r->note, sizeof(r->note), "fails at offset 0x%" PRIx64 ": %s", off, strerror(errno));
			goto out;
		}
	}
	r->ok = true;
	r->ioctls -= 1; /* SET_CONTAINER is the group's: count the container's, as for ours */
	r->tces = len / page;
	r->locked = len + (r->table >> 16 << 16);
	bool pseries = ioctl(c, VFIO_CHECK_EXTENSION, VFIO_EEH) <= 0;
	if (pseries) {
		uint64_t dflt = info.dma32_window_size >> 12;
		r->hcalls_setup = (entries + 511) / 512 + 2 * r->tces;
		r->hcalls_teardown = 2 * entries + (dflt + 511) / 512; /* closing clears it all */
	}
out:
	r->setup_ns = now_ns() - t0;
	if (r->measured)
		emu_counters(&e1);
	t0 = now_ns();
	if (g >= 0)
		close(g);
	if (c >= 0)
		close(c);
	r->teardown_ns = now_ns() - t0;
	if (r->measured) {
		emu_counters(&e2);
		r->m_hcalls_setup = hc(&e1) - hc(&e0);
		r->m_hcalls_teardown = hc(&e2) - hc(&e1);
		r->m_locked_peak = e2.locked_peak;
		r->m_table_peak = e2.table_peak;
	}
}

/* --- output ---------------------------------------------------------------------------- */

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void print_text(const struct result *res, int n, uint64_t len, uint64_t page)
{
	printf("tce-bench: %" PRIu64 " MiB of %" PRIu64 " KiB hugepages\n", len >> 20, page >> 10);
	printf("%-5s %8s %8s %14s %16s %11s %12s %10s %12s\n", "", "ioctls", "TCEs", "hcalls setup",
	       "hcalls teardown", "locked MiB", "table KiB", "setup ms", "teardown ms");
	for (int i = 0; i < n; i++) {
		const struct result *r = &res[i];
		printf("%-5s %8" PRIu64 " %8" PRIu64 " %14" PRIu64 " %16" PRIu64 " %11.1f %12" PRIu64 " %10.2f %12.2f\n",
		       r->name, r->ioctls, r->tces, r->hcalls_setup, r->hcalls_teardown,
		       (double)r->locked / MiB, r->table >> 10, r->setup_ns / 1e6, r->teardown_ns / 1e6);
		if (r->measured)
			printf("%-5s %8s %8s %14" PRIu64 " %16" PRIu64 "   (hypercalls the emulator counted)\n",
			       "", "", "", r->m_hcalls_setup, r->m_hcalls_teardown);
		printf("      %s\n", r->note);
	}
	if (n == 2 && res[0].ok && res[1].ok) {
		printf("dpdk/ours: %.0fx ioctls, %.0fx TCE table bytes", ratio(res[1].ioctls, res[0].ioctls),
		       ratio(res[1].table, res[0].table));
		if (res[0].hcalls_setup) /* pSeries only: bare metal makes no hypercalls */
			printf(", %.0fx hypercalls to map, %.0fx hypercalls in all",
			       ratio(res[1].hcalls_setup, res[0].hcalls_setup),
			       ratio(res[1].hcalls_setup + res[1].hcalls_teardown,
				     res[0].hcalls_setup + res[0].hcalls_teardown));
		printf("\n");
	}
}

static void print_json(const struct result *res, int n, uint64_t len, uint64_t page)
{
	printf("{\"memory_bytes\": %" PRIu64 ", \"page_bytes\": %" PRIu64 ", \"strategies\": {", len, page);
	for (int i = 0; i < n; i++) {
		const struct result *r = &res[i];
		printf("%s\n  \"%s\": {\"ok\": %s, \"ioctls\": %" PRIu64 ", \"tces\": %" PRIu64
		       ", \"hcalls_setup\": %" PRIu64 ", \"hcalls_teardown\": %" PRIu64
		       ", \"locked_bytes\": %" PRIu64 ", \"table_bytes\": %" PRIu64
		       ", \"setup_ns\": %" PRIu64 ", \"teardown_ns\": %" PRIu64, i ? "," : "", r->name,
		       r->ok ? "true" : "false", r->ioctls, r->tces, r->hcalls_setup, r->hcalls_teardown,
		       r->locked, r->table, r->setup_ns, r->teardown_ns);
		if (r->measured)
			printf(", \"measured\": {\"hcalls_setup\": %" PRIu64 ", \"hcalls_teardown\": %" PRIu64
			       ", \"locked_peak_bytes\": %" PRIu64 ", \"table_peak_bytes\": %" PRIu64 "}",
			       r->m_hcalls_setup, r->m_hcalls_teardown, r->m_locked_peak, r->m_table_peak);
		printf(", \"note\": \"%s\"}", r->note);
	}
	printf("\n}");
	if (n == 2 && res[0].ok && res[1].ok)
		printf(", \"dpdk_over_ours\": {\"ioctls\": %.1f, \"hcalls_setup\": %.1f, \"hcalls_total\": %.1f,"
		       " \"table_bytes\": %.1f}", ratio(res[1].ioctls, res[0].ioctls),
		       ratio(res[1].hcalls_setup, res[0].hcalls_setup),
		       ratio(res[1].hcalls_setup + res[1].hcalls_teardown, res[0].hcalls_setup + res[0].hcalls_teardown),
		       ratio(res[1].table, res[0].table));
	printf("}\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "memory", required_argument, NULL, 'm' }, { "hugepage", required_argument, NULL, 'p' },
		{ "group", required_argument, NULL, 'g' }, { "strategy", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	uint64_t len = 256 * MiB, page = 2 * MiB;
	unsigned int group = 0;
	const char *strategy = "both";
	bool json = false;
	struct result res[2];
	int n = 0, opt;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (tce_parse_size(optarg, &len)) { fprintf(stderr, "tce-bench: bad --memory %s\n", optarg); return 2; }
			break;
		case 'p':
			if (tce_parse_size(optarg, &page) || (page & (page - 1))) {
				fprintf(stderr, "tce-bench: bad --hugepage %s (a power of two: 2M, 1G)\n", optarg);
				return 2;
			}
			break;
		case 'g': group = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 's': strategy = optarg; break;
		case 'j': json = true; break;
		case 'h':
			printf("usage: tce-bench [--memory 1G] [--hugepage 2M] [--group N] [--strategy ours|dpdk|both] [--json]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (strcmp(strategy, "ours") && strcmp(strategy, "dpdk") && strcmp(strategy, "both")) {
		fprintf(stderr, "tce-bench: --strategy is ours, dpdk or both, not %s\n", strategy);
		return 2;
	}
	if (len % page) {
		fprintf(stderr, "tce-bench: --memory must be whole hugepages of %" PRIu64 " KiB\n", page >> 10);
		return 2;
	}
	uint8_t *mem = alloc_hugepages(len, page);
	if (mem == NULL) {
		fprintf(stderr, "tce-bench: cannot get %" PRIu64 " MiB of %" PRIu64 " KiB hugepages: reserve them"
			" (echo %" PRIu64 " > /sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/nr_hugepages)\n",
			len >> 20, page >> 10, len / page, page >> 10);
		return 1;
	}
	emu_cur = (struct emu_platform *(*)(void))dlsym(RTLD_DEFAULT, "emu_current");
	emu_ctrs = (void (*)(struct emu_platform *, struct emu_counters *))dlsym(RTLD_DEFAULT, "emu_get_counters");
	memset(res, 0, sizeof(res));
	if (strcmp(strategy, "dpdk"))
		run_ours(mem, len, page, group, &res[n++]);
	if (strcmp(strategy, "ours"))
		run_dpdk(mem, len, page, group, &res[n++]);
	if (json)
		print_json(res, n, len, page);
	else
		print_text(res, n, len, page);
	munmap(mem, len);
	return res[0].ok ? 0 : 1;
}
