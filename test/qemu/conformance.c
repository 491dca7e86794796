/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VFIO sPAPR TCE scenarios, one canonical record per call, for the same binary logic to
 * run on the real kernel (a QEMU pSeries guest, cross-compiled statically) and on the
 * emulator (natively, under spapr-emu run): test/qemu/compare.py diffs the two records
 * and the hypercalls of each step. A plain program: no knowledge of the emulator, except
 * that it prints the emulator's counters at each step when it runs under it.
 *
 *   spapr-conformance PCI_ADDRESS IOMMU_GROUP [--no-map-across-end]
 *
 * --no-map-across-end leaves out the map that starts inside the v1 window and runs past
 * its end: PowerNV kernels accept it and write TCEs past the table (a kernel bug,
 * qemu-powernv-notes.md), so it is not made there.
 *
 * At each step the program also prints the kernel's kprobe hit counts when the harness
 * registered some (test/qemu/guest-init, run.sh --kprobes: PowerNV has no QEMU trace
 * events), as "@@KPROF <step> name=hits ...".
 *
 * Record lines: "<step>.<call> ret=<r> errno=<E> [k=v ...]"; a step starts with
 * "@@STEP <step>" (with 100 ms of quiet either side, so that QEMU's time-stamped trace
 * events fall in the right step). Steps that could poison the device on a pSeries guest
 * (a window create the hypervisor refuses) are not made.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spapr_emu.h"

#define MiB (1ULL << 20)
#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static const char *addr;
static int group_id;
static int map_across_end = 1;
static char step_name[64];

/* The emulator's counters when it runs us (dlsym finds its shim), else nothing. */
static struct emu_platform *(*emu_cur)(void);
static void (*emu_ctrs)(struct emu_platform *, struct emu_counters *);

static void emu_snapshot(const char *next)
{
	struct emu_counters k;

	if (emu_cur == NULL || emu_ctrs == NULL || emu_cur() == NULL)
		return;
	emu_ctrs(emu_cur(), &k);
	printf("@@EMUHC %s H_GET_TCE=%llu H_PUT_TCE=%llu H_PUT_TCE_INDIRECT=%llu H_STUFF_TCE=%llu "
	       "tce_xchg=%llu tce_kill=%llu opal_tce_kill=%llu opal_map_window=%llu opal_bypass=%llu "
	       "eeh_get_state=%llu opal_freeze_clear=%llu opal_freeze_set=%llu opal_pci_reset=%llu\n",
	       next, (unsigned long long)k.h_get_tce, (unsigned long long)k.h_put_tce,
	       (unsigned long long)k.h_put_tce_indirect, (unsigned long long)k.h_stuff_tce,
	       (unsigned long long)k.tce_xchg, (unsigned long long)k.tce_kill,
	       (unsigned long long)k.opal_tce_kill, (unsigned long long)k.opal_map_window,
	       (unsigned long long)k.opal_bypass, (unsigned long long)k.eeh_get_state,
	       (unsigned long long)k.opal_freeze_clear, (unsigned long long)k.opal_freeze_set,
	       (unsigned long long)k.opal_pci_reset);
}

/* The kernel's kprobe hit counts, when there are any: "<event> <hits> <misses>" lines. */
static void kprobe_snapshot(const char *next)
{
	FILE *f = fopen("/sys/kernel/tracing/kprobe_profile", "r");
	char name[128];
	unsigned long long hits, misses;

	if (f == NULL)
		return;
	printf("@@KPROF %s", next);
	while (fscanf(f, "%127s %llu %llu", name, &hits, &misses) == 3)
		printf(" %s=%llu", name, hits);
	printf("\n");
	fclose(f);
}

