#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Compare what the real kernel in QEMU (a pSeries guest, or a PowerNV host) answered and
counted with what the emulator did, for test/qemu/conformance.sh.

    compare.py seed GUEST_RECORD GUEST_OUT_DIR EMU_RECORD EMU_STATS
    compare.py steps GUEST_RECORD GUEST_OUT_DIR EMU_RECORD
    compare.py estimate TCE_BENCH_OUTPUT GUEST_OUT_DIR

seed: the program's records step by step (fd numbers are not compared: the emulator's
process holds more fds), then the hypercalls (QEMU's trace vs the emulator's counters).
Differences listed in known-differences.txt (step, both answers, and why) are reported
as known; any other makes the exit status 1.
steps: the conformance program (conformance.c): its records, and the hypercalls of each
step (QEMU's trace per @@STEP segment against the emulator's counters the program prints);
on PowerNV, where QEMU traces nothing, the kernel's kprobe counts the program printed at
each step (@@KPROF) against the emulator's counters of the same meaning (PNV below).
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
        # the harness's lines, and kernel messages the guest console interleaves
        if not line or line.startswith("@@") or re.match(r"^\[\s*\d+\.\d+\]", line):
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


def hypercalls_of(c):
    """A segment of count.py as the emulator counts: H_PUT_TCE writes and clears together."""
    return {"H_GET_TCE": c.get("H_GET_TCE", 0),
            "H_PUT_TCE": c.get("H_PUT_TCE (map)", 0) + c.get("H_PUT_TCE (clear)", 0),
            "H_PUT_TCE_INDIRECT": c.get("H_PUT_TCE_INDIRECT", 0), "H_STUFF_TCE": c.get("H_STUFF_TCE", 0)}


def guest_hypercalls(out_dir):
    c = count.count(out_dir).get("PROG-BEGIN", {})
    return dict(hypercalls_of(c), **{k: c.get(k, 0) for k in ("RTAS reset", "RTAS create", "RTAS remove")})


def diff_records(guest_rec, emu_rec):
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
    return bad


HC = ("H_GET_TCE", "H_PUT_TCE", "H_PUT_TCE_INDIRECT", "H_STUFF_TCE")
# PowerNV: the kernel function (kprobe) and the emulator's counter of the same meaning
PNV = {"tce_xchg": "pnv_ioda_tce_xchg_no_kill",          # a TCE set or cleared
       "tce_kill": "pnv_pci_ioda2_tce_invalidate",       # a table's TCE kill
       "opal_tce_kill": "opal_pci_tce_kill",             # OPAL kills (PHB4; PHB3 writes a register)
       "opal_map_window": "opal_pci_map_pe_dma_window",  # a window set or unset
       "opal_bypass": "opal_pci_map_pe_dma_window_real",  # bypass on or off
       "eeh_get_state": "opal_pci_eeh_freeze_status",    # an EEH state read
       "opal_freeze_clear": "opal_pci_eeh_freeze_clear",  # a thaw of a frozen PE
       "opal_freeze_set": "opal_pci_eeh_freeze_set",      # the freeze before a reset
       "opal_pci_reset": "opal_pci_reset"}


def snapshots(rec, tag):
    """[(step, {counter: value})] of the program's @@<tag> lines."""
    return [(m.group(1), {k: int(v) for k, v in re.findall(r"([\w/]+)=(\d+)", m.group(2))})
            for m in re.finditer(rf"^@@{tag} (\S+) ?(.*)$", pathlib.Path(rec).read_text(), re.M)]


def deltas(snaps, keys):
    """{step: {key: count}}: a snapshot is taken as its step starts, so a step's count is
    the next snapshot minus its own."""
    return {name: {k: nxt.get(k, 0) - cur.get(k, 0) for k in keys}
            for (name, cur), (_, nxt) in zip(snaps, snaps[1:])}


def emu_steps(emu_rec, keys=HC):
    """{step: {counter: count}} from the program's @@EMUHC snapshots; a forked child's
    own snapshots (-child-start/-end) are added to its step."""
    snaps = snapshots(emu_rec, "EMUHC")
    parent = [s for s in snaps if "-child-" not in s[0]]
    res = deltas(parent, keys)
    # a forked child has its own copy of the emulated platform: add what it counted
    child = {name: c for name, c in snaps if "-child-" in name}
    for name, start in child.items():
        if name.endswith("-child-start") and name.replace("-start", "-end") in child:
            end, step = child[name.replace("-start", "-end")], name.split("-child-")[0]
            for k in keys:
                res[step][k] += end[k] - start[k]
    return res


def pnv_steps(guest_rec, emu_rec):
    """PowerNV: the kprobe counts of each step against the emulator's. A count that
    differs is known when known-differences.txt lists "<step>.count <counter>=<n>" for
    both sides."""
    bad, kd = 0, known()
    guest = deltas(snapshots(guest_rec, "KPROF"), list(PNV.values()))
    emu = emu_steps(emu_rec, tuple(PNV))
    for name, e in emu.items():
        g = {k: guest.get(name, {}).get(f, 0) for k, f in PNV.items()}
        verdict = "equal"
        for k in PNV:
            if g[k] == e[k]:
                continue
            pair = (f"{name}.count {k}={g[k]}", f"{name}.count {k}={e[k]}")
            if pair in kd:
                verdict = "known difference" if verdict == "equal" else verdict
                print(f"  known difference: kernel '{pair[0]}', emulator '{pair[1]}': {kd[pair]}")
            else:
                verdict = "DIFFERENT"
                bad += 1
        print(f"  step {name:14} kernel " + " ".join(f"{k}={g[k]}" for k in PNV) + "\n" + " " * 22 +
              "emulator " + " ".join(f"{k}={e[k]}" for k in PNV) + f"   {verdict}")
    return bad


def steps(guest_rec, guest_dir, emu_rec):
    bad = diff_records(guest_rec, emu_rec)
    if "@@KPROF" in pathlib.Path(guest_rec).read_text():
        return bad + pnv_steps(guest_rec, emu_rec)
    guest = count.count(guest_dir)
    for name, emu in emu_steps(emu_rec).items():
        g = hypercalls_of(guest.get(name, {}))
        same = g == emu
        bad += not same
        print(f"  step {name:14} guest " + " ".join(f"{k[2:]}={g[k]}" for k in HC) + "   emulator " +
              " ".join(f"{k[2:]}={emu[k]}" for k in HC) + ("   equal" if same else "   DIFFERENT"))
    return bad


def seed(guest_rec, guest_dir, emu_rec, emu_stats):
    bad = diff_records(guest_rec, emu_rec)
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
    if sys.argv[1] == "steps":
        return 1 if steps(*sys.argv[2:5]) else 0
    return 1 if estimate(*sys.argv[2:4]) else 0


if __name__ == "__main__":
    sys.exit(main())
