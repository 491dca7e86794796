#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Throughput: testpmd forwarding through our PMD against DPDK's own net_virtio on the same
emulated virtio-net devices (stock bus/pci on our backend: its register accesses are
trapped by the emulator, counted and timed) and against net_null ports (the upper bound
of ethdev and testpmd overhead on this machine), in one run.

    test/bench/bench_throughput.py [--sizes 64,512,1518] [--queues 1,2] [--modes io,mac]
                                   [--wire fast,exact] [--reps 3] [--seconds 3] [--ring 1024]
                                   [--pmd-perf-speed MBPS] [--out DIR] [--build DIR]

--wire fast: the driver comparison. One port whose emulated device replays prepared
frames into RX and is a sink for TX (backend=replay), testpmd forwarding the port to
itself (--port-topology=loop); the device's one thread pinned to CPU 0, testpmd's
forwarding lcore on CPU 1: the device moves about 10 Mpps each way on its own
(bench_device.py), so the driver's cost shows. Per size, queue pairs and forwarding mode
(io, mac), --reps runs of each stack in turn (ours, net_virtio, net_null on one port),
the median: Mpps and testpmd's cycles per packet (--record-core-cycles), and whether
ours is at least net_virtio's Mpps and at most its cycles.

--wire exact: the checked path, io forwarding. Port 0's device generates numbered,
checksummed frames, port 1's checks every frame testpmd sends it (loss, order,
duplicates, payload), ours and net_virtio, with the checker's verdict, what the
emulated devices' threads spent per frame, and that nothing is mapped while forwarding.

Writes throughput.json, throughput.csv and throughput.png.

Then DPDK's own pmd_perf_autotest (dpdk-test: two ports, packets injected once and
forwarded back and forth by one lcore, for four seconds of line rate) on our PMD, on
DPDK's net_virtio over our backend (both on two emulated virtio-net devices that loop
what they are sent, at --pmd-perf-speed Mb/s, default 1000: the autotest sizes its run
from the link speed) and on net_null: its cycles per packet, and the device threads'
share (their CPU time per frame, in TSC cycles). Writes throughput_pmd_perf.json/.csv.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import benchlib as bl


def cycles(out):
    m = re.search(r"CPU cycles/packet=([\d.]+).*?at (\d+) MHz", out)
    return (float(m.group(1)), int(m.group(2))) if m else (None, None)


def run_null(size, queues, seconds, ring, mode="io", ports=2):
    """testpmd with net_null ports (no emulator: nothing else on the cores); one port
    forwards to itself."""
    mbufs = max(8192, 4 * ring * queues + 4096)
    vdevs = [a for i in range(ports) for a in ("--vdev", f"net_null{i},size={size}")]
    cmd = [bl.TESTPMD, "-l", "0-1", "-n", "1", "--no-pci", "--file-prefix", f"null{os.getpid()}", *vdevs, "--", "-i",
           f"--rxq={queues}", f"--txq={queues}", f"--rxd={ring}", f"--txd={ring}", f"--total-num-mbufs={mbufs}",
           "--record-core-cycles", *(["--port-topology=loop"] if ports == 1 else [])]
    session = bl.fwd.Testpmd(cmd, dict(os.environ))
    for line in [f"set fwd {mode}", "start", f"sleep {seconds}", "stop"]:
        if line.startswith("sleep "):
            time.sleep(seconds)
        elif not session.command(line, 60):
            break
    rc, out = session.finish(60)
    rx, tx, dropped, _ = bl.fwd._accumulated(out)
    cyc, mhz = cycles(out)
    return {"rc": rc, "mpps": round(tx / seconds / 1e6, 3), "cycles_per_packet": cyc, "mhz": mhz}