static const char *errname(int e)
{
	static const struct { int e; const char *n; } names[] = {
		{ 0, "0" }, { EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EIO, "EIO" }, { ENXIO, "ENXIO" },
		{ EBADF, "EBADF" }, { ENOMEM, "ENOMEM" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
		{ ENODEV, "ENODEV" }, { EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" }, { ENOTTY, "ENOTTY" },
		{ EBADFD, "EBADFD" }, { E2BIG, "E2BIG" }, { EAGAIN, "EAGAIN" },
	};
	static char buf[16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

/* One record: the call's name, its return value and errno. fds print as <fd>. */
static long rec(const char *call, long ret, int is_fd)
{
	if (is_fd && ret >= 0)
		printf("%s.%s ret=<fd> errno=0\n", step_name, call);
	else
		printf("%s.%s ret=%ld errno=%s\n", step_name, call, ret, ret < 0 ? errname(errno) : "0");
	fflush(stdout);
	return ret;
}

#define R(call, expr) (errno = 0, rec(call, (long)(expr), 0))
#define RFD(call, expr) (errno = 0, rec(call, (long)(expr), 1))

static void kv(const char *k, unsigned long long v)
{
	printf("%s.%s=0x%llx\n", step_name, k, v);
	fflush(stdout);
}

static void step(const char *name)
{
	emu_snapshot(name);
	kprobe_snapshot(name);
	usleep(100000);
	snprintf(step_name, sizeof(step_name), "%s", name);
	printf("@@STEP %s\n", name);
	fflush(stdout);
	usleep(100000);
}

/* --- set-up helpers ------------------------------------------------------------------ */

static int open_group(void)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
	return open(path, O_RDWR);
}

/* container + group joined, IOMMU type set: 0, with the fds */
static int attach(int type, int *container, int *group)
{
	*container = open("/dev/vfio/vfio", O_RDWR);
	*group = open_group();
	if (*container < 0 || *group < 0)
		return -1;
	if (ioctl(*group, VFIO_GROUP_SET_CONTAINER, container) != 0)
		return -1;
	return type ? ioctl(*container, VFIO_SET_IOMMU, type) : 0;
}

static void detach(int container, int group)
{
	if (group >= 0)
		close(group);
	if (container >= 0)
		close(container);
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x5a, len);
	return p;
}

static long map(int c, void *va, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = { .argsz = sizeof(m), .flags = flags, .vaddr = (uintptr_t)va,
					      .iova = iova, .size = size };
	return ioctl(c, VFIO_IOMMU_MAP_DMA, &m);
}

static long unmap(int c, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .flags = flags, .iova = iova, .size = size };
	return ioctl(c, VFIO_IOMMU_UNMAP_DMA, &u);
}

static long reg(int c, void *va, uint64_t size, uint32_t flags, int on)
{
	struct vfio_iommu_spapr_register_memory r = { .argsz = sizeof(r), .flags = flags, .vaddr = (uintptr_t)va,
						      .size = size };
	return ioctl(c, on ? VFIO_IOMMU_SPAPR_REGISTER_MEMORY : VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, &r);
}

/* --- scenarios ----------------------------------------------------------------------- */

static void extensions(void)
{
	int c;

	step("extensions");
	c = RFD("open_container", open("/dev/vfio/vfio", O_RDWR));
	R("api_version", ioctl(c, VFIO_GET_API_VERSION));
	R("check_type1", ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	R("check_spapr_v1", ioctl(c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU));
	R("check_spapr_v2", ioctl(c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_v2_IOMMU));
	R("check_eeh", ioctl(c, VFIO_CHECK_EXTENSION, VFIO_EEH));
	R("check_noiommu", ioctl(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU));
	R("set_iommu_without_group", ioctl(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU));
	close(c);
}

static void group_status(void)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int c, g;

	step("group");
	g = RFD("open_group", open_group());
	R("open_group_twice", open_group());
	st.argsz = 4;
	R("status_short_argsz", ioctl(g, VFIO_GROUP_GET_STATUS, &st));
	st.argsz = sizeof(st);
	R("status", ioctl(g, VFIO_GROUP_GET_STATUS, &st));
	kv("flags", st.flags);
	R("unset_container_unset", ioctl(g, VFIO_GROUP_UNSET_CONTAINER));
	R("get_device_fd_no_container", ioctl(g, VFIO_GROUP_GET_DEVICE_FD, addr));
	c = open("/dev/vfio/vfio", O_RDWR);
	R("set_container", ioctl(g, VFIO_GROUP_SET_CONTAINER, &c));
	R("status_after", ioctl(g, VFIO_GROUP_GET_STATUS, &st));
	kv("flags_after", st.flags);
	R("set_iommu_type1", ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	R("set_iommu_eeh", ioctl(c, VFIO_SET_IOMMU, VFIO_EEH));
	R("get_device_fd_no_iommu", ioctl(g, VFIO_GROUP_GET_DEVICE_FD, addr));
	R("set_iommu_v1", ioctl(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU));
	R("set_iommu_again", ioctl(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU));
	R("unset_container", ioctl(g, VFIO_GROUP_UNSET_CONTAINER));
	detach(c, g);
}

static void v1(void)
{
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	uint8_t *mem = anon(2 * MiB);
	int c, g;

	step("v1");
	R("attach", attach(VFIO_SPAPR_TCE_IOMMU, &c, &g));
	info.argsz = 8;
	R("get_info_short", ioctl(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info));
	info.argsz = sizeof(info);
	R("get_info", ioctl(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info));
	kv("info_flags", info.flags);
	kv("dma32_start", info.dma32_window_start);
	kv("dma32_size", info.dma32_window_size);
	R("map_before_enable", map(c, mem, 0, MiB, RW));
	R("enable", ioctl(c, VFIO_IOMMU_ENABLE));
	R("enable_again", ioctl(c, VFIO_IOMMU_ENABLE));
	R("map_no_flags", map(c, mem, 0, MiB, 0));
	R("map_bad_flags", map(c, mem, 0, MiB, RW | 4));
	R("map_misaligned_vaddr", map(c, mem + 1, 0, MiB, RW));
	R("map_misaligned_iova", map(c, mem, 1, MiB, RW));
	R("map_misaligned_size", map(c, mem, 0, MiB + 1, RW));
	R("map_beyond_window", map(c, mem, info.dma32_window_size, MiB, RW));
	if (map_across_end)
		R("map_across_window_end", map(c, mem, info.dma32_window_size - 64 * 1024, MiB, RW));
	R("map_read_only", map(c, mem, 0, 64 * 1024, VFIO_DMA_MAP_FLAG_READ));
	R("map_again_same_iova", map(c, mem, 0, 64 * 1024, RW));
	R("unmap_bad_flags", unmap(c, 0, 64 * 1024, 1));
	R("unmap", unmap(c, 0, 64 * 1024, 0));
	R("map_1M", map(c, mem, 0, MiB, RW));
	R("map_1M_at_1M", map(c, mem + MiB, MiB, MiB, RW));
	R("unmap_2M", unmap(c, 0, 2 * MiB, 0));
	R("unmap_nothing", unmap(c, 0, MiB, 0));
	R("map_v2_call_register", reg(c, mem, MiB, 0, 1));
	R("disable", ioctl(c, VFIO_IOMMU_DISABLE));
	R("map_after_disable", map(c, mem, 0, MiB, RW));
	R("enable_after_disable", ioctl(c, VFIO_IOMMU_ENABLE));
	R("disable_again", ioctl(c, VFIO_IOMMU_DISABLE));
	detach(c, g);
	munmap(mem, 2 * MiB);
}

static void v2_registration(void)
{
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	uint8_t *mem = anon(4 * MiB);
	int c, g;

	step("v2_register");
	R("attach", attach(VFIO_SPAPR_TCE_v2_IOMMU, &c, &g));
	R("get_info", ioctl(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info));
	kv("info_flags", info.flags);
	kv("dma32_start", info.dma32_window_start);
	kv("dma32_size", info.dma32_window_size);
	kv("ddw_pgsizes", info.ddw.pgsizes);
	kv("ddw_max_windows", info.ddw.max_dynamic_windows_supported);
	kv("ddw_levels", info.ddw.levels);
	R("enable", ioctl(c, VFIO_IOMMU_ENABLE));
	R("map_unregistered", map(c, mem, 0, MiB, RW));
	R("register_bad_flags", reg(c, mem, MiB, 1, 1));
	R("register_misaligned", reg(c, mem + 4096, MiB, 0, 1));
	R("register_1M", reg(c, mem, MiB, 0, 1));
	R("register_identical", reg(c, mem, MiB, 0, 1));
	R("register_overlapping", reg(c, mem + MiB / 2, MiB, 0, 1));
	R("unregister_unknown", reg(c, mem + 2 * MiB, MiB, 0, 0));
	R("map_into_default_window", map(c, mem, 0, MiB, RW));
	R("unmap", unmap(c, 0, MiB, 0));
	R("unregister", reg(c, mem, MiB, 0, 0));
	R("unregister_again", reg(c, mem, MiB, 0, 0));
	detach(c, g);
	munmap(mem, 4 * MiB);
}

static void v2_window(void)
{
	struct vfio_iommu_spapr_tce_create cr = { .argsz = sizeof(cr), .page_shift = 16, .window_size = 256 * MiB,
						   .levels = 1 };
	struct vfio_iommu_spapr_tce_remove rm = { .argsz = sizeof(rm) };
	uint8_t *mem = anon(2 * MiB);
	int c, g;

	step("v2_window");
	R("attach", attach(VFIO_SPAPR_TCE_v2_IOMMU, &c, &g));
	R("register", reg(c, mem, 2 * MiB, 0, 1));
	cr.flags = 1;
	R("create_bad_flags", ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr));
	cr.flags = 0;
	cr.page_shift = 13;
	R("create_bad_page_shift", ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr));
	cr.page_shift = 16;
	rm.start_addr = 0;
	R("remove_default", ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm));
	R("create_64K_256M", ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr));
	kv("start_addr", cr.start_addr);
	R("map_at_window_start", map(c, mem, cr.start_addr, 2 * MiB, RW));
	R("map_below_window", map(c, mem, 0, 64 * 1024, RW));
	R("unmap", unmap(c, cr.start_addr, 2 * MiB, 0));
	rm.start_addr = cr.start_addr;
	R("remove", ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm));
	R("remove_again", ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm));
	R("unregister", reg(c, mem, 2 * MiB, 0, 0));
	detach(c, g);
	munmap(mem, 2 * MiB);
}

