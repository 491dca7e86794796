/* SPDX-License-Identifier: BSD-3-Clause */
/* Presets, options, the saved configuration, and the generated sysfs tree. */
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "emu_test.h"
#include "emu_sysfs.h"

static void presets(void)
{
	struct emu_config cfg;
	char err[256];

	CHECK_EQ(emu_config_init(&cfg, "pseries-ddw"), 0);
	CHECK_EQ(cfg.plat.tce32_size, 1u << 30);
	CHECK_EQ(cfg.plat.ddw_creatable, 1);
	CHECK_EQ(emu_config_init(&cfg, "pseries"), 0); /* alias */
	CHECK_EQ(emu_config_init(&cfg, "powernv"), 0);
	CHECK_EQ(cfg.plat.tce32_size, 1u << 31);
	CHECK_EQ(cfg.plat.max_levels, 5);
	CHECK_ERR(emu_config_init(&cfg, "x86"), EINVAL);
	CHECK_ERR(emu_config_set(&cfg, "platform", "sparc", err, sizeof(err)), EINVAL);
	CHECK(strstr(err, "unknown platform") != NULL);
}

static void options(void)
{
	struct emu_config cfg;
	char err[256];

	emu_config_init(&cfg, NULL);
	CHECK_EQ(emu_config_set(&cfg, "tce32-size", "512M", err, sizeof(err)), 0);
	CHECK_EQ(cfg.plat.tce32_size, 512u << 20);
	CHECK_ERR(emu_config_set(&cfg, "tce32-size", "3M", err, sizeof(err)), EINVAL);
	/* 2^64 + 1 GiB: wrapped, it would read as 1 GiB */
	CHECK_ERR(emu_config_set(&cfg, "tce32-size", "17179869185G", err, sizeof(err)), EINVAL);
	CHECK_EQ(emu_config_set(&cfg, "pgsizes", "4K,64K,16M", err, sizeof(err)), 0);
	CHECK_EQ(cfg.plat.pgsizes, (1 << 12) | (1 << 16) | (1 << 24));
	CHECK_ERR(emu_config_set(&cfg, "pgsizes", "4K,3K", err, sizeof(err)), EINVAL);
	CHECK_ERR(emu_config_set(&cfg, "devices", "0", err, sizeof(err)), EINVAL);
	CHECK_ERR(emu_config_set(&cfg, "devices", "65", err, sizeof(err)), EINVAL);
	CHECK_ERR(emu_config_set(&cfg, "eeh", "maybe", err, sizeof(err)), EINVAL);
	CHECK_ERR(emu_config_set(&cfg, "frobnicate", "1", err, sizeof(err)), EINVAL);
	CHECK_ERR(emu_config_set(&cfg, "device", "00:01.0", err, sizeof(err)), EINVAL);
	CHECK_ERR(emu_config_set(&cfg, "device", "0000:00:01.0,model=tokenring", err, sizeof(err)), EINVAL);
	CHECK(strstr(err, "unknown device model 'tokenring'") != NULL);
	/* generated devices' model options are KEY=VALUE, as a --device spec (found by fuzzing:
	 * accepted, saved, then refused when read back) */
	CHECK_ERR(emu_config_set(&cfg, "model", "none,junk", err, sizeof(err)), EINVAL);
	CHECK_STR(err, "device model option 'junk': expected KEY=VALUE");
	CHECK_ERR(emu_config_set(&cfg, "model", "virtio-net,=1", err, sizeof(err)), EINVAL);
	CHECK_ERR(emu_config_set(&cfg, "model", "none,model=x", err, sizeof(err)), EINVAL);
	CHECK_STR(err, "device model option 'model=x': model= is the device's own option, not the model's");
	CHECK_EQ(emu_config_set(&cfg, "model", "virtio-net,queues=2", err, sizeof(err)), 0);
	CHECK_ERR(emu_config_set(&cfg, "device", "0000:00:01.0,group=x", err, sizeof(err)), EINVAL);
	CHECK_EQ(emu_config_set(&cfg, "device", "0000:00:01.0,group=3,node=1", err, sizeof(err)), 0);
	CHECK_ERR(emu_config_set(&cfg, "device", "0000:00:01.0", err, sizeof(err)), EINVAL);
	CHECK_EQ(emu_config_set(&cfg, "device", "0000:00:02.0,group=3,node=0", err, sizeof(err)), 0);
	CHECK_ERR(emu_config_finish(&cfg, err, sizeof(err)), EINVAL); /* one PE, two nodes */
	CHECK(strstr(err, "NUMA") != NULL);
}

