# SPDX-License-Identifier: BSD-3-Clause
"""Device strings as applications give them: stock testpmd's `device detach` and `port
attach` with each syntax of this bus (no crash: ethdev's iterator read a NULL driver
layer once), a bare PCI address reaching DPDK's bus/pci whatever order the two buses
registered in, and the descriptor counts an application asks for answered as DPDK's
net_virtio answers them (Open vSwitch asks for 2,048)."""
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, TOP, eal_driver

_spec = importlib.util.spec_from_file_location("emu_forward", TOP / "devtools/emu-forward.py")
fwd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fwd)

pytestmark = pytest.mark.skipif(not os.path.exists(fwd.TESTPMD), reason="dpdk-testpmd is not installed")

GEN, CHK = fwd.GEN, fwd.CHK


def clean(res):
    c = res["check"]
    assert res["rc"] == 0 and not res["hung"], (res["hung"], res["output"][-3000:])
    assert res["clean_exit"] and res["dma_faults"] == 0, res["stats"]["at_exit"]
    assert not (c["reordered"] or c["duplicated"] or c["corrupt"] or c["foreign"]), c
    return c


# (how testpmd detaches the checker's device, how it attaches it again)
SYNTAXES = {
    "global": (f"device detach bus=spapr,addr={CHK}", f"port attach bus=spapr,addr={CHK}"),
    "global-class": (f"device detach bus=spapr,addr={CHK}/class=eth", f"port attach bus=spapr,addr={CHK}/class=eth"),
    # testpmd detaches by the name EAL's legacy parser keeps ("spapr:ADDR", no device
    # has it): the port, then
    "legacy": ("port detach 1", f"port attach spapr:{CHK}"),
}


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_testpmd_detach_and_attach_each_syntax(syntax):
    detach, attach = SYNTAXES[syntax]
    cycle = ["port stop 1", detach, attach, "port start 1", "start", "sleep 0.3", "stop"]
    res = fwd.forward(BUILD, script=["set fwd io", "start", "sleep 0.3", "stop"] + cycle * 2, rate=20000,
                      extra_testpmd=("--disable-link-check",))
    out = res["output"]
    c = clean(res)
    assert c["received"] > 3000, c
    assert out.count("Port 1 is attached") == 2, out[-3000:]
    if detach.startswith("device detach"):
        # stock ethdev cannot iterate this bus's devices (it names the buses it can):
        # its own line says so, and testpmd detaches the device by name
        assert out.count("Bus spapr does not support iterating.") >= 2, out[-3000:]
        assert out.count(f"Device {detach.split()[2]} is detached") == 2, out[-3000:]
    assert res["stats"]["windows"]["created"] == res["stats"]["windows"]["removed"]


def _bus_pci_plugin():
    return eal_driver("librte_bus_pci.so")


def _dev_probe(eal, steps, libdir=None):
    """dev-probe (EAL and ethdev only: bus/pci is a plugin) under the emulator: the
    generator's and the checker's devices. libdir: where our PMD's dependency on the bus
    plugin is found (the one the process loads: one copy of the bus)."""
    with tempfile.TemporaryDirectory(prefix="spapr-devprobe.") as tmp:
        stats = pathlib.Path(tmp) / "stats.json"
        cmd = [str(BUILD / "app/spapr-emu/spapr-emu"), "run", "--platform", "pseries-ddw", "--stats", str(stats),
               "--device", f"{GEN},group=0,model=virtio-net,backend=gen",
               "--device", f"{CHK},group=1,model=virtio-net,backend=check",
               "--", str(BUILD / "test/progs/dev-probe"), "-l", "0", "-n", "1",
               "--file-prefix", f"devprobe{os.getpid()}", *eal, "--", *steps]
        env = dict(os.environ, LD_LIBRARY_PATH=str(libdir or BUILD / "drivers"))
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        st = json.loads(stats.read_text()) if stats.exists() else None
        return p.returncode, p.stdout + p.stderr, st


def _plugin_dir(tmp):
    """A driver directory holding bus/pci, net_virtio and this project's two plugins:
    EAL loads a directory's plugins in the order readdir gives them, as it does its own
    driver directory where an installed package puts ours. EAL refuses a plugin whose
    real path has a world-writable directory in it: ours are copied there (the build may
    be under /tmp), DPDK's linked to their own."""
    d = pathlib.Path(tmp) / "pmds"
    d.mkdir()
    pci = pathlib.Path(_bus_pci_plugin())
    for src in [pci, pci.parent / "librte_net_virtio.so"]:
        (d / src.name).symlink_to(src.resolve())
    for src in [BUILD / "drivers/librte_bus_spapr.so", BUILD / "drivers/librte_net_spapr_virtio.so"]:
        shutil.copy(src.resolve(), d / src.name)
    os.chmod(tmp, 0o755)
    return d