/* Without CAP_IPC_LOCK and with a 64 KiB RLIMIT_MEMLOCK (in a child: it cannot be undone). */
static int memlock_child(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	uint8_t *mem = anon(MiB);
	int c, g;

	if (syscall(SYS_capget, &hdr, data) == 0) {
		data[0].effective &= ~(1u << CAP_IPC_LOCK);
		syscall(SYS_capset, &hdr, data);
	}
	setrlimit(RLIMIT_MEMLOCK, &rl);
	/* under the emulator the child has its own copy of the platform: its counts */
	emu_snapshot("memlock-child-start");
	R("v1_attach", attach(VFIO_SPAPR_TCE_IOMMU, &c, &g));
	R("v1_enable", ioctl(c, VFIO_IOMMU_ENABLE));
	detach(c, g);
	R("v2_attach", attach(VFIO_SPAPR_TCE_v2_IOMMU, &c, &g));
	R("v2_register_1M", reg(c, mem, MiB, 0, 1));
	R("v2_register_64K", reg(c, mem, 64 * 1024, 0, 1));
	R("v2_unregister_64K", reg(c, mem, 64 * 1024, 0, 0));
	detach(c, g);
	emu_snapshot("memlock-child-end");
	fflush(stdout);
	return 0;
}

static void memlock(void)
{
	pid_t pid;
	int st;

	step("memlock");
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(memlock_child());
	waitpid(pid, &st, 0);
}

