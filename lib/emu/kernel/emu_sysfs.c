/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A sysfs tree for the emulated devices, shaped like the kernel's, under ROOT:
 *   ROOT/bus/pci/devices/<addr>/{vendor,device,class,numa_node,resource,...}
 *   ROOT/bus/pci/devices/<addr>/iommu_group -> ../../../../kernel/iommu_groups/<n>
 *   ROOT/bus/pci/devices/<addr>/driver -> ../../../../bus/pci/drivers/vfio-pci
 *   ROOT/kernel/iommu_groups/<n>/devices/<addr> -> ../../../../bus/pci/devices/<addr>
 *   ROOT/module/{vfio,vfio_pci,vfio_iommu_spapr_tce}/
 * Programs find it through SYSFS_PCI_DEVICES=ROOT/bus/pci/devices (DPDK honours it).
 * Next to it, ROOT/.dev/vfio/ lists what the kernel's /dev/vfio holds (`vfio` and a node
 * per group with a device bound to vfio-pci) for programs that look before they open
 * (DPDK 25.11's EAL skips VFIO when it cannot opendir /dev/vfio); opening those names
 * goes to the emulated files, never to this tree.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_sysfs.h"

static int mkdirs(const char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_file(const char *dir, const char *name, const char *fmt, ...)
{
	char path[600];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (f == NULL)
		return -errno;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	return fclose(f) == 0 ? 0 : -errno;
}

static int link_at(const char *target, const char *dir, const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	return symlink(target, path) == 0 ? 0 : -errno;
}

static int device_dir(const struct emu_config *cfg, const struct emu_device *d, const char *root)
{
	char dir[512], target[256];
	int ret;

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", root, d->addr);
	if ((ret = mkdirs(dir)) != 0)
		return ret;
	write_file(dir, "vendor", "0x%04x\n", d->vendor);
	write_file(dir, "device", "0x%04x\n", d->device_id);
	write_file(dir, "subsystem_vendor", "0x%04x\n", d->subsys_vendor);
	write_file(dir, "subsystem_device", "0x%04x\n", d->subsys_id);
	write_file(dir, "class", "0x%06x\n", d->class_code);
	write_file(dir, "revision", "0x01\n");
	write_file(dir, "numa_node", "%d\n", d->numa_node);
	write_file(dir, "driver_override", "%s\n", d->vfio_bound ? "vfio-pci" : "(null)");
	write_file(dir, "enable", "0\n");
	write_file(dir, "irq", "0\n");
	{
		char res[1024] = "";
		size_t n = 0;
		for (int i = 0; i < 7; i++) {
			const struct emu_bar *b = i < 6 ? &d->bars[i] : NULL;
			uint64_t start = b && b->size ? b->addr : 0, end = b && b->size ? b->addr + b->size - 1 : 0;
			uint64_t flags = b && b->size ? 0x40200 | (b->mem64 ? 0x100000 : 0) : 0;
			n += snprintf(res + n, sizeof(res) - n, "0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 "\n",
				      start, end, flags);
		}
		write_file(dir, "resource", "%s", res);
	}
	snprintf(target, sizeof(target), "../../../../kernel/iommu_groups/%u", d->group->pe.id);
	if ((ret = link_at(target, dir, "iommu_group")) != 0)
		return ret;
	if (strcmp(d->driver, "none") != 0) {
		snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", d->driver);
		if ((ret = link_at(target, dir, "driver")) != 0)
			return ret;
	}

	snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%u/devices", root, d->group->pe.id);
	if ((ret = mkdirs(dir)) != 0)
		return ret;
	snprintf(target, sizeof(target), "../../../../bus/pci/devices/%s", d->addr);
	if ((ret = link_at(target, dir, d->addr)) != 0)
		return ret;
	snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%u", root, d->group->pe.id);
	write_file(dir, "type", "blocked\n");
	write_file(dir, "name", "%s\n", cfg->plat.hv == EMU_HV_PSERIES ? "pseries-pe" : "powernv-pe");

	if (strcmp(d->driver, "none") == 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s/bus/pci/drivers/%s", root, d->driver);
	if ((ret = mkdirs(dir)) != 0)
		return ret;
	snprintf(target, sizeof(target), "../../devices/%s", d->addr);
	return link_at(target, dir, d->addr);
}

/* /dev/vfio's names: plain empty files (no mknod: the emulator runs unprivileged too) */
static int dev_vfio_dir(struct emu_platform *p, const char *root)
{
	char dir[512], name[16];
	int ret;

	snprintf(dir, sizeof(dir), "%s/.dev/vfio", root);
	if ((ret = mkdirs(dir)) != 0)
		return ret;
	if ((ret = write_file(dir, "vfio", "")) != 0)
		return ret;
	for (unsigned int g = 0; g < EMU_MAX_GROUPS; g++) {
		if (!p->group_exists[g] || p->groups[g].vfio_devices == 0)
			continue;
		snprintf(name, sizeof(name), "%u", g);
		if ((ret = write_file(dir, name, "")) != 0)
			return ret;
	}
	return 0;
}

int emu_sysfs_build(struct emu_platform *p, const char *root)
{
	static const char *const modules[] = { "vfio", "vfio_pci", "vfio_pci_core",
					       "vfio_iommu_spapr_tce" };
	char dir[512];
	int ret;

	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/module/%s", root, modules[i]);
		if ((ret = mkdirs(dir)) != 0)
			return ret;
		write_file(dir, "initstate", "live\n");
	}
	snprintf(dir, sizeof(dir), "%s/bus/pci/devices", root);
	if ((ret = mkdirs(dir)) != 0)
		return ret;
	for (unsigned int i = 0; i < p->ndevices; i++) {
		ret = device_dir(&p->cfg, &p->devices[i], root);
		if (ret)
			return ret;
	}
	return dev_vfio_dir(p, root);
}

/* The sysfs paths of the emulated machine, as the real kernel would show them, mapped
 * into the generated tree: the VFIO modules, the emulated devices (also under the
 * vfio-pci driver) and their IOMMU groups. Everything else is left alone. */
static const char *after(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 ? path + n : NULL;
}

/* `rest` starts with `name` followed by the end or a '/' */
static bool component_is(const char *rest, const char *name)
{
	size_t n = strlen(name);

	return strncmp(rest, name, n) == 0 && (rest[n] == '\0' || rest[n] == '/');
}

static bool is_device(struct emu_platform *p, const char *rest)
{
	for (unsigned int i = 0; i < p->ndevices; i++)
		if (component_is(rest, p->devices[i].addr))
			return true;
	return false;
}

static bool is_group(struct emu_platform *p, const char *rest)
{
	char name[16];

	for (unsigned int g = 0; g < EMU_MAX_GROUPS; g++) {
		if (!p->group_exists[g])
			continue;
		snprintf(name, sizeof(name), "%u", g);
		if (component_is(rest, name))
			return true;
	}
	return false;
}

const char *emu_sysfs_redirect(struct emu_platform *p, const char *root, const char *path,
			       char *buf, size_t len)
{
	static const char *const modules[] = { "vfio", "vfio_pci", "vfio_pci_core",
					       "vfio_iommu_spapr_tce" };
	const char *rest;
	bool ours = false;

	if (p == NULL || root == NULL || path == NULL)
		return path;
	if (strcmp(path, "/dev/vfio") == 0 || after(path, "/dev/vfio/") != NULL) {
		if ((size_t)snprintf(buf, len, "%s/.dev%s", root, path + strlen("/dev")) >= len)
			return path;
		return buf;
	}
	if ((rest = after(path, "/sys/")) == NULL)
		return path;
	if ((rest = after(path, "/sys/module/")) != NULL) {
		for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
			ours |= component_is(rest, modules[i]);
	} else if ((rest = after(path, "/sys/bus/pci/devices/")) != NULL ||
		   (rest = after(path, "/sys/bus/pci/drivers/vfio-pci/")) != NULL) {
		ours = is_device(p, rest);
	} else if ((rest = after(path, "/sys/kernel/iommu_groups/")) != NULL) {
		ours = is_group(p, rest);
	}
	if (!ours || (size_t)snprintf(buf, len, "%s/%s", root, path + strlen("/sys/")) >= len)
		return path;
	return buf;
}
