#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Scaling: how mapping costs grow with memory, stock DPDK and ours, on one plot.

    test/bench/bench_scaling.py [--presets powernv,pseries-ddw] [--memory 256M,...,8G]
                                [--out DIR] [--build DIR]

The runs of bench_mapping.py over a range of memory sizes (2 MiB hugepages; the pool
set to each size): ioctls, TCE table bytes, hypercalls and the time spent in the DMA
set-up ioctls as the emulated kernel served them. Writes scaling.json, scaling.csv and
scaling.png.
"""
import sys

import bench_mapping as bm
import benchlib as bl

COLUMNS = [("preset", "preset"), ("memory", "mem"), ("stack", "stack"), ("dma_ok", "DMA ok"), ("ioctls", "ioctls"),
           ("tces", "TCEs"), ("hypercalls", "hcalls"), ("table_peak", "table B"),
           ("setup_ioctls_ms", "in ioctls ms"), ("mapped_after_ms", "mapped@ms")]


def plot(plt, rows):
    metrics = [("setup_ioctls_ms", "time in DMA set-up ioctls (ms, emulated kernel)"), ("table_peak", "TCE table bytes"),
               ("ioctls", "ioctls"), ("hypercalls", "hypercalls (pSeries)")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.4 * len(metrics), 3.6), squeeze=False)
    styles = {"dpdk": "--", "dpdk-va": ":", "ours": "-"}
    colors = {("dpdk", "powernv"): "tab:red", ("dpdk-va", "powernv"): "tab:pink", ("ours", "powernv"): "tab:blue",
              ("dpdk", "pseries-ddw"): "tab:orange", ("dpdk-va", "pseries-ddw"): "tab:brown",
              ("ours", "pseries-ddw"): "tab:green"}
    for i, (key, title) in enumerate(metrics):
        ax = axes[0][i]
        for preset in sorted({r["preset"] for r in rows}):
            for stack in ("dpdk", "dpdk-va", "ours"):
                runs = [r for r in rows if r["preset"] == preset and r["stack"] == stack and r.get(key)]
                if not runs or (key == "hypercalls" and not preset.startswith("pseries")):
                    continue
                ok = [(r["memory_bytes"] >> 20, r[key]) for r in runs if r["dma_ok"]]
                bad = [(r["memory_bytes"] >> 20, r[key]) for r in runs if not r["dma_ok"]]
                if ok:
                    ax.plot([p[0] for p in ok], [p[1] for p in ok], "o" + styles[stack], label=f"{stack} {preset}",
                            color=colors.get((stack, preset)))
                if bad:
                    ax.plot([p[0] for p in bad], [p[1] for p in bad], "x", markersize=9, color=colors.get((stack, preset)),
                            label=f"{stack} {preset}: DMA set-up failed")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("DPDK memory (MiB)", fontsize=8)
        ax.legend(fontsize=6)
    return fig


def main():
    ap = bl.arg_parser(__doc__, "scaling")
    ap.add_argument("--presets", default="powernv,pseries-ddw")
    ap.add_argument("--memory", default="256M,512M,1G,2G,4G,8G")
    ap.add_argument("--stacks", default="dpdk,ours")
    ap.add_argument("--keep-pools", action="store_true", help="leave the hugepage pools as they are")
    a = ap.parse_args()
    build = bl.build_dir(a.build)
    rows = []
    for preset in a.presets.split(","):
        for mem in (bl.parse_size(m) for m in a.memory.split(",")):
            for stack in a.stacks.split(","):
                row = bm.measure(build, preset, mem, stack, seconds=0.2, exact_pool=not a.keep_pools)
                rows.append(row)
                print(f"  {preset} {bl.human(mem)} {stack}: {row.get('setup_ioctls_ms')} ms in ioctls,"
                      f" table {row.get('table_peak')} B", flush=True)
    bl.publish(a, rows, bl.meta(build), COLUMNS, plot)
    return 0

if __name__ == "__main__":
    sys.exit(main())
