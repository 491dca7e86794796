/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EMU_SYSFS_H
#define EMU_SYSFS_H

struct emu_platform;

/* Write the sysfs tree of the platform's devices under root; -errno on failure. */
int emu_sysfs_build(struct emu_platform *p, const char *root);

#endif
