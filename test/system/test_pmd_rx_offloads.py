# SPDX-License-Identifier: BSD-3-Clause
"""RX offloads of net/spapr_virtio, done in software (the device gives no checksum or
packet-type information): stock testpmd receives crafted frames (pcap replayed into the
port) with good and bad IPv4, TCP and UDP checksums, over IPv4 and IPv6, and prints each
frame's packet type and checksum flags (verbose rxonly); they must be what the frame is."""
import os
import re
import struct
import tempfile

import pytest

from conftest import BUILD

TESTPMD = "/usr/bin/dpdk-testpmd"
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


def run_rxonly(run_emu, tmp_path, eal_rx_cksum=True, ptypes=True):
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
        return run_emu(cmd, "--device", f"0000:00:01.0,model=virtio-net,backend=pcap,pcap-in={pcap}",
                       env=env, stdin=stdin)


def received(out):
    """[(hw ptype, {checksum flags})] of each frame testpmd printed (it prints no hw ptype
    for a packet type of 0: UNKNOWN here)."""
    res = []
    for m in re.finditer(r"  src=[^\n]*?(?: - hw ptype: ([A-Z0-9_ ]+?)\s+- sw ptype[^\n]*)?\n\s+ol_flags: ([A-Z0-9_ ]+)", out):
        flags = {f.replace("RTE_MBUF_F_RX_", "").replace("PKT_RX_", "") for f in m.group(2).split()}
        res.append(((m.group(1) or "UNKNOWN").strip(), {f for f in flags if f.startswith(("IP_CKSUM", "L4_CKSUM"))}))
    return res


def test_packet_types_and_checksums_of_received_frames(run_emu, tmp_path):
    r = run_rxonly(run_emu, tmp_path)
    out = r.out + r.err
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
