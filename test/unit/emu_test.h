/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal harness for the emulator's unit tests: they call the same fd API that the
 * LD_PRELOAD shim forwards libc calls to, and compare with what the kernel answers.
 */
#ifndef EMU_TEST_H
#define EMU_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "spapr_emu.h"


/* A platform from a preset with n devices, `group_size` per IOMMU group. */
static inline struct emu_platform *make_platform(const char *preset, unsigned int ndev,
						 unsigned int group_size)
{
	struct emu_config cfg;
	struct emu_platform *p = NULL;
	char err[256], buf[16];

	if (emu_config_init(&cfg, preset) != 0)
		abort();
	snprintf(buf, sizeof(buf), "%u", ndev);
	emu_config_set(&cfg, "devices", buf, err, sizeof(err));
	snprintf(buf, sizeof(buf), "%u", group_size);
	emu_config_set(&cfg, "group-size", buf, err, sizeof(err));
	if (emu_config_finish(&cfg, err, sizeof(err)) != 0 ||
	    emu_platform_create(&cfg, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "platform: %s\n", err);
		abort();
	}
	return p;
}

static inline long ioc(int fd, unsigned long req, void *arg)
{
	return emu_ioctl(fd, req, arg);
}

static inline long ioc_val(int fd, unsigned long req, unsigned long val)
{
	return emu_ioctl(fd, req, (void *)val);
}

/* container + group 0 attached, IOMMU type set (or not when type == 0) */
static inline void open_pair(struct emu_platform *p, unsigned int group, unsigned long type,
			     int *container, int *groupfd)
{
	char path[32];

	*container = emu_open(p, "/dev/vfio/vfio", O_RDWR);
	snprintf(path, sizeof(path), "/dev/vfio/%u", group);
	*groupfd = emu_open(p, path, O_RDWR);
	if (*container < 0 || *groupfd < 0 || ioc(*groupfd, VFIO_GROUP_SET_CONTAINER, container) != 0)
		abort();
	if (type && ioc_val(*container, VFIO_SET_IOMMU, type) != 0)
		abort();
}

static inline long map_dma(int c, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = { .argsz = sizeof(m), .flags = flags,
					      .vaddr = vaddr, .iova = iova, .size = size };
	return ioc(c, VFIO_IOMMU_MAP_DMA, &m);
}

static inline long unmap_dma(int c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };
	return ioc(c, VFIO_IOMMU_UNMAP_DMA, &u);
}

static inline long reg_mem(int c, uint64_t vaddr, uint64_t size, int reg)
{
	struct vfio_iommu_spapr_register_memory r = { .argsz = sizeof(r), .vaddr = vaddr, .size = size };
	return ioc(c, reg ? VFIO_IOMMU_SPAPR_REGISTER_MEMORY : VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, &r);
}

static inline long tce_create(int c, uint32_t shift, uint64_t size, uint32_t levels, uint64_t *start)
{
	struct vfio_iommu_spapr_tce_create cr = { .argsz = sizeof(cr), .page_shift = shift,
						   .window_size = size, .levels = levels };
	long ret = ioc(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr);
	if (start)
		*start = cr.start_addr;
	return ret;
}

static inline long tce_remove(int c, uint64_t start)
{
	struct vfio_iommu_spapr_tce_remove rm = { .argsz = sizeof(rm), .start_addr = start };
	return ioc(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm);
}

/* anonymous memory aligned to `align` */
/* What a driver does before its device may DMA: open it and turn bus mastering on in its
 * command register (vfio-pci leaves it off). Returns the device fd; closing it turns
 * bus mastering off again. */
static inline int device_bus_master(int group_fd, const char *addr)
{
	int d = (int)ioc(group_fd, VFIO_GROUP_GET_DEVICE_FD, (void *)addr);
	uint16_t cmd = 0;
	const off_t cfg = (off_t)VFIO_PCI_CONFIG_REGION_INDEX << 40;

	if (d < 0 || emu_pread(d, &cmd, 2, cfg + PCI_COMMAND) != 2)
		return -1;
	cmd |= PCI_COMMAND_MASTER;
	return emu_pwrite(d, &cmd, 2, cfg + PCI_COMMAND) == 2 ? d : -1;
}

static inline void *alloc_aligned(size_t size, size_t align)
{
	uint8_t *m = mmap(NULL, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (m == MAP_FAILED)
		abort();
	a = ((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1);
	memset((void *)a, 0, size);
	return (void *)a;
}

static inline struct emu_counters counters(struct emu_platform *p)
{
	struct emu_counters c;
	emu_get_counters(p, &c);
	return c;
}

#endif
