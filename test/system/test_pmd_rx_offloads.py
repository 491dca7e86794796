# SPDX-License-Identifier: BSD-3-Clause
"""Checksum offloads and packet types of net/spapr_virtio. RX: stock testpmd receives
crafted frames (pcap replayed into the port) with good and bad IPv4, TCP and UDP
checksums, over IPv4 and IPv6, and prints each frame's packet type and checksum flags
(verbose rxonly); they must be what the frame is, whether the device validated the TCP/UDP
checksums it could (GUEST_CSUM: DATA_VALID) or offers nothing (csum=off: all in
software). TX: testpmd's csum engine asks the port for TCP/UDP checksum offload; the
device completes the checksums (CSUM) and what leaves it is right."""
import os
import re
import shutil
import struct
import tempfile

import pytest

from conftest import BUILD

TESTPMD = shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd"
pytestmark = pytest.mark.skipif(not os.path.exists(TESTPMD), reason="dpdk-testpmd is not installed")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def l4(proto, pseudo, payload, bad):
    """A TCP (6) or UDP (17) segment with its checksum over pseudo(length) + segment (made
    wrong when bad)."""
    if proto == 17:
        seg = struct.pack("!HHHH", 1000, 2000, 8 + len(payload), 0) + payload
    else:
        seg = struct.pack("!HHIIBBHHH", 1000, 2000, 1, 0, 5 << 4, 0x10, 1024, 0, 0) + payload
    c = csum(pseudo(len(seg)) + seg) ^ (0x5555 if bad else 0)
    off = 6 if proto == 17 else 16
    return seg[:off] + struct.pack("!H", c) + seg[off + 2:]


ETH = bytes.fromhex("525400123456") + bytes.fromhex("020000000009")
PAYLOAD = bytes(range(40))


def frame_v4(proto, bad_l4=False, bad_ip=False, zero_udp=False):
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    seg = l4(proto, lambda n: src + dst + struct.pack("!xBH", proto, n), PAYLOAD, bad_l4)
    if zero_udp:
        seg = seg[:6] + b"\0\0" + seg[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0, 64, proto, 0, src, dst)
    c = csum(hdr) ^ (0x0f0f if bad_ip else 0)
    return ETH + b"\x08\x00" + hdr[:10] + struct.pack("!H", c) + hdr[12:] + seg


def frame_v6(proto, bad_l4=False):
    src, dst = bytes(15) + b"\1", bytes(15) + b"\2"
    seg = l4(proto, lambda n: src + dst + struct.pack("!I3xB", n, proto), PAYLOAD, bad_l4)
    return ETH + b"\x86\xdd" + struct.pack("!IHBB16s16s", 6 << 28, len(seg), proto, 64, src, dst) + seg


# (frame, the hw ptype testpmd must print, the checksum flags it must print)
FRAMES = [
    (frame_v4(17), "L2_ETHER L3_IPV4 L4_UDP", {"IP_CKSUM_GOOD", "L4_CKSUM_GOOD"}),
    (frame_v4(17, bad_l4=True), "L2_ETHER L3_IPV4 L4_UDP", {"IP_CKSUM_GOOD", "L4_CKSUM_BAD"}),
    (frame_v4(17, bad_ip=True), "L2_ETHER L3_IPV4 L4_UDP", {"IP_CKSUM_BAD", "L4_CKSUM_GOOD"}),
    (frame_v4(17, zero_udp=True), "L2_ETHER L3_IPV4 L4_UDP", {"IP_CKSUM_GOOD", "L4_CKSUM_GOOD"}),
    (frame_v4(6), "L2_ETHER L3_IPV4 L4_TCP", {"IP_CKSUM_GOOD", "L4_CKSUM_GOOD"}),
    (frame_v4(6, bad_l4=True), "L2_ETHER L3_IPV4 L4_TCP", {"IP_CKSUM_GOOD", "L4_CKSUM_BAD"}),
    (frame_v6(17), "L2_ETHER L3_IPV6 L4_UDP", {"IP_CKSUM_UNKNOWN", "L4_CKSUM_GOOD"}),
    (frame_v6(6, bad_l4=True), "L2_ETHER L3_IPV6 L4_TCP", {"IP_CKSUM_UNKNOWN", "L4_CKSUM_BAD"}),
    (ETH + b"\x08\x06" + bytes(46), "L2_ETHER", {"IP_CKSUM_UNKNOWN", "L4_CKSUM_UNKNOWN"}),
]