static void generated_devices(void)
{
	struct emu_config cfg;
	char err[256];

	emu_config_init(&cfg, NULL);
	emu_config_set(&cfg, "devices", "40", err, sizeof(err));
	emu_config_set(&cfg, "group-size", "4", err, sizeof(err));
	emu_config_set(&cfg, "numa-nodes", "2", err, sizeof(err));
	CHECK_EQ(emu_config_finish(&cfg, err, sizeof(err)), 0);
	CHECK_EQ(cfg.ndevices, 40);
	CHECK(strcmp(cfg.dev[0].addr, "0000:00:01.0") == 0);
	CHECK(strcmp(cfg.dev[31].addr, "0000:01:01.0") == 0);
	CHECK_EQ(cfg.dev[5].group, 1);
	CHECK_EQ(cfg.dev[5].numa_node, 1);
	CHECK_EQ(cfg.dev[39].group, 9);
}

static void save_load_roundtrip(void)
{
	struct emu_config a, b;
	char err[256], path[] = "/tmp/emu-cfg-XXXXXX";
	int fd = mkstemp(path);

	close(fd);
	emu_config_init(&a, "powernv");
	emu_config_set(&a, "device", "0001:02:03.4,group=7,node=1", err, sizeof(err));
	emu_config_set(&a, "stats", "/tmp/x.json", err, sizeof(err));
	emu_config_finish(&a, err, sizeof(err));
	CHECK_EQ(emu_config_save(&a, path), 0);
	emu_config_init(&b, NULL);
	CHECK_EQ(emu_config_load(&b, path, err, sizeof(err)), 0);
	CHECK_EQ(emu_config_finish(&b, err, sizeof(err)), 0);
	CHECK(memcmp(&a.plat, &b.plat, sizeof(a.plat)) == 0);
	CHECK_EQ(b.ndevices, 1);
	CHECK(strcmp(b.dev[0].addr, "0001:02:03.4") == 0);
	CHECK_EQ(b.dev[0].group, 7);
	CHECK(strcmp(b.stats_path, "/tmp/x.json") == 0);
	/* a bad line names the file and the line */
	FILE *f = fopen(path, "a");
	fputs("nonsense\n", f);
	fclose(f);
	emu_config_init(&b, NULL);
	CHECK_ERR(emu_config_load(&b, path, err, sizeof(err)), EINVAL);
	CHECK(strstr(err, "expected key=value") != NULL);
	unlink(path);
	CHECK_ERR(emu_config_load(&b, path, err, sizeof(err)), ENOENT);
	CHECK(strstr(err, "cannot read config") != NULL);
}

static void sysfs_tree(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 2, 2);
	char root[] = "/tmp/emu-sysfs-XXXXXX", path[PATH_MAX], link[PATH_MAX];
	FILE *f;
	unsigned int vendor = 0;
	ssize_t n;

	CHECK(mkdtemp(root) != NULL);
	CHECK_EQ(emu_sysfs_build(p, root), 0);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:00:02.0/vendor", root);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ(fscanf(f, "%x", &vendor), 1);
		fclose(f);
	}
	CHECK_EQ(vendor, 0x1b36);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:00:02.0/iommu_group", root);
	n = readlink(path, link, sizeof(link) - 1);
	CHECK(n > 0);
	link[n > 0 ? n : 0] = '\0';
	CHECK(strcmp(link, "../../../../kernel/iommu_groups/0") == 0);
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/0/devices/0000:00:01.0/numa_node", root);
	CHECK(access(path, R_OK) == 0); /* the link resolves */
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:00:01.0/driver", root);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK(strstr(link, "vfio-pci") != NULL);
	/* /dev/vfio as the kernel lists it: the container node and group 0's, nothing else */
	snprintf(path, sizeof(path), "%s/.dev/vfio", root);
	DIR *d = opendir(path);
	CHECK(d != NULL);
	unsigned int names = 0, vfio = 0, group0 = 0;
	for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		names++;
		vfio += strcmp(e->d_name, "vfio") == 0;
		group0 += strcmp(e->d_name, "0") == 0;
	}
	if (d)
		closedir(d);
	CHECK_EQ(names, 2);
	CHECK_EQ(vfio, 1);
	CHECK_EQ(group0, 1);
	snprintf(path, sizeof(path), "rm -rf %s", root);
	CHECK_EQ(system(path), 0);
	emu_platform_destroy(p);
}

