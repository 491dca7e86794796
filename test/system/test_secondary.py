# SPDX-License-Identifier: BSD-3-Clause
"""Secondary processes against a primary whose ports are on our bus: stock dpdk-testpmd
forwards (generator -> checker) while Debian's dpdk-proc-info and dpdk-pdump attach to
its ports, and a second testpmd, a secondary, forwards on queues of its own. A
secondary opens no VFIO file (the primary owns container, group and device): the
primary hands it each device's fd over EAL's multi-process channel, it reads the
primary's shared state, and pdump captures through the primary's callbacks. Each runs
under its own `spapr-emu run` with the same devices (the same machine description: the
emulated sysfs the bus scans); the VFIO files it is given reach the primary's
emulated kernel (doc/emulator.md)."""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, eal_driver, telemetry

TESTPMD = shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd"
pytestmark = pytest.mark.skipif(not (os.path.exists(TESTPMD) and shutil.which("dpdk-proc-info")
                                     and shutil.which("dpdk-pdump")),
                                reason="Debian's dpdk package (testpmd, proc-info, pdump) needed")

GEN, CHK = "0000:00:01.0", "0000:00:02.0"
DEVICES = ["--device", f"{GEN},group=0,model=virtio-net,backend=gen,rate=20000,poll-us=20",
           "--device", f"{CHK},group=1,model=virtio-net,backend=check,poll-us=20"]
# Debian's testpmd links librte_mempool_dpaa, its pdump does not: mempool ops must be
# registered in the same order in every process (DPDK's rule), so pdump loads it first
_DPAA = eal_driver("librte_mempool_dpaa.so")
PDUMP_OPS = ["-d", _DPAA] if _DPAA else []


def eal(prefix, stack="ours"):
    """ours: the spapr bus and our PMD; pci: DPDK's bus/pci and net_virtio on our backend;
    eal: the same on EAL's own VFIO code (SPAPR_BUS_PCI=eal, on PowerNV where it works)."""
    if stack in ("pci", "eal"):
        return ["-d", "librte_bus_spapr.so", "-a", GEN, "-a", CHK, "--file-prefix", prefix]
    return ["--no-pci", "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so",
            "-a", f"bus=spapr,addr={GEN}", "-a", f"bus=spapr,addr={CHK}", "--file-prefix", prefix]


