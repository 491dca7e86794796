/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/tce on the emulated platform, through the same libc calls as on POWER:
 * run as `spapr-emu run --platform P -- test_tce_emu P`. The emulator's own counters
 * (reached with dlsym, the shim exports them) check the planner's estimates of locked
 * memory and hypercalls against the kernel model, and the leak report after every
 * scenario, failures included.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "bus_master_util.h"
#include "memlock_util.h"
#include "spapr_emu.h"
#include "tce.h"


#define MiB (1ULL << 20)

static const char *platform;
static struct emu_platform *(*p_current)(void);
static void (*p_counters)(struct emu_platform *, struct emu_counters *);
static int (*p_write_stats)(struct emu_platform *, FILE *);
static struct emu_device *(*p_find)(struct emu_platform *, const char *);
static int (*p_dma_read)(struct emu_device *, uint64_t, void *, size_t);
static char last_log[512];

static void capture_log(void *ctx, enum tce_log_level level, const char *msg)
{
	(void)ctx;
	if (level <= TCE_LOG_WARN)
		snprintf(last_log, sizeof(last_log), "%s", msg);
}

static struct emu_counters counters(void)
{
	struct emu_counters c;
	p_counters(p_current(), &c);
	return c;
}

static uint64_t hcalls(const struct emu_counters *c)
{
	return c->h_get_tce + c->h_put_tce + c->h_put_tce_indirect + c->h_stuff_tce;
}

/* the emulator's leak report says nothing is left */
static bool clean(void)
{
	char buf[8192] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	p_write_stats(p_current(), f);
	fclose(f);
	return strstr(buf, "\"clean\": true") != NULL;
}

struct mem { uint8_t *p; size_t len; uint64_t page; };