def write_pcap(path, frames):
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for f in frames:
        data += struct.pack("<IIII", 1, 0, len(f), len(f)) + f
    path.write_bytes(data)


def run_rxonly(run_emu, tmp_path, eal_rx_cksum=True, ptypes=True, device_csum="on"):
    pcap = tmp_path / "in.pcap"
    write_pcap(pcap, [f for f, _, _ in FRAMES])
    commands = (("set port 0 ptype_mask 0xffff\n" if ptypes else "") +
                "set fwd rxonly\nset verbose 1\nstart\n")
    env = dict(os.environ, LD_LIBRARY_PATH=f"{BUILD}/drivers")
    cmd = [TESTPMD, "-l", "0-1", "-n", "1", "--no-pci", "--file-prefix", f"rxo{os.getpid()}",
           "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so", "-a", "bus=spapr,addr=0000:00:01.0",
           "--", "--total-num-mbufs=2048", "-i"] + (["--enable-rx-cksum"] if eal_rx_cksum else [])
    with tempfile.TemporaryFile("w+") as stdin:
        # the frames arrive at once; stdin is read line by line: give them time, then stop
        stdin.write(commands + "".join("show port stats 0\n" for _ in range(50)) + "stop\nquit\n")
        stdin.seek(0)
        return run_emu(cmd, "--device", f"0000:00:01.0,model=virtio-net,backend=pcap,pcap-in={pcap},csum={device_csum}",
                       env=env, stdin=stdin)


def received(out):
    """[(hw ptype, {checksum flags})] of each frame testpmd printed (it prints no hw ptype
    for a packet type of 0: UNKNOWN here)."""
    res = []
    for m in re.finditer(r"  src=[^\n]*?(?: - hw ptype: ([A-Z0-9_ ]+?)\s+- sw ptype[^\n]*)?\n\s+ol_flags: ([A-Z0-9_ ]+)", out):
        flags = {f.replace("RTE_MBUF_F_RX_", "").replace("PKT_RX_", "") for f in m.group(2).split()}
        res.append(((m.group(1) or "UNKNOWN").strip(), {f for f in flags if f.startswith(("IP_CKSUM", "L4_CKSUM"))}))
    return res


# frames whose TCP/UDP checksum is right: those the device marks DATA_VALID
L4_VALID = sum(1 for _, _, flags in FRAMES if "L4_CKSUM_GOOD" in flags)


@pytest.mark.parametrize("device_csum", ["on", "off"])
def test_packet_types_and_checksums_of_received_frames(run_emu, tmp_path, device_csum):
    r = run_rxonly(run_emu, tmp_path, device_csum=device_csum)
    out = r.out + r.err
    dev = r.stats["device_models"][0]
    # the device validated what it could, or (csum=off) nothing: the flags are the same
    assert dev["rx_csum_valid"] == (L4_VALID if device_csum == "on" else 0), dev
    assert r.rc == 0, out[-3000:]
    got = received(out)
    assert len(got) == len(FRAMES), out[-4000:]
    for (frame, ptype, flags), (hw, fl) in zip(FRAMES, got):
        assert hw == ptype, (frame.hex(), hw, out[-3000:])
        assert fl == flags, (frame.hex(), fl)


def test_nothing_computed_unless_asked(run_emu, tmp_path):
    """Without --enable-rx-cksum and with testpmd's own ptype clearing, the PMD parses
    nothing: packet type UNKNOWN, checksum flags UNKNOWN."""
    r = run_rxonly(run_emu, tmp_path, eal_rx_cksum=False, ptypes=False)
    out = r.out + r.err
    got = received(out)
    assert len(got) == len(FRAMES), out[-4000:]
    assert all(hw == "UNKNOWN" and fl == {"IP_CKSUM_UNKNOWN", "L4_CKSUM_UNKNOWN"} for hw, fl in got), got


def l4_ok(frame):
    """Is the frame's TCP/UDP checksum right (IPv4 or IPv6, no options)?"""
    if frame[12:14] == b"\x08\x00":
        ip, proto = frame[14:34], frame[23]
        seg = frame[34:14 + struct.unpack("!H", ip[2:4])[0]]
        pseudo = ip[12:20] + struct.pack("!xBH", proto, len(seg))
    else:
        proto = frame[20]
        seg = frame[54:54 + struct.unpack("!H", frame[18:20])[0]]
        pseudo = frame[22:54] + struct.pack("!I3xB", len(seg), proto)
    return csum(pseudo + seg) == 0