def clean_allowing_unsent(res):
    """The checker's verdict for a driver that does not send what its TX ring holds
    before a port stops (DPDK's net_virtio: the device reset at close drops it): nothing
    corrupt, reordered, duplicated or foreign, nothing mapped while forwarding, and every
    frame missing is one testpmd counted as dropped or one left in that ring. A teardown
    ioctl that is not a mapping may fall before the checker's last frame (the device
    still sends what that ring held while the other port closes): only mapping counts."""
    c = res.get("check") or {}
    unsent = res["tx"] - c.get("received", 0)
    return res["rc"] == 0 and not res.get("hung") and c.get("received", 0) > 0 and unsent >= 0 \
        and not (c.get("reordered") or c.get("duplicated") or c.get("corrupt") or c.get("foreign")) \
        and 0 <= c.get("lost", -1) <= res["tx_dropped"] + unsent and res.get("dma_faults") == 0 \
        and res.get("during") is not None \
        and not (res["during"]["map_ioctls"] or res["during"]["hypercalls"] or res["during"]["tces"])


def run_ours(build, size, queues, seconds, ring, stack="ours"):
    res = bl.fwd.forward(build, seconds=seconds, size=str(size), queues=queues, mode="io", rate=0, ring=ring,
                         stack=stack)
    cyc, mhz = cycles(res["output"])
    verdict = bl.fwd.ok(res, allow_drops=True) if stack == "ours" else clean_allowing_unsent(res)
    if not verdict:  # say why, so that a failed run can be read
        print(f"  {stack}: checker verdict not clean: check={res.get('check')} tx={res['tx']}"
              f" tx_dropped={res['tx_dropped']} dma_faults={res.get('dma_faults')} during={res.get('during')}"
              f" rc={res['rc']} hung={res.get('hung')} clean_exit={res.get('clean_exit')}", flush=True)
    row = {"rc": res["rc"], "mpps": res["mpps"], "cycles_per_packet": cyc, "mhz": mhz,
           "checker_ok": verdict,
           "tx_dropped": res["tx_dropped"],
           "map_ioctls_while_forwarding": (res.get("during") or {}).get("map_ioctls"),
           "hypercalls_while_forwarding": (res.get("during") or {}).get("hypercalls")}
    models = {m["addr"]: m for m in (res["stats"] or {}).get("device_models", [])}
    gen, chk = models.get(bl.GEN, {}), models.get(bl.CHK, {})
    frames_gen = gen.get("wire", {}).get("generated", 0)
    frames_chk = chk.get("wire", {}).get("tx_frames", 0)
    if frames_gen and frames_chk and mhz:
        row["gen_ns_per_frame"] = round(gen["threads_cpu_ns"] / frames_gen, 1)
        row["chk_ns_per_frame"] = round(chk["threads_cpu_ns"] / frames_chk, 1)
        row["device_cycles_per_frame"] = round((row["gen_ns_per_frame"] + row["chk_ns_per_frame"]) * mhz / 1000)
    mmio = (res["stats"] or {}).get("mmio", {})
    row["mmio_accesses"] = mmio.get("reads", 0) + mmio.get("writes", 0)
    row["mmio_us"] = round(mmio.get("ns", 0) / 1000)
    return row


