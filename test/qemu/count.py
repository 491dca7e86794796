#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Hypercalls the guest made, from QEMU's trace (run.sh's trace.log), per segment of the
console log: segments start at the harness's @@ lines and at lines the program prints
as '@@STEP <name>' (host time stamps on both sides place each trace event).

    test/qemu/count.py OUT_DIR [--json]

Counted: H_PUT_TCE (writes, split into map and clear), H_GET_TCE, H_PUT_TCE_INDIRECT,
H_STUFF_TCE, and the RTAS dynamic-window calls.
"""
import collections
import json
import re
import sys

EVENTS = {"pci_get": "H_GET_TCE", "get": "H_GET_TCE", "pci_indirect": "H_PUT_TCE_INDIRECT",
          "pci_stuff": "H_STUFF_TCE", "ddw_query": "RTAS query", "ddw_create": "RTAS create",
          "ddw_remove": "RTAS remove", "ddw_reset": "RTAS reset"}


def segments(console):
    marks = []
    for line in open(console, errors="replace"):
        m = re.match(r"(\d+\.\d+) (.*)$", line.rstrip("\n"))
        if m and m.group(2).startswith("@@"):
            name = m.group(2)[2:].strip()
            marks.append((float(m.group(1)), name[5:] if name.startswith("STEP ") else name.split()[0]))
    return marks


def count(out_dir):
    marks = segments(f"{out_dir}/console.log")
    counts = collections.OrderedDict((n, collections.Counter()) for _, n in marks)
    counts.setdefault("boot", collections.Counter())
    i = -1
    for line in open(f"{out_dir}/trace.log", errors="replace"):
        m = re.match(r"\d+@(\d+\.\d+):spapr_iommu_(\w+) (.*)$", line)
        if not m:
            continue
        t, ev, args = float(m.group(1)), m.group(2), m.group(3)
        while i + 1 < len(marks) and marks[i + 1][0] <= t:
            i += 1
        seg = counts[marks[i][1]] if i >= 0 else counts["boot"]
        if ev in ("pci_put", "put"):
            tce = re.search(r"tce=(0x[0-9a-f]+)", args)
            seg["H_PUT_TCE (clear)" if tce and int(tce.group(1), 16) == 0 else "H_PUT_TCE (map)"] += 1
        elif ev in EVENTS:
            seg[EVENTS[ev]] += 1
    return counts


def main():
    counts = count(sys.argv[1])
    if "--json" in sys.argv:
        print(json.dumps(counts, indent=1))
        return 0
    for name, c in counts.items():
        if c:
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
