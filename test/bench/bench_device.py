#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The emulated virtio-net device's own speed, without DPDK: device-bench (a driver that
costs next to nothing: buffers posted once, every used entry straight back, no data
touched) keeps one queue pair of one device busy, so that its one device thread is the
bottleneck; the thread and the driver are pinned to different CPUs.

    test/bench/bench_device.py [--sizes 64,512,1518] [--seconds 2] [--platform P]
                               [--device-cpu N] [--driver-cpu N] [--out DIR] [--build DIR]

For each frame size, three directions and two back-ends:
  rx    the device only receives (backend=replay: prepared frames, or gen: the numbered,
        checksummed generator frames made one by one)
  tx    the device only sends (backend=sink: every buffer read through the IOMMU, kept
        nowhere)
  both  receive and send at once (replay)
Mpps each way, the device thread's CPU time per frame moved, in cycles at the CPU's
clock (/proc/cpuinfo). Writes device.json, device.csv and device.png.
"""
import json
import pathlib
import re
import subprocess
import sys

import benchlib as bl

COLUMNS = [("size", "frame"), ("direction", "direction"), ("backend", "back-end"), ("rx_mpps", "RX Mpps"),
           ("tx_mpps", "TX Mpps"), ("moved_mpps", "moved Mpps"), ("cycles_per_frame", "device cycles/frame")]
CASES = [("rx", "replay"), ("rx", "gen"), ("tx", "sink"), ("both", "replay")]


def cpu_mhz():
    m = re.search(r"cpu MHz\s*:\s*([\d.]+)", pathlib.Path("/proc/cpuinfo").read_text())
    return float(m.group(1)) if m else None


def measure(build, platform, size, direction, backend, seconds, device_cpu, driver_cpu):
    dev = (f"0000:00:01.0,model=virtio-net,backend={backend},qsize=1024,poll-us=0,cpus={device_cpu}"
           + (f",size={size}" if backend in ("replay", "gen") else "") + (",mtu=9000" if size > 1514 else ""))
    tx_size = size if direction in ("tx", "both") else 0
    cmd = [str(build / "app/spapr-emu/spapr-emu"), "run", "--platform", platform, "--device", dev, "--",
           str(build / "test/bench/device-bench"), str(seconds), str(tx_size), str(driver_cpu)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in out.stdout.splitlines() if l.startswith("{")), None)
    if out.returncode != 0 or line is None:
        return {"size": size, "direction": direction, "backend": backend, "error": (out.stderr or out.stdout)[-300:]}
    r = json.loads(line)
    moved = r["rx_frames"] + r["tx_frames"]
    mhz = cpu_mhz()
    return {"size": size, "direction": direction, "backend": backend, "platform": platform,
            "rx_mpps": round(r["rx_mpps"], 3), "tx_mpps": round(r["tx_mpps"], 3),
            "moved_mpps": round(moved / r["seconds"] / 1e6, 3),
            "cycles_per_frame": round(r["device_thread_cpu_ns"] * mhz / 1e3 / moved) if moved and mhz else None,
            "device_thread_cpu_ns": r["device_thread_cpu_ns"], "seconds": r["seconds"]}


def plot(plt, rows):
    fig, ax = plt.subplots(figsize=(7, 3.6))
    cases = [(d, b) for d, b in CASES]
    sizes = sorted({r["size"] for r in rows})
    width = 0.8 / len(cases)
    for i, (d, b) in enumerate(cases):
        ys = [next((r.get("moved_mpps") or 0 for r in rows if r["size"] == s and r["direction"] == d
                    and r["backend"] == b), 0) for s in sizes]
        ax.bar([k + i * width for k in range(len(sizes))], ys, width, label=f"{d} ({b})")
    ax.axhline(10, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(sizes))])
    ax.set_xticklabels([f"{s} B" for s in sizes])
    ax.set_ylabel("frames moved by one device thread (Mpps)")
    ax.set_title("emulated virtio-net, one device thread (dotted: 10 Mpps)", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def main():
    ap = bl.arg_parser(__doc__, "device")
    ap.add_argument("--sizes", default="64,512,1518")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--platform", default="pseries-ddw")
    ap.add_argument("--device-cpu", type=int, default=1)
    ap.add_argument("--driver-cpu", type=int, default=0)
    a = ap.parse_args()
    build = bl.build_dir(a.build)
    rows = []
    for size in (int(s) for s in a.sizes.split(",")):
        for direction, backend in CASES:
            row = measure(build, a.platform, size, direction, backend, a.seconds, a.device_cpu, a.driver_cpu)
            rows.append(row)
            print(f"  {size} B {direction} ({backend}): {row.get('moved_mpps', row.get('error'))} Mpps moved,"
                  f" {row.get('cycles_per_frame')} cycles/frame", flush=True)
    bl.publish(a, rows, dict(bl.meta(build), cpu_mhz=cpu_mhz()), COLUMNS, plot)
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
