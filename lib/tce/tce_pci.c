/* SPDX-License-Identifier: BSD-3-Clause */
/* PCI functions in sysfs (see tce_pci.h): files read, links followed, numbers checked. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tce_parse.h"
#include "tce_pci.h"

const char *tce_pci_dir(void)
{
	const char *env = getenv("SYSFS_PCI_DEVICES");

	return env && *env ? env : "/sys/bus/pci/devices";
}

bool tce_pci_is_addr(const char *s)
{
	unsigned int d, b, dev, f;
	char tail;

	return strlen(s) == 12 && s[4] == ':' && s[7] == ':' && s[10] == '.' &&
	       strspn(s, "0123456789abcdefABCDEF:.") == 12 &&
	       sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &dev, &f, &tail) == 4 && dev < 32 && f < 8;
}

static void path_of(const char *addr, const char *attr, char *out, size_t len)
{
	snprintf(out, len, "%s/%s/%s", tce_pci_dir(), addr, attr);
}

/* the last component of a link's target */
static int link_base(const char *addr, const char *attr, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	path_of(addr, attr, path, sizeof(path));
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	snprintf(out, len, "%s", basename(target));
	return 0;
}

static int read_number(const char *addr, const char *attr, long long min, long long max, long long *out,
		       char *err, size_t errlen)
{
	char path[PATH_MAX], buf[32] = "";
	FILE *f;
	int ret;

	path_of(addr, attr, path, sizeof(path));
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot read it: %s", path, strerror(errno));
		return -EINVAL;
	}
	ret = fgets(buf, sizeof(buf), f) ? tce_parse_number(buf, min, max, out) : -EINVAL;
	fclose(f);
	if (ret)
		snprintf(err, errlen, "%s: '%.*s' is not a number from %lld to %lld", path,
			 (int)strcspn(buf, "\n"), buf, min, max);
	return ret;
}

int tce_pci_driver(const char *addr, char *drv, size_t len)
{
	int ret = link_base(addr, "driver", drv, len);

	if (ret == -ENOENT) {
		drv[0] = '\0';
		return 0;
	}
	return ret;
}

bool tce_pci_is_vfio(const char *addr)
{
	char drv[32];

	return tce_pci_is_addr(addr) && tce_pci_driver(addr, drv, sizeof(drv)) == 0 && strcmp(drv, "vfio-pci") == 0;
}

int tce_pci_read(const char *addr, struct tce_pci_function *out, char *err, size_t errlen)
{
	char path[PATH_MAX], grp[32];
	long long vendor, device, cls, node = -1, group;

	err[0] = '\0';
	path_of(addr, "", path, sizeof(path));
	if (!tce_pci_is_addr(addr) || access(path, F_OK) != 0) {
		snprintf(err, errlen, "%s: no such PCI function", path);
		return -ENOENT;
	}
	if (read_number(addr, "vendor", 0, 0xffff, &vendor, err, errlen) ||
	    read_number(addr, "device", 0, 0xffff, &device, err, errlen) ||
	    read_number(addr, "class", 0, 0xffffff, &cls, err, errlen))
		return -EINVAL;
	path_of(addr, "numa_node", path, sizeof(path));
	if (access(path, F_OK) == 0 && read_number(addr, "numa_node", -1, 65535, &node, err, errlen))
		return -EINVAL;
	if (link_base(addr, "iommu_group", grp, sizeof(grp)) != 0 ||
	    tce_parse_number(grp, 0, UINT32_MAX, &group) != 0) {
		path_of(addr, "iommu_group", path, sizeof(path));
		snprintf(err, errlen, "%s: no IOMMU group (is the IOMMU enabled?)", path);
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->addr, sizeof(out->addr), "%s", addr);
	out->vendor = (uint16_t)vendor;
	out->device = (uint16_t)device;
	out->class_code = (uint32_t)cls;
	out->numa_node = (int)node;
	out->group = (unsigned int)group;
	if (tce_pci_driver(addr, out->driver, sizeof(out->driver)) != 0)
		out->driver[0] = '\0';
	return 0;
}

int tce_pci_group_members(unsigned int group, char (*addrs)[16], unsigned int max)
{
	char path[PATH_MAX];
	struct dirent *e;
	unsigned int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%u/devices", group);
	d = opendir(path);
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (!tce_pci_is_addr(e->d_name))
			continue;
		if (n < max) /* 12 characters: tce_pci_is_addr */
			memcpy(addrs[n], e->d_name, 13);
		n++;
	}
	closedir(d);
	return (int)n;
}

bool tce_pci_driver_vfio_safe(const char *driver)
{
	return driver[0] == '\0' || strcmp(driver, "vfio-pci") == 0 || strcmp(driver, "pci-stub") == 0 ||
	       strcmp(driver, "pcieport") == 0;
}