ORDERS = ["ours-first", "pci-first", "directory"]


@pytest.mark.skipif(_bus_pci_plugin() is None, reason="DPDK's bus/pci plugin is not installed")
@pytest.mark.parametrize("order", ORDERS)
def test_bare_pci_address_reaches_bus_pci_in_every_load_order(order):
    """A bare address is bus/pci's (stock net_virtio, on this bus's IOMMU set-up); one
    named bus=spapr,addr= or spapr:ADDR is this bus's (its PMD): at EAL init and hot-plugged,
    with bus/pci registered before this bus, after it, and both read from one directory."""
    tmp = tempfile.mkdtemp(prefix="spapr-pmds.", dir="/run")   # root's, not world-writable
    try:
        if order == "ours-first":   # -d plugins load before EAL's driver directory (bus/pci's)
            eal = ["-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so"]
        elif order == "pci-first":
            eal = ["-d", _bus_pci_plugin(), "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so"]
        else:
            libdir = _plugin_dir(tmp)
            eal = ["-d", str(libdir)]
        eal += ["-a", f"bus=spapr,addr={GEN}", "-a", CHK, "--log-level=bus.spapr:info"]
        steps = ["ports", "probe", f"bus=spapr,addr={CHK}", "remove", CHK, "remove", f"bus=spapr,addr={GEN}", "ports",
                 "probe", CHK, "probe", f"bus=spapr,addr={GEN}", "ports",
                 "remove", f"bus=spapr,addr={GEN}", "probe", f"spapr:{GEN}", "ports",
                 # removed from this bus, the same address given bare is bus/pci's
                 "remove", f"bus=spapr,addr={GEN}", "probe", GEN, "ports"]
        rc, out, st = _dev_probe(eal, steps, libdir if order == "directory" else None)
    finally:
        subprocess.run(["rm", "-rf", tmp])
    assert rc == 0, out[-3000:]
    ports = re.findall(r"^ports port \d+: bus=(\S+) device=(\S+) driver=(\S+)$", out, re.M)
    want = {( "spapr", GEN, "net_spapr_virtio"), ("pci", CHK, "net_virtio")}
    # at init, after both hot-plugs, after the legacy re-plug: each device on its bus
    assert set(ports[0:2]) == want and set(ports[2:4]) == want and set(ports[4:6]) == want, out[-3000:]
    assert set(ports[6:8]) == {("pci", GEN, "net_virtio"), ("pci", CHK, "net_virtio")}, out[-3000:]
    assert len(ports) == 8, out[-3000:]
    assert re.search(rf"^probe {CHK}: 0 ", out, re.M) and re.search(rf"^probe spapr:{GEN}: 0 ", out, re.M), out
    # bus/pci's port, asked of this bus: refused before anything is set up
    assert re.search(rf"^probe bus=spapr,addr={CHK}: -16 ", out, re.M), out[-3000:]
    assert f"spapr: {CHK}: DPDK's bus/pci drives it already (net_virtio): remove it there first" in out
    assert "Segmentation fault" not in out
    assert st is not None and st["at_exit"]["clean"] is True, st and st["at_exit"]


def test_bare_pci_address_reaches_bus_pci_linked_into_testpmd():
    """Stock testpmd links bus/pci (it registers before any plugin): a bare address is
    its, at EAL init and hot-plugged, next to this bus's own port."""
    # bus/pci probes first (it registered first): port 0 is the checker's device, 1 ours
    script = ["show port summary all", "port stop 0", "port detach 0", f"port attach {CHK}",
              "port stop 1", "port detach 1", f"port attach spapr:{GEN}", "show port summary all"]
    # one port of each stack: the generator's named for this bus, the checker's bare
    fwd.STACKS.setdefault("mixed", ["-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so",
                                    "-a", f"bus=spapr,addr={GEN}", "-a", CHK])
    res = fwd.forward(BUILD, script=script, extra_testpmd=("--disable-link-check",), stack="mixed")
    out = res["output"]
    assert res["rc"] == 0 and not res["hung"], out[-3000:]
    rows = re.findall(r"^(\d+)\s+\S+\s+(\S+)\s+(net_\w+)\s", out, re.M)
    assert rows[:2] == [("0", CHK, "net_virtio"), ("1", GEN, "net_spapr_virtio")], out[-3000:]
    # hot-plugged again: the bare address to bus/pci's net_virtio, spapr:ADDR to ours
    assert rows[2:] == [("0", CHK, "net_virtio"), ("1", GEN, "net_spapr_virtio")], out[-3000:]
    assert out.count("Port 0 is attached") == out.count("Port 1 is attached") == 1, out[-3000:]
    assert res["clean_exit"], res["stats"]["at_exit"]


