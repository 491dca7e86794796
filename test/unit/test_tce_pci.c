/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/tce's sysfs reader (tce_pci.c) on trees made here ($SYSFS_PCI_DEVICES points at
 * them, as DPDK honours it): a good function, every attribute missing or malformed, no
 * IOMMU group, no NUMA information, no driver, addresses that are not PCI addresses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tce_parse.h"
#include "tce_pci.h"


static char root[256];

static void put(const char *addr, const char *attr, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", root, addr, attr);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static void link_to(const char *addr, const char *attr, const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/%s", root, addr, attr);
	unlink(path);
	if (symlink(target, path) != 0)
		abort();
}

/* a function bound to `driver` ("" for none) in IOMMU group 7 */
static void make(const char *addr, const char *driver)
{
	char dir[512];

	snprintf(dir, sizeof(dir), "%s/%s", root, addr);
	mkdir(dir, 0755);
	put(addr, "vendor", "0x1af4\n");
	put(addr, "device", "0x1041\n");
	put(addr, "class", "0x020000\n");
	put(addr, "numa_node", "1\n");
	link_to(addr, "iommu_group", "../../../../kernel/iommu_groups/7");
	if (*driver) {
		char target[128];
		snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", driver);
		link_to(addr, "driver", target);
	}
}

int main(void)
{
	struct tce_pci_function f;
	char err[512], drv[32];
	long long v;

	snprintf(root, sizeof(root), "/tmp/test_tce_pci.%d", (int)getpid());
	mkdir(root, 0755);
	setenv("SYSFS_PCI_DEVICES", root, 1);
	CHECK(strcmp(tce_pci_dir(), root) == 0);

	/* addresses */
	CHECK(tce_pci_is_addr("0001:00:01.0"));
	CHECK(!tce_pci_is_addr("0000:00:01.8"));       /* function 0..7 */
	CHECK(!tce_pci_is_addr("0000:00:20.0"));       /* device 0..31 */
	CHECK(!tce_pci_is_addr("00:01.0"));
	CHECK(!tce_pci_is_addr("0000:00:01.0,x"));
	CHECK(!tce_pci_is_addr("0000 00:01.0"));
	CHECK(!tce_pci_is_addr("+000:00:01.0"));

	/* numbers as the kernel writes them */
	CHECK(tce_parse_number("0x1af4\n", 0, 0xffff, &v) == 0 && v == 0x1af4);
	CHECK(tce_parse_number("-1\n", -1, 10, &v) == 0 && v == -1);
	CHECK_EQ(tce_parse_number("0x10000\n", 0, 0xffff, &v), -EINVAL);
	CHECK_EQ(tce_parse_number("0xzz\n", 0, 0xffff, &v), -EINVAL);
	CHECK_EQ(tce_parse_number("", 0, 0xffff, &v), -EINVAL);
	CHECK_EQ(tce_parse_number("12 13\n", 0, 100, &v), -EINVAL);
	CHECK_EQ(tce_parse_number("12\n\n", 0, 100, &v), -EINVAL);

	/* a good function bound to vfio-pci */
	make("0000:00:01.0", "vfio-pci");
	CHECK_EQ(tce_pci_read("0000:00:01.0", &f, err, sizeof(err)), 0);
	CHECK_EQ(f.vendor, 0x1af4);
	CHECK_EQ(f.device, 0x1041);
	CHECK_EQ(f.class_code, 0x020000);
	CHECK_EQ(f.numa_node, 1);
	CHECK_EQ(f.group, 7);
	CHECK(strcmp(f.driver, "vfio-pci") == 0);
	CHECK(tce_pci_is_vfio("0000:00:01.0"));

	/* no driver, no NUMA information */
	make("0000:00:02.0", "");
	put("0000:00:02.0", "numa_node", "-1\n");
	CHECK_EQ(tce_pci_read("0000:00:02.0", &f, err, sizeof(err)), 0);
	CHECK_EQ(f.numa_node, -1);
	CHECK(f.driver[0] == '\0');
	CHECK(!tce_pci_is_vfio("0000:00:02.0"));
	CHECK_EQ(tce_pci_driver("0000:00:02.0", drv, sizeof(drv)), 0);
	CHECK(drv[0] == '\0');

	/* bad contents, each on an otherwise good function: -EINVAL and one line naming the
	 * file (text NULL: the attribute is missing) */
	static const struct { const char *attr, *text, *msg; } bad[] = {
		{ "vendor", "0x1af4x\n", "0000:00:03.0/vendor: '0x1af4x' is not a number from 0 to 65535" },
		{ "class", "", "/class: '' is not a number" },
		{ "device", NULL, "/device: cannot read it" },
		{ "numa_node", "x\n", "/numa_node: 'x' is not a number" },
		{ "iommu_group", "../../../../kernel/iommu_groups/seven", "/iommu_group: no IOMMU group" },
		{ "iommu_group", NULL, "/iommu_group: no IOMMU group" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[512];
		make("0000:00:03.0", "vfio-pci");
		snprintf(path, sizeof(path), "%s/0000:00:03.0/%s", root, bad[i].attr);
		if (bad[i].text == NULL)
			unlink(path);
		else if (strcmp(bad[i].attr, "iommu_group") == 0)
			link_to("0000:00:03.0", bad[i].attr, bad[i].text);
		else
			put("0000:00:03.0", bad[i].attr, bad[i].text);
		CHECK_EQ(tce_pci_read("0000:00:03.0", &f, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].msg) == NULL) {
			fprintf(stderr, "%s: got '%s'\n", bad[i].msg, err);
			failures++;
		}
	}

	/* no such function, not an address */
	CHECK_EQ(tce_pci_read("0000:00:09.0", &f, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no such PCI function") != NULL);
	CHECK_EQ(tce_pci_read("../../etc", &f, err, sizeof(err)), -ENOENT);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		failures++;
	printf("test_tce_pci %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
