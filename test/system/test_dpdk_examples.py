# SPDX-License-Identifier: BSD-3-Clause
"""DPDK's own example applications, unmodified, forward through our PMD on the emulated
platform. They are built as a user of Debian's DPDK builds them (devtools/build-examples.sh:
the dpdk-doc package's sources, their own Makefile, pkg-config) and load our plugins with
-d, as testpmd does:
  - skeleton (basicfwd) and l2fwd between a generator port and a checker port: every
    frame arrives, in order, uncorrupted; l2fwd's MAC rewriting is seen on the wire;
  - l3fwd (LPM, its default configuration: RX checksum offloads, packet types from the
    PMD; one queue pair, one lcore) routes crafted IPv4 frames by its default table: to
    the port the table says, TTL decremented, header checksum still right, MACs
    rewritten; with two queue pairs it asks for RSS, refused as net_virtio refuses it;
  - l3fwd-power (interrupt-only mode) sleeps on its RX queues' interrupts between frames
    that come slowly, is woken by them, and forwards every frame."""
import os
import re
import signal
import struct
import shutil
import subprocess
import time

import pytest

from conftest import BUILD, TOP
from test_pmd_rx_offloads import csum, pcap_frames, write_pcap

PORTS = ("0000:00:01.0", "0000:00:02.0")
MACS = (bytes.fromhex("525400123456"), bytes.fromhex("525400123457"))
pytestmark = pytest.mark.skipif(not shutil.which("dpdk-testpmd"), reason="DPDK is not installed")


