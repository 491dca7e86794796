/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sPAPR example of the kernel's VFIO documentation (Documentation/driver-api/
 * vfio.rst), as a plain program with no knowledge of the emulator: container, group,
 * SET_IOMMU v1, GET_INFO, ENABLE, mmap 1 MiB, MAP_DMA at IOVA 0, a check against the
 * window, the device fd and its reset. Every step prints one line:
 *     <step> ret=<return value> errno=<name>
 * so that a test can compare the answers with the kernel's.
 * Usage: spapr-seed PCI_ADDRESS   (the IOMMU group is read from sysfs, honouring
 * SYSFS_PCI_DEVICES like DPDK does)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case ENXIO: return "ENXIO";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ENOTTY: return "ENOTTY";
	case EBADFD: return "EBADFD";
	default: return strerror(e);
	}
}

static long step(const char *name, long ret)
{
	printf("%s ret=%ld errno=%s\n", name, ret, errname(ret < 0 ? errno : 0));
	fflush(stdout);
	return ret;
}

static int iommu_group_of(const char *addr)
{
	const char *sysfs = getenv("SYSFS_PCI_DEVICES");
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/%s/iommu_group", sysfs ? sysfs : "/sys/bus/pci/devices", addr);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	return atoi(basename(target));
}

int main(int argc, char **argv)
{
	struct vfio_group_status group_status = { .argsz = sizeof(group_status) };
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	struct vfio_iommu_type1_dma_map dma_map = { .argsz = sizeof(dma_map) };
	struct vfio_iommu_type1_dma_unmap dma_unmap = { .argsz = sizeof(dma_unmap) };
	int container, group, device, group_id;
	char path[64];

	if (argc != 2 && !(argc == 3 && strcmp(argv[2], "--hold") == 0)) {
		fprintf(stderr, "usage: %s PCI_ADDRESS [--hold]\n", argv[0]);
		return 2;
	}
	group_id = iommu_group_of(argv[1]);
	if (group_id < 0) {
		fprintf(stderr, "%s: no iommu_group for %s in sysfs\n", argv[0], argv[1]);
		return 2;
	}

	/* Create a new container */
	container = step("open_container", open("/dev/vfio/vfio", O_RDWR));
	if (container < 0)
		return 1;
	if (step("get_api_version", ioctl(container, VFIO_GET_API_VERSION)) != VFIO_API_VERSION)
		return 1;
	if (step("check_extension_spapr", ioctl(container, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU)) != 1)
		return 1;
	step("check_extension_type1", ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));

	/* Open the group */
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
	group = step("open_group", open(path, O_RDWR));
	if (group < 0)
		return 1;

	/* Test the group is viable and available */
	step("group_get_status", ioctl(group, VFIO_GROUP_GET_STATUS, &group_status));
	printf("group_viable=%d\n", !!(group_status.flags & VFIO_GROUP_FLAGS_VIABLE));

	/* Add the group to the container */
	if (step("group_set_container", ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)) != 0)
		return 1;

	/* Enable the IOMMU model we want */
	if (step("set_iommu_v1", ioctl(container, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU)) != 0)
		return 1;

	/* Get addition sPAPR IOMMU info */
	if (step("get_info", ioctl(container, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info)) != 0)
		return 1;
	printf("window start=0x%" PRIx32 " size=0x%" PRIx32 " flags=0x%" PRIx32 "\n",
	       info.dma32_window_start, info.dma32_window_size, info.flags);

	/* Allocate some space and setup a DMA mapping */
	dma_map.vaddr = (uintptr_t)mmap(0, 1024 * 1024, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, 0, 0);
	dma_map.size = 1024 * 1024;
	dma_map.iova = 0; /* 1MB starting at 0x0 from device view */
	dma_map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

	/* The kernel refuses mappings before the container is enabled */
	step("map_before_enable", ioctl(container, VFIO_IOMMU_MAP_DMA, &dma_map));

	if (step("enable", ioctl(container, VFIO_IOMMU_ENABLE)) != 0)
		return 1; /* Cannot enable container, may be low rlimit */

	/* Check here is .iova/.size are within DMA window from spapr_iommu_info */
	if (dma_map.iova < info.dma32_window_start ||
	    dma_map.iova + dma_map.size > (uint64_t)info.dma32_window_start + info.dma32_window_size)
		return 1;
	step("map_dma", ioctl(container, VFIO_IOMMU_MAP_DMA, &dma_map));

	/* ...and what happens outside it */
	dma_map.iova = (uint64_t)info.dma32_window_start + info.dma32_window_size;
	step("map_dma_outside_window", ioctl(container, VFIO_IOMMU_MAP_DMA, &dma_map));

	/* Get a file descriptor for the device */
	device = step("get_device_fd", ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]));
	if (device < 0)
		return 1;

	/* Gratuitous device reset and go... */
	step("device_reset", ioctl(device, VFIO_DEVICE_RESET));
	if (argc == 3) {
		/* --hold: stay, mapped, until a signal ends the program (default actions) */
		printf("holding\n");
		fflush(stdout);
		for (;;)
			pause();
	}

	dma_unmap.iova = 0;
	dma_unmap.size = 1024 * 1024;
	step("unmap_dma", ioctl(container, VFIO_IOMMU_UNMAP_DMA, &dma_unmap));
	step("disable", ioctl(container, VFIO_IOMMU_DISABLE));
	step("close_device", close(device));
	step("close_group", close(group));
	step("close_container", close(container));
	return 0;
}
