#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Mapping: what making DPDK's memory DMA-able costs, stock DPDK against ours, on the
emulated POWER platforms, in one run on one machine.

    test/bench/bench_mapping.py [--presets pseries-ddw,pseries-noddw,powernv]
                                [--memory 256M,1G,4G] [--out DIR] [--build DIR]

For each preset and amount of memory (2 MiB hugepages, testpmd -m), Debian's stock
dpdk-testpmd runs twice on the same emulated virtio-net device (a traffic generator):
  dpdk     DPDK's own bus/pci, EAL VFIO (its sPAPR code) and net_virtio
  dpdk-va  the same with --iova-mode=va
  pci      DPDK's own bus/pci and net_virtio on our backend (only -d librte_bus_spapr.so
           added; net_virtio then stops at its registers on the emulator: no frames)
  ours     the spapr bus plugin and our virtio-net PMD
and the emulator counts what the kernel and the hypervisor did: ioctls, TCEs written,
hypercalls (those the kernel still owes when the process's fds close included), locked
and TCE-table bytes at their peak, when the last map happened after the program
started, and when the device delivered its first frame. Prints a table and writes
mapping.json, mapping.csv and mapping.png into the results folder.
"""
import re
import sys

import benchlib as bl

MAP_KINDS = ("VFIO_IOMMU_MAP_DMA", "VFIO_IOMMU_UNMAP_DMA", "VFIO_IOMMU_SPAPR_REGISTER_MEMORY",
             "VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY", "VFIO_IOMMU_SPAPR_TCE_CREATE", "VFIO_IOMMU_SPAPR_TCE_REMOVE",
             "VFIO_IOMMU_ENABLE", "VFIO_IOMMU_DISABLE")
DMA_FAILURES = (r"Received unsupported start address 0x[0-9a-f]+", r"failed to select IOMMU type",
                r"Could not create new DMA window", r"DMA remapping failed", r"Cannot (?:register|map) vaddr.*",
                r"spapr: cannot (?:register|map|create) .*", r"RLIMIT_MEMLOCK.*", r"DMA window holds .*",
                r"cannot be mapped.*", r"the platform's only DMA window .*")


def first_match(patterns, text):
    for p in patterns:
        m = re.search(p, text)
        if m:
            return m.group(0)
    return None


def measure(build, preset, memory, stack, seconds=0.5, page=bl.HUGEPAGE, exact_pool=True):
    """One testpmd session; a row of results. stack: dpdk, dpdk-va (--iova-mode=va), pci or
    ours. The hugepage pool is set to exactly the memory of the run, as a user
    provisions it (our window is sized by it); page: the hugepage size. exact_pool=False
    leaves the pools as they are (a run that must not churn them)."""
    if exact_pool:
        bl.set_hugepages(memory, page)
        for other in bl.hugepage_sizes():  # DPDK takes every size it finds: only this one
            if other != page:
                bl.set_hugepages(0, other)
    eal, env = bl.stack_args(stack.split("-")[0], build, [bl.GEN])
    eal += ["-m", str(memory >> 20)] + (["--iova-mode=va"] if stack.endswith("-va") else [])
    mount = bl.huge_dir(page)
    if mount:
        eal += ["--huge-dir", mount]
    dev = [(bl.GEN, 0, "model=virtio-net,backend=gen,rate=100000,qsize=256")]
    rc, out, st, wall = bl.run_session(build, preset, dev, eal, ["--total-num-mbufs=4096", "--rxd=256", "--txd=256"],
                                       ["set fwd rxonly", "start", f"sleep {seconds}", "stop"], env)
    row = {"preset": preset, "memory": bl.human(memory), "memory_bytes": memory, "hugepage": bl.human(page),
           "stack": stack, "rc": rc, "wall_s": round(wall, 3)}
    iova = re.search(r"Selected IOVA mode '(\w+)'", out)
    row["iova"] = iova.group(1) if iova else None
    rx = re.findall(r"Accumulated forward statistics.*?RX-packets:\s+(\d+)", out, re.S)
    row["ports"] = len(set(re.findall(r"^Port (\d+): [0-9A-F:]{17}", out, re.M)))
    row["rx_packets"] = int(rx[-1]) if rx else 0
    failure = first_match(DMA_FAILURES, out)
    row["dma_failure"] = failure
    if stack in ("ours", "pci"):
        need = re.search(r"(\d+) bytes of locked memory needed", out)
        row["memlock_reported"] = int(need.group(1)) if need else None
    else:
        row["memlock_reported"] = None  # stock DPDK checks nothing before it maps
    pmd_fail = re.search(r"Failed to map pci BAR\d|Failed to init virtio device|cannot start the device.*", out)
    row["pmd_failure"] = pmd_fail.group(0) if pmd_fail else None
    if st:
        io = st["ioctls"]
        row["ioctls"] = io["total"]
        row["map_ioctls"] = sum(io.get(k, 0) for k in MAP_KINDS)
        row["register_ioctls"] = io.get("VFIO_IOMMU_SPAPR_REGISTER_MEMORY", 0)
        row["map_dma_ioctls"] = io.get("VFIO_IOMMU_MAP_DMA", 0)
        row["tces"] = st["tces"]["mapped"]
        row["hypercalls"] = st["hypercalls"]["total"] + st["at_exit"].get("release_hypercalls_owed", 0)
        row["locked_peak"] = st["memory"]["locked_peak_bytes"]
        row["table_peak"] = st["memory"]["table_peak_bytes"]
        row["windows"] = st["windows"]["created"]
        t = st.get("timing", {})
        row["mapped_after_ms"] = round(t.get("last_map_after_start_ns", 0) / 1e6, 1)
        row["setup_ioctls_ms"] = round(t.get("setup_ioctls_ns", 0) / 1e6, 2)
        first = [m.get("first_rx_after_start_ns", -1) for m in st.get("device_models", [])]
        row["first_rx_ms"] = round(first[0] / 1e6, 1) if first and first[0] >= 0 else None
        row["clean_exit"] = st["at_exit"]["clean"]
    row["dma_ok"] = bool(st) and failure is None and row.get("map_dma_ioctls", 0) > 0
    return row


COLUMNS = [("preset", "preset"), ("memory", "mem"), ("hugepage", "page"), ("stack", "stack"), ("iova", "iova"), ("dma_ok", "DMA ok"),
           ("rx_packets", "rx"), ("ioctls", "ioctls"), ("map_ioctls", "map-ioctls"), ("tces", "TCEs"),
           ("hypercalls", "hcalls"), ("locked_peak", "locked"), ("memlock_reported", "memlock said"),
           ("table_peak", "table B"), ("setup_ioctls_ms", "in ioctls ms"), ("mapped_after_ms", "mapped@ms"),
           ("first_rx_ms", "1st rx@ms")]


def plot(plt, rows):
    metrics = [("hypercalls", "hypercalls (incl. owed at exit)"), ("ioctls", "ioctls"),
               ("table_peak", "TCE table bytes (peak)"), ("locked_peak", "locked bytes (peak)")]
    presets = sorted({r["preset"] for r in rows})
    fig, axes = plt.subplots(len(metrics), len(presets), figsize=(4.2 * len(presets), 3.2 * len(metrics)),
                             squeeze=False)
    for j, preset in enumerate(presets):
        for i, (key, title) in enumerate(metrics):
            ax = axes[i][j]
            for stack, color in (("dpdk", "tab:red"), ("dpdk-va", "tab:orange"), ("pci", "tab:green"),
                                 ("ours", "tab:blue")):
                runs = [r for r in rows if r["preset"] == preset and r["stack"] == stack and r.get(key)]
                ok = [(r["memory_bytes"] >> 20, r[key]) for r in runs if r["dma_ok"]]
                bad = [(r["memory_bytes"] >> 20, r[key]) for r in runs if not r["dma_ok"]]
                if ok:
                    ax.plot([p[0] for p in ok], [p[1] for p in ok], "o-", color=color, label=stack)
                if bad:
                    ax.plot([p[0] for p in bad], [p[1] for p in bad], "x", color=color, markersize=9,
                            label=f"{stack}: DMA set-up failed")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{preset}: {title}" + (" (none on PowerNV)" if key == "hypercalls" and
                                                   preset == "powernv" else ""), fontsize=9)
            ax.set_xlabel("DPDK memory (MiB of 2 MiB pages)", fontsize=8)
            ax.legend(fontsize=7)
    return fig


def main():
    ap = bl.arg_parser(__doc__, "mapping")
    ap.add_argument("--presets", default="pseries-ddw,pseries-noddw,powernv")
    ap.add_argument("--memory", default="256M,1G,4G", help="testpmd -m sizes")
    ap.add_argument("--hugepages", default="2M", help="hugepage sizes, e.g. 2M,1G (1G where the machine has them)")
    ap.add_argument("--stacks", default="dpdk,dpdk-va,pci,ours")
    ap.add_argument("--keep-pools", action="store_true",
                    help="leave the hugepage pools as they are (the window is then sized by them)")
    a = ap.parse_args()
    build = bl.build_dir(a.build)
    sizes = [bl.parse_size(m) for m in a.memory.split(",")]
    rows = []
    for preset in a.presets.split(","):
        for page in (bl.parse_size(h) for h in a.hugepages.split(",")):
          for mem in sizes:
            if mem % page:
                continue
            for stack in a.stacks.split(","):
                row = measure(build, preset, mem, stack, page=page, exact_pool=not a.keep_pools)
                rows.append(row)
                print(f"  {preset} {bl.human(mem)} of {bl.human(page)} pages {stack}: ioctls {row.get('ioctls')}, hypercalls"
                      f" {row.get('hypercalls')}, DMA {'ok' if row['dma_ok'] else 'FAILED: ' + str(row['dma_failure'])}",
                      flush=True)
    bl.publish(a, rows, bl.meta(build), COLUMNS, plot)
    return 0

if __name__ == "__main__":
    sys.exit(main())
