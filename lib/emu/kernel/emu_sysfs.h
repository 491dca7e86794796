/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EMU_SYSFS_H
#define EMU_SYSFS_H

#include <stddef.h>

struct emu_platform;

/* Write the sysfs tree of the platform's devices under root; -errno on failure. */
int emu_sysfs_build(struct emu_platform *p, const char *root);

/* The path to use for `path`: its place in the tree under root when it is a sysfs path
 * of the emulated machine (the VFIO modules, an emulated device, its IOMMU group) or
 * /dev/vfio and its names (for looking, not opening), else `path` itself. `buf` holds the rewritten path. */
const char *emu_sysfs_redirect(struct emu_platform *p, const char *root, const char *path,
			       char *buf, size_t len);

#endif
