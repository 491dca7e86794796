/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SPAPR_INFO_CHECK_H
#define SPAPR_INFO_CHECK_H

#include <stdint.h>

/* spapr-info --check: what this machine still needs for DPDK on the sPAPR TCE IOMMU
 * (the given devices, or every one bound to vfio-pci; memory: DPDK's -m, 0 for the free
 * hugepages), each thing with its fix, then the EAL options. 0 when ready, 1 if not. */
int spapr_check(char **addrs, unsigned int naddrs, uint64_t memory);

#endif
