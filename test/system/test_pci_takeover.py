# SPDX-License-Identifier: BSD-3-Clause
"""DPDK's own bus/pci devices on the spapr bus's IOMMU set-up: stock dpdk-testpmd, stock
bus/pci and EAL VFIO, with only -d librte_bus_spapr.so added, on every emulated platform.

The PMD is test/pmd/net_pci_test.c, a bus/pci driver that maps its device through EAL
(and unmaps it at port close, as net_virtio does) and has the emulated device read every
mbuf at its IOVA through the TCE tables; stock net_virtio gets as far as its registers
(which the emulator cannot trap yet)."""
import os
import re
import shutil
import tempfile

import pytest

from conftest import BUILD, telemetry

TESTPMD = shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd"
D1, D2 = "0000:00:01.0", "0000:00:02.0"
TXONLY = "set fwd txonly\nstart\nstop\n"
SERVED = "DPDK's bus/pci drives it, on this bus's IOMMU set-up"

pytestmark = pytest.mark.skipif(not os.path.exists(TESTPMD), reason="dpdk-testpmd is not installed")


def run_pci(run_emu, *emu_opts, devargs=(D1,), eal=(), commands=TXONLY + "quit\n", prefix=(), env_extra=None,
            plugins=("librte_bus_spapr.so", "librte_net_pci_test.so")):
    """testpmd with bus/pci enabled (no --no-pci) and the devices given as bus/pci names."""
    env = dict(os.environ, LD_LIBRARY_PATH=f"{BUILD}/drivers:{BUILD}/test/pmd", **(env_extra or {}))
    cmd = [TESTPMD, "-l", "0-1", "-n", "1", "--file-prefix", f"spci{os.getpid()}",
           *[a for p in plugins for a in ("-d", p)], *[a for d in devargs for a in ("-a", d)],
           "--log-level=bus.spapr:info", "--log-level=bus.pci:debug", *eal, "--", "--total-num-mbufs=2048", "-i"]
    with tempfile.TemporaryFile("w+") as stdin:
        stdin.write(commands)
        stdin.seek(0)
        r = run_emu(cmd, *emu_opts, prefix=prefix, env=env, stdin=stdin)
    r.all = r.out + r.err
    return r


def device_checks(out):
    """[(mbufs sent, unreadable)] and [(bytes of memory at start, unreadable)] per port."""
    sent = [(int(a), int(b)) for a, b in
            re.findall(r"net_pci_test: \S+: (\d+) mbufs sent, (\d+) the device could not read", out)]
    start = [(int(a), int(b)) for a, b in
             re.findall(r"net_pci_test: \S+: start: (\d+) bytes of DPDK memory, (\d+) not DMA-readable", out)]
    return sent, start


def assert_quiet_and_clean(r, refused=0):
    """No DMA fault, nothing left, no refused call but the `refused` expected ones."""
    s = r.stats
    assert s["dma"]["faults"] == 0, s["dma"]
    assert s["at_exit"]["clean"] is True, s["at_exit"]
    assert s["ioctls"]["errors"] == refused, s["ioctls"]
    assert not re.search(r"^spapr: .*(cannot|failed|Invalid argument)", r.all, re.M), r.all


def assert_moved(r, ports):
    sent, start = device_checks(r.all)
    assert len(start) == ports and all(b > 0 and bad == 0 for b, bad in start), r.all
    assert len(sent) == ports and all(n > 0 and bad == 0 for n, bad in sent), r.all


@pytest.mark.parametrize("platform,iova", [("pseries-ddw", "pa"), ("pseries-noddw", "pa"),
                                           ("powernv", "pa"), ("powernv", "va")])
def test_stock_bus_pci_devices_dma_through_the_bus(run_emu, platform, iova):
    r = run_pci(run_emu, "--platform", platform, "--devices", "2", devargs=(D1, D2), eal=("--iova-mode", iova),
                commands=TXONLY + "port stop all\nport close all\nquit\n")
    assert r.rc == 0, r.all
    assert r.all.count(SERVED) == 2, r.all
    assert f"Selected IOVA mode '{iova.upper()}'" in r.all
    assert "Probe PCI driver: net_pci_test (1b36:0005) device: 0000:00:01.0" in r.all
    assert_moved(r, 2)
    s = r.stats
    # the bus's set-up, not EAL's: one container per group, memory in few calls
    assert s["ioctls"]["VFIO_GROUP_SET_CONTAINER"] == 2
    if platform == "pseries-noddw":
        assert s["ioctls"]["VFIO_IOMMU_ENABLE"] == 2 and s["ioctls"]["VFIO_IOMMU_SPAPR_TCE_CREATE"] == 0
    else:
        assert s["windows"]["created"] == 2
    # v1-only: SET_IOMMU v2 is refused first in each container (QEMU's order), nothing else
    assert_quiet_and_clean(r, refused=2 if platform == "pseries-noddw" else 0)


