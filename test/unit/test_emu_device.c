/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vfio-pci device shell: vfio_pci_core.c's DEVICE_GET_INFO, GET_REGION_INFO (with
 * the sparse-mmap capability), region pread/pwrite, mmap, GET_IRQ_INFO, SET_IRQS with
 * eventfds, DEVICE_RESET, and what closing the device does.
 */
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "emu_test.h"

#define REGION(i) ((off_t)(i) << 40)

static int open_device(struct emu_platform *p, int *c, int *g)
{
	open_pair(p, 0, VFIO_SPAPR_TCE_IOMMU, c, g);
	return ioc(*g, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0");
}

static void info_and_regions(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int c, g, d = open_device(p, &c, &g);

	CHECK(d >= 0);
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_INFO, &info), 0);
	CHECK_EQ(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	CHECK_EQ(info.num_regions, VFIO_PCI_NUM_REGIONS);
	CHECK_EQ(info.num_irqs, VFIO_PCI_NUM_IRQS);
	info.argsz = 4;
	CHECK_ERR(ioc(d, VFIO_DEVICE_GET_INFO, &info), EINVAL);

	struct vfio_region_info r = { .argsz = sizeof(r), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	CHECK_EQ(r.size, 256);
	CHECK_EQ(r.offset, REGION(VFIO_PCI_CONFIG_REGION_INDEX));
	r.index = 0;
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	CHECK_EQ(r.size, 0x4000);
	CHECK_EQ(r.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP);
	r.index = 2;
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	CHECK_EQ(r.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE); /* no mmap */
	r.index = 1;
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	CHECK_EQ(r.size, 0);
	r.index = VFIO_PCI_VGA_REGION_INDEX;
	CHECK_ERR(ioc(d, VFIO_DEVICE_GET_REGION_INFO, &r), EINVAL);

	/* BAR4: partly mmap-able: the caps do not fit the plain struct, argsz says how much */
	r.index = 4;
	r.argsz = sizeof(r);
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	CHECK(r.flags & VFIO_REGION_INFO_FLAG_CAPS);
	CHECK(r.argsz > sizeof(r));
	CHECK_EQ(r.cap_offset, 0);
	uint8_t big[256] = { 0 };
	struct vfio_region_info *rb = (void *)big;
	rb->argsz = sizeof(big);
	rb->index = 4;
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_REGION_INFO, rb), 0);
	CHECK_EQ(rb->cap_offset, sizeof(*rb));
	struct vfio_region_info_cap_sparse_mmap *sp = (void *)(big + rb->cap_offset);
	CHECK_EQ(sp->header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	CHECK_EQ(sp->nr_areas, 1);
	CHECK_EQ(sp->areas[0].offset, 0);
	CHECK_EQ(sp->areas[0].size, 0x1000);
	emu_close(d);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

static void region_access(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	int c, g, d = open_device(p, &c, &g);
	uint32_t v = 0, ones = 0xffffffff;
	uint64_t q = 0x1122334455667788ULL, q2 = 0;

	CHECK_EQ(emu_pread(d, &v, 4, REGION(VFIO_PCI_CONFIG_REGION_INDEX)), 4);
	CHECK_EQ(v, 0x00051b36); /* device << 16 | vendor */
	/* BAR sizing through config space, as vfio-pci virtualises it */
	CHECK_EQ(emu_pwrite(d, &ones, 4, REGION(VFIO_PCI_CONFIG_REGION_INDEX) + 0x10), 4);
	CHECK_EQ(emu_pread(d, &v, 4, REGION(VFIO_PCI_CONFIG_REGION_INDEX) + 0x10), 4);
	CHECK_EQ(v, 0xffffc000); /* 16 KiB BAR0 */
	CHECK_ERR(emu_pread(d, &v, 4, REGION(VFIO_PCI_CONFIG_REGION_INDEX) + 4096), EINVAL);
	/* registers of BAR2 through read/write */
	CHECK_EQ(emu_pwrite(d, &q, 8, REGION(2) + 0x100), 8);
	CHECK_EQ(emu_pread(d, &q2, 8, REGION(2) + 0x100), 8);
	CHECK_EQ(q2, q);
	CHECK_ERR(emu_pread(d, &q2, 8, REGION(2) + 0x1000), EINVAL); /* past the BAR */
	CHECK_EQ(emu_pread(d, &q2, 8, REGION(2) + 0xffc), 4);        /* truncated at the end */
	CHECK_ERR(emu_pread(d, &q2, 8, REGION(1)), EINVAL);           /* no BAR1 */
	/* mmap: BAR0 whole, BAR4 only its first page, BAR2 not at all, shared only */
	void *m = emu_mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, d, REGION(0), &(int){ 0 });
	CHECK(m != MAP_FAILED);
	if (m != MAP_FAILED) {
		((volatile uint32_t *)m)[1] = 0xabcd;
		CHECK_EQ(emu_pread(d, &v, 4, REGION(0) + 4), 4);
		CHECK_EQ(v, 0xabcd);
		munmap(m, 0x4000);
	}
	int err = 0;
	CHECK(emu_mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, d, REGION(2), &err) == MAP_FAILED);
	CHECK_EQ(err, -EINVAL);
	m = emu_mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, d, REGION(4), &err);
	CHECK(m != MAP_FAILED);
	if (m != MAP_FAILED)
		munmap(m, 0x1000);
	CHECK(emu_mmap(NULL, 0x2000, PROT_READ, MAP_SHARED, d, REGION(4), &err) == MAP_FAILED);
	CHECK(emu_mmap(NULL, 0x1000, PROT_READ, MAP_PRIVATE, d, REGION(0), &err) == MAP_FAILED);
	/* region I/O on a container fd is not a thing */
	CHECK_ERR(emu_pread(c, &v, 4, 0), EINVAL);
	/* reset: registers back to zero */
	CHECK_EQ(ioc(d, VFIO_DEVICE_RESET, NULL), 0);
	CHECK_EQ(emu_pread(d, &q2, 8, REGION(2) + 0x100), 8);
	CHECK_EQ(q2, 0);
	emu_close(d);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

