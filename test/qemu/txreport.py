#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""What testpmd did in the guest (test/qemu/testpmd.sh): frames sent or received, frames
QEMU's network saw (the pcap), the hypercalls QEMU counted from EAL start to the device's
first DMA and between its first and its last DMA; on PowerNV, the kernel's TCE writes and
OPAL calls (kprobes) from EAL start to the port up, and its TCE writes while forwarding.

    txreport.py ours|dpdk|pci|pci-v1[/NIC] txonly|rxonly TESTPMD_OUTPUT RUN_DIR

ours, and stock bus/pci PMDs on our backend (pci, pci-v1), must probe and start; txonly: every frame it sent reaches QEMU's network; rxonly
(the host sends only once the port is up): it receives every frame QEMU's network
delivered; no hypercall while the device does DMA. Stock DPDK is reported as it is (on a
pSeries guest it cannot use the dynamic window: expected, not an error)."""
import re
import struct
import sys


MIN_FRAMES = 1000


def pcap_frames(path, mac, field=slice(6, 12)):
    """(frames, frames whose source, or with field=slice(0, 6) destination, is mac)"""
    n = ours = 0
    try:
        data = open(path, "rb").read()
    except OSError:
        return 0, 0
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        frame = data[off + 16:off + 16 + incl]
        n += 1
        ours += frame[field] == mac
        off += 16 + incl
    return n, ours


def hypercalls(run_dir):
    """(from EAL start to the first DMA, between the first and the last DMA)"""
    start = None
    for line in open(f"{run_dir}/console.log", errors="replace"):
        if "@@STEP eal-start" in line:
            start = float(line.split()[0])
    events = []
    for line in open(f"{run_dir}/trace.log", errors="replace"):
        m = re.match(r"\d+@(\d+\.\d+):spapr_iommu_(\w+)", line)
        if m:
            events.append((float(m.group(1)), m.group(2)))
    hc = {"pci_put", "pci_get", "pci_stuff", "pci_indirect", "put", "get"}
    dma = [t for t, e in events if e == "xlate" and (start is None or t >= start)]
    if not dma:
        return sum(1 for t, e in events if e in hc and (start is None or t >= start)), None, 0
    first, last = min(dma), max(dma)
    before = sum(1 for t, e in events if e in hc and start is not None and start <= t < first)
    during = sum(1 for t, e in events if e in hc and first < t < last)
    return before, during, len(dma)


PNV_TCE_WRITES = "pnv_ioda_tce_xchg_no_kill"
PNV_IOCTLS = "tce_iommu_ioctl"  # a container ioctl that reached the sPAPR TCE driver
PNV_OPAL = ("opal_pci_tce_kill", "opal_pci_map_pe_dma_window", "opal_pci_map_pe_dma_window_real")


def kprobe_work(out):
    """PowerNV (run.sh --kprobes; the guest script prints @@KPROF at EAL start, once the
    port is up, and while still forwarding): ({counter: count} from EAL start to the port
    up, TCE writes while forwarding); None without kprobes."""
    snaps = {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
             for m in re.finditer(r"@@KPROF (\S+) (.*)", out)}
    if "eal-start" not in snaps or "ready" not in snaps:
        return None
    a, b = snaps["eal-start"], snaps["ready"]
    setup = {k: b.get(k, 0) - a.get(k, 0) for k in (PNV_IOCTLS, PNV_TCE_WRITES) + PNV_OPAL}
    c = snaps.get("forwarding")
    return setup, (c.get(PNV_TCE_WRITES, 0) - b.get(PNV_TCE_WRITES, 0)) if c else None


def main():
    label, mode, out_path, run_dir = sys.argv[1:5]
    stack = label.split("/")[0]
    out = open(out_path, errors="replace").read()
    key = "TX-packets" if mode == "txonly" else "RX-packets"
    count = re.findall(r"Accumulated forward statistics.*?" + key + r":\s+(\d+)", out, re.S)
    count = int(count[-1]) if count else 0
    mac = re.search(r"Port 0: ([0-9A-F:]{17})", out)
    port_mac = bytes.fromhex(mac.group(1).replace(":", "")) if mac else b""
    frames, of_port = pcap_frames(f"{run_dir}/nic.pcap", port_mac, slice(6, 12) if mode == "txonly" else slice(0, 6))
    before, during, dmas = hypercalls(run_dir)
    pnv = kprobe_work(out)
    fail = re.search(r"Received unsupported start address 0x[0-9a-f]+|DMA remapping failed.*|"
                     r"cannot start the device.*|Fail to start port.*|No probed ethernet devices", out)
    what = "sent" if mode == "txonly" else "received"
    seen = "from" if mode == "txonly" else "for"
    if pnv:
        # PowerNV: no hypercalls, no QEMU trace; the kernel's own work, counted by kprobes
        setup, during = pnv
        work = (f"kernel work from EAL start to the port up: {setup[PNV_IOCTLS]} container ioctls,"
                f" {setup[PNV_TCE_WRITES]} TCE writes, OPAL: "
                + ", ".join(f"{setup[k]} {k[9:]}" for k in PNV_OPAL)
                + f"; TCE writes while forwarding: {during if during is not None else '-'}")
    else:
        work = (f"hypercalls from EAL start to the first DMA: {before}, between the first and the last DMA:"
                f" {during if during is not None else '-'} ({dmas} DMA translations)")
    print(f"  {label} {mode}: {'port 0 ' + mac.group(1) if mac else 'no port'}, {count} frames {what},"
          f" QEMU's network saw {of_port} frames {seen} the port ({frames} in all); " + work
          + (f"; {fail.group(0)}" if fail else ""))
    if stack == "dpdk" and not pnv:
        return 0
    if stack == "dpdk" and "--no-huge" in out and "Cannot register vaddr for IOMMU, error 22" in out:
        # checked as a fact: without hugepages EAL's memory segments are 4 KiB and its
        # sPAPR code registers them one by one; a 64 KiB-page kernel refuses (EINVAL)
        print(f"  {label} {mode}: stock EAL with --no-huge registers 4 KiB memory segments: the"
              " 64 KiB-page kernel refuses them (EINVAL), as expected")
        return 0
    # a second of forwarding moves tens of thousands of frames even under TCG on a loaded
    # host: fewer than this means the port stalled (or forwarding was cut short: the guest
    # script counts its seconds from the start of forwarding, since a SIGINT during a slow
    # start lets exactly one burst out)
    ok = count >= MIN_FRAMES and during == 0 and not fail
    if count < MIN_FRAMES:
        print(f"  {label} {mode}: only {count} frames: the port stalled (at least {MIN_FRAMES} expected)")
    if mode == "txonly":
        return 0 if ok and of_port == count else 1
    if stack == "pci":
        # stock net_virtio: QEMU queues what the guest has no buffer for, and drops beyond
        # its queue when the guest is starved (a loaded host): what arrived is checked
        # (DMA into its buffers through our TCEs), not that nothing was dropped
        return 0 if ok and 0 < count <= of_port else 1
    return 0 if ok and count == of_port else 1


if __name__ == "__main__":
    sys.exit(main())