@pytest.fixture(scope="module")
def examples():
    """{app: binary}, built once into the build directory."""
    out = BUILD / "examples"
    apps = {"skeleton": "basicfwd", "l2fwd": "l2fwd", "l3fwd": "l3fwd", "l3fwd-power": "l3fwd-power"}
    if not all((out / a / "build" / b).exists() for a, b in apps.items()):
        r = subprocess.run([str(TOP / "devtools/build-examples.sh"), str(out), *apps], capture_output=True,
                           text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return {a: str(out / a / "build" / b) for a, b in apps.items()}


def eal(prefix):
    return ["-l", "0-1", "-n", "1", "--file-prefix", f"{prefix}{os.getpid()}", "--no-pci",
            "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so",
            "-a", f"bus=spapr,addr={PORTS[0]}", "-a", f"bus=spapr,addr={PORTS[1]}"]


def run_for(spapr_emu, tmp_path, devices, app_cmd, seconds):
    """The application under spapr-emu for `seconds`, then SIGINT (how these examples
    stop): (exit status, output, stats)."""
    import json
    stats = tmp_path / "stats.json"
    cmd = [spapr_emu, "run", "--stats", str(stats)]
    for d in devices:
        cmd += ["--device", d]
    env = dict(os.environ, LD_LIBRARY_PATH=f"{BUILD}/drivers")
    # line-buffered: a program ended by SIGINT keeps nothing in a stdio buffer
    proc = subprocess.Popen(cmd + ["--", "stdbuf", "-oL", *app_cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail("the application did not stop after SIGINT:\n" + out[-3000:])
    return proc.returncode, out, json.loads(stats.read_text()) if stats.exists() else None


def models(stats):
    return {m["addr"]: m for m in stats["device_models"]}


def gen_and_check(extra=""):
    """A modest rate and 1024-entry rings: the two device threads share the machine's two
    CPUs with the application's busy lcore, and a frame the application cannot send on
    a full ring is its drop, not the path's."""
    return [f"{PORTS[0]},group=0,model=virtio-net,backend=gen,rate=20000,flows=4,size=64-300,qsize=1024",
            f"{PORTS[1]},group=1,model=virtio-net,backend=check,qsize=1024{extra}"]


def assert_checked(stats, out, dropped_by_app=0):
    """Every frame arrived in order and intact, but those the application says it dropped."""
    c = models(stats)[PORTS[1]]["wire"]["check"]
    assert c["received"] > 1000, (c, out[-3000:])
    assert c["lost"] <= dropped_by_app and c["reordered"] == 0 and c["duplicated"] == 0 and c["corrupt"] == 0 \
        and c["foreign"] == 0, (c, dropped_by_app)
    assert stats["dma"]["faults"] == 0


def test_skeleton_forwards(spapr_emu, tmp_path, examples):
    rc, out, stats = run_for(spapr_emu, tmp_path, gen_and_check(), [examples["skeleton"], *eal("skel")], 3)
    assert rc == 128 + signal.SIGINT, out[-3000:]    # basicfwd has no handler: SIGINT ends it
    assert re.search(r"Core \d forwarding packets", out), out[-3000:]
    assert_checked(stats, out)


def test_l2fwd_forwards_and_rewrites_macs(spapr_emu, tmp_path, examples):
    wire = tmp_path / "port1.pcap"
    rc, out, stats = run_for(spapr_emu, tmp_path, gen_and_check(f",pcap-out={wire}"),
                             [examples["l2fwd"], *eal("l2fwd"), "--", "-p", "0x3", "-q", "2", "-T", "1"], 3)
    assert rc == 0 and "Bye..." in out, out[-3000:]
    # -q 2: one lcore polls both ports (the other would take a CPU the devices need)
    drops = [int(d) for d in re.findall(r"Total packets dropped:\s+(\d+)", out)]
    assert drops, out[-3000:]
    assert_checked(stats, out, dropped_by_app=drops[-1])
    f = pcap_frames(wire)[0]
    # l2fwd's MAC updating: destination 02:00:00:00:00:<port>, source the port's own
    assert f[:6] == bytes.fromhex("020000000001") and f[6:12] == MACS[1], f[:12].hex()


def ipv4_udp(dst, ttl=64, payload=bytes(range(26))):
    src = bytes([10, 0, 0, 1])
    udp = struct.pack("!HHHH", 1024, 9, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 7, 0, ttl, 17, 0, src, bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return MACS[0] + bytes.fromhex("020000000009") + b"\x08\x00" + hdr + udp


def test_l3fwd_routes_by_its_default_table(spapr_emu, tmp_path, examples):
    to1 = [ipv4_udp([198, 18, 1, n]) for n in range(1, 41)]        # 198.18.1.0/24 -> port 1
    to0 = [ipv4_udp([198, 18, 0, n]) for n in range(1, 11)]        # 198.18.0.0/24 -> port 0
    pin, out0, out1 = tmp_path / "in.pcap", tmp_path / "port0.pcap", tmp_path / "port1.pcap"
    write_pcap(pin, to1[:20] + to0 + to1[20:])
    # one lcore, one queue pair: l3fwd gives every lcore a TX queue on every port, and asks
    # for RSS unless the port has a single RX queue. A device without VIRTIO_NET_F_RSS
    # refuses RSS (-ENOTSUP), as net_virtio does: with two queue pairs l3fwd stops there.
    devices = [f"{PORTS[0]},group=0,model=virtio-net,queues=2,backend=pcap,pcap-in={pin}",
               f"{PORTS[1]},group=1,model=virtio-net,queues=2,backend=pcap"]
    rc, out, _ = run_for(spapr_emu, tmp_path, devices,
                         [examples["l3fwd"], *eal("l3fwd"), "--", "-p", "0x3", "--config", "(0,0,1),(1,0,1)"], 2)
    assert rc != 0 and "Cannot configure device: err=-95, port=0" in out, out[-3000:]
    assert out.count("RSS asked (RX multi-queue mode 1)") == 1, out[-3000:]
    devices = [f"{PORTS[0]},group=0,model=virtio-net,backend=pcap,pcap-in={pin},pcap-out={out0}",
               f"{PORTS[1]},group=1,model=virtio-net,backend=pcap,pcap-out={out1}"]
    one_lcore = ["0" if a == "0-1" else a for a in eal("l3fwd")]
    rc, out, stats = run_for(spapr_emu, tmp_path, devices,
                             [examples["l3fwd"], *one_lcore, "--", "-p", "0x3", "--config", "(0,0,0),(1,0,0)"], 4)
    assert rc == 0 and "Bye..." in out, out[-3000:]
    assert "doesn't match" not in out and "--parse-ptype" not in out, out[-3000:]
    assert stats["dma"]["faults"] == 0
    for port, sent, wire in ((1, to1, out1), (0, to0, out0)):
        got = pcap_frames(wire)
        assert len(got) == len(sent), (port, len(got), out[-3000:])
        for f in got:
            ip = f[14:34]
            assert f[:6] == bytes.fromhex(f"02000000000{port}") and f[6:12] == MACS[port], f[:12].hex()
            assert ip[8] == 63 and csum(ip) == 0, ip.hex()          # TTL 64 -> 63, checksum updated
            assert ip[16:19] == bytes([198, 18, port])


def test_l3fwd_power_sleeps_on_rx_interrupts(spapr_emu, tmp_path, examples):
    """RX queue interrupts (intr_conf.rxq): the device's MSI-X vector of each RX queue
    signals an eventfd (VFIO_DEVICE_SET_IRQS through the bus) that l3fwd-power waits on
    when its queues are idle. 20 frames at 20 frames/s: between them it sleeps, each
    wakes it (its log says so: a 10 ms timeout alone would wake it silently)."""
    sent = [ipv4_udp([2, 1, 1, n]) for n in range(1, 21)]      # 2.1.1.0/24 -> port 1 (its LPM table)
    pin, out1 = tmp_path / "in.pcap", tmp_path / "port1.pcap"
    write_pcap(pin, sent)
    devices = [f"{PORTS[0]},group=0,model=virtio-net,queues=2,backend=pcap,pcap-in={pin},rate=20",
               f"{PORTS[1]},group=1,model=virtio-net,queues=2,backend=pcap,pcap-out={out1}"]
    rc, out, stats = run_for(spapr_emu, tmp_path, devices,
                             [examples["l3fwd-power"], *eal("l3fwdp"), "--log-level=user1:info", "--",
                              "-p", "0x3", "--config", "(0,0,1),(1,0,1)", "--interrupt-only"], 4)
    assert "interrupt-only mode" in out, out[-3000:]
    wakeups = re.findall(r"waked up from rx interrupt on port 0 queue 0", out)
    assert len(wakeups) >= 10, out[-3000:]
    assert len(pcap_frames(out1)) == len(sent), out[-3000:]
    rxq0 = next(q for q in models(stats)[PORTS[0]]["queues"] if q["index"] == 0)
    assert rxq0["irqs"] >= len(wakeups), rxq0
    assert stats["dma"]["faults"] == 0