static void device(void)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int c, g, d;

	step("device");
	R("attach", attach(VFIO_SPAPR_TCE_IOMMU, &c, &g));
	R("get_device_fd_bad_name", ioctl(g, VFIO_GROUP_GET_DEVICE_FD, "0000:99:99.9"));
	d = RFD("get_device_fd", ioctl(g, VFIO_GROUP_GET_DEVICE_FD, addr));
	R("info", ioctl(d, VFIO_DEVICE_GET_INFO, &info));
	kv("info_flags", info.flags);
	kv("num_regions", info.num_regions);
	kv("num_irqs", info.num_irqs);
	for (unsigned int i = 0; i < info.num_regions && i < 10; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = i };
		char name[32];
		snprintf(name, sizeof(name), "region%u_info", i);
		R(name, ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &ri));
		snprintf(name, sizeof(name), "region%u_size", i);
		kv(name, ri.size);
		snprintf(name, sizeof(name), "region%u_flags", i);
		kv(name, ri.flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP));
	}
	for (unsigned int i = 0; i < info.num_irqs && i < 6; i++) {
		struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = i };
		char name[32];
		snprintf(name, sizeof(name), "irq%u_info", i);
		R(name, ioctl(d, VFIO_DEVICE_GET_IRQ_INFO, &ii));
		snprintf(name, sizeof(name), "irq%u_count", i);
		kv(name, ii.count);
	}
	uint32_t id = 0;
	R("config_read_id", pread(d, &id, 4, (off_t)VFIO_PCI_CONFIG_REGION_INDEX << 40));
	kv("vendor_device", id);
	R("eeh_pe_op", ioctl(c, VFIO_EEH_PE_OP, &(struct vfio_eeh_pe_op){ .argsz = sizeof(struct vfio_eeh_pe_op),
									    .op = VFIO_EEH_PE_GET_STATE }));
	close(d);
	detach(c, g);
}

