#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Frames for the guest's NIC through QEMU's UDP socket network (run.sh --udp PORT): one
Ethernet frame a datagram to 127.0.0.1:PORT, RATE a second for SECONDS, each numbered;
prints how many it sent.

    udpgen.py PORT RATE SECONDS [DST_MAC]
"""
import socket
import struct
import sys
import time


def main():
    port, rate, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    dst = bytes.fromhex((sys.argv[4] if len(sys.argv) > 4 else "52:54:00:12:34:56").replace(":", ""))
    src = bytes.fromhex("020000000001")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        due = int((time.monotonic() - t0) * rate)
        while sent < due:
            frame = dst + src + b"\x88\xb5" + struct.pack("<Q", sent) + bytes(46)
            try:
                s.sendto(frame, ("127.0.0.1", port))
            except OSError:
                pass  # QEMU not listening yet
            sent += 1
        time.sleep(0.001)
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