def run_fast(build, size, queues, mode, seconds, ring, stack):
    """One port, replay device, the driver's cost: Mpps, testpmd cycles/packet, and
    that every frame testpmd sent reached the sink with no DMA fault."""
    if stack == "null":
        return run_null(size, queues, seconds, ring, mode, ports=1)
    res = bl.fwd.forward(build, seconds=seconds, size=str(size), queues=queues, mode=mode, rate=0, ring=ring,
                         stack=stack, wire="fast", device_cpus="0")
    cyc, mhz = cycles(res["output"])
    # net_virtio leaves what its TX ring holds at the stop unsent (the device reset at
    # close drops it): at most a ring per queue
    unsent_allowed = 0 if stack == "ours" else ring * queues
    ok = res["rc"] == 0 and not res.get("hung") and res.get("dma_faults") == 0 and res["tx"] > 0 \
        and res.get("sent", 0) >= res["tx"] - unsent_allowed
    if not ok:
        print(f"  {stack} {size} B {queues} qp {mode}: rc={res['rc']} hung={res.get('hung')} tx={res['tx']}"
              f" sink={res.get('sent')} dma_faults={res.get('dma_faults')}", flush=True)
    # the device thread's CPU time per frame it moved (each frame in and out): near its
    # cost when it is the bottleneck, more when it waits (it polls, sleeping when idle)
    model = ((res.get("stats") or {}).get("device_models") or [{}])[0]
    moved = (res.get("delivered") or 0) + (res.get("sent") or 0)
    dev = round(model["threads_cpu_ns"] / moved * mhz / 1000) if moved and mhz and "threads_cpu_ns" in model else None
    return {"rc": res["rc"], "mpps": res["mpps"], "cycles_per_packet": cyc, "mhz": mhz, "ok": ok,
            "device_cycles_per_frame": dev}


