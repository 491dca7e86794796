# SPDX-License-Identifier: BSD-3-Clause
"""DMA mappings changed from several threads at once (test/progs/dma_stress.c): threads
growing and shrinking DPDK's heap (memory events the bus maps and unmaps) while others
map and unmap external memory for the device (rte_dev_dma_map/unmap). The bus serialises
them (doc/bus.md, lib/tce's contract in tce.h); nothing fails, nothing is left."""
import os
import re

import pytest

from conftest import BUILD


@pytest.mark.parametrize("platform", ["pseries-ddw", "powernv"])
def test_heap_growth_and_external_mappings_from_many_threads(run_emu, platform):
    env = dict(os.environ, LD_LIBRARY_PATH=f"{BUILD}/drivers:{BUILD}/test/pmd")
    cmd = [str(BUILD / "test/progs/dma-stress"), "-l", "0-1", "-n", "1", "--no-pci",
           "--file-prefix", f"stress{os.getpid()}", "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_test.so",
           "-a", "bus=spapr,addr=0000:00:01.0", "--", "--seconds", "3", "--alloc-threads", "2", "--map-threads", "2"]
    r = run_emu(cmd, "--platform", platform, env=env, timeout=180)
    out = r.out + r.err
    assert r.rc == 0, out
    m = re.search(r"(\d+) heap grow/shrink cycles \(0 refused\), (\d+) external map/unmap cycles \(0 failed\)", out)
    assert m and int(m.group(1)) > 20 and int(m.group(2)) > 20, out
    # every growth mapped, every shrink unmapped: the bus reports any failure on a line
    assert not [line for line in out.splitlines() if line.startswith("spapr:")], out
    assert r.stats["dma"]["faults"] == 0
    assert r.stats["at_exit"]["clean"] is True, r.stats["at_exit"]
    # many more MAP_DMA than a window holds at once: freed IOVAs were given out again
    assert r.stats["ioctls"]["VFIO_IOMMU_MAP_DMA"] > 40