def pcap_frames(path):
    data, off, frames = path.read_bytes(), 24, []
    while off + 16 <= len(data):
        incl = struct.unpack_from("<IIII", data, off)[2]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def forward_pcap(run_emu, tmp_path, frames, prefix, testpmd_args, commands):
    """Stock testpmd on two ports: `frames` replayed into port 0 (kept for `start`:
    --no-flush-rx), what port 1 sends recorded; the testpmd `commands`, then time for
    the frames, stop, quit. (run, output, the frames port 1 sent)."""
    pin, pout = tmp_path / "in.pcap", tmp_path / "out.pcap"
    write_pcap(pin, frames)
    env = dict(os.environ, LD_LIBRARY_PATH=f"{BUILD}/drivers")
    cmd = [TESTPMD, "-l", "0-1", "-n", "1", "--no-pci", "--file-prefix", f"{prefix}{os.getpid()}",
           "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so", "-a", "bus=spapr,addr=0000:00:01.0",
           "-a", "bus=spapr,addr=0000:00:02.0", "--", "--total-num-mbufs=2048", "-i", "--no-flush-rx",
           *testpmd_args]
    with tempfile.TemporaryFile("w+") as stdin:
        stdin.write(commands + "".join("show port stats 1\n" for _ in range(50)) + "stop\nquit\n")
        stdin.seek(0)
        r = run_emu(cmd, "--device", f"0000:00:01.0,group=0,model=virtio-net,backend=pcap,pcap-in={pin}",
                    "--device", f"0000:00:02.0,group=1,model=virtio-net,backend=pcap,pcap-out={pout}",
                    env=env, stdin=stdin)
    out = r.out + r.err
    assert r.rc == 0, out[-3000:]
    return r, out, pcap_frames(pout)


def test_tx_checksums_completed_by_the_device(run_emu, tmp_path):
    """testpmd's csum engine with TCP and UDP checksum offload on: frames that
    arrive with wrong TCP/UDP checksums leave port 1 with right ones, computed by the
    device (VIRTIO_NET_F_CSUM: the PMD asks with NEEDS_CSUM, the application having left
    the pseudo-header sum), over IPv4 and IPv6."""
    sent = [frame_v4(17, bad_l4=True), frame_v4(6, bad_l4=True), frame_v6(17, bad_l4=True), frame_v6(6, bad_l4=True)]
    # UDP_CKSUM | TCP_CKSUM from the start (what `csum set udp|tcp hw` asks, without the
    # port stop that would throw the frames away)
    r, out, got = forward_pcap(run_emu, tmp_path, sent, "txo", ["--tx-offloads=0xc"],
                               "show port 1 tx_offload configuration\nset fwd csum\nstart\n")
    assert re.search(r"Tx Offloading Configuration of port 1 :\s+Port : UDP_CKSUM TCP_CKSUM", out), out[-3000:]
    assert len(got) == len(sent), out[-3000:]
    assert not any(l4_ok(f) for f in sent)
    assert all(l4_ok(f) for f in got), [f.hex() for f in got]
    dev = {m["addr"]: m for m in r.stats["device_models"]}["0000:00:02.0"]
    assert dev["tx_csum_completed"] == len(sent) and dev["tx_csum_bad_request"] == 0, dev


def test_vlan_strip_and_insert(run_emu, tmp_path):
    """In software: RX strips the outer VLAN tag (--enable-hw-vlan-strip: tag 5 to
    vlan_tci, RX_VLAN_STRIPPED), TX inserts one (`tx_vlan set 1 7`: every frame leaves
    port 1 tagged 7, those that came tagged and those that did not)."""
    plain = frame_v4(17)
    tagged = plain[:12] + b"\x81\x00\x00\x05" + plain[12:]
    # port 0 keeps running (its frames are in its ring); port 1 stops for its TX tag;
    # mac forwarding: the engine that asks the port to tag what it sends (io sends as is)
    r, out, got = forward_pcap(run_emu, tmp_path, [tagged, plain, tagged], "vlan", ["--enable-hw-vlan-strip"],
                               "port stop 1\ntx_vlan set 1 7\nport start 1\nset fwd mac\nset verbose 1\nstart\n")
    assert len(got) == 3, out[-3000:]
    for f in got:
        assert f[12:16] == b"\x81\x00\x00\x07" and f[16:] == plain[12:], f.hex()
    # stripped on RX: no frame leaves with tag 5 inside tag 7 (above), and testpmd printed
    # the tag and flag of the mbufs (its lines can interleave with others: not counted)
    assert "VLAN tci=0x5" in out and "RX_VLAN_STRIPPED" in out, out[-4000:]