@pytest.mark.parametrize("close", ["port stop all\nport close all\n", "", "port stop all\n"],
                         ids=["ports-closed", "ports-running", "ports-stopped"])
def test_teardown_in_any_order_is_quiet_and_complete(run_emu, close):
    """The PMD hands the device back to EAL at close (EAL closes the group fd then) or
    EAL's cleanup does at exit: the container's own duplicate keeps the group attached
    until the bus tears its DMA set-up down, with no refused call."""
    r = run_pci(run_emu, "--platform", "pseries-ddw", commands=TXONLY + close + "quit\n")
    assert r.rc == 0, r.all
    assert_moved(r, 1)
    assert r.stats["windows"]["created"] == r.stats["windows"]["removed"] == 1
    assert_quiet_and_clean(r)


def test_iommu_v1_for_a_bus_pci_device(run_emu):
    """Options for a bus/pci device: -a bus=spapr,addr=<the same address>,..."""
    r = run_pci(run_emu, "--platform", "pseries-ddw", devargs=(D1, f"bus=spapr,addr={D1},iommu=v1"))
    assert r.rc == 0, r.all
    assert SERVED in r.all
    assert "spapr: IOMMU group 0: v1, 1 window(s)" in r.all
    assert_moved(r, 1)
    assert r.stats["ioctls"]["VFIO_IOMMU_ENABLE"] == 1
    assert r.stats["ioctls"].get("VFIO_IOMMU_SPAPR_TCE_CREATE", 0) == 0
    assert_quiet_and_clean(r)


def test_dry_run_prints_the_plan_and_leaves_the_device_to_eal(run_emu):
    """PowerNV, where EAL's own sPAPR code works: the plan is printed, EAL sets up and
    maps on its own (one REGISTER per hugepage), the port works."""
    r = run_pci(run_emu, "--platform", "powernv", devargs=(D1, f"bus=spapr,addr={D1},dry_run=1"))
    assert r.rc == 0, r.all
    assert re.search(r"spapr: 0000:00:01.0: dry run: v2, \d window\(s\), 1 REGISTER, 1 MAP", r.all), r.all
    assert SERVED not in r.all
    assert_moved(r, 1)
    assert r.stats["ioctls"]["VFIO_IOMMU_SPAPR_REGISTER_MEMORY"] > 1  # EAL's, per memseg
    assert r.stats["at_exit"]["clean"] is True


@pytest.mark.parametrize("how", ["devarg", "environment"])
def test_opt_out_leaves_bus_pci_to_eal(run_emu, how):
    """iommu=eal (one device) or SPAPR_BUS_PCI=eal (all): EAL's own VFIO code, which on a
    pSeries guest with dynamic windows fails as stock DPDK does."""
    devargs = (D1, f"bus=spapr,addr={D1},iommu=eal") if how == "devarg" else (D1,)
    env = {"SPAPR_BUS_PCI": "eal"} if how == "environment" else None
    r = run_pci(run_emu, "--platform", "pseries-ddw", devargs=devargs, env_extra=env, commands="quit\n")
    assert SERVED not in r.all
    assert "Received unsupported start address 0x800000000000000" in r.all, r.all
    assert r.stats["at_exit"]["clean"] is True


def test_bad_option_for_a_bus_pci_device_stops_eal(run_emu):
    r = run_pci(run_emu, "--platform", "pseries-ddw", devargs=(D1, f"bus=spapr,addr={D1},pagesize=3K"),
                commands="quit\n")
    assert r.rc != 0
    assert "spapr: 0000:00:01.0: pagesize= takes auto or a power of two of at least 4K" in r.all
    assert r.stats is None or r.stats["ioctls"]["total"] == 0


def test_memlock_refused_before_anything_and_the_device_not_probed(run_emu):
    prefix = ["prlimit", "--memlock=65536", "--"]
    if os.geteuid() == 0:
        prefix += ["setpriv", "--inh-caps=-ipc_lock", "--ambient-caps=-ipc_lock", "--bounding-set=-ipc_lock", "--"]
    r = run_pci(run_emu, "--platform", "pseries-noddw", commands="quit\n", prefix=prefix)
    assert re.search(r"spapr: DMA mapping needs \d+ MiB of locked memory \(\d+ bytes\) but RLIMIT_MEMLOCK is 64 KiB",
                     r.all), r.all
    assert "spapr: 0000:00:01.0: not probed: the sPAPR IOMMU set-up failed (Cannot allocate memory)" in r.all
    assert "Probe PCI driver: net_pci_test" not in r.all
    s = r.stats
    assert s["ioctls"]["VFIO_IOMMU_ENABLE"] == 0 and s["ioctls"].get("VFIO_GROUP_GET_DEVICE_FD", 0) == 0
    assert s["at_exit"]["clean"] is True


