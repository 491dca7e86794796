/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SPAPR_INFO_LIVE_H
#define SPAPR_INFO_LIVE_H

/* Print the spapr bus's telemetry of the running DPDK application with this file
 * prefix; 0, or 1 with one line on stderr. */
int show_live(const char *prefix);

#endif
