#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Print a table of spapr-emu --stats files: what the emulated kernel and hypervisor did."""
import json
import sys


def row(stats):
    hc, mem, left = stats["hypercalls"], stats["memory"], stats["at_exit"]
    return [stats["platform"], stats["ioctls"]["total"], hc["total"], hc["H_PUT_TCE"],
            hc["H_STUFF_TCE"], sum(stats["rtas"].values()), stats["tces"]["mapped"],
            f'{mem["locked_peak_bytes"] / 2**20:.1f} MiB', f'{mem["table_peak_bytes"] / 2**10:.0f} KiB',
            "clean" if left["clean"] else "LEAKED"]


def main(paths):
    head = ["platform", "ioctls", "hcalls", "H_PUT_TCE", "H_STUFF", "RTAS", "TCEs",
            "locked peak", "TCE table", "at exit"]
    rows = [head] + [[str(c) for c in row(json.load(open(p)))] for p in paths]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return 0 if all(json.load(open(p))["at_exit"]["clean"] for p in paths) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