static void irqs(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	struct emu_device *dev = emu_device_find(p, "0000:00:01.0");
	int c, g, d = open_device(p, &c, &g);
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	uint64_t n = 0;

	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	CHECK_EQ(ii.count, 8);
	CHECK_EQ(ii.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE);
	ii.index = VFIO_PCI_INTX_IRQ_INDEX;
	CHECK_EQ(ioc(d, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	CHECK_EQ(ii.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED);
	ii.index = VFIO_PCI_ERR_IRQ_INDEX; /* not PCIe */
	CHECK_ERR(ioc(d, VFIO_DEVICE_GET_IRQ_INFO, &ii), EINVAL);
	ii.index = 9;
	CHECK_ERR(ioc(d, VFIO_DEVICE_GET_IRQ_INFO, &ii), EINVAL);

	int efd = eventfd(0, EFD_NONBLOCK);
	/* vfio_irq_set + two eventfds: the header's data[] is a flexible array */
	_Alignas(8) uint8_t setbuf[sizeof(struct vfio_irq_set) + 2 * sizeof(int32_t)];
	struct vfio_irq_set *set = (void *)setbuf;
	int32_t fds[2] = { efd, -1 };
	*set = (struct vfio_irq_set){ .argsz = sizeof(setbuf), .index = VFIO_PCI_MSIX_IRQ_INDEX,
				      .start = 3, .count = 2,
				      .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER };
	memcpy(set->data, fds, sizeof(fds));
	CHECK_EQ(ioc(d, VFIO_DEVICE_SET_IRQS, set), 0);
	CHECK_EQ(emu_device_irq(dev, VFIO_PCI_MSIX_IRQ_INDEX, 3), 0);
	CHECK_EQ(read(efd, &n, sizeof(n)), 8);
	CHECK_EQ(n, 1);
	CHECK_ERR(emu_device_irq(dev, VFIO_PCI_MSIX_IRQ_INDEX, 8), EINVAL);
	set->start = 7; /* 7 + 2 > 8 vectors */
	CHECK_ERR(ioc(d, VFIO_DEVICE_SET_IRQS, set), EINVAL);
	set->start = 0;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	CHECK_ERR(ioc(d, VFIO_DEVICE_SET_IRQS, set), EINVAL);
	/* masking is for INTx only */
	struct vfio_irq_set mask = { .argsz = sizeof(mask), .index = VFIO_PCI_MSIX_IRQ_INDEX, .count = 1,
				     .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK };
	CHECK_ERR(ioc(d, VFIO_DEVICE_SET_IRQS, &mask), ENOTTY);
	/* disable all with count 0 */
	struct vfio_irq_set off = { .argsz = sizeof(off), .index = VFIO_PCI_MSIX_IRQ_INDEX,
				    .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER };
	CHECK_EQ(ioc(d, VFIO_DEVICE_SET_IRQS, &off), 0);
	CHECK_EQ(emu_device_irq(dev, VFIO_PCI_MSIX_IRQ_INDEX, 3), 0);
	CHECK_EQ(read(efd, &n, sizeof(n)), -1); /* nothing delivered */
	close(efd);
	emu_close(d);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	if (emu_trap_fault(si->si_addr, uc) != 0)
		abort(); /* a fault the test did not expect */
}

/* Registers with semantics reached through a mapping (emu_trap.c): a load or store on a
 * trapped page is the same region access pread/pwrite make; the doorbells are not
 * trapped; the counters count each access; an unmapped range is forgotten. */
static void registers_through_the_mapping(void)
{
	struct emu_config cfg;
	struct emu_platform *p = NULL;
	struct emu_counters k;
	char err[256];
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO }, old;
	int c, g, d;
	uint16_t nq = 0;

	emu_config_init(&cfg, "pseries-ddw");
	CHECK_EQ(emu_config_set(&cfg, "device", "0000:00:01.0,model=virtio-net,backend=loop", err, sizeof(err)), 0);
	CHECK_EQ(emu_config_finish(&cfg, err, sizeof(err)), 0);
	CHECK_EQ(emu_platform_create(&cfg, &p, err, sizeof(err)), 0);
	d = open_device(p, &c, &g);
	CHECK(d >= 0);
	int merr = 0;
	volatile uint8_t *bar = emu_mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, d, REGION(4), &merr);
	CHECK(bar != MAP_FAILED);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	CHECK_EQ(emu_pread(d, &nq, 2, REGION(4) + 0x12), 2);
	CHECK_EQ(*(volatile uint16_t *)(bar + 0x12), nq);            /* num_queues: trapped */
	*(volatile uint16_t *)(bar + 0x16) = 1;                       /* queue_select: trapped */
	uint16_t sel = 0;
	CHECK_EQ(emu_pread(d, &sel, 2, REGION(4) + 0x16), 2);
	CHECK_EQ(sel, 1);
	*(volatile uint16_t *)(bar + 0x3000) = 0;                     /* a doorbell: plain */
	emu_get_counters(p, &k);
	CHECK_EQ(k.mmio_reads, 1);
	CHECK_EQ(k.mmio_writes, 1);
	sigaction(SIGSEGV, &old, NULL);
	emu_trap_forget((const void *)bar, 0x4000);
	CHECK_EQ(emu_trap_fault((void *)(bar + 0x12), NULL), -1);     /* no longer a trap */
	munmap((void *)bar, 0x4000);
	emu_close(d);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

int main(void)
{
	RUN(info_and_regions);
	RUN(region_access);
	RUN(irqs);
	RUN(registers_through_the_mapping);
	return test_result();
}
