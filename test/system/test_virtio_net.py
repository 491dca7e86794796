# SPDX-License-Identifier: BSD-3-Clause
"""The emulated virtio-net device with its wire back-ends, driven by the test-only
virtio driver (test/integration/test_virtio_net.c) through the real VFIO calls."""
import json
import shutil
import struct
import subprocess

import pytest

from conftest import BUILD

VNET = "0000:00:01.0,model=virtio-net,"


@pytest.fixture(scope="module")
def driver():
    return str(BUILD / "test/integration/test_virtio_net")


def model(stats, addr="0000:00:01.0"):
    return next(m for m in stats["device_models"] if m["addr"] == addr)


def test_generator_to_checker_is_clean(run_emu, driver):
    r = run_emu([driver, "gen-check"], "--device", VNET + "backend=gen-check,count=1000,size=64-300,flows=4")
    assert r.rc == 0, r.out + r.err
    m = model(r.stats)
    wire = m["wire"]
    assert wire["generated"] == 1000
    assert wire["check"] == {"received": 1000, "before_first": 0, "lost": 0, "reordered": 0,
                             "duplicated": 0, "corrupt": 0, "foreign": 0, "clean": True}
    assert m["features"] != "0x0" or m["resets"] > 0
    rx, tx = m["queues"][0], m["queues"][1]
    assert rx["chains"] >= 1000 and tx["chains"] == 1000
    assert r.stats["dma"]["faults"] == 0
    assert r.stats["at_exit"]["clean"] is True


def test_loop_and_pair_move_frames(run_emu, driver):
    r = run_emu([driver, "loop"], "--device", VNET + "backend=loop")
    assert r.rc == 0, r.out + r.err
    assert model(r.stats)["wire"]["tx_frames"] == 50
    r = run_emu([driver, "pair"], "--device", VNET + "backend=pair,peer=0000:00:02.0",
                "--device", "0000:00:02.0,group=1,model=virtio-net,backend=pair,peer=0000:00:01.0")
    assert r.rc == 0, r.out + r.err
    assert model(r.stats, "0000:00:02.0")["wire"]["rx_frames"] == 1


def test_driver_bug_freezes_the_pe_and_is_counted(run_emu, driver):
    r = run_emu([driver, "fault"], "--platform", "powernv", "--device", VNET + "backend=gen")
    assert r.rc == 0, r.out + r.err
    assert r.stats["dma"]["faults"] == 1
    assert r.stats["eeh"]["freezes"] == 1
    assert model(r.stats)["queues"][0]["dma_faults"] == 1


def test_pcap_recorded_by_the_device(run_emu, driver, tmp_path):
    pcap = tmp_path / "tx.pcap"
    r = run_emu([driver, "pcap"], "--device", VNET + f"backend=pcap,pcap-out={pcap}")
    assert r.rc == 0, r.out + r.err
    data = pcap.read_bytes()
    magic, major, minor, _, _, snap, link = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, link) == (0xA1B2C3D4, 2, 4, 1)
    records, off = [], 24
    while off < len(data):
        _, _, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        records.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    assert [len(f) for f in records] == [100, 100, 100]
    assert records[0][:6] == b"\xff" * 6
    wire = model(r.stats)["wire"]
    assert wire["tx_recorded"] == 3 and wire["tx_dropped"] == 0, wire  # recorded is not dropped
    if shutil.which("tcpdump"):
        p = subprocess.run(["tcpdump", "-nr", str(pcap)], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        frames = [l for l in p.stdout.splitlines() if l and not l[0].isspace()]
        assert len(frames) == 3 and "ff:ff:ff:ff:ff:ff" in frames[0]


def test_pcap_replayed_into_rx(run_emu, driver, tmp_path):
    pcap = tmp_path / "in.pcap"
    frames = [bytes([0xff] * 6 + [2, 0, 0, 0, 0, 9]) + b"\x08\x00" + bytes(n) for n in (46, 100, 1000)]
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for f in frames:
        data += struct.pack("<IIII", 1, 0, len(f), len(f)) + f
    pcap.write_bytes(data)
    r = run_emu([driver, "rx3"], "--device", VNET + f"backend=pcap,pcap-in={pcap}")
    assert r.rc == 0, r.out + r.err
    assert r.out.split("\n")[:3] == [f"rx len {len(f)}" for f in frames]


@pytest.mark.skipif(shutil.which("ping") is None or shutil.which("ip") is None,
                    reason="needs iproute2 and iputils-ping (devtools/setup.sh installs them)")
def test_frame_from_the_tap_side_reaches_the_driver(spapr_emu, driver, tmp_path):
    """`ping` on the host sends an ARP request out of the TAP interface: the emulated
    NIC receives it and the driver finds it in its RX queue."""
    import os
    import time
    tap = f"spt{os.getpid() % 10000}"
    stats = tmp_path / "stats.json"
    proc = subprocess.Popen([spapr_emu, "run", "--stats", str(stats), "--device",
                             VNET + f"backend=tap,tap={tap}", "--", driver, "tap"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        subprocess.run(["ip", "addr", "add", "192.0.2.1/24", "dev", tap], check=True)
        subprocess.run(["ping", "-c", "2", "-W", "1", "-I", tap, "192.0.2.2"], capture_output=True)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    assert "ethertype 0x0806" in out
    assert json.loads(stats.read_text())["device_models"][0]["wire"]["rx_frames"] >= 1


def test_bad_device_options_exit_2(run_emu, driver):
    for opts, msg in ((VNET + "backend=tokenring", "unknown backend 'tokenring'"),
                      (VNET + "queues=99", "virtio-net option queues=99 is not valid"),
                      (VNET + "backend=pair", "backend=pair needs peer=ADDR"),
                      (VNET + "backend=pair,peer=0000:00:09.0", "peer=0000:00:09.0 is not a virtio-net device")):
        r = run_emu([driver, "loop"], "--device", opts)
        assert r.rc == 2, opts
        assert msg in r.err, r.err