def median(vals):
    vals = sorted(v for v in vals if v is not None)
    return vals[len(vals) // 2] if vals else None


def fast_row(build, size, queues, mode, a):
    """--reps runs of each stack, in turn (a slow moment of the machine hits all of
    them), the median of each."""
    runs = {"ours": [], "pci": [], "null": []}
    for _ in range(a.reps):
        for stack in runs:
            runs[stack].append(run_fast(build, size, queues, mode, a.seconds, a.ring, stack))
    m = {st: (median([r["mpps"] for r in rs]), median([r["cycles_per_packet"] for r in rs])) for st, rs in runs.items()}
    row = {"wire": "fast", "mode": mode, "size": size, "queues": queues,
           "ours_mpps": m["ours"][0], "virtio_mpps": m["pci"][0], "null_mpps": m["null"][0],
           "ours_cycles": m["ours"][1], "virtio_cycles": m["pci"][1], "null_cycles": m["null"][1],
           "ours_runs": [r["mpps"] for r in runs["ours"]], "virtio_runs": [r["mpps"] for r in runs["pci"]],
           "device_cycles_per_frame": median([r.get("device_cycles_per_frame") for r in runs["ours"]]),
           "virtio_device_cycles_per_frame": median([r.get("device_cycles_per_frame") for r in runs["pci"]]),
           "runs_ok": all(r.get("ok", r["rc"] == 0) for rs in runs.values() for r in rs),
           "mhz": next((r["mhz"] for rs in runs.values() for r in rs if r.get("mhz")), None)}
    row["ratio"] = round(row["ours_mpps"] / row["null_mpps"], 3) if row["null_mpps"] else None
    row["ours_vs_virtio"] = round(row["ours_mpps"] / row["virtio_mpps"], 3) if row["virtio_mpps"] else None
    row["ours_ahead"] = bool(row["virtio_mpps"] and row["ours_mpps"] >= row["virtio_mpps"]
                             and row["ours_cycles"] is not None and row["virtio_cycles"] is not None
                             and row["ours_cycles"] <= row["virtio_cycles"])
    return row


DPDK_TEST = shutil.which("dpdk-test") or "/usr/bin/dpdk-test"


def run_pmd_perf(build, stack, speed):
    """pmd_perf_autotest on two ports: ours / pci (emulated loop devices) or null."""
    eal = ["-l", "0-1", "-n", "1", "--file-prefix", f"perf{os.getpid()}", "--log-level=lib.eal:debug"]
    env = dict(os.environ, DPDK_TEST="pmd_perf_autotest")
    with tempfile.TemporaryDirectory(prefix="spapr-perf.") as tmp:
        stats = pathlib.Path(tmp) / "stats.json"
        if stack == "null":
            cmd = [DPDK_TEST, *eal, "--no-pci", "--vdev", "net_null0", "--vdev", "net_null1"]
        else:
            args, extra = bl.stack_args(stack, build, [bl.GEN, bl.CHK])
            env.update(extra)
            cmd = [str(pathlib.Path(build) / "app/spapr-emu/spapr-emu"), "run", "--platform", "pseries-ddw",
                   "--stats", str(stats)]
            for i, addr in enumerate((bl.GEN, bl.CHK)):
                cmd += ["--device", f"{addr},group={i},model=virtio-net,backend=loop,qsize=1024,speed={speed}"]
            cmd += ["--", DPDK_TEST, *eal, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        out = p.stdout + p.stderr
        st = json.loads(stats.read_text()) if stats.exists() else None
    res = re.search(r"Result: (\d+) cycles per packet", out)
    counts = re.search(r"^(\d+) packet, (\d+) drop, (\d+) idle", out, re.M)
    tsc = re.search(r"TSC frequency is ~(\d+) KHz", out)
    row = {"stack": stack, "ok": "Test OK" in out, "cycles_per_packet": int(res.group(1)) if res else None,
           "packets": int(counts.group(1)) if counts else None, "drops": int(counts.group(2)) if counts else None}
    models = (st or {}).get("device_models", [])
    frames = sum(q["chains"] for m in models for q in m.get("queues", []) if q["kind"] == "tx")
    if models and frames and tsc:
        ns = sum(m["threads_cpu_ns"] for m in models)
        row["device_cycles_per_frame"] = round(ns / frames * int(tsc.group(1)) / 1e6)
    if not row["ok"]:
        print(f"  pmd_perf_autotest on {stack} did not pass:\n{out[-2000:]}", flush=True)
    return row


PMD_PERF_COLUMNS = [("stack", "stack"), ("cycles_per_packet", "pmd_perf cyc/pkt"), ("packets", "packets"),
                    ("drops", "drops"), ("device_cycles_per_frame", "device cyc/frame"), ("ok", "passed")]


COLUMNS = [("wire", "wire"), ("mode", "fwd"), ("size", "size"), ("queues", "qp"), ("ours_mpps", "ours Mpps"),
           ("virtio_mpps", "net_virtio Mpps"), ("null_mpps", "net_null Mpps"), ("ours_cycles", "ours cyc/pkt"),
           ("virtio_cycles", "net_virtio cyc/pkt"), ("null_cycles", "null cyc/pkt"),
           ("ours_ahead", "ours >= net_virtio"), ("virtio_mmio_accesses", "net_virtio traps"),
           ("device_cycles_per_frame", "device cyc/frame"), ("checker_ok", "checker"),
           ("map_ioctls_while_forwarding", "map ioctls fwd"), ("hypercalls_while_forwarding", "hcalls fwd")]


def plot(plt, rows):
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    labels = [f"{r['size']} B\n{r['queues']} qp\n{r['mode']}{' (exact)' if r['wire'] == 'exact' else ''}" for r in rows]
    x = range(len(rows))
    w = 0.27
    axes[0].bar([i - w for i in x], [r["ours_mpps"] for r in rows], w, label="ours (emulated virtio-net)")
    axes[0].bar(list(x), [r.get("virtio_mpps") or 0 for r in rows], w, label="DPDK net_virtio (same devices)")
    axes[0].bar([i + w for i in x], [r["null_mpps"] for r in rows], w, label="net_null")
    axes[0].set_ylabel("Mpps")
    axes[0].set_yscale("log")
    axes[0].set_title("testpmd forwarding", fontsize=9)
    axes[1].bar([i - w for i in x], [r["ours_cycles"] or 0 for r in rows], w, label="testpmd, ours")
    axes[1].bar(list(x), [r.get("virtio_cycles") or 0 for r in rows], w, label="testpmd, net_virtio")
    axes[1].bar([i + w for i in x], [r.get("null_cycles") or 0 for r in rows], w, label="testpmd, net_null")
    axes[1].set_ylabel("testpmd cycles per packet")
    axes[1].set_title("the driver's cost (fast: full bursts)", fontsize=9)
    for ax in axes:
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, fontsize=7)
        ax.legend(fontsize=7)
    return fig


def main():
    ap = bl.arg_parser(__doc__, "throughput")
    ap.add_argument("--sizes", default="64,512,1518")
    ap.add_argument("--queues", default="1,2")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--ring", type=int, default=1024)
    ap.add_argument("--pmd-perf-speed", type=int, default=1000)
    ap.add_argument("--modes", default="io,mac", help="forwarding modes of the fast runs")
    ap.add_argument("--wire", default="fast,exact")
    ap.add_argument("--reps", type=int, default=3, help="runs of each stack in the fast rows (the median)")
    a = ap.parse_args()
    build = bl.build_dir(a.build)
    bl.ensure_hugepages(1 << 30)
    rows = []
    wires = a.wire.split(",")
    for q in (int(v) for v in a.queues.split(",")) if "fast" in wires else ():
        for mode in a.modes.split(","):
            for size in (int(v) for v in a.sizes.split(",")):
                row = fast_row(build, size, q, mode, a)
                rows.append(row)
                print(f"  fast {mode} {size} B, {q} qp: ours {row['ours_mpps']} Mpps {row['ours_cycles']} cyc,"
                      f" net_virtio {row['virtio_mpps']} Mpps {row['virtio_cycles']} cyc,"
                      f" net_null {row['null_mpps']} Mpps", flush=True)
    for q in (int(v) for v in a.queues.split(",")) if "exact" in wires else ():
        for size in (int(v) for v in a.sizes.split(",")):
            ours = run_ours(build, size, q, a.seconds, a.ring)
            virtio = run_ours(build, size, q, a.seconds, a.ring, stack="pci")
            null = run_null(size, q, a.seconds, a.ring)
            row = {"wire": "exact", "mode": "io", "size": size, "queues": q, "ours_mpps": ours["mpps"],
                   "null_mpps": null["mpps"],
                   "ratio": round(ours["mpps"] / null["mpps"], 3) if null["mpps"] else None,
                   "ours_cycles": ours["cycles_per_packet"], "null_cycles": null["cycles_per_packet"],
                   **{k: v for k, v in ours.items() if k not in ("mpps", "cycles_per_packet", "rc", "mhz")},
                   "virtio_mpps": virtio["mpps"], "virtio_cycles": virtio["cycles_per_packet"],
                   "virtio_checker_ok": virtio["checker_ok"], "virtio_mmio_accesses": virtio["mmio_accesses"],
                   "virtio_mmio_us": virtio["mmio_us"],
                   "mhz": ours["mhz"] or null["mhz"], "rc": [ours["rc"], virtio["rc"], null["rc"]]}
            rows.append(row)
            print(f"  exact {size} B, {q} qp: ours {row['ours_mpps']} Mpps, net_virtio {row['virtio_mpps']} Mpps,"
                  f" net_null {row['null_mpps']} Mpps", flush=True)
    bl.publish(a, rows, dict(bl.meta(build), seconds=a.seconds, ring=a.ring, reps=a.reps), COLUMNS, plot)
    perf = [run_pmd_perf(build, stack, a.pmd_perf_speed) for stack in ("ours", "pci", "null")]
    path = bl.Results(a.out, a.name + "_pmd_perf").write(perf, dict(bl.meta(build), speed=a.pmd_perf_speed))
    print("\nDPDK's pmd_perf_autotest (dpdk-test), two ports:")
    bl.table(perf, PMD_PERF_COLUMNS)
    print(f"results: {path}")
    good = all(r["checker_ok"] and r["virtio_checker_ok"] if r["wire"] == "exact" else r["runs_ok"] for r in rows)
    return 0 if good and all(r["ok"] for r in perf) else 1

if __name__ == "__main__":
    sys.exit(main())