static void sysfs_redirect(void)
{
	struct emu_platform *p = make_platform("pseries-ddw", 3, 2);
	char buf[256];

#define REDIR(path) emu_sysfs_redirect(p, "/t", path, buf, sizeof(buf))
	CHECK(strcmp(REDIR("/sys/module/vfio"), "/t/module/vfio") == 0);
	CHECK(strcmp(REDIR("/sys/module/vfio_iommu_spapr_tce/initstate"),
		     "/t/module/vfio_iommu_spapr_tce/initstate") == 0);
	CHECK(strcmp(REDIR("/sys/module/vfiox"), "/sys/module/vfiox") == 0);
	CHECK(strcmp(REDIR("/sys/bus/pci/devices/0000:00:03.0/vendor"),
		     "/t/bus/pci/devices/0000:00:03.0/vendor") == 0);
	CHECK(strcmp(REDIR("/sys/bus/pci/devices/0000:00:03.0"), "/t/bus/pci/devices/0000:00:03.0") == 0);
	CHECK(strcmp(REDIR("/sys/bus/pci/devices/0000:00:04.0/vendor"),
		     "/sys/bus/pci/devices/0000:00:04.0/vendor") == 0); /* not emulated */
	CHECK(strcmp(REDIR("/sys/bus/pci/devices"), "/sys/bus/pci/devices") == 0); /* the listing */
	CHECK(strcmp(REDIR("/sys/bus/pci/drivers/vfio-pci/0000:00:01.0"),
		     "/t/bus/pci/drivers/vfio-pci/0000:00:01.0") == 0);
	CHECK(strcmp(REDIR("/sys/kernel/iommu_groups/1/devices"), "/t/kernel/iommu_groups/1/devices") == 0);
	CHECK(strcmp(REDIR("/sys/kernel/iommu_groups/2"), "/sys/kernel/iommu_groups/2") == 0);
	CHECK(strcmp(REDIR("/sys/kernel/iommu_groups/10"), "/sys/kernel/iommu_groups/10") == 0);
	CHECK(strcmp(REDIR("/proc/self/maps"), "/proc/self/maps") == 0);
	CHECK(strcmp(REDIR("relative/sys/module/vfio"), "relative/sys/module/vfio") == 0);
	CHECK(strcmp(REDIR("/dev/vfio"), "/t/.dev/vfio") == 0);
	CHECK(strcmp(REDIR("/dev/vfio/"), "/t/.dev/vfio/") == 0);
	CHECK(strcmp(REDIR("/dev/vfio/vfio"), "/t/.dev/vfio/vfio") == 0);
	CHECK(strcmp(REDIR("/dev/vfiox"), "/dev/vfiox") == 0);
	CHECK(!emu_path_is_vfio("/dev/vfio/") && !emu_path_is_vfio("/dev/vfio"));
	CHECK(emu_path_is_vfio("/dev/vfio/0") && emu_path_is_vfio("/dev/vfio/vfio"));
#undef REDIR
	emu_platform_destroy(p);
}

int main(void)
{
	RUN(presets);
	RUN(options);
	RUN(generated_devices);
	RUN(save_load_roundtrip);
	RUN(sysfs_tree);
	RUN(sysfs_redirect);
	return test_result();
}