static long eeh_op(int c, uint32_t op)
{
	struct vfio_eeh_pe_op o = { .argsz = sizeof(o), .op = op };

	return ioctl(c, VFIO_EEH_PE_OP, &o);
}

/* The EEH operations VFIO offers where the platform has EEH (PowerNV), success paths
 * and refusals: QEMU's PHB never freezes a PE and skiboot refuses error injection, so
 * freezes and recovery cannot be compared with this kernel (doc/qemu.md). */
static void eeh(void)
{
	struct vfio_eeh_pe_op small = { .argsz = 4, .op = VFIO_EEH_PE_GET_STATE };
	int c, g, d = -1, has;

	step("eeh");
	c = open("/dev/vfio/vfio", O_RDWR);
	has = ioctl(c, VFIO_CHECK_EXTENSION, VFIO_EEH);
	close(c);
	if (has != 1)
		return;
	R("attach", attach(VFIO_SPAPR_TCE_IOMMU, &c, &g));
	d = RFD("get_device_fd", ioctl(g, VFIO_GROUP_GET_DEVICE_FD, addr));
	R("op_short_argsz", ioctl(c, VFIO_EEH_PE_OP, &small));
	R("op_unknown", eeh_op(c, 99));
	R("enable", eeh_op(c, VFIO_EEH_PE_ENABLE));
	R("get_state", eeh_op(c, VFIO_EEH_PE_GET_STATE));
	R("unfreeze_io", eeh_op(c, VFIO_EEH_PE_UNFREEZE_IO));
	R("unfreeze_dma", eeh_op(c, VFIO_EEH_PE_UNFREEZE_DMA));
	R("reset_hot", eeh_op(c, VFIO_EEH_PE_RESET_HOT));
	R("get_state_in_reset", eeh_op(c, VFIO_EEH_PE_GET_STATE));
	R("reset_deactivate", eeh_op(c, VFIO_EEH_PE_RESET_DEACTIVATE));
	R("configure", eeh_op(c, VFIO_EEH_PE_CONFIGURE));
	R("get_state_after", eeh_op(c, VFIO_EEH_PE_GET_STATE));
	uint32_t id = 0;
	R("config_read_id", pread(d, &id, 4, (off_t)VFIO_PCI_CONFIG_REGION_INDEX << 40));
	kv("vendor_device", id);
	R("disable", eeh_op(c, VFIO_EEH_PE_DISABLE));
	close(d);
	detach(c, g);
}

/* A window of two levels where the platform has them (PowerNV): the kernel makes a
 * level's page when a map first reaches it, and clearing the window skips the entries
 * of pages never made (1 GiB of 64 KiB TCEs: two leaves of 8192 entries, one used). */
static void multilevel(void)
{
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	struct vfio_iommu_spapr_tce_create cr = { .argsz = sizeof(cr), .page_shift = 16,
						   .window_size = 1ULL << 30, .levels = 2 };
	struct vfio_iommu_spapr_tce_remove rm = { .argsz = sizeof(rm) };
	uint8_t *mem = anon(2 * MiB);
	int c, g;

	step("multilevel");
	R("attach", attach(VFIO_SPAPR_TCE_v2_IOMMU, &c, &g));
	R("get_info", ioctl(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info));
	if (info.ddw.levels > 1) {
		R("register", reg(c, mem, 2 * MiB, 0, 1));
		rm.start_addr = 0; /* no default window: CREATE would make it first */
		R("remove_default", ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm));
		R("create_2_levels", ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr));
		kv("start_addr", cr.start_addr);
		R("map_2M", map(c, mem, cr.start_addr, 2 * MiB, RW));
		R("unmap_64K", unmap(c, cr.start_addr + 64 * 1024, 64 * 1024, 0));
		R("unmap_second_leaf", unmap(c, cr.start_addr + (1ULL << 29), 2 * MiB, 0));
		rm.start_addr = cr.start_addr;
		R("remove", ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm));
		R("unregister", reg(c, mem, 2 * MiB, 0, 0));
	}
	detach(c, g);
	munmap(mem, 2 * MiB);
}

