/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VFIO container and group rules: drivers/vfio/container.c and group.c, with the
 * sPAPR TCE IOMMU as the only driver (as on POWER).
 */
#include "emu_test.h"

/* vfio_fops_unl_ioctl(), vfio_container_ioctl_check_extension() */
static void container_basics(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	int c = emu_open(p, "/dev/vfio/vfio", O_RDWR);

	CHECK(c >= 0);
	CHECK_EQ(ioc(c, VFIO_GET_API_VERSION, NULL), VFIO_API_VERSION);
	CHECK_EQ(ioc_val(c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU), 1);
	CHECK_EQ(ioc_val(c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_v2_IOMMU), 1);
	CHECK_EQ(ioc_val(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 0);
	CHECK_EQ(ioc_val(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 0);
	CHECK_EQ(ioc_val(c, VFIO_CHECK_EXTENSION, VFIO_EEH), 0); /* pSeries guest: no EEH */
	/* no IOMMU driver yet: other ioctls are EINVAL, not ENOTTY */
	CHECK_ERR(ioc(c, VFIO_IOMMU_ENABLE, NULL), EINVAL);
	/* SET_IOMMU without a group */
	CHECK_ERR(ioc_val(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU), EINVAL);
	CHECK_EQ(emu_close(c), 0);
	CHECK_ERR(emu_close(c), EBADF);
	emu_platform_destroy(p);

	p = make_platform("powernv", 1, 1);
	c = emu_open(p, "/dev/vfio/vfio", O_RDWR);
	CHECK_EQ(ioc_val(c, VFIO_CHECK_EXTENSION, VFIO_EEH), 1);
	emu_close(c);
	emu_platform_destroy(p);
}

/* vfio_ioctl_set_iommu() and tce_iommu_attach_group() */
static void set_iommu_rules(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	int c, g;

	open_pair(p, 0, 0, &c, &g);
	CHECK_ERR(ioc_val(c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), ENODEV); /* type1: not on POWER */
	CHECK_ERR(ioc_val(c, VFIO_SET_IOMMU, 12345), ENODEV);
	CHECK_EQ(ioc_val(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU), 0);
	CHECK_ERR(ioc_val(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU), EINVAL); /* already set */
	CHECK_ERR(ioc(c, 0x3b99, NULL), ENOTTY); /* unknown ioctl once the driver is set */
	emu_close(g);
	/* the last group left: the container is back to no driver */
	CHECK_ERR(ioc(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, NULL), EINVAL);
	emu_close(c);
	emu_platform_destroy(p);

	/* v2 needs dynamic windows: refused at attach, QEMU then falls back to v1 */
	p = make_platform("pseries-noddw", 1, 1);
	open_pair(p, 0, 0, &c, &g);
	CHECK_ERR(ioc_val(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU), EINVAL);
	CHECK_EQ(ioc_val(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU), 0);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);

	/* VFIO_EEH passes CHECK_EXTENSION on PowerNV but is no IOMMU type */
	p = make_platform("powernv", 1, 1);
	open_pair(p, 0, 0, &c, &g);
	CHECK_ERR(ioc_val(c, VFIO_SET_IOMMU, VFIO_EEH), EINVAL);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* vfio_group_fops_open(), vfio_group_ioctl_get_status/set_container/unset_container */
static void group_rules(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 2, 1);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int c, g, g2, other, bad = 1000;

	CHECK_ERR(emu_open(p, "/dev/vfio/7", O_RDWR), ENOENT);
	CHECK_ERR(emu_open(p, "/dev/vfio/x", O_RDWR), ENOENT);
	g = emu_open(p, "/dev/vfio/0", O_RDWR);
	CHECK(g >= 0);
	CHECK_ERR(emu_open(p, "/dev/vfio/0", O_RDWR), EBUSY); /* one open at a time */
	CHECK_EQ(ioc(g, VFIO_GROUP_GET_STATUS, &st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	st.argsz = 4;
	CHECK_ERR(ioc(g, VFIO_GROUP_GET_STATUS, &st), EINVAL);
	CHECK_ERR(ioc(g, VFIO_GROUP_UNSET_CONTAINER, NULL), EINVAL);
	CHECK_ERR(ioc(g, VFIO_GROUP_SET_CONTAINER, &bad), EBADF);
	other = open("/dev/null", O_RDONLY);
	CHECK_ERR(ioc(g, VFIO_GROUP_SET_CONTAINER, &other), EBADFD);
	close(other);
	c = emu_open(p, "/dev/vfio/vfio", O_RDWR);
	CHECK_EQ(ioc(g, VFIO_GROUP_SET_CONTAINER, &c), 0);
	CHECK_ERR(ioc(g, VFIO_GROUP_SET_CONTAINER, &c), EINVAL);
	st.argsz = sizeof(st);
	CHECK_EQ(ioc(g, VFIO_GROUP_GET_STATUS, &st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	/* device fds need an IOMMU driver */
	CHECK_ERR(ioc(g, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0"), EINVAL);
	CHECK_EQ(ioc_val(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU), 0);
	CHECK_ERR(ioc(g, VFIO_GROUP_GET_DEVICE_FD, "0000:00:02.0"), ENODEV); /* other group */
	int d = ioc(g, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0");
	CHECK(d >= 0);
	CHECK_ERR(ioc(g, VFIO_GROUP_UNSET_CONTAINER, NULL), EBUSY); /* a device is open */
	/* v1: one group per container */
	g2 = emu_open(p, "/dev/vfio/1", O_RDWR);
	CHECK_ERR(ioc(g2, VFIO_GROUP_SET_CONTAINER, &c), EBUSY);
	emu_close(g2);
	emu_close(d);
	CHECK_EQ(ioc(g, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

/* closing in any order: device fds keep the group, groups keep the container */
static void close_order(void)
{
	struct emu_platform *p = make_platform("powernv", 2, 2);
	int c, g, d;
	char buf[8192];
	FILE *f;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	d = ioc(g, VFIO_GROUP_GET_DEVICE_FD, "0000:00:02.0");
	CHECK(d >= 0);
	emu_close(c);          /* container fd first: the group still holds it */
	CHECK_EQ(tce_create(-1, 12, 1 << 20, 1, NULL), -EBADF);
	emu_close(g);          /* group fd: the device fd still holds the group */
	CHECK_ERR(emu_open(p, "/dev/vfio/0", O_RDWR), EBUSY);
	emu_close(d);          /* now everything goes */
	g = emu_open(p, "/dev/vfio/0", O_RDWR);
	CHECK(g >= 0);
	emu_close(g);
	f = fmemopen(buf, sizeof(buf) - 1, "w");
	emu_write_stats(p, f);
	fclose(f);
	CHECK(strstr(buf, "\"open_groups\": 0") != NULL);
	emu_platform_destroy(p);
}

/* dup'ed fds share the file (struct file): the group stays open, attached and its
 * IOMMU state alive until the last of them closes (another VFIO user in the process may
 * keep a group through its own dup while the first owner closes its fd). */
static void dup_shares_the_file(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 1, 1);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int c, g, g2, g3;
	uint64_t start;

	open_pair(p, 0, VFIO_SPAPR_TCE_v2_IOMMU, &c, &g);
	CHECK_EQ(tce_create(c, 16, 1 << 24, 1, &start), 0);
	g2 = emu_dup(g, -1, 0, true);
	CHECK(g2 >= 0 && g2 != g);
	g3 = emu_dup(g, -1, g2 + 10, false);  /* F_DUPFD: the lowest number from minfd */
	CHECK(g3 >= g2 + 10);
	CHECK_ERR(emu_dup(1000, -1, 0, false), EBADF);
	CHECK_EQ(emu_close(g), 0);            /* the first owner closes its fd */
	CHECK_ERR(emu_open(p, "/dev/vfio/0", O_RDWR), EBUSY); /* still open */
	CHECK_EQ(ioc(g2, VFIO_GROUP_GET_STATUS, &st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	CHECK_EQ(ioc(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &(struct vfio_iommu_spapr_tce_remove){
		.argsz = sizeof(struct vfio_iommu_spapr_tce_remove), .start_addr = start }), 0);
	CHECK_EQ(emu_close(g3), 0);
	CHECK_EQ(ioc(g2, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	CHECK_EQ(emu_close(g2), 0);           /* the last fd: the group is released */
	g = emu_open(p, "/dev/vfio/0", O_RDWR);
	CHECK(g >= 0);
	emu_close(g);
	emu_close(c);
	emu_platform_destroy(p);
}

static struct emu_platform *platform_with(const char *const *devices, unsigned int n)
{
	struct emu_config cfg;
	struct emu_platform *p = NULL;
	char err[256];

	emu_config_init(&cfg, "pseries-ddw");
	for (unsigned int i = 0; i < n; i++)
		CHECK_EQ(emu_config_set(&cfg, "device", devices[i], err, sizeof(err)), 0);
	CHECK_EQ(emu_config_finish(&cfg, err, sizeof(err)), 0);
	CHECK_EQ(emu_platform_create(&cfg, &p, err, sizeof(err)), 0);
	return p;
}

/* Kernel drivers: only vfio-pci's devices are VFIO devices (vfio_device_get_from_name);
 * /dev/vfio/N exists once vfio-pci bound a device of group N; a device another kernel
 * driver owns claims the group's DMA: not viable (iommu_group_dma_owner_claimed), and
 * SET_CONTAINER is EBUSY (iommu_group_claim_dma_owner). An unbound device is harmless. */
static void kernel_driver_binding(void)
{
	static const char *const devs[] = {
		"0000:00:01.0,group=0", "0000:00:02.0,group=0,driver=virtio-pci",
		"0000:00:03.0,group=1", "0000:00:04.0,group=1,driver=none",
		"0000:00:05.0,group=2,driver=e1000",
	};
	struct emu_platform *p = platform_with(devs, 5);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int c = emu_open(p, "/dev/vfio/vfio", O_RDWR), g0, g1;

	CHECK_ERR(emu_open(p, "/dev/vfio/2", O_RDWR), ENOENT); /* no vfio-pci device in it */
	g0 = emu_open(p, "/dev/vfio/0", O_RDWR);
	CHECK_EQ(ioc(g0, VFIO_GROUP_GET_STATUS, &st), 0);
	CHECK_EQ(st.flags, 0);                                 /* not viable */
	CHECK_ERR(ioc(g0, VFIO_GROUP_SET_CONTAINER, &c), EBUSY);
	g1 = emu_open(p, "/dev/vfio/1", O_RDWR);
	CHECK_EQ(ioc(g1, VFIO_GROUP_GET_STATUS, &st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	CHECK_EQ(ioc(g1, VFIO_GROUP_SET_CONTAINER, &c), 0);
	CHECK_EQ(ioc_val(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU), 0);
	CHECK_ERR(ioc(g1, VFIO_GROUP_GET_DEVICE_FD, "0000:00:04.0"), ENODEV); /* unbound */
	int d = ioc(g1, VFIO_GROUP_GET_DEVICE_FD, "0000:00:03.0");
	CHECK(d >= 0);
	emu_close(d);
	emu_close(g1);
	emu_close(g0);
	emu_close(c);
	emu_platform_destroy(p);
}

/* v2 containers take several groups (PowerNV), each PE gets the windows */
static void v2_two_groups(void)
{
	struct emu_platform *p = make_platform("powernv", 2, 1);
	int c, g0, g1;
	uint64_t start;

	open_pair(p, 0, 0, &c, &g0);
	g1 = emu_open(p, "/dev/vfio/1", O_RDWR);
	CHECK_EQ(ioc(g1, VFIO_GROUP_SET_CONTAINER, &c), 0);
	CHECK_EQ(ioc_val(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU), 0);
	CHECK_EQ(tce_create(c, 16, 1ULL << 30, 1, &start), 0);
	CHECK_EQ(start, 1ULL << 59);
	emu_close(g1);
	emu_close(g0);
	emu_close(c);
	emu_platform_destroy(p);
}

int main(void)
{
	RUN(container_basics);
	RUN(set_iommu_rules);
	RUN(group_rules);
	RUN(close_order);
	RUN(dup_shares_the_file);
	RUN(kernel_driver_binding);
	RUN(v2_two_groups);
	return test_result();
}
