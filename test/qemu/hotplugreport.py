#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""What testpmd did in the guest with two NICs and a hot-plug cycle of the second
(test/qemu/guest/testpmd-hotplug.sh): frames each port sent before and after the cycle
against what QEMU's network saw from it (one pcap per NIC), how often the bus set a
bus/pci device up, hypercalls from EAL start to the first DMA.

    hotplugreport.py TESTPMD_OUTPUT RUN_DIR

Both ports must send in both phases, and every frame sent must reach QEMU's network."""
import re
import sys

from txreport import hypercalls, pcap_frames

SERVED = "DPDK's bus/pci drives it, on this bus's IOMMU set-up"


def main():
    out_path, run_dir = sys.argv[1:3]
    out = open(out_path, errors="replace").read()
    phases = [dict((int(p), int(n)) for p, n in
                   re.findall(r"Forward statistics for port (\d+)\s+-+\s+RX-packets:.*?TX-packets:\s+(\d+)", stop, re.S))
              for stop in out.split("Telling cores to stop")[1:]]
    macs = dict((int(p), bytes.fromhex(m.replace(":", ""))) for p, m in re.findall(r"Port (\d): ([0-9A-F:]{17})", out))
    served = out.count(SERVED)
    before, _, dmas = hypercalls(run_dir)
    ok = len(phases) == 2 and served == 3 and len(macs) == 2
    lines = []
    for port, pcap in ((0, "nic.pcap"), (1, "nic2.pcap")):
        sent = [ph.get(port, 0) for ph in phases]
        seen = pcap_frames(f"{run_dir}/{pcap}", macs.get(port, b""))[1]
        ok = ok and all(n > 0 for n in sent) and sum(sent) == seen
        lines.append(f"port {port}: {'+'.join(map(str, sent)) or 'nothing'} frames sent, QEMU's network saw {seen}")
    fail = re.search(r"Received unsupported start address.*|spapr: .*(cannot|failed).*|Fail to start port.*", out)
    print(f"  pci 2 NICs + hot-plug: {'; '.join(lines)}; the bus set a bus/pci device up {served} times;"
          f" hypercalls from EAL start to the first DMA: {before} ({dmas} DMA translations)"
          + (f"; {fail.group(0)}" if fail else ""))
    return 0 if ok and not fail else 1


if __name__ == "__main__":
    sys.exit(main())
