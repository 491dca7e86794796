# SPDX-License-Identifier: BSD-3-Clause
"""DMA mappings changed from several threads at once (test/progs/dma_stress.c): threads
growing and shrinking DPDK's heap (memory events the bus maps and unmaps) while others
map and unmap external memory for the device (rte_dev_dma_map/unmap). The bus serialises
them (doc/bus.md, lib/tce's contract in tce.h); nothing fails, nothing is left."""
import os
import pathlib
import re

import pytest

from conftest import BUILD

# Builds of the same tree with -Db_sanitize=thread or address,undefined (.ci/run makes
# them): the program and the plugins instrumented; the emulator's shim is this build's.
SANITIZED = [pathlib.Path(b) for b in os.environ.get("SPAPR_SANITIZED_BUILDS", "").split()]


def stress(run_emu, build, platform, seconds=3, extra_env=None):
    env = dict(os.environ, LD_LIBRARY_PATH=f"{build}/drivers:{build}/test/pmd", **(extra_env or {}))
    cmd = [str(build / "test/progs/dma-stress"), "-l", "0-1", "-n", "1", "--no-pci",
           "--file-prefix", f"stress{os.getpid()}", "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_test.so",
           "-a", "bus=spapr,addr=0000:00:01.0", "--", "--seconds", str(seconds), "--alloc-threads", "2",
           "--map-threads", "2"]
    return run_emu(cmd, "--platform", platform, env=env, timeout=300)


@pytest.mark.parametrize("build", SANITIZED, ids=[b.name for b in SANITIZED])
def test_sanitized(run_emu, build):
    """The same under ThreadSanitizer (a race is a report and exit 66) or ASan+UBSan."""
    r = stress(run_emu, build, "powernv", seconds=5, extra_env={
        "SPAPR_EMU_PRELOAD": str(BUILD / "app/spapr-emu/libspapr-emu-preload.so"),
        "TSAN_OPTIONS": "halt_on_error=1:exitcode=66",
        "ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"})
    out = r.out + r.err
    assert r.rc == 0, out
    assert "ThreadSanitizer" not in out and "AddressSanitizer" not in out and "runtime error" not in out, out
    assert re.search(r"[1-9]\d* heap grow/shrink cycles \(0 refused\), [1-9]\d* external map/unmap cycles "
                     r"\(0 failed\)", out), out
    assert r.stats["at_exit"]["clean"] is True, r.stats["at_exit"]


@pytest.mark.parametrize("platform", ["pseries-ddw", "powernv"])
def test_heap_growth_and_external_mappings_from_many_threads(run_emu, platform):
    r = stress(run_emu, BUILD, platform)
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
