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


CHECK_DEVICES = ("--device", "0000:00:01.0,group=0,model=virtio-net", "--device", "0000:00:02.0,group=1")


@pytest.mark.parametrize("platform,kind", [("pseries-ddw", "pSeries guest, dynamic DMA windows (v2)"),
                                           ("pseries-noddw", "pSeries guest, v"),
                                           ("powernv", "PowerNV (bare metal, EEH), dynamic DMA windows (v2)")])
def test_spapr_info_check_says_ready_and_gives_the_eal_options(run_emu, spapr_info, platform, kind):
    r = run_emu([spapr_info, "--check", "--memory", "64M"], "--platform", platform, *CHECK_DEVICES)
    assert r.rc == 0 and r.out.rstrip().endswith("ready"), r.out + r.err
    assert "[todo]" not in r.out
    assert f"[ok]   platform: {kind}" in r.out
    assert "[ok]   0000:00:01.0 (1af4:1041) bound to vfio-pci, IOMMU group 0 viable and usable" in r.out
    assert "[ok]   locked memory: " in r.out and "[ok]   physical addresses readable" in r.out
    # our PMD for the virtio-net device, DPDK's own PMDs over our backend for the other
    assert ("-d librte_bus_spapr.so -d librte_net_spapr_virtio.so -a bus=spapr,addr=0000:00:01.0"
            " -a 0000:00:02.0 -m 64") in r.out
    assert r.stats["at_exit"]["clean"] is True


def test_spapr_info_check_names_each_thing_to_do(run_emu, spapr_info):
    r = run_emu([spapr_info, "--check", "--memory", "512G", "0000:00:01.0", "0000:00:03.0", "0000:00:09.0", "zz"],
                "--device", "0000:00:01.0,group=0,model=virtio-net", "--device", "0000:00:02.0,group=0,driver=virtio-pci",
                "--device", "0000:00:03.0,group=1,driver=virtio-pci")
    assert r.rc == 1, r.out + r.err
    todo = [line for line in r.out.splitlines() if line.startswith("[todo]")]
    assert ("[todo] 0000:00:01.0: its IOMMU group 0 is not viable: 0000:00:02.0 in it is bound to virtio-pci:"
            " bind that one to vfio-pci too (dpdk-devbind.py -b vfio-pci 0000:00:02.0) or unbind it") in todo
    assert "[todo] 0000:00:03.0 (1b36:0005) is bound to virtio-pci: dpdk-devbind.py -b vfio-pci 0000:00:03.0" in todo
    assert "[todo] 0000:00:09.0: no such PCI function (lspci -D lists them)" in todo
    assert "[todo] zz: not a PCI address: give it as dddd:bb:dd.f (lspci -D)" in todo
    assert any(line.startswith("[todo] ") and "512 GiB asked: reserve" in line for line in todo), todo
    assert len(todo) == 5, todo
    assert "EAL options" not in r.out and r.out.rstrip().endswith("then run this again")


def test_spapr_info_check_locked_memory(run_emu, spapr_info):
    r = run_emu([spapr_info, "--check", "--memory", "256M"], *CHECK_DEVICES,
                prefix=["prlimit", "--memlock=65536:65536", "setpriv", "--inh-caps=-ipc_lock",
                        "--bounding-set=-ipc_lock"])
    assert r.rc == 1, r.out + r.err
    assert ("[todo] locked memory: DMA mapping needs 256 MiB of locked memory (268435456 bytes) but"
            " RLIMIT_MEMLOCK is 64 KiB (hard limit 64 KiB): raise it with 'ulimit -l 262144'") in r.out
    assert "LimitMEMLOCK=" in r.out


def test_spapr_info_check_outside_a_power_machine(spapr_info):
    """On the x86 build machine itself: no sPAPR VFIO, said with what to do."""
    r = subprocess.run([spapr_info, "--check"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert ("[todo] the vfio-pci module is not loaded: modprobe vfio-pci" in r.stdout
            or "has no sPAPR TCE IOMMU (not POWER)" in r.stdout), r.stdout
