/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VFIO files handed to another process (emu_remote_*.c): an exported fd, adopted, is the
 * same file: ioctls, region access, mappings (shared memory, trapped registers) and
 * eventfds reach the device of the process that opened it; the file lives while any
 * holder does; another process is not the container's mm (EPERM, as the kernel's
 * tce_iommu_mm_set); a holder whose process has stopped serving gets EIO.
 */
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "emu_internal.h"
#include "emu_test.h"

#define REGION(i) ((off_t)(i) << 40)
#define ADDR "0000:00:01.0"

static struct emu_platform *virtio_platform(void)
{
	struct emu_config cfg;
	struct emu_platform *p = NULL;
	char err[256];

	emu_config_init(&cfg, "pseries-ddw");
	if (emu_config_set(&cfg, "device", ADDR ",model=virtio-net,backend=loop", err, sizeof(err)) != 0 ||
	    emu_config_set(&cfg, "device", "0000:00:02.0,group=1", err, sizeof(err)) != 0 ||
	    emu_config_finish(&cfg, err, sizeof(err)) != 0 || emu_platform_create(&cfg, &p, err, sizeof(err)) != 0)
		abort();
	return p;
}

/* an exported fd, adopted here (as the receiving process's shim does) */
static int handed_over(struct emu_platform *p, int fd)
{
	int x = emu_export(fd);

	CHECK(x >= 0);
	CHECK(emu_adopt(p, x));
	CHECK(emu_fd_is_ours(x));
	return x;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	if (emu_trap_fault(si->si_addr, uc) != 0)
		abort();
}

/* the server drops its reference asynchronously, when it sees the last close */
static bool wait_closed(const struct emu_device *d)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(&d->open_count, __ATOMIC_ACQUIRE) == 0)
			return true;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return false;
}

static void device_file(void)
{
	struct emu_platform *p = virtio_platform();
	struct emu_device *dev = emu_device_find(p, ADDR);
	int c, g, d;
	struct vfio_device_info i1 = { .argsz = sizeof(i1) }, i2 = { .argsz = sizeof(i2) };
	struct vfio_region_info r1 = { .argsz = sizeof(r1), .index = 4 }, r2 = r1;
	uint8_t cfg1[64], cfg2[64];
	uint16_t v;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	d = ioc(g, VFIO_GROUP_GET_DEVICE_FD, ADDR);
	CHECK(d >= 0);
	int x = handed_over(p, d);
	CHECK_EQ(ioc(x, VFIO_DEVICE_GET_INFO, &i2), 0);
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_INFO, &i1), 0);
	CHECK_EQ(memcmp(&i1, &i2, sizeof(i1)), 0);
	CHECK_EQ(ioc(x, VFIO_DEVICE_GET_REGION_INFO, &r2), 0);
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_REGION_INFO, &r1), 0);
	CHECK_EQ(memcmp(&r1, &r2, sizeof(r1)), 0);
	r2.index = 42;
	CHECK_ERR(ioc(x, VFIO_DEVICE_GET_REGION_INFO, &r2), EINVAL);
	CHECK_ERR(ioc(x, VFIO_IOMMU_ENABLE, NULL), ENOTTY); /* a device, not a container */
	/* config space and register reads/writes */
	CHECK_EQ(emu_pread(x, cfg2, sizeof(cfg2), REGION(VFIO_PCI_CONFIG_REGION_INDEX)), 64);
	CHECK_EQ(emu_pread(d, cfg1, sizeof(cfg1), REGION(VFIO_PCI_CONFIG_REGION_INDEX)), 64);
	CHECK_EQ(memcmp(cfg1, cfg2, sizeof(cfg1)), 0);
	v = 1;
	CHECK_EQ(emu_pwrite(x, &v, 2, REGION(4) + 0x16), 2); /* queue_select */
	v = 0;
	CHECK_EQ(emu_pread(d, &v, 2, REGION(4) + 0x16), 2);
	CHECK_EQ(v, 1);

	/* a mapping: the BAR's memory, shared; its registers trap to the device */
	int err = 0;
	volatile uint8_t *mine = emu_mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, d, REGION(4), &err);
	volatile uint8_t *theirs = emu_mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, x, REGION(4), &err);
	CHECK(mine != MAP_FAILED && theirs != MAP_FAILED);
	CHECK(emu_mmap(NULL, 0x4000, PROT_READ, MAP_PRIVATE, x, REGION(4), &err) == MAP_FAILED);
	CHECK_EQ(err, -EINVAL); /* vfio-pci maps shared only */
	*(volatile uint16_t *)(theirs + 0x3000) = 0x5a5a; /* a doorbell: plain memory */
	CHECK_EQ(*(volatile uint16_t *)(mine + 0x3000), 0x5a5a);
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO }, old;
	struct emu_counters k0, k1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	emu_get_counters(p, &k0);
	*(volatile uint16_t *)(theirs + 0x16) = 0; /* queue_select, trapped, done by the owner */
	CHECK_EQ(*(volatile uint16_t *)(theirs + 0x12), *(volatile uint16_t *)(mine + 0x12)); /* num_queues */
	emu_get_counters(p, &k1);
	CHECK_EQ(k1.mmio_writes - k0.mmio_writes, 1);
	CHECK_EQ(k1.mmio_reads - k0.mmio_reads, 2);
	sigaction(SIGSEGV, &old, NULL);
	CHECK_EQ(emu_pread(d, &v, 2, REGION(4) + 0x16), 2);
	CHECK_EQ(v, 0);
	emu_trap_forget((const void *)theirs, 0x4000);
	munmap((void *)theirs, 0x4000);
	emu_trap_forget((const void *)mine, 0x4000);
	munmap((void *)mine, 0x4000);

	/* an eventfd travels with SET_IRQS */
	int efd = eventfd(0, EFD_NONBLOCK);
	_Alignas(8) uint8_t setbuf[sizeof(struct vfio_irq_set) + 2 * sizeof(int32_t)];
	struct vfio_irq_set *set = (void *)setbuf;
	int32_t fds[2] = { -1, efd };
	uint64_t n = 0;
	*set = (struct vfio_irq_set){ .argsz = sizeof(setbuf), .index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0,
				      .count = 2, .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER };
	memcpy(set->data, fds, sizeof(fds));
	CHECK_EQ(ioc(x, VFIO_DEVICE_SET_IRQS, set), 0);
	CHECK_EQ(emu_device_irq(dev, VFIO_PCI_MSIX_IRQ_INDEX, 1), 0);
	CHECK_EQ(read(efd, &n, sizeof(n)), 8);
	CHECK_EQ(n, 1);
	CHECK_EQ(emu_device_irq(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0), 0);
	CHECK_EQ(read(efd, &n, sizeof(n)), -1); /* vector 0 was not given an eventfd */
	close(efd);

	/* the file outlives the opener's fd while the other holder has it */
	emu_close(d);
	CHECK_EQ(dev->open_count, 1);
	CHECK_EQ(ioc(x, VFIO_DEVICE_GET_INFO, &i2), 0);
	int x2 = emu_dup(x, -1, 0, true);
	CHECK(x2 >= 0);
	emu_close(x);
	CHECK_EQ(ioc(x2, VFIO_DEVICE_GET_INFO, &i2), 0);
	emu_close(x2);
	CHECK(wait_closed(dev));
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* A group handed over gives device fds; a container handed to another process is not
 * its mm: DMA set-up from there is refused, reading the window is not. */