def test_hot_plug_cycles_leak_nothing(run_emu):
    cycles = 100
    cycle = f"port stop 0\nport close 0\ndevice detach {D1}\nport attach {D1}\nport start 0\n"
    r = run_pci(run_emu, "--platform", "pseries-ddw", commands=cycle * cycles + TXONLY + "quit\n", )
    assert r.rc == 0, r.all
    assert r.all.count(SERVED) == cycles + 1
    assert r.all.count("Probe PCI driver: net_pci_test") == cycles + 1
    sent, start = device_checks(r.all)
    assert len(start) == cycles + 1 and all(bad == 0 for _, bad in start)
    assert sent and all(n > 0 and bad == 0 for n, bad in sent)
    s = r.stats
    assert s["windows"]["created"] == s["windows"]["removed"] == cycles + 1
    assert s["ioctls"]["VFIO_GROUP_SET_CONTAINER"] == s["ioctls"]["VFIO_GROUP_UNSET_CONTAINER"] == cycles + 1
    assert_quiet_and_clean(r)


def test_side_by_side_with_the_spapr_bus_own_driver(run_emu):
    """One device to the spapr bus's test PMD, one to bus/pci's: both set up by the bus;
    bus/pci leaves alone the device the spapr bus's driver takes."""
    r = run_pci(run_emu, "--platform", "pseries-ddw", "--devices", "2",
                devargs=(f"bus=spapr,addr={D1}", D2),
                plugins=("librte_bus_spapr.so", "librte_net_pci_test.so", "librte_net_spapr_test.so"))
    assert r.rc == 0, r.all
    assert "spapr: 0000:00:01.0: probed by net_spapr_test" in r.all
    assert f"spapr: {D2}: {SERVED}" in r.all and f"{D1}: {SERVED}" not in r.all
    assert "Probe PCI driver: net_pci_test (1b36:0005) device: 0000:00:02.0" in r.all
    assert "Probe PCI driver: net_pci_test (1b36:0005) device: 0000:00:01.0" not in r.all
    assert re.search(r"(\d+) mbufs sent, 0 with an IOVA the IOMMU does not translate", r.all), r.all
    assert device_checks(r.all)[0] and device_checks(r.all)[0][0][1] == 0
    assert_quiet_and_clean(r)


def test_two_devices_of_one_group_share_a_container(run_emu):
    r = run_pci(run_emu, "--platform", "pseries-ddw", "--devices", "2", "--group-size", "2", devargs=(D1, D2),
                commands=TXONLY + "port stop all\nport close all\nquit\n")
    assert r.rc == 0, r.all
    assert r.all.count(SERVED) == 2
    assert_moved(r, 2)
    s = r.stats
    assert s["ioctls"]["VFIO_GROUP_SET_CONTAINER"] == 1 and s["windows"]["created"] == 1
    assert_quiet_and_clean(r)


def test_a_group_device_with_other_options_is_refused(run_emu):
    r = run_pci(run_emu, "--platform", "pseries-ddw", "--devices", "2", "--group-size", "2",
                devargs=(D1, D2, f"bus=spapr,addr={D2},pagesize=64K"), commands="quit\n")
    assert f"spapr: {D2}: its options (iommu=, pagesize=) differ from those IOMMU group 0 was set up with" \
           f" for {D1}: give every device of a group the same options" in r.all, r.all
    assert f"spapr: {D2}: not probed" in r.all
    assert r.all.count(SERVED) == 1
    assert r.stats["at_exit"]["clean"] is True


def test_stock_net_virtio_is_set_up_up_to_its_registers(run_emu):
    """Stock net_virtio on the emulated virtio-net device: the bus maps DPDK's memory
    (where stock EAL fails: unsupported start address), EAL hands the PMD its device; the
    PMD then reads registers through its BAR mapping, which the emulator cannot trap yet,
    gives up, and the bus releases everything."""
    r = run_pci(run_emu, "--platform", "pseries-ddw", "--device", f"{D1},model=virtio-net,backend=gen",
                plugins=("librte_bus_spapr.so",), commands="quit\n")
    assert SERVED in r.all, r.all
    assert "Probe PCI driver: net_virtio (1af4:1041) device: 0000:00:01.0" in r.all
    assert "unsupported start address" not in r.all
    s = r.stats
    assert s["windows"]["created"] == s["windows"]["removed"] == 1
    assert s["ioctls"]["VFIO_GROUP_GET_DEVICE_FD"] == 1
    assert s["at_exit"]["clean"] is True


