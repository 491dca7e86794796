#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Compare what the real kernel in the QEMU pSeries guest answered and counted with what
the emulator did, for test/qemu/conformance.sh.

    compare.py seed GUEST_RECORD GUEST_OUT_DIR EMU_RECORD EMU_STATS
    compare.py estimate TCE_BENCH_OUTPUT GUEST_OUT_DIR

seed: the program's records step by step (fd numbers are not compared: the emulator's
process holds more fds), then the hypercalls (QEMU's trace vs the emulator's counters).
Differences listed in known-differences.txt (step, both answers, and why) are reported
as known; any other makes the exit status 1.
estimate: tce-bench's hypercall estimate (set-up + teardown) against QEMU's count.
"""
import json
import pathlib
import re
import sys

import count

HERE = pathlib.Path(__file__).resolve().parent
FD_STEPS = re.compile(r"^(open_container|open_group|get_device_fd) ret=\d+")


def records(path):
    lines = []
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("@@"):
            continue
        lines.append(FD_STEPS.sub(r"\1 ret=<fd>", line))
    return lines


def known():
    """{(guest line, emulator line): reason} from known-differences.txt."""
    res = {}
    for line in (HERE / "known-differences.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            guest, emu, reason = (p.strip() for p in line.split("|", 2))
            res[guest, emu] = reason
    return res


def guest_hypercalls(out_dir):
    c = count.count(out_dir).get("PROG-BEGIN", {})
    return {"H_GET_TCE": c.get("H_GET_TCE", 0),
            "H_PUT_TCE": c.get("H_PUT_TCE (map)", 0) + c.get("H_PUT_TCE (clear)", 0),
            "H_PUT_TCE_INDIRECT": c.get("H_PUT_TCE_INDIRECT", 0), "H_STUFF_TCE": c.get("H_STUFF_TCE", 0),
            "RTAS reset": c.get("RTAS reset", 0), "RTAS create": c.get("RTAS create", 0),
            "RTAS remove": c.get("RTAS remove", 0)}


def seed(guest_rec, guest_dir, emu_rec, emu_stats):
    g, e = records(guest_rec), records(emu_rec)
    kd, bad = known(), 0
    print(f"  records: {len(g)} steps in the guest, {len(e)} on the emulator")
    for i in range(max(len(g), len(e))):
        a = g[i] if i < len(g) else "(none)"
        b = e[i] if i < len(e) else "(none)"
        if a == b:
            continue
        reason = kd.get((a, b))
        if reason:
            print(f"  known difference: guest '{a}', emulator '{b}': {reason}")
        else:
            print(f"  DIFFERENT: guest '{a}', emulator '{b}'")
            bad += 1
    st = json.loads(pathlib.Path(emu_stats).read_text())
    hc, rtas = st["hypercalls"], st["rtas"]
    emu = {"H_GET_TCE": hc["H_GET_TCE"], "H_PUT_TCE": hc["H_PUT_TCE"], "H_PUT_TCE_INDIRECT": hc["H_PUT_TCE_INDIRECT"],
           "H_STUFF_TCE": hc["H_STUFF_TCE"], "RTAS reset": rtas["ibm,reset-pe-dma-windows"],
           "RTAS create": rtas["ibm,create-pe-dma-window"], "RTAS remove": rtas["ibm,remove-pe-dma-window"]}
    guest = guest_hypercalls(guest_dir)
    for k in guest:
        same = guest[k] == emu[k]
        bad += not same
        print(f"  {k:20} guest (QEMU trace) {guest[k]:>8}   emulator {emu[k]:>8}   {'equal' if same else 'DIFFERENT'}")
    return bad


def estimate(bench_out, guest_dir):
    text = pathlib.Path(bench_out).read_text()
    m = re.search(r"^(ours|dpdk)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", text, re.M)
    if not m:
        print("  tce-bench printed no result:\n" + text)
        return 1
    est = int(m.group(4)) + int(m.group(5))
    guest = sum(v for k, v in guest_hypercalls(guest_dir).items() if k.startswith("H_"))
    print(f"  tce-bench ({m.group(1)}): estimated {m.group(4)} + {m.group(5)} = {est} hypercalls;"
          f" QEMU counted {guest}: {'equal' if est == guest else 'DIFFERENT'}")
    return int(est != guest)


def main():
    if sys.argv[1] == "seed":
        return 1 if seed(*sys.argv[2:6]) else 0
    return 1 if estimate(*sys.argv[2:4]) else 0


if __name__ == "__main__":
    sys.exit(main())