class Primary:
    """testpmd forwarding under spapr-emu run, until stop()."""

    def __init__(self, tmp_path, prefix, devices=DEVICES, extra=(), stack="ours"):
        self.stats = tmp_path / "primary.json"
        self.proc = subprocess.Popen(
            [str(BUILD / "app/spapr-emu/spapr-emu"), "run", "--stats", str(self.stats), *devices, "--",
             TESTPMD, "-l", "0-1", "-n", "1", *eal(prefix, stack), "--", "--forward-mode=io", "-a",
             "--total-num-mbufs=8192", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env(stack))
        sock = f"/var/run/dpdk/{prefix}/mp_socket"
        for _ in range(200):
            if os.path.exists(sock) or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        time.sleep(1.5)  # ports started, forwarding
        assert self.proc.poll() is None, self.proc.communicate()[0][-3000:]

    def stop(self):
        out, _ = self.proc.communicate("\n", timeout=60)
        return self.proc.returncode, out, json.loads(self.stats.read_text())


def env(stack="ours"):
    return dict(os.environ, LD_LIBRARY_PATH=f"{BUILD}/drivers", **({"SPAPR_BUS_PCI": "eal"} if stack == "eal" else {}))


def secondary(cmd, timeout=60, devices=DEVICES, stack="ours", **kw):
    return subprocess.run([str(BUILD / "app/spapr-emu/spapr-emu"), "run", *devices, "--", *cmd],
                          capture_output=True, text=True, timeout=timeout, env=env(stack), **kw)


def proc_info(prefix, *what):
    return secondary(["dpdk-proc-info", *eal(prefix), "--", *(what or ("--stats", "--show-port"))])


def test_proc_info_reads_the_primarys_ports(tmp_path):
    prefix = f"sec{os.getpid()}"
    p = Primary(tmp_path, prefix)
    try:
        first = proc_info(prefix)
        time.sleep(0.5)
        second = proc_info(prefix)
        xstats = proc_info(prefix, "--xstats")
    finally:
        rc, out, st = p.stop()
    for r in (first, second):
        text = r.stdout + r.stderr
        assert r.returncode == 0, text
        # the primary's two ports, nothing allocated in the secondary
        assert re.findall(r"NIC statistics for port (\d+)", text) == ["0", "1"], text
        assert "===== Port 2 =====" not in text
        assert f"-- driver net_spapr_virtio device {GEN}" in text and "Link up at 10 Gbps" in text, text
    x = xstats.stdout + xstats.stderr
    assert xstats.returncode == 0 and "eeh_frozen_events: 0" in x and "tx_q0_device_errors: 0" in x, x
    rx = [int(re.search(r"NIC statistics for port 0.*?RX-packets:\s+(\d+)", r.stdout, re.S).group(1))
          for r in (first, second)]
    assert 0 < rx[0] < rx[1], rx                          # live counters, growing
    assert rc == 0, out[-2000:]
    assert st["at_exit"]["clean"] is True and st["dma"]["faults"] == 0
    assert st["ioctls"]["VFIO_GROUP_GET_DEVICE_FD"] == 2  # the secondaries opened nothing here


# pdump with bus/pci devices: the secondary probes them as in the forwarding test below;
# the capture is the primary's callbacks, the same for both stacks
@pytest.mark.parametrize("stack", ["ours"])
def test_pdump_captures_and_a_killed_secondary_leaves_the_primary_unharmed(tmp_path, stack):
    prefix = f"pdump{os.getpid()}"
    # dpdk-pdump keeps at most 63 characters of a device path: a short one
    short = tempfile.mkdtemp(prefix="pd.", dir="/tmp")
    pcap = pathlib.Path(short) / "rx.pcap"
    p = Primary(tmp_path, prefix, stack=stack)
    try:
        cap = secondary(["timeout", "-s", "INT", "2", "dpdk-pdump", "--lcores=2@1", "-n", "1", *PDUMP_OPS,
                         *eal(prefix, stack), "--", "--pdump", f"port=0,queue=*,rx-dev={pcap}"], stack=stack)
        # another capture, killed with SIGKILL in the middle
        killed = subprocess.Popen([str(BUILD / "app/spapr-emu/spapr-emu"), "run", *DEVICES, "--", "dpdk-pdump",
                                   "--lcores=2@1", "-n", "1", *PDUMP_OPS, *eal(prefix, stack), "--", "--pdump",
                                   f"port=0,queue=*,rx-dev={short}/killed.pcap"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env(stack))
        time.sleep(1.5)
        with open(f"/proc/{killed.pid}/task/{killed.pid}/children") as f:
            os.kill(int(f.read().split()[0]), signal.SIGKILL)
        killed.communicate(timeout=30)
        time.sleep(0.5)
        # the primary still forwards and answers (asked through telemetry: the killed
        # pdump's pcap port stays in DPDK's shared port list, and a later secondary
        # crashes in stock net_pcap when it cleans that port up)
        before = telemetry(prefix, ["/ethdev/stats,0"])["/ethdev/stats"]["ipackets"]
        time.sleep(0.5)
        after = telemetry(prefix, ["/ethdev/stats,0"])["/ethdev/stats"]["ipackets"]
    finally:
        rc, out, st = p.stop()
    text = cap.stdout + cap.stderr
    m = re.search(r"packets dequeued:\s+(\d+)", text)
    assert m and int(m.group(1)) > 1000, text[-3000:]
    assert pcap.exists(), text[-3000:]
    data = pcap.read_bytes()
    shutil.rmtree(short)
    assert len(data) > 24 + 1000 * (16 + 64), len(data)   # pcap header, then the frames
    assert killed.returncode == 128 + signal.SIGKILL
    assert 0 < before < after, (before, after)
    assert rc == 0 and "Bye..." in out, out[-3000:]
    assert "portal" not in out                            # mempool ops in the same order
    c = st["device_models"][1]["wire"]["check"]
    assert c["received"] > 0 and not (c["reordered"] or c["duplicated"] or c["corrupt"]), c
    assert st["at_exit"]["clean"] is True and st["dma"]["faults"] == 0


def test_outside_the_platform_a_secondary_is_told_not_killed(tmp_path):
    """proc-info run outside the primary's emulated platform: the bus finds no such
    functions and says why; EAL still starts (it panicked before), proc-info ends with
    its own "No Ethernet ports"."""
    prefix = f"out{os.getpid()}"
    p = Primary(tmp_path, prefix)
    try:
        r = subprocess.run(["dpdk-proc-info", *eal(prefix), "--", "--stats"], capture_output=True, text=True,
                           timeout=60, env=env())
    finally:
        rc, out, st = p.stop()
    text = r.stdout + r.stderr
    assert r.returncode != 134 and "PANIC" not in text, text   # proc-info's own "No Ethernet ports"
    assert f"spapr: secondary process: {GEN} is not a vfio-pci function on this machine: is the primary on" \
           " another one (an emulated platform: run this process under the same spapr-emu options)?" in text
    assert rc == 0 and st["at_exit"]["clean"] is True


# two queue pairs: testpmd's multi-process mode gives queue 0 to the primary (--proc-id
# 0) and queue 1 to the secondary (--proc-id 1)
DEVICES_2Q = ["--device", f"{GEN},group=0,model=virtio-net,backend=gen,rate=20000,poll-us=20,queues=2,flows=8",
              "--device", f"{CHK},group=1,model=virtio-net,backend=check,poll-us=20,queues=2"]
MP_OPTS = ["--rxq=2", "--txq=2", "--num-procs=2"]


def _secondary_testpmd(prefix, proc_id=1, mode="io", stack="ours", devices=DEVICES_2Q):
    # lcores of its own (2 and 3, on the same two CPUs): each lcore has its own cache in
    # every mempool, so two processes must not run the same lcore ids (DPDK's rule)
    return subprocess.Popen(
        [str(BUILD / "app/spapr-emu/spapr-emu"), "run", *devices, "--", TESTPMD, "--lcores=2@0,3@1", "-n", "1",
         *eal(prefix, stack), "--proc-type=secondary", "--", f"--forward-mode={mode}", "-a", *MP_OPTS,
         f"--proc-id={proc_id}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env(stack))


def _tx_dropped(out):
    """What testpmd's forwarding dropped itself (TX ring full: io mode does not retry),
    from its last accumulated statistics."""
    m = re.findall(r"Accumulated forward statistics.*?TX-dropped:\s*(\d+)", out, re.S)
    assert m, out[-3000:]
    return int(m[-1])


def _queues(st, addr):
    m = next(d for d in st["device_models"] if d["addr"] == addr)
    return {q["index"]: q["chains"] for q in m["queues"]}


@pytest.mark.parametrize("stack", ["ours", "pci", "eal"])
def test_a_secondary_forwards_on_its_own_queues(tmp_path, stack):
    """Stock testpmd as a secondary (--proc-type=secondary --num-procs=2 --proc-id=1)
    receives and sends on queue pair 1 of the primary's ports, the primary on pair 0:
    the device sees both pairs used, the checker every frame in order. With our PMD
    (the primary hands the device fds over) and with DPDK's bus/pci and net_virtio on
    our backend (EAL's VFIO code in the secondary takes the primary's groups, this bus
    answering EAL's requests); and with EAL's own VFIO code on PowerNV (the bus loaded
    but told to leave bus/pci alone: the emulator's files shared as a kernel's are)."""
    prefix = f"mpq{os.getpid()}"
    devices = ["--platform", "powernv", *DEVICES_2Q] if stack == "eal" else DEVICES_2Q
    p = Primary(tmp_path, prefix, devices, [*MP_OPTS, "--proc-id=0"], stack=stack)
    try:
        sec = _secondary_testpmd(prefix, stack=stack, devices=devices)
        time.sleep(3)
        assert sec.poll() is None, sec.communicate()[0][-3000:]
        info = secondary(["dpdk-proc-info", *eal(prefix, stack), "--", "--stats"], devices=devices, stack=stack)
        sout, _ = sec.communicate("\n", timeout=60)
    finally:
        rc, out, st = p.stop()
    assert sec.returncode == 0 and "Bye..." in sout, sout[-3000:]
    assert "packet I/O from this secondary process" not in sout, sout[-3000:]
    text = info.stdout + info.stderr
    assert info.returncode == 0 and re.findall(r"NIC statistics for port (\d+)", text) == ["0", "1"], text
    gen, chk = _queues(st, GEN), _queues(st, CHK)
    # the device's queues: 0/1 are pair 0 (RX, TX), 2/3 pair 1; the generator's RX
    # rings were filled by each process's refills, the checker's TX rings by each's sends
    assert gen[0] > 1000 and gen[2] > 1000, gen
    assert chk[1] > 1000 and chk[3] > 1000, chk
    c = st["device_models"][1]["wire"]["check"]
    # every frame the checker missed is one a testpmd counted as dropped (a full TX ring
    # on a loaded machine), none other; nothing reordered, duplicated or corrupt
    assert c["lost"] == _tx_dropped(sout) + _tx_dropped(out), (str(c), sout[-2000:], out[-2000:])
    assert not (c["reordered"] or c["duplicated"] or c["corrupt"]), c
    assert rc == 0 and st["at_exit"]["clean"] is True, out[-2000:]
    # (EAL's one container for every group faults the other device's DMA when the first
    # group leaves it at teardown: test_mmio.py, stock EAL alone)
    assert st["dma"]["faults"] == 0 or stack == "eal", st["dma"]
    # one emulated kernel for all: with our PMD the primary's device fds are handed over;
    # EAL's VFIO code takes a device fd from the group in each process (3 processes)
    assert st["ioctls"]["VFIO_GROUP_GET_DEVICE_FD"] == (2 if stack == "ours" else 6), st["ioctls"]
    # the primary's set-up, nobody else's: this bus's container per group, or EAL's one
    assert st["ioctls"]["VFIO_GROUP_SET_CONTAINER"] == 2, st["ioctls"]


@pytest.mark.parametrize("stack", ["ours", "pci"])
def test_a_secondary_killed_while_sending_leaves_the_primary_forwarding(tmp_path, stack):
    """SIGKILL to a secondary sending on queue pair 1 (txonly): the primary forwards on
    pair 0 throughout, the device files the secondary held are released with it (nothing
    left open at the end). The generator's frames all go to pair 0 (one flow): the
    emulated wire holds a frame for a full queue rather than drop it, so frames for a
    dead process's queue would hold up the primary's too."""
    prefix = f"mpk{os.getpid()}"
    devices = ["--device", f"{GEN},group=0,model=virtio-net,backend=gen,rate=20000,poll-us=20,queues=2,flows=1",
               DEVICES_2Q[2], DEVICES_2Q[3]]
    p = Primary(tmp_path, prefix, devices, [*MP_OPTS, "--proc-id=0"], stack=stack)
    try:
        sec = _secondary_testpmd(prefix, mode="txonly", stack=stack)
        time.sleep(3)
        with open(f"/proc/{sec.pid}/task/{sec.pid}/children") as f:
            os.kill(int(f.read().split()[0]), signal.SIGKILL)
        sec.communicate(timeout=30)
        before = telemetry(prefix, ["/ethdev/stats,0"])["/ethdev/stats"]["ipackets"]
        time.sleep(1)
        after = telemetry(prefix, ["/ethdev/stats,0"])["/ethdev/stats"]["ipackets"]
    finally:
        rc, out, st = p.stop()
    assert sec.returncode == 128 + signal.SIGKILL
    assert 0 < before < after, (before, after)
    assert _queues(st, CHK)[3] > 1000, _queues(st, CHK)   # the secondary's frames, on pair 1
    c = st["device_models"][1]["wire"]["check"]
    assert c["foreign"] > 1000, c                         # (txonly's: not the generator's)
    assert c["received"] > 1000 and c["lost"] == _tx_dropped(out), (str(c), out[-3000:])
    assert not (c["reordered"] or c["duplicated"] or c["corrupt"]), c
    assert rc == 0 and st["at_exit"]["clean"] is True and st["at_exit"]["open_devices"] == 0, out[-2000:]