DESC = [16, 32, 100, 256, 2048, 32768, 40000]


def _descriptor_answers(stack):
    """For each count: whether port start took it, and the ring each queue got."""
    script = []
    for n in DESC:
        script += ["port stop all", f"port config all rxd {n}", f"port config all txd {n}", "port start all",
                   "show rxq info 0 0", "show txq info 0 0"]
    res = fwd.forward(BUILD, script=script, stack=stack, ring=256, extra_testpmd=("--disable-link-check",))
    assert res["rc"] == 0 and not res["hung"], res["output"][-3000:]
    out = res["output"]
    answers = []
    for chunk in out.split("port config all rxd ")[1:]:
        n = int(chunk.split()[0])
        refused = bool(re.search(r"Invalid value for nb_[rt]x_desc|Fail to configure port|"
                                 r"Fail: input [rt]xd \(\d+\) can't be", chunk))
        rings = [int(x) for x in re.findall(r"Number of [RT]XDs: (\d+)", chunk)]
        answers.append((n, refused, rings))
    return answers, out


def test_descriptor_counts_answered_as_net_virtio():
    """The counts stock net_virtio takes (32 to 32,768, any value, a larger one than the
    device's ring clamped to it) ours takes; the ones it refuses ours refuses."""
    ours, out_ours = _descriptor_answers("ours")
    pci, out_pci = _descriptor_answers("pci")
    assert [a[0] for a in ours] == DESC and [a[0] for a in pci] == DESC, (out_ours[-2000:], out_pci[-2000:])
    assert [a[1] for a in ours] == [a[1] for a in pci], (ours, pci)
    assert {a[0]: a[1] for a in ours} == {16: True, 32: False, 100: False, 256: False, 2048: False,
                                          32768: False, 40000: True}, ours
    for n, refused, rings in ours:   # net_virtio has no queue-info op: it always takes the device's ring
        if not refused:
            # ours: the device's ring for as many or more; fewer get a smaller ring (a
            # power of two), which net_virtio does not offer (doc/pmd.md)
            want = 256 if n >= 256 else 1 << (n.bit_length() - 1)
            assert rings == [want, want], (n, rings)


def _eal_has_no_auto_probing():
    """EAL's -A/--no-auto-probing (DPDK 26.07 on), as this testpmd's EAL lists it."""
    try:
        r = subprocess.run([fwd.TESTPMD, "-h"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--no-auto-probing" in r.stdout + r.stderr


@pytest.mark.skipif(not _eal_has_no_auto_probing(), reason="EAL has no -A (DPDK 26.07 on)")
def test_no_auto_probing_probes_only_what_is_named():
    """-A: neither bus probes a function nobody named (without it each is probed: by
    bus/pci from EAL's driver directory where it is there, else by this bus); a named one
    and a hot-plugged one this bus does."""
    plugins = ["-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so"]
    rc, out, st = _dev_probe(plugins, ["ports"])
    assert rc == 0, out[-3000:]
    assert set(re.findall(r"^ports port \d+: bus=\S+ device=(\S+) ", out, re.M)) == {GEN, CHK}, out[-3000:]
    rc, out, st = _dev_probe(["-A", *plugins], ["ports", "probe", f"bus=spapr,addr={GEN}", "ports"])
    assert rc == 0, out[-3000:]
    ports = re.findall(r"^ports port \d+: bus=(\S+) device=(\S+) driver=(\S+)$", out, re.M)
    assert ports == [("spapr", GEN, "net_spapr_virtio")], out[-3000:]
    assert re.search(rf"^probe bus=spapr,addr={GEN}: 0 ", out, re.M), out[-3000:]
    rc, out, st = _dev_probe(["-A", *plugins, "-a", f"bus=spapr,addr={CHK}"], ["ports"])
    assert rc == 0 and re.findall(r"^ports port \d+: bus=spapr device=(\S+) ", out, re.M) == [CHK], out[-3000:]
    assert st is not None and st["at_exit"]["clean"] is True, st and st["at_exit"]