/* Each page size the platform offers and levels > 1, then a second window: on a pSeries
 * guest the second create is refused by the hypervisor and poisons the device (the
 * failed-DDW list), so this is the last step of a run. */
static void windows_last(void)
{
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	struct vfio_iommu_spapr_tce_remove rm = { .argsz = sizeof(rm) };
	/* 16 MiB of 64 KiB pages at an address aligned to 2 MiB but not to 16 MiB, whatever
	 * the kernel's placement (6.7+ aligns large anonymous mappings to 2 MiB): a 2 MiB TCE
	 * of it passes the address check and is refused by the page-size check (after which
	 * the kernel kills the TCE cache), a 16 MiB one fails the address check first */
	uint8_t *area = anon(48 * MiB);
	uint8_t *mem = area ? (uint8_t *)((((uintptr_t)area + 16 * MiB - 1) & ~(uintptr_t)(16 * MiB - 1)) + 2 * MiB)
			    : NULL;
	int c, g;

	step("windows_last");
	R("attach", attach(VFIO_SPAPR_TCE_v2_IOMMU, &c, &g));
	R("get_info", ioctl(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info));
	R("register", reg(c, mem, 16 * MiB, 0, 1));
	rm.start_addr = 0;
	R("remove_default", ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm));
	for (unsigned int shift = 12; shift <= 24; shift++) {
		struct vfio_iommu_spapr_tce_create cr = { .argsz = sizeof(cr), .page_shift = shift,
							   .window_size = 1ULL << 28, .levels = 1 };
		char name[32];
		if (!(info.ddw.pgsizes & (1ULL << shift)))
			continue;
		snprintf(name, sizeof(name), "create_%uK", 1u << (shift - 10));
		R(name, ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr));
		snprintf(name, sizeof(name), "start_%uK", 1u << (shift - 10));
		kv(name, cr.start_addr);
		/* one IOMMU page of 64 KiB-page memory: a page larger than the memory's is
		 * refused (EINVAL) */
		snprintf(name, sizeof(name), "map_%uK", 1u << (shift - 10));
		R(name, map(c, mem, cr.start_addr, 1ULL << shift, RW));
		rm.start_addr = cr.start_addr;
		snprintf(name, sizeof(name), "remove_%uK", 1u << (shift - 10));
		R(name, ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm));
	}
	struct vfio_iommu_spapr_tce_create two = { .argsz = sizeof(two), .page_shift = 16,
						    .window_size = 1ULL << 28, .levels = 2 };
	R("create_2_levels", ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &two));
	two.levels = 1;
	R("create_first", ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &two));
	struct vfio_iommu_spapr_tce_create second = two;
	R("create_second", ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &second));
	rm.start_addr = two.start_addr;
	R("remove_first", ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm));
	R("create_after_refusal", ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &two));
	detach(c, g);
	munmap(area, 48 * MiB);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[3], "--no-map-across-end") == 0) {
		map_across_end = 0;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: %s PCI_ADDRESS IOMMU_GROUP [--no-map-across-end]\n", argv[0]);
		return 2;
	}
	addr = argv[1];
	group_id = atoi(argv[2]);
	emu_cur = (struct emu_platform *(*)(void))dlsym(RTLD_DEFAULT, "emu_current");
	emu_ctrs = (void (*)(struct emu_platform *, struct emu_counters *))dlsym(RTLD_DEFAULT, "emu_get_counters");
	extensions();
	group_status();
	v1();
	v2_registration();
	v2_window();
	memlock();
	device();
	eeh();
	multilevel();
	windows_last();
	step("end");
	return 0;
}
