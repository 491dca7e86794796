# SPDX-License-Identifier: BSD-3-Clause
"""The benchmarks keep working: each runs once at a tiny size and writes its table, JSON,
CSV and plot. No timing is asserted: the numbers are the benchmarks' business."""
import json
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, TOP, other_dpdk

BENCH = TOP / "test/bench"
pytestmark = pytest.mark.skipif(not shutil.which("dpdk-testpmd"), reason="dpdk-testpmd is not installed")


def bench(tmp_path, script, *args):
    r = subprocess.run([sys.executable, str(BENCH / script), "--out", str(tmp_path), "--build", str(BUILD), *args],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    name = script[len("bench_"):-len(".py")]
    rows = json.loads((tmp_path / f"{name}.json").read_text())["rows"]
    assert (tmp_path / f"{name}.csv").read_text().count("\n") == len(rows) + 1
    try:
        import matplotlib  # noqa: F401
        assert (tmp_path / f"{name}.png").stat().st_size > 0
    except ImportError:
        pass
    return rows, r.stdout


def test_mapping_benchmark(tmp_path):
    # --keep-pools: resizing the hugepage pool here would fragment it for the tests after
    rows, out = bench(tmp_path, "bench_mapping.py", "--presets", "pseries-ddw,powernv", "--memory", "64M",
                      "--stacks", "dpdk,pci,ours", "--keep-pools")
    by = {(r["preset"], r["stack"]): r for r in rows}
    # stock DPDK cannot use a pSeries dynamic window (it is not at 0); ours can
    assert not by["pseries-ddw", "dpdk"]["dma_ok"]
    assert "unsupported start address" in by["pseries-ddw", "dpdk"]["dma_failure"]
    assert by["pseries-ddw", "ours"]["dma_ok"] and by["pseries-ddw", "ours"]["rx_packets"] > 0
    # on PowerNV both map; DPDK one REGISTER and one MAP per hugepage, ours one of each
    assert by["powernv", "dpdk"]["dma_ok"] and by["powernv", "dpdk"]["map_dma_ioctls"] == 32
    assert by["powernv", "ours"]["map_dma_ioctls"] == 1
    # what the bus says it needs (all memory the window holds, the pool's included) covers
    # what the kernel charged
    assert by["powernv", "ours"]["memlock_reported"] >= by["powernv", "ours"]["locked_peak"]
    # stock bus/pci and net_virtio on our backend: our mapping where stock DPDK fails
    assert by["pseries-ddw", "pci"]["dma_ok"] and by["pseries-ddw", "pci"]["map_dma_ioctls"] == 1
    assert by["pseries-ddw", "pci"]["memlock_reported"] >= by["pseries-ddw", "pci"]["locked_peak"]
    assert by["powernv", "pci"]["map_dma_ioctls"] == 1
    # DPDK's net_virtio receives on the emulated device (its registers trapped): stock EAL
    # where it works (PowerNV), our backend everywhere
    assert by["powernv", "dpdk"]["rx_packets"] > 0 and by["pseries-ddw", "pci"]["rx_packets"] > 0
    assert "stack" in out and "hcalls" in out


def test_scaling_benchmark(tmp_path):
    rows, _ = bench(tmp_path, "bench_scaling.py", "--presets", "powernv", "--memory", "64M,128M", "--keep-pools")
    assert len(rows) == 4 and all(r["dma_ok"] for r in rows)


_DPDK_TEST = shutil.which("dpdk-test") or "/usr/bin/dpdk-test"


# its driver comparison runs DPDK's pmd_perf_autotest (dpdk-test) of the same DPDK
@pytest.mark.skipif(bool(other_dpdk(_DPDK_TEST)), reason=str(other_dpdk(_DPDK_TEST)))
def test_throughput_benchmark(tmp_path):
    rows, _ = bench(tmp_path, "bench_throughput.py", "--sizes", "64", "--queues", "1", "--seconds", "0.5",
                    "--modes", "io", "--reps", "1", "--pmd-perf-speed", "100")
    by = {r["wire"]: r for r in rows}
    assert len(rows) == 2 and set(by) == {"fast", "exact"}
    # the driver comparison: one replaying port, each stack forwarded and sent all to the
    # sink, with no DMA fault
    f = by["fast"]
    assert f["runs_ok"] and f["ours_mpps"] > 0 and f["virtio_mpps"] > 0 and f["null_mpps"] > 0
    assert f["ours_cycles"] > 0 and f["virtio_cycles"] > 0 and isinstance(f["ours_ahead"], bool)
    r = by["exact"]
    assert r["ours_mpps"] > 0 and r["null_mpps"] > 0 and r["checker_ok"]
    # DPDK's net_virtio on the same emulated devices (its registers trapped)
    assert r["virtio_mpps"] > 0 and r["virtio_checker_ok"] and r["virtio_mmio_accesses"] > 0
    assert r["map_ioctls_while_forwarding"] == 0 and r["hypercalls_while_forwarding"] == 0
    assert r["device_cycles_per_frame"] > 0
    # DPDK's pmd_perf_autotest on ours, on net_virtio over our backend, on net_null
    perf = {r["stack"]: r for r in json.loads((tmp_path / "throughput_pmd_perf.json").read_text())["rows"]}
    assert set(perf) == {"ours", "pci", "null"} and all(r["ok"] and r["cycles_per_packet"] > 0 for r in perf.values())
    assert perf["ours"]["device_cycles_per_frame"] > 0 and perf["pci"]["device_cycles_per_frame"] > 0
