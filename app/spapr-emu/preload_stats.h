/* SPDX-License-Identifier: BSD-3-Clause */
/* The --stats file however the program ends (preload_stats.c). */
#ifndef PRELOAD_STATS_H
#define PRELOAD_STATS_H
#include <signal.h>
#include <stdbool.h>

struct emu_platform;

/* At start: handlers for the catchable signals the program leaves at their default. */
void preload_stats_init(struct emu_platform *p);
/* The program opened a VFIO file: from now on a snapshot is kept. */
void preload_stats_touched(void);
/* At exit, before the platform goes: the final stats (when touched), no snapshot left. */
void preload_stats_exit(bool touched);
/* sigaction() of a signal whose handler is ours: true, *ret set, when it was. */
bool preload_stats_sigaction(int sig, const struct sigaction *act, struct sigaction *old, int *ret);
#endif
