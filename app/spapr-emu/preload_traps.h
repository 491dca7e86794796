/* SPDX-License-Identifier: BSD-3-Clause */
/* Device registers reached through BAR mappings: the SIGSEGV side (preload_traps.c). */
#ifndef PRELOAD_TRAPS_H
#define PRELOAD_TRAPS_H
#include <stddef.h>

/* Install the fault handler (the platform is active). */
void preload_traps_init(void);
/* A mapping at [addr, addr+len) goes away or is replaced. */
void preload_traps_unmapped(const void *addr, size_t len);
#endif