static void group_and_container(void)
{
	struct emu_platform *p = virtio_platform();
	struct emu_device *dev = emu_device_find(p, ADDR);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	int c, g;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	int xg = handed_over(p, g), xc = handed_over(p, c);
	CHECK_EQ(ioc(xg, VFIO_GROUP_GET_STATUS, &st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	int d = ioc(xg, VFIO_GROUP_GET_DEVICE_FD, ADDR);
	CHECK(d >= 0);
	CHECK(emu_fd_is_ours(d));
	CHECK_EQ(dev->open_count, 1);
	struct vfio_device_info di = { .argsz = sizeof(di) };
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_INFO, &di), 0);
	CHECK_EQ(di.num_regions, VFIO_PCI_NUM_REGIONS);
	CHECK_ERR(ioc(xg, VFIO_GROUP_GET_DEVICE_FD, "0000:00:09.0"), ENODEV);
	CHECK_ERR(ioc(xg, VFIO_GROUP_SET_CONTAINER, &c), EINVAL); /* already set, as here */
	/* a container named in the argument travels with it */
	int g1 = emu_open(p, "/dev/vfio/1", O_RDWR), efd = eventfd(0, 0), bad = -1;
	int xg1 = handed_over(p, g1);
	CHECK_ERR(ioc(xg1, VFIO_GROUP_SET_CONTAINER, &efd), EBADFD);
	CHECK_ERR(ioc(xg1, VFIO_GROUP_SET_CONTAINER, &bad), EBADF);
	CHECK_EQ(ioc(xg1, VFIO_GROUP_SET_CONTAINER, &c), 0);
	CHECK_EQ(ioc(g1, VFIO_GROUP_GET_STATUS, &st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	CHECK_EQ(ioc(xg1, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	close(efd);
	emu_close(xg1);
	emu_close(g1);
	CHECK_EQ(ioc(xc, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info), 0);
	CHECK_EQ(ioc_val(xc, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_v2_IOMMU), 1);

	/* another process: before this one used the container for DMA, it cannot become
	 * its mm here (this kernel models its own process's memory); after, EPERM as the
	 * kernel's tce_iommu_mm_set answers; its device file works */
	size_t len = 1 << 17;
	uint8_t *mem = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vfio_iommu_spapr_register_memory reg = { .argsz = sizeof(reg), .size = len,
		.vaddr = ((uintptr_t)mem + len - 1) & ~(uintptr_t)(len - 1) };
	for (int round = 0; round < 2; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct vfio_iommu_spapr_tce_info in = { .argsz = sizeof(in) };
			int bad = 0;
			bad |= ioc(xc, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, &reg) != -EPERM;
			bad |= (ioc(xc, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &in) != (round ? -EPERM : 0)) << 1;
			bad |= (ioc(d, VFIO_DEVICE_GET_INFO, &di) != 0) << 2;
			_exit(bad);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), 0);
		if (round == 0)
			CHECK_EQ(ioc(xc, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, &reg), 0); /* this process: its mm */
	}
	reg.flags = 0;
	CHECK_EQ(ioc(c, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, &reg), 0);
	munmap(mem, 2 * len);
	emu_close(d);
	CHECK(wait_closed(dev));
	emu_close(xg);
	emu_close(xc);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* once the process that has the files stops serving, requests fail with EIO */
static void owner_gone(void)
{
	struct emu_platform *p = virtio_platform();
	struct vfio_device_info di = { .argsz = sizeof(di) };
	int c, g, d;

	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, &c, &g);
	d = ioc(g, VFIO_GROUP_GET_DEVICE_FD, ADDR);
	int x = handed_over(p, d);
	emu_remote_shutdown();
	CHECK_ERR(ioc(x, VFIO_DEVICE_GET_INFO, &di), EIO);
	emu_close(x);
	emu_close(d);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

int main(void)
{
	RUN(device_file);
	RUN(group_and_container);
	RUN(owner_gone); /* last: serving stops for good */
	return test_result();
}
