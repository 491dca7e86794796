# SPDX-License-Identifier: BSD-3-Clause
"""lib/tce's tools on the emulated platform: spapr-info and tce-bench (run once at a
tiny size, as CI does for benchmarks; counts are asserted, never times)."""
import json
import subprocess

import pytest

from conftest import BUILD


@pytest.fixture(scope="module")
def tce_bench():
    return str(BUILD / "app/tce-bench/tce-bench")


@pytest.fixture(scope="module")
def spapr_info():
    return str(BUILD / "app/spapr-info/spapr-info")


def test_tce_bench_ours_against_dpdk_strategy(run_emu, tce_bench):
    r = run_emu([tce_bench, "--memory", "16M", "--hugepage", "2M", "--json"], "--platform", "pseries-ddw")
    assert r.rc == 0, r.err
    out = json.loads(r.out)
    ours, dpdk = out["strategies"]["ours"], out["strategies"]["dpdk"]
    assert ours["ok"] and dpdk["ok"]
    # SET_IOMMU GET_INFO REMOVE REGISTER CREATE MAP against one REGISTER + MAP a hugepage
    assert ours["ioctls"] == 6
    assert dpdk["ioctls"] == 4 + 2 * 8
    assert ours["tces"] == dpdk["tces"] == 8
    # lib/tce's estimates are what the emulated hypervisor counted, for both strategies
    for s in (ours, dpdk):
        assert s["measured"]["hcalls_setup"] == s["hcalls_setup"]
        assert s["measured"]["hcalls_teardown"] == s["hcalls_teardown"]
    assert ours["hcalls_setup"] == 1 + 2 * 8
    assert "stock DPDK stops here" in dpdk["note"]
    assert r.stats["at_exit"]["clean"] is True


def test_tce_bench_on_v1_platform_reports_dpdk_has_no_v1(run_emu, tce_bench):
    r = run_emu([tce_bench, "--memory", "8M", "--json"], "--platform", "pseries-noddw")
    assert r.rc == 0, r.err
    out = json.loads(r.out)
    assert out["strategies"]["ours"]["ok"] is True
    assert out["strategies"]["dpdk"]["ok"] is False
    assert "DPDK has no v1 path" in out["strategies"]["dpdk"]["note"]


def test_tce_bench_text_and_errors(run_emu, tce_bench):
    r = run_emu([tce_bench, "--memory", "8M"], "--platform", "powernv")
    assert r.rc == 0, r.err
    assert "dpdk/ours:" in r.out
    r = run_emu([tce_bench, "--memory", "3M"])
    assert r.rc == 2 and "whole hugepages" in r.err
    r = run_emu([tce_bench, "--strategy", "fast"])
    assert r.rc == 2 and "--strategy is ours, dpdk or both" in r.err


def test_spapr_info_lists_devices_and_plans(run_emu, spapr_info):
    r = run_emu([spapr_info, "--memory", "4G", "--hugepage", "2M"], "--devices", "2")
    assert r.rc == 0, r.err
    assert "0000:00:02.0  1b36:0005  class 0x00ff00  IOMMU group 1  NUMA node 0" in r.out
    assert "pSeries guest (no EEH through VFIO), v2 IOMMU" in r.out
    assert "page sizes: 4K 64K 2M 16M" in r.out
    assert "window 0: 4096 MiB of 2048 KiB pages at 0x800000000000000" in r.out
    assert "needs ulimit -l 4194304 (KiB)" in r.out
    r = run_emu([spapr_info, "--memory", "4G"], "--platform", "pseries-noddw")
    assert "v1 IOMMU only" in r.out
    assert "3072 MiB are left over; make at most 1024 MiB DMA-able" in r.out


def test_spapr_info_app_without_such_application(spapr_info):
    r = subprocess.run([spapr_info, "--app", "no-such-prefix"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "spapr-info: cannot reach the DPDK application with file prefix 'no-such-prefix'" in r.stderr
