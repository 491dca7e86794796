/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * spapr-info --check [--memory SIZE] [ADDR...]: is this machine ready for DPDK on the
 * sPAPR TCE IOMMU, as it is? In order: VFIO and its sPAPR IOMMU, the devices (bound to
 * vfio-pci, their IOMMU groups viable, /dev/vfio/N usable), the platform the IOMMU
 * reports, hugepages (pools, mounts, the MMU's sizes), the locked memory the plan for
 * SIZE needs against RLIMIT_MEMLOCK and CAP_IPC_LOCK, physical addresses (IOVA as PA).
 * Each line says ok or what to do; then the EAL options to use. Exit 0 only when nothing
 * is left to do, 1 otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tce.h"
#include "tce_pci.h"

#define MiB (UINT64_C(1) << 20)
#define MAX_DEVICES 64
#define MAX_POOLS 8

static unsigned int todo; /* lines that ask for something */

static void ok(const char *fmt, ...)
{
	va_list ap;

	printf("[ok]   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void fix(const char *fmt, ...)
{
	va_list ap;

	printf("[todo] ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	todo++;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* --- VFIO ---------------------------------------------------------------------------- */

static bool check_vfio(struct tce_platform *plat)
{
	int ret;

	if (!exists("/sys/module/vfio_pci")) {
		fix("the vfio-pci module is not loaded: modprobe vfio-pci");
		return false;
	}
	ret = tce_platform_query(plat);
	if (ret == -ENOENT) {
		fix("no /dev/vfio/vfio: modprobe vfio-pci (and, in a container, pass /dev/vfio through)");
		return false;
	}
	if (ret == -EACCES) {
		fix("cannot open /dev/vfio/vfio (permission denied): run as root, or give the user access");
		return false;
	}
	if (ret != 0) {
		fix("cannot ask VFIO what it offers: %s", strerror(-ret));
		return false;
	}
	if (!plat->spapr) {
		fix("this machine's VFIO has no sPAPR TCE IOMMU (not POWER): stock DPDK needs nothing from this project here");
		return false;
	}
	ok("VFIO with the sPAPR TCE IOMMU (vfio-pci loaded)");
	return true;
}

/* --- devices and groups ---------------------------------------------------------------- */

struct device {
	struct tce_pci_function f;
	bool ready;
};

static unsigned int all_vfio_devices(struct device *out, unsigned int max)
{
	DIR *d = opendir(tce_pci_dir());
	struct dirent *e;
	unsigned int n = 0;
	char err[256];

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max)
		if (tce_pci_is_addr(e->d_name) && tce_pci_is_vfio(e->d_name) &&
		    tce_pci_read(e->d_name, &out[n].f, err, sizeof(err)) == 0)
			n++;
	closedir(d);
	return n;
}

static bool check_group(const char *addr, unsigned int group)
{
	char members[MAX_DEVICES][16], drv[32], path[64];
	int n = tce_pci_group_members(group, members, MAX_DEVICES);
	bool viable = true;

	if (n < 0) {
		fix("IOMMU group %u: cannot list its devices (%s)", group, strerror(-n));
		return false;
	}
	for (int i = 0; i < n && i < MAX_DEVICES; i++) {
		if (tce_pci_driver(members[i], drv, sizeof(drv)) != 0)
			drv[0] = '\0';
		if (!tce_pci_driver_vfio_safe(drv)) {
			fix("%s: its IOMMU group %u is not viable: %s in it is bound to %s: bind that one to"
			    " vfio-pci too (dpdk-devbind.py -b vfio-pci %s) or unbind it", addr, group, members[i], drv,
			    members[i]);
			viable = false;
		}
	}
	snprintf(path, sizeof(path), "/dev/vfio/%u", group);
	if (viable && access(path, R_OK | W_OK) != 0) {
		if (errno == ENOENT)
			fix("no %s: the group has no device bound to vfio-pci", path);
		else
			fix("%s: %s: run as root, or give the user the group (chown, or a udev rule)", path,
			    strerror(errno));
		return false;
	}
	return viable;
}

static unsigned int check_devices(char **addrs, unsigned int naddrs, struct device *devs)
{
	unsigned int n = 0;
	char err[256];

	if (naddrs == 0) {
		n = all_vfio_devices(devs, MAX_DEVICES);
		if (n == 0)
			fix("no device is bound to vfio-pci: dpdk-devbind.py -b vfio-pci ADDR (or write vfio-pci to"
			    " /sys/bus/pci/devices/ADDR/driver_override and reprobe)");
	}
	for (unsigned int i = 0; i < naddrs && n < MAX_DEVICES; i++) {
		int ret;
		if (!tce_pci_is_addr(addrs[i])) {
			fix("%s: not a PCI address: give it as dddd:bb:dd.f (lspci -D)", addrs[i]);
			continue;
		}
		ret = tce_pci_read(addrs[i], &devs[n].f, err, sizeof(err));
		if (ret == -ENOENT)
			fix("%s: no such PCI function (lspci -D lists them)", addrs[i]);
		else if (ret != 0)
			fix("%s: %s", addrs[i], err);
		else
			n++;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct device *d = &devs[i];
		if (strcmp(d->f.driver, "vfio-pci") != 0) {
			fix("%s (%04x:%04x) is bound to %s: dpdk-devbind.py -b vfio-pci %s", d->f.addr, d->f.vendor,
			    d->f.device, d->f.driver[0] ? d->f.driver : "no driver", d->f.addr);
			continue;
		}
		d->ready = check_group(d->f.addr, d->f.group);
		if (d->ready)
			ok("%s (%04x:%04x) bound to vfio-pci, IOMMU group %u viable and usable, NUMA node %d",
			   d->f.addr, d->f.vendor, d->f.device, d->f.group, d->f.numa_node);
	}
	return n;
}

/* --- hugepages ------------------------------------------------------------------------- */

struct pool {
	uint64_t size, total, free;
	bool mounted;
};

static bool mounted(uint64_t size, uint64_t default_size)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[512];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char dev[128], dir[256], type[64], opts[256];
		uint64_t page = default_size;
		if (sscanf(line, "%127s %255s %63s %255s", dev, dir, type, opts) != 4 || strcmp(type, "hugetlbfs"))
			continue;
		const char *ps = strstr(opts, "pagesize=");
		if (ps && tce_parse_size(ps + 9, &page) != 0)
			continue;
		found = page == size;
	}
	fclose(f);
	return found;
}

static uint64_t read_u64(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned long long v = 0;

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static uint64_t default_hugepage(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long long kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kb << 10;
}

static unsigned int read_pools(struct pool *pools)
{
	DIR *d = opendir("/sys/kernel/mm/hugepages");
	struct dirent *e;
	unsigned int n = 0;
	uint64_t dflt = default_hugepage();

	while (d && (e = readdir(d)) != NULL && n < MAX_POOLS) {
		unsigned long long kb;
		char path[512];
		if (sscanf(e->d_name, "hugepages-%llukB", &kb) != 1)
			continue;
		pools[n].size = (uint64_t)kb << 10;
		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/%s/nr_hugepages", e->d_name);
		pools[n].total = read_u64(path);
		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/%s/free_hugepages", e->d_name);
		pools[n].free = read_u64(path);
		pools[n].mounted = mounted(pools[n].size, dflt);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* "Radix", "Hash", or "" (not POWER: /proc/cpuinfo has no MMU line) */
static void read_mmu(char out[32])
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MMU : %31s", out) == 1)
			break;
	if (f)
		fclose(f);
}

static const char *size_str(uint64_t b, char *buf, size_t len)
{
	if (b >= (UINT64_C(1) << 30) && !(b & ((UINT64_C(1) << 30) - 1)))
		snprintf(buf, len, "%" PRIu64 " GiB", b >> 30);
	else
		snprintf(buf, len, "%" PRIu64 " MiB", b >> 20);
	return buf;
}

/* DPDK needs the radix MMU: on the hash MMU 22.11 cannot map its hugepages (EBUSY: its
 * address-space reservation fixes the slice's page size) and 24.11 on refuses to start
 * ("DPDK on PPC64 requires radix-mmu"). */
static void check_mmu(const char *mmu)
{
	if (strcmp(mmu, "Hash") == 0)
		fix("the kernel runs the hash MMU: DPDK needs the radix MMU (POWER9 and later: boot without"
		    " disable_radix; DPDK calls POWER8/POWER9 under PowerVM, hash only, unsupported)");
	else if (mmu[0])
		ok("MMU %s", mmu);
}

/* The pool DPDK will take memory from (the largest mounted one with free pages) and how
 * much it can have; 0 when there is none. */
static uint64_t check_hugepages(const char *mmu, uint64_t memory, uint64_t *page)
{
	struct pool pools[MAX_POOLS];
	unsigned int n = read_pools(pools);
	char a[32], b[32], c[32];
	uint64_t usable = 0;

	*page = 0;
	for (unsigned int i = 0; i < n; i++) {
		printf("       hugepages of %s: %" PRIu64 " reserved, %" PRIu64 " free, %s\n",
		       size_str(pools[i].size, a, sizeof(a)), pools[i].total, pools[i].free,
		       pools[i].mounted ? "mounted (hugetlbfs)" : "no hugetlbfs mount");
		if (pools[i].free && pools[i].mounted && pools[i].size > *page) {
			*page = pools[i].size;
			usable = pools[i].free * pools[i].size;
		}
	}
	if (n == 0) {
		/* measured in QEMU 7.2's powernv9 guest: radix, and HugeTLB refuses every size */
		fix("this kernel offers no hugepage size (/sys/kernel/mm/hugepages is empty: on the radix MMU"
		    " the firmware gave no page-size encodings, as QEMU 7.2's PowerNV machines do): boot one"
		    " that does, or on PowerNV run DPDK with --no-huge (IOVA as VA, within a window)");
		return 0;
	}
	if (*page == 0) {
		const struct pool *unmounted = NULL;
		for (unsigned int i = 0; i < n; i++)
			if (pools[i].free && (unmounted == NULL || pools[i].size > unmounted->size))
				unmounted = &pools[i];
		if (unmounted)
			fix("%" PRIu64 " free hugepages of %s but no hugetlbfs mount for them: mount -t hugetlbfs -o"
			    " pagesize=%" PRIu64 "M nodev /dev/hugepages", unmounted->free,
			    size_str(unmounted->size, a, sizeof(a)), unmounted->size >> 20);
		else if (strcmp(mmu, "Hash") == 0)
			fix("no free hugepages: the hash MMU has 16 MiB ones, reserved at boot (hugepagesz=16M"
			    " hugepages=N on the kernel command line), then mounted (mount -t hugetlbfs nodev /dev/hugepages)");
		else
			fix("no free hugepages: reserve 2 MiB ones (echo N > /sys/kernel/mm/hugepages/hugepages-2048kB/"
			    "nr_hugepages; 1 GiB ones at boot: hugepagesz=1G hugepages=N) and mount hugetlbfs (mount -t"
			    " hugetlbfs nodev /dev/hugepages)");
		return 0;
	}
	if (memory > usable) {
		fix("%s of free %s hugepages, %s asked: reserve %" PRIu64 " more (or start with -m %" PRIu64 ")",
		    size_str(usable, a, sizeof(a)), size_str(*page, b, sizeof(b)), size_str(memory, c, sizeof(c)),
		    (memory - usable + *page - 1) / *page, usable >> 20);
		return usable;
	}
	ok("%s of free %s hugepages in a mounted pool%s%s", size_str(usable, a, sizeof(a)),
	   size_str(*page, b, sizeof(b)), mmu[0] ? ", MMU " : "", mmu);
	return usable;
}

/* --- the IOMMU, locked memory, physical addresses ------------------------------------- */

static int check_iommu(unsigned int group, uint64_t memory, uint64_t page, bool *pseries)
{
	struct tce_container *c = NULL;
	struct tce_memlock ml;
	struct tce_plan p;
	char err[400];
	uint64_t raise = 0;
	int ret = tce_container_open(&group, 1, TCE_IOMMU_AUTO, &c);

	if (ret == -EBUSY) {
		fix("IOMMU group %u is in use by another process: stop it to check, or check another group", group);
		return ret;
	}
	if (ret != 0) {
		fix("IOMMU group %u: cannot set a container up (%s)", group, strerror(-ret));
		return ret;
	}
	const struct tce_iommu_info *info = tce_container_info(c);
	*pseries = info->hv == TCE_HV_PSERIES;
	ok("platform: %s, %s", *pseries ? "pSeries guest" : "PowerNV (bare metal, EEH)",
	   info->v2 && info->max_windows > 1 ? "dynamic DMA windows (v2)" :
	   info->v2 ? "v2, the default window only" : "v1: the default window only");
	if (!info->v2 || info->max_windows < 2)
		printf("       every DMA address must fit the %" PRIu64 " MiB default window: DPDK's memory with it\n",
		       info->dma32_size >> 20);
	struct tce_region r = { 0x100000000000ULL, memory, page ? page : 2 * MiB, 0, TCE_IOVA_ANY };
	ret = tce_plan_build(&r, 1, info, NULL, &p, err, sizeof(err));
	tce_container_close(c);
	if (ret != 0) {
		fix("%" PRIu64 " MiB cannot be DMA-mapped here: %s", memory >> 20, err);
		return ret;
	}
	tce_memlock_read(&ml);
	switch (tce_memlock_check(p.cost.locked_bytes, &ml, &raise, err, sizeof(err))) {
	case TCE_MEMLOCK_OK:
		ok("locked memory: %" PRIu64 " MiB needed for %" PRIu64 " MiB of DPDK memory, %s",
		   p.cost.locked_bytes >> 20, memory >> 20, ml.cap_ipc_lock ? "CAP_IPC_LOCK" : "within RLIMIT_MEMLOCK");
		break;
	case TCE_MEMLOCK_RAISE_SOFT:
		ok("locked memory: %" PRIu64 " MiB needed, within the hard limit (the soft one is raised at start)",
		   p.cost.locked_bytes >> 20);
		break;
	default:
		fix("locked memory: %s (for a systemd service: LimitMEMLOCK=)", err);
	}
	tce_plan_free(&p);
	return 0;
}

/* Physical addresses: /proc/self/pagemap gives page frame numbers to root (CAP_SYS_ADMIN) */
static bool physical_addresses(void)
{
	static volatile char probe[1];
	uint64_t entry = 0;
	long psz = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	probe[0] = 1;
	if (fd < 0)
		return false;
	off_t off = (off_t)((uintptr_t)probe / (uintptr_t)psz * sizeof(entry));
	bool have = pread(fd, &entry, sizeof(entry), off) == sizeof(entry) && (entry & ((UINT64_C(1) << 55) - 1));
	close(fd);
	return have;
}

static void check_pa(bool pseries)
{
	if (physical_addresses())
		ok("physical addresses readable: DPDK can use IOVA as PA (the bus places memory in a dynamic window)");
	else if (pseries)
		fix("no physical addresses (not root): EAL takes IOVA as VA, which on a pSeries guest works only with"
		    " DPDK's memory inside the default window: run as root, or see doc/bus.md (--base-virtaddr, -m)");
	else
		ok("no physical addresses (not root): IOVA as VA, which the PowerNV window covers");
}

/* --- EAL options ------------------------------------------------------------------------- */

static bool is_virtio_net(const struct tce_pci_function *f)
{
	return f->vendor == 0x1af4 && (f->device == 0x1041 || f->device == 0x1000);
}

static void print_eal(const struct device *devs, unsigned int n, uint64_t memory)
{
	bool ours = false, pci = false;

	for (unsigned int i = 0; i < n; i++) {
		ours |= devs[i].ready && is_virtio_net(&devs[i].f);
		pci |= devs[i].ready && !is_virtio_net(&devs[i].f);
	}
	if (!ours && !pci)
		return;
	printf("\nEAL options (plugins by name: in EAL's plugin directory after meson install, else -d PATH):\n ");
	printf(" -d librte_bus_spapr.so");
	if (ours)
		printf(" -d librte_net_spapr_virtio.so");
	for (unsigned int i = 0; i < n; i++)
		if (devs[i].ready)
			printf(is_virtio_net(&devs[i].f) ? " -a bus=spapr,addr=%s" : " -a %s", devs[i].f.addr);
	printf("%s -m %" PRIu64 "\n", pci ? "" : " --no-pci", memory >> 20);
	if (ours && pci)
		printf("  (virtio-net devices with our PMD, the others with DPDK's own PMDs on our IOMMU set-up)\n");
}

int spapr_check(char **addrs, unsigned int naddrs, uint64_t memory)
{
	static struct device devs[MAX_DEVICES];
	struct tce_platform plat;
	uint64_t page = 0;
	bool pseries = false;
	char mmu[32];

	todo = 0;
	read_mmu(mmu);
	bool vfio = check_vfio(&plat);
	unsigned int n = check_devices(addrs, naddrs, devs);
	int group = -1;
	for (unsigned int i = 0; i < n && group < 0; i++)
		if (devs[i].ready)
			group = (int)devs[i].f.group;
	check_mmu(mmu);
	uint64_t usable = check_hugepages(mmu, memory, &page);
	if (memory == 0)
		memory = usable ? usable : 1024 * MiB;
	/* physical addresses matter as the platform says: only once the IOMMU was asked */
	if (vfio && group >= 0 && check_iommu((unsigned int)group, memory, page, &pseries) == 0)
		check_pa(pseries);
	print_eal(devs, n, memory);
	printf("\n%s\n", todo ? "not ready: do what the [todo] lines say, then run this again" : "ready");
	return todo ? 1 : 0;
}