/* hugepages when the machine has them reserved, else 64 KiB-aligned ordinary memory */
static struct mem get_mem(size_t len)
{
	struct mem m = { NULL, len, 2 * MiB };
	m.p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (m.p == MAP_FAILED) {
		uint8_t *raw = mmap(NULL, len + 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		m.p = (uint8_t *)(((uintptr_t)raw + 2 * MiB - 1) & ~(uintptr_t)(2 * MiB - 1));
		m.page = 64 << 10;
	}
	memset(m.p, 0x5a, len);
	return m;
}

static unsigned int to_regions(struct mem *m, struct tce_region *r, unsigned int max)
{
	unsigned int n = 0;
	uint64_t chunk = m->page > 2 * MiB ? m->page : 2 * MiB;
	for (uint64_t off = 0; off < m->len && n < max; off += chunk)
		r[n++] = (struct tce_region){ (uintptr_t)m->p + off, chunk, m->page, 0, TCE_IOVA_ANY };
	return n;
}

/* The device fd with bus mastering on (kept on until the fd is closed). */
static int bus_master(struct tce_container *c)
{
	int d = ioctl(tce_group_fd(c, 0), VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0");

	CHECK(d >= 0);
	CHECK_EQ(vfio_bus_master_on(d), 0);
	return d;
}

static struct tce_container *open_c(void)
{
	unsigned int group = 0;
	struct tce_container *c = NULL;
	CHECK_EQ(tce_container_open(&group, 1, TCE_IOMMU_AUTO, &c), 0);
	return c;
}

/* A group another VFIO user of the process opened (DPDK's EAL for bus/pci devices): the
 * container takes a duplicate; the other user may close its fd before or after the
 * container closes; DMA works through a device fd taken from the other user's fd; a
 * failure leaves the group exactly as it was found. */
static void adopt_open_group(void)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct mem m = get_mem(16 * MiB);
	struct tce_region r[8];
	unsigned int n = to_regions(&m, r, 8);
	struct tce_container *c = NULL;
	uint64_t iova, got = 0;
	int theirs = open("/dev/vfio/0", O_RDWR);

	CHECK(theirs >= 0);
	CHECK_EQ(tce_container_open_group_fd(0, -1, TCE_IOMMU_AUTO, &c), -EBADF);
	/* refused: the IOMMU type the platform cannot give; the group as it was */
	if (strcmp(platform, "pseries-noddw") == 0) {
		CHECK_EQ(tce_container_open_group_fd(0, theirs, TCE_IOMMU_V2, &c), -EINVAL);
		CHECK_EQ(ioctl(theirs, VFIO_GROUP_GET_STATUS, &st), 0);
		CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	}
	CHECK_EQ(tce_container_open_group_fd(0, theirs, TCE_IOMMU_AUTO, &c), 0);
	CHECK_EQ(ioctl(theirs, VFIO_GROUP_GET_STATUS, &st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	/* a second container for the same group: refused, the first one untouched */
	struct tce_container *c2 = NULL;
	CHECK_EQ(tce_container_open_group_fd(0, theirs, TCE_IOMMU_AUTO, &c2), -EBUSY);
	CHECK(strstr(last_log, "is in a container already") != NULL);
	CHECK_EQ(tce_dma_map(c, r, n, NULL), 0);
	/* the other user takes the device through its own fd, then lets go of everything */
	int d = ioctl(theirs, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0");
	CHECK(d >= 0);
	CHECK_EQ(vfio_bus_master_on(d), 0);
	strcpy((char *)m.p, "eal");
	CHECK_EQ(tce_iova_of(c, (uintptr_t)m.p, &iova), 0);
	CHECK_EQ(p_dma_read(p_find(p_current(), "0000:00:01.0"), iova, &got, 4), 0);
	CHECK(memcmp(&got, "eal", 4) == 0);
	close(d);
	close(theirs);
	/* the container's duplicate keeps the group attached: teardown is complete and quiet */
	last_log[0] = '\0';
	tce_container_close(c);
	CHECK_EQ(last_log[0], '\0');
	CHECK_EQ(counters().locked_bytes, 0);
	CHECK(clean());
	/* the other order: the container goes first, the other user's group is out of it */
	theirs = open("/dev/vfio/0", O_RDWR);
	CHECK_EQ(tce_container_open_group_fd(0, theirs, TCE_IOMMU_AUTO, &c), 0);
	CHECK_EQ(tce_dma_map(c, r, n, NULL), 0);
	tce_container_close(c);
	CHECK_EQ(ioctl(theirs, VFIO_GROUP_GET_STATUS, &st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	close(theirs);
	CHECK(clean());
	munmap(m.p, m.len);
}

/* map 64 MiB, DMA through the IOVAs, compare with the plan, close: all clean */
static void map_translate_dma_close(void)
{
	struct mem m = get_mem(64 * MiB);
	struct tce_region r[32];
	unsigned int n = to_regions(&m, r, 32);
	struct emu_counters k0 = counters(), k1;
	struct tce_container *c = open_c();
	const struct tce_plan *plan;
	uint64_t iova, va;

	if (c == NULL)
		return;
	CHECK_EQ(tce_dma_map(c, r, n, NULL), 0);
	plan = tce_container_plan(c);
	k1 = counters();
	CHECK_EQ(plan->type, strcmp(platform, "pseries-noddw") ? VFIO_SPAPR_TCE_v2_IOMMU : VFIO_SPAPR_TCE_IOMMU);
	/* the planner knew what the kernel would charge and what the hypervisor would do */
	CHECK_EQ(k1.locked_bytes, plan->cost.locked_bytes);
	CHECK_EQ(hcalls(&k1) - hcalls(&k0), plan->cost.hcalls_setup);
	CHECK_EQ(k1.tces_mapped - k0.tces_mapped, plan->cost.tces);
	if (plan->type == VFIO_SPAPR_TCE_v2_IOMMU)
		CHECK_EQ(plan->nregs, 1); /* 32 chunks, one REGISTER and one MAP */
	CHECK_EQ(plan->nmaps, 1);
	/* translation both ways, and a device reads what the CPU wrote */
	struct emu_device *dev = p_find(p_current(), "0000:00:01.0");
	int dfd = bus_master(c);
	for (uint64_t off = 0; off < m.len; off += 7 * MiB + 4096) {
		uint64_t got = 0;
		strcpy((char *)m.p + off, "tce");
		CHECK_EQ(tce_iova_of(c, (uintptr_t)m.p + off, &iova), 0);
		CHECK_EQ(tce_va_of(c, iova, &va), 0);
		CHECK_EQ(va, (uintptr_t)m.p + off);
		CHECK_EQ(p_dma_read(dev, iova, &got, 4), 0);
		CHECK(memcmp(&got, "tce", 4) == 0);
	}
	CHECK_EQ(tce_iova_of(c, (uintptr_t)m.p + m.len, &iova), -ENOENT);
	struct tce_stats st;
	tce_get_stats(c, &st);
	CHECK_EQ(st.ioctls, plan->cost.ioctls - 2); /* SET_IOMMU and GET_INFO are the container's */
	CHECK_EQ(st.dma_bytes, 64 * MiB);
	uint64_t teardown = plan->cost.hcalls_teardown; /* the plan goes with the container */
	close(dfd);
	k0 = counters();
	tce_container_close(c);
	k1 = counters();
	CHECK_EQ(hcalls(&k1) - hcalls(&k0), teardown);
	CHECK_EQ(k1.locked_bytes, 0);
	CHECK(clean());
	munmap(m.p, m.len);
}

/* memory added later lands in the same window; removal unmaps, then unregisters */
static void add_and_remove(void)
{
	struct mem m = get_mem(32 * MiB);
	struct tce_region r[16];
	unsigned int n = to_regions(&m, r, 16);
	struct tce_plan_opts o = { .window_min = 64 * MiB };
	struct tce_container *c = open_c();
	uint64_t iova;

	if (c == NULL)
		return;
	CHECK_EQ(tce_dma_map(c, r, 8, &o), 0);       /* the first 16 MiB */
	unsigned int windows = counters().windows_created;
	CHECK_EQ(tce_dma_add(c, &r[8], n - 8), 0);   /* hot-plugged: the next 16 MiB */
	CHECK_EQ(counters().windows_created, windows); /* no new window */
	CHECK_EQ(tce_iova_of(c, r[n - 1].va, &iova), 0);
	uint64_t first_iova = 0, again = 1;
	CHECK_EQ(tce_iova_of(c, r[8].va, &first_iova), 0);
	CHECK_EQ(tce_dma_remove(c, r[8].va, 16 * MiB), 0);
	CHECK_EQ(tce_iova_of(c, r[8].va, &iova), -ENOENT);
	CHECK_EQ(tce_iova_of(c, r[7].va, &iova), 0);
	/* nothing there: -ENOENT, and nothing logged (the caller knows if that is an error) */
	last_log[0] = '\0';
	CHECK_EQ(tce_dma_remove(c, r[8].va, 2 * MiB), -ENOENT);
	CHECK_EQ(last_log[0], '\0');
	/* added again: the same IOVAs, not the next ones (a window never fills by churn) */
	for (int k = 0; k < 50; k++) {
		CHECK_EQ(tce_dma_add(c, &r[8], n - 8), 0);
		CHECK_EQ(tce_iova_of(c, r[8].va, &again), 0);
		CHECK_EQ(again, first_iova);
		CHECK_EQ(tce_dma_remove(c, r[8].va, 16 * MiB), 0);
	}
	/* a window that is full says so, and nothing of the call stays */
	struct mem big = get_mem(64 * MiB);
	struct tce_region rb[32];
	unsigned int nb = to_regions(&big, rb, 32);
	unsigned long long locked = counters().locked_bytes;
	if (tce_container_plan(c)->type == VFIO_SPAPR_TCE_v2_IOMMU) {
		CHECK_EQ(tce_dma_add(c, rb, nb), -ENOSPC);
		CHECK(strstr(last_log, "DMA window is full") != NULL);
		CHECK_EQ(counters().locked_bytes, locked);
	}
	tce_container_close(c);
	CHECK(clean());
	munmap(m.p, m.len);
	munmap(big.p, big.len);
}

/* a hole in the memory: REGISTER (v2) or MAP (v1) fails and everything is rolled back */
static void failure_rolls_back(void)
{
	struct mem m = get_mem(16 * MiB);
	struct tce_region r[8];
	unsigned int n = to_regions(&m, r, 8);
	struct tce_container *c = open_c();

	if (c == NULL)
		return;
	munmap(m.p + 8 * MiB, 2 * MiB);
	CHECK_EQ(tce_dma_map(c, r, n, NULL), -EFAULT);
	CHECK(strstr(last_log, "cannot ") != NULL);
	/* v1: the default window's table stays charged until the container goes
	 * (tce_iommu_release() frees it); v2 gives everything back at once */
	CHECK_EQ(counters().locked_bytes, tce_container_plan(c)->type == VFIO_SPAPR_TCE_IOMMU ?
		 tce_container_plan(c)->windows[0].table_bytes : 0);
	struct tce_stats st;
	tce_get_stats(c, &st);
	CHECK_EQ(st.maps + st.registrations + st.windows, 0);
	tce_container_close(c);
	CHECK(clean());
	munmap(m.p, m.len);
}

static int memlock_child(void)
{
	struct mem m = get_mem(16 * MiB);
	struct tce_region r[8];
	unsigned int n = to_regions(&m, r, 8);
	struct tce_container *c;
	unsigned int group = 0;

	drop_ipc_lock(64 << 10);
	CHECK_EQ(tce_container_open(&group, 1, TCE_IOMMU_AUTO, &c), 0);
	struct emu_counters k0 = counters();
	CHECK_EQ(tce_dma_map(c, r, n, NULL), -ENOMEM);
	/* refused before any ioctl: nothing registered, enabled, created or mapped */
	struct emu_counters k = counters();
	uint64_t total0 = 0, total1 = 0;
	for (int i = 0; i < 32; i++) {
		total0 += k0.ioctls[i];
		total1 += k.ioctls[i];
	}
	CHECK_EQ(total1, total0);
	CHECK(strstr(last_log, "of locked memory") != NULL);
	CHECK(strstr(last_log, "but RLIMIT_MEMLOCK is 64 KiB (hard limit 64 KiB): raise it with 'ulimit -l ") != NULL);
	CHECK(strstr(last_log, "or grant CAP_IPC_LOCK") != NULL);
	tce_container_close(c);
	CHECK(clean());
	return failures;
}

static void memlock_refused_before_any_ioctl(void)
{
	CHECK_EQ(in_child(memlock_child, &failures), 0);
}

/* EEH (PowerNV): a bad DMA freezes the PE; reset and replay bring it back */
static void eeh_recovery(void)
{
	struct mem m = get_mem(4 * MiB);
	struct tce_region r[2];
	unsigned int n = to_regions(&m, r, 2);
	struct tce_container *c = open_c();
	struct emu_device *dev = p_find(p_current(), "0000:00:01.0");
	uint64_t iova, x;

	if (c == NULL)
		return;
	int dfd = bus_master(c);
	CHECK_EQ(tce_dma_map(c, r, n, NULL), 0);
	CHECK_EQ(tce_eeh_state(c), VFIO_EEH_PE_STATE_NORMAL);
	CHECK_EQ(p_dma_read(dev, 0x7ff000, &x, 8), -EIO); /* nothing there */
	CHECK_EQ(tce_eeh_state(c), VFIO_EEH_PE_STATE_STOPPED);
	CHECK_EQ(tce_eeh_reset(c), 0);
	CHECK_EQ(tce_eeh_replay(c), 0);
	CHECK_EQ(tce_eeh_state(c), VFIO_EEH_PE_STATE_NORMAL);
	CHECK_EQ(tce_iova_of(c, r[0].va, &iova), 0);
	CHECK_EQ(p_dma_read(dev, iova, &x, 8), 0);
	close(dfd);
	tce_container_close(c);
	CHECK(clean());
	munmap(m.p, m.len);
}

static void eeh_absent_in_guests(void)
{
	struct tce_container *c = open_c();

	if (c == NULL)
		return;
	CHECK_EQ(tce_eeh_state(c), -ENODEV);
	CHECK(strstr(last_log, "pSeries guests") != NULL);
	tce_container_close(c);
}

/* v1 with more memory than the window: refused with the numbers, nothing done */
static void v1_window_too_small(void)
{
	struct mem m = get_mem(32 * MiB);
	struct tce_region r[16];
	unsigned int n = to_regions(&m, r, 16);
	struct tce_container *c = open_c();
	struct tce_plan_opts partial = { .flags = TCE_PLAN_PARTIAL };
	uint64_t iova;

	if (c == NULL)
		return;
	CHECK_EQ(tce_dma_map(c, r, n, NULL), -ENOSPC);
	CHECK(strcmp(last_log, "32 MiB of DMA memory do not fit the 16 MiB DMA window at 0x0 (no dynamic"
			       " DMA windows on this platform): 16 MiB are left over; make at most 16 MiB"
			       " DMA-able") == 0);
	CHECK_EQ(counters().locked_bytes, 0);
	CHECK_EQ(tce_dma_map(c, r, n, &partial), 0);  /* or map what fits, on request */
	CHECK_EQ(tce_iova_of(c, r[7].va, &iova), 0);
	CHECK_EQ(tce_iova_of(c, r[8].va, &iova), -ENOENT);
	tce_container_close(c);
	CHECK(clean());
	munmap(m.p, m.len);
}

/* Two containers (one per group) of one process, the second opened after the first
 * added memory in a registration of its own: the kernel shares a registration only
 * for the very same range and refuses a partial overlap (EINVAL), so the second
 * registers the first's pieces, and the memory is charged once. Then the first goes
 * and comes back (a hot-unplug): it maps at the IOVAs the second had. */
static void two_containers_share_registrations(void)
{
	struct mem m = get_mem(32 * MiB);
	struct tce_region r[16];
	unsigned int n = to_regions(&m, r, 16), g0 = 0, g1 = 1;
	struct tce_plan_opts o = { .window_min = 64 * MiB };
	struct tce_container *a = NULL, *b = NULL;
	uint64_t iova_a, iova_b;

	CHECK_EQ(tce_container_open(&g0, 1, TCE_IOMMU_AUTO, &a), 0);
	CHECK_EQ(tce_container_open(&g1, 1, TCE_IOMMU_AUTO, &b), 0);
	if (a == NULL || b == NULL)
		return;
	CHECK_EQ(tce_dma_map(a, r, 8, &o), 0);          /* one REGISTER of 16 MiB */
	CHECK_EQ(tce_dma_add(a, &r[8], 4), 0);          /* four of 2 MiB */
	uint64_t locked = counters().locked_bytes;
	CHECK_EQ(tce_dma_map(b, r, 12, &o), 0);         /* 24 MiB as one range */
	CHECK_EQ(tce_iova_of(a, r[11].va, &iova_a), 0);
	CHECK_EQ(tce_iova_of(b, r[11].va, &iova_b), 0);
	CHECK_EQ(iova_a, iova_b);                       /* the same layout */
	struct tce_stats sb;
	tce_get_stats(b, &sb);
	if (sb.registrations) {                         /* v2 */
		CHECK_EQ(sb.registrations, 5);              /* a's five pieces */
		/* only b's window and table are new: the pinned 24 MiB were charged once */
		CHECK(counters().locked_bytes - locked < 24 * MiB);
	}
	/* memory added later: b registers what a registered */
	CHECK_EQ(tce_dma_add(a, &r[12], 4), 0);
	for (unsigned int i = 12; i < 16; i++)
		r[i].iova = tce_iova_of(a, r[i].va, &iova_a) == 0 ? iova_a : 0;
	CHECK_EQ(tce_dma_add(b, &r[12], 4), 0);
	CHECK_EQ(tce_iova_of(b, r[15].va, &iova_b), 0);
	CHECK_EQ(iova_b, r[15].iova);
	/* a goes and comes back at b's IOVAs */
	tce_container_close(a);
	a = NULL;
	for (unsigned int i = 0; i < n; i++)
		CHECK_EQ(tce_iova_of(b, r[i].va, &r[i].iova), 0);
	CHECK_EQ(tce_container_open(&g0, 1, TCE_IOMMU_AUTO, &a), 0);
	if (a) {
		struct tce_plan_opts fixed = { .window_min = 64 * MiB };
		CHECK_EQ(tce_dma_map(a, r, n, &fixed), 0);
		CHECK_EQ(tce_iova_of(a, r[5].va, &iova_a), 0);
		CHECK_EQ(iova_a, r[5].iova);
		tce_container_close(a);
	}
	tce_container_close(b);
	CHECK(clean());
	CHECK_EQ(counters().locked_bytes, 0);
	munmap(m.p, m.len);
}

int main(int argc, char **argv)
{
	platform = argc > 1 ? argv[1] : "pseries-ddw";
	p_current = (struct emu_platform *(*)(void))dlsym(RTLD_DEFAULT, "emu_current");
	p_counters = (void (*)(struct emu_platform *, struct emu_counters *))dlsym(RTLD_DEFAULT, "emu_get_counters");
	p_write_stats = (int (*)(struct emu_platform *, FILE *))dlsym(RTLD_DEFAULT, "emu_write_stats");
	p_find = (struct emu_device *(*)(struct emu_platform *, const char *))dlsym(RTLD_DEFAULT, "emu_device_find");
	p_dma_read = (int (*)(struct emu_device *, uint64_t, void *, size_t))dlsym(RTLD_DEFAULT, "emu_dma_read");
	if (!p_current || !p_counters || !p_write_stats || !p_find || !p_dma_read || !p_current()) {
		fprintf(stderr, "run me under spapr-emu run\n");
		return 2;
	}
	tce_set_log(capture_log, NULL);
	if (argc > 2 && strcmp(argv[2], "small-window") == 0) {
		RUN(v1_window_too_small);
		return failures ? 1 : 0;
	}
	if (argc > 2 && strcmp(argv[2], "two-groups") == 0) {
		RUN(two_containers_share_registrations);
		return failures ? 1 : 0;
	}
	RUN(map_translate_dma_close);
	RUN(add_and_remove);
	RUN(failure_rolls_back);
	RUN(memlock_refused_before_any_ioctl);
	RUN(adopt_open_group);
	if (strcmp(platform, "powernv") == 0)
		RUN(eeh_recovery);
	else
		RUN(eeh_absent_in_guests);
	return failures ? 1 : 0;
}