def test_telemetry_lists_bus_pci_devices(spapr_emu, tmp_path):
    import json
    import subprocess
    if shutil.which("dpdk-telemetry.py") is None:
        pytest.skip("dpdk-telemetry.py (Debian's dpdk package) needed")
    prefix = f"spcitel{os.getpid()}"
    env = dict(os.environ, LD_LIBRARY_PATH=f"{BUILD}/drivers:{BUILD}/test/pmd")
    proc = subprocess.Popen([spapr_emu, "run", "--platform", "powernv", "--devices", "2", "--group-size", "2",
                             "--", TESTPMD, "-l", "0-1", "-n", "1", "--file-prefix", prefix,
                             "-d", "librte_bus_spapr.so", "-d", "librte_net_pci_test.so", "-a", D1, "-a", D2,
                             "--", "--total-num-mbufs=2048", "-i"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    try:
        by_cmd = telemetry(prefix, ["/spapr/containers", "/spapr/stats"])
        info = subprocess.run([str(BUILD / "app/spapr-info/spapr-info"), "--app", prefix],
                              capture_output=True, text=True, timeout=30)
    finally:
        proc.communicate("quit\n", timeout=30)
    assert info.returncode == 0, info.stderr
    live = {k: v for line in info.stdout.splitlines() for k, v in json.loads(line).items()}
    assert live["/spapr/containers"]["group0"]["devices"] == f"{D1} {D2}"
    assert live["/spapr/windows"]["group0"]["window0"]["size"] > 0
    cont = by_cmd["/spapr/containers"]["group0"]
    assert cont["devices"] == f"{D1} {D2}" and cont["platform"] == "powernv"
    assert by_cmd["/spapr/stats"]["group0"]["maps"] >= 1


def test_a_device_not_bound_to_vfio_pci_is_left_alone(run_emu):
    """Bound to a kernel driver: not a VFIO device, the bus does nothing for it (bus/pci
    and its PMD find it unusable, as without the plugin)."""
    r = run_pci(run_emu, "--platform", "pseries-ddw", "--device", f"{D1},driver=virtio-pci", commands="quit\n")
    assert SERVED not in r.all and "not probed" not in r.all, r.all
    assert "No probed ethernet devices" in r.all
    assert r.stats["ioctls"].get("VFIO_GROUP_SET_CONTAINER", 0) == 0 and r.stats["at_exit"]["clean"] is True


def test_a_group_with_a_device_of_a_kernel_driver_is_refused_with_the_fix(run_emu):
    r = run_pci(run_emu, "--platform", "pseries-ddw", "--device", f"{D1},group=0",
                "--device", f"{D2},group=0,driver=virtio-pci", commands="quit\n")
    assert "spapr: VFIO group 0 is not viable: bind every device of /sys/kernel/iommu_groups/0/devices to" \
           " vfio-pci" in r.all, r.all
    assert f"spapr: {D1}: not probed: the sPAPR IOMMU set-up failed (Operation not permitted)" in r.all
    assert "Probe PCI driver" not in r.all
    s = r.stats
    assert s["ioctls"].get("VFIO_GROUP_SET_CONTAINER", 0) == 0 and s["at_exit"]["clean"] is True


def test_v1_window_too_small_for_dpdk_memory_says_which_eal_option(run_emu):
    r = run_pci(run_emu, "--platform", "pseries-noddw", "--set", "tce32-size=4M", commands="quit\n")
    assert re.search(r"spapr: socket 0: DPDK asks for \d+ MiB of memory but the DMA window holds 4 MiB: "
                     r"start with -m 4 \(or --socket-mem\) or less", r.all), r.all
    assert r.stats["dma"]["faults"] == 0 and r.stats["at_exit"]["clean"] is True


def test_nothing_changes_off_spapr():
    """Off sPAPR (this x86 machine itself, outside the emulator: no VFIO sPAPR IOMMU; a
    type1 machine is the same), the plugin leaves bus/pci alone: no wrapper installed."""
    import subprocess
    env = dict(os.environ, LD_LIBRARY_PATH=f"{BUILD}/drivers:{BUILD}/test/pmd")
    r = subprocess.run([TESTPMD, "-l", "0-1", "-n", "1", "--file-prefix", f"spcix{os.getpid()}",
                        "-d", "librte_bus_spapr.so", "-a", "0000:ff:1f.7", "--log-level=bus.spapr:debug",
                        "--", "--total-num-mbufs=2048", "-i"], input="quit\n", capture_output=True, text=True,
                       env=env, timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "get this bus's sPAPR IOMMU set-up" not in out and SERVED not in out
    assert "Selected IOVA mode 'PA'" in out or "Selected IOVA mode 'VA'" in out
