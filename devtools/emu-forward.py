#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Stock dpdk-testpmd forwarding on the emulated POWER platform, through two emulated
virtio-net devices: port 0's device generates numbered frames, port 1's device checks
every frame testpmd sends it (loss, order, duplicates, payload).

    devtools/emu-forward.py [--platform P] [--seconds S] [--size N|MIN-MAX] [--queues Q]
                            [--mode io|mac|macswap|5tswap] [--rate PPS] [--no-drops]
                            [--stack ours|pci|dpdk] [--build DIR] [--json]

--stack: ours (default: the spapr bus and our virtio-net PMD), pci (DPDK's own bus/pci
and net_virtio on our backend: only -d librte_bus_spapr.so added), dpdk (DPDK's own
stack alone: EAL's sPAPR VFIO code, which works on PowerNV only).

Prints the forwarding rate, testpmd's CPU cycles per packet, the checker's verdict and
what the emulated kernel and hypervisor did (ioctls, hypercalls, TCEs); exit 1 if the
checker saw anything wrong (a frame lost without account, reordered, duplicated or
corrupt) or missed a frame testpmd sent, anything mapped or unmapped (ioctl, hypercall
or TCE) between the first and the last frame checked, or anything was left mapped or
locked at exit. A frame testpmd drops on a full TX ring is accounted for (testpmd counts
it as TX-dropped, and every gap the checker sees must be one of those): on a loaded
machine that happens even at a modest --rate, and it is not an error unless --no-drops.
"""
import argparse
import functools
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TOP = pathlib.Path(__file__).resolve().parents[1]
TESTPMD = shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd"
GEN, CHK = "0000:00:01.0", "0000:00:02.0"


@functools.lru_cache(maxsize=None)
def eal_abi(testpmd=TESTPMD):
    """The ABI of the EAL this testpmd runs on (23: DPDK 22.11, 25: 24.11, 26: 25.11), from
    the library it links; 0 if unknown."""
    try:
        out = subprocess.run(["ldd", testpmd], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    m = re.search(r"librte_eal\.so\.(\d+)", out)
    return int(m.group(1)) if m else 0


def testpmd_spelling(line):
    """A testpmd command as this testpmd spells it: DPDK 25.11 wrote dump_X as "dump X"."""
    if line.startswith("dump_") and eal_abi() >= 26:
        return "dump " + line[len("dump_"):]
    return line


def _device(addr, group, backend, opts):
    return f"{addr},group={group},model=virtio-net,backend={backend}" + "".join(f",{o}" for o in opts)


STACKS = {
    "ours": ["--no-pci", "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so",
             "-a", f"bus=spapr,addr={GEN}", "-a", f"bus=spapr,addr={CHK}"],
    "pci": ["-d", "librte_bus_spapr.so", "-a", GEN, "-a", CHK],
    "dpdk": ["-a", GEN, "-a", CHK],
}


def _without_port1(args):
    """A stack's EAL arguments without port 1's device (its -a and the value)."""
    out = []
    for a in args:
        if CHK in a and out and out[-1] == "-a":
            out.pop()
        else:
            out.append(a)
    return out


def forward(build, platform="pseries-ddw", seconds=2.0, size="64", queues=1, mode="io", rate=0,
            ring=4096, extra_eal=(), extra_testpmd=(), script=None, command_timeout=60.0, check_opts=(),
            stack="ours", emu_opts=(), wire="exact", device_cpus=None):
    """Run one forwarding session; returns a dict (see main for the fields). `script`
    replaces the testpmd commands (set fwd, start, sleep, stop); "sleep S" lines wait,
    and the rate is computed over their sum. Each command is sent once testpmd has
    finished the one before (its next prompt); one that takes longer than
    command_timeout seconds ends the session (res["hung"] names it). check_opts: more
    device options for the checker's device (fault-after=N, say); emu_opts: more
    spapr-emu options (--set K=V). wire="fast": one port, whose device replays prepared
    frames into RX and is a sink for TX, testpmd forwarding it to itself
    (--port-topology=loop): one device thread does all the device's work, pinned with
    device_cpus (its CPU list, "0") away from the forwarding lcore; for throughput:
    nothing generated or checked per frame, so no checker verdict."""
    build = pathlib.Path(build)
    big = "-" in size or int(size) > 1514
    dev_opts = [f"qsize={ring}", f"queues={queues}", "poll-us=20"] + (["mtu=9000"] if big else []) \
        + ([f"cpus={device_cpus}"] if device_cpus is not None else [])
    gen_opts = dev_opts + [f"size={size}", f"flows={max(queues, 1) * 4}"] + ([f"rate={rate}"] if rate else [])
    fast = wire == "fast"
    devices = ["--device", _device(GEN, 0, "replay", gen_opts)] if fast else \
        ["--device", _device(GEN, 0, "gen", gen_opts), "--device", _device(CHK, 1, "check", dev_opts + list(check_opts))]
    stack_args = _without_port1(STACKS[stack]) if fast else STACKS[stack]
    with tempfile.TemporaryDirectory(prefix="spapr-fwd.") as tmp:
        stats = pathlib.Path(tmp) / "stats.json"
        mbufs = max(8192, 4 * ring * queues + 4096)
        cmd = [str(build / "app/spapr-emu/spapr-emu"), "run", "--platform", platform, "--stats", str(stats),
               *emu_opts,
               *devices,
               "--", "stdbuf", "-oL", TESTPMD, "-l", "0-1", "-n", "1", "--file-prefix", f"fwd{os.getpid()}",
               *stack_args, *extra_eal, "--",
               "-i", f"--rxq={queues}", f"--txq={queues}", f"--rxd={ring}", f"--txd={ring}",
               f"--total-num-mbufs={mbufs}", "--record-core-cycles",
               *(["--port-topology=loop"] if fast else []), *extra_testpmd]
        if big:
            cmd += ["--max-pkt-len=9018", "--enable-scatter"]
        env = dict(os.environ, LD_LIBRARY_PATH=f"{build}/drivers")
        session = Testpmd(cmd, env)
        script = list(script) if script else [f"set fwd {mode}", "start", f"sleep {seconds}", "stop"]
        elapsed = 0.0
        for line in script:
            if line.startswith("sleep "):
                time.sleep(float(line.split()[1]))
                elapsed += float(line.split()[1])
            elif not session.command(line, command_timeout):
                break
        rc, out = session.finish(command_timeout)
        st = json.loads(stats.read_text()) if stats.exists() else None
    res = _summary(rc, out, st, elapsed, platform, size, queues, mode)
    res["hung"] = session.hung
    return res


class Testpmd:
    """testpmd in interactive mode on pipes. A thread drains its output all the time (a
    full pipe would stop testpmd in the middle of a command), and each command waits for
    testpmd's next prompt, so that "sleep" lines measure forwarding, not start-up."""
    PROMPT = "testpmd> "

    def __init__(self, cmd, env):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=env)
        self.chunks, self.cond, self.hung = [], threading.Condition(), None
        self.sent, self.prompts, self.tail = 0, 0, ""
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            text = chunk.decode(errors="replace")
            with self.cond:
                self.chunks.append(text)
                # a prompt may straddle two reads: count it in the tail plus the new text
                seen = self.tail + text
                self.prompts += seen.count(self.PROMPT)
                self.tail = seen[-(len(self.PROMPT) - 1):]
                self.cond.notify_all()
        with self.cond:
            self.chunks.append("")
            self.cond.notify_all()

    def text(self):
        with self.cond:
            return "".join(self.chunks)

    def command(self, line, timeout):
        """Send one command when testpmd is ready for it; False if testpmd is gone or did
        not come back to its prompt in time."""
        with self.cond:
            ready = self.cond.wait_for(lambda: self.prompts > self.sent or self.proc.poll() is not None, timeout)
        if self.proc.poll() is not None:
            return False
        if not ready:
            self.hung = f"no prompt {timeout:.0f} s after {'start-up' if self.sent == 0 else 'the command before'}" \
                        f" {line!r}"
            return False
        self.sent += 1
        try:
            self.proc.stdin.write((testpmd_spelling(line) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:  # testpmd exited: its output says why
            return False
        return True

    def finish(self, timeout):
        """quit (unless testpmd is gone or hung), wait, and return (exit code, output)."""
        if self.hung is None and self.proc.poll() is None:
            self.command("quit", timeout)
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=0 if self.hung else timeout)
        except subprocess.TimeoutExpired:
            self.hung = self.hung or f"still running {timeout:.0f} s after quit"
            self.proc.kill()
            self.proc.wait()
        self.reader.join()
        return self.proc.returncode, self.text()


def port_stats(out):
    """{port: (RX-packets, TX-packets, TX-dropped)} from the last stop's per-port blocks."""
    res = {}
    for m in re.finditer(r"Forward statistics for port (\d+)\s+-+\s+RX-packets:\s+(\d+).*?TX-packets:\s+(\d+)\s+"
                         r"TX-dropped:\s+(\d+)", out, re.S):
        res[int(m.group(1))] = tuple(int(m.group(i)) for i in (2, 3, 4))
    return res



def xstats_blocks(out):
    """Every 'show port xstats' block, in order: [(port, {name: value})]."""
    return [(int(m.group(1)), {k: int(v) for k, v in re.findall(r"(\S+): (\d+)", m.group(2))})
            for m in re.finditer(r"#+ NIC extended statistics for port (\d+)\s*\n((?:\S+: \d+\n)+)", out)]


def discarded_at_stop(blocks, port, kind):
    """Frames the PMD counted as discarded by a port stop, summed over the blocks of
    `port` ('rx' or 'tx', every queue)."""
    return sum(v for p, x in blocks if p == port for k, v in x.items()
               if k.startswith(f"{kind}_q") and k.endswith("_discarded_at_stop"))


def mempool_in_use(out):
    """Mbufs out of the pool at the last dump_mempool: neither in the common pool nor in
    an lcore cache (with every port stopped, a leak)."""
    block = re.split(r"testpmd> dump[_ ]mempool", out)[-1]
    size = int(re.search(r"\n\s+size=(\d+)", block).group(1))
    cached = int(re.search(r"total_cache_count=(\d+)", block).group(1))
    common = int(re.search(r"common_pool_count=(\d+)", block).group(1))
    return size - cached - common


def memzones(out, which=-1):
    """The memzone names of one dump_memzone (default: the last)."""
    block = re.split(r"testpmd> dump[_ ]memzone", out)[which]
    block = block.split("testpmd> ")[0]
    return re.findall(r"^Zone \d+: name:<([^>]*)>", block, re.M)


def tx_dropped_total(out):
    """testpmd's TX-dropped summed over every forwarding session (each stop prints its own)."""
    return sum(int(re.search(r"TX-dropped:\s+(\d+)", b).group(1))
               for b in out.split("Accumulated forward statistics for all ports")[1:])

def _accumulated(out):
    """testpmd's 'Accumulated forward statistics for all ports' block after stop."""
    block = out.split("Accumulated forward statistics for all ports")[-1]
    counts = dict(re.findall(r"([RT]X-(?:packets|dropped)):\s+(\d+)", block))
    return tuple(int(counts.get(k, 0)) for k in ("RX-packets", "TX-packets", "TX-dropped", "RX-dropped"))


def _summary(rc, out, st, elapsed, platform, size, queues, mode):
    rx, tx, tx_dropped, rx_dropped = _accumulated(out)
    cyc = re.search(r"CPU cycles/packet=([\d.]+)", out)
    res = {"platform": platform, "size": size, "queues": queues, "mode": mode, "rc": rc,
           "seconds": round(elapsed, 3), "rx": rx, "tx": tx, "tx_dropped": tx_dropped, "rx_dropped": rx_dropped,
           "mpps": round(tx / elapsed / 1e6, 3) if elapsed else None, "cycles_per_packet": float(cyc.group(1)) if cyc else None,
           "output": out, "stats": st}
    if st:
        models = {m["addr"]: m for m in st.get("device_models", [])}
        res["generated"] = models.get(GEN, {}).get("wire", {}).get("generated", 0)
        res["delivered"] = models.get(GEN, {}).get("wire", {}).get("rx_frames", 0)
        # what left the wire: port 1's device, or the one port's (wire="fast")
        res["sent"] = models.get(CHK, models.get(GEN, {})).get("wire", {}).get("tx_frames", 0)
        res["check"] = models.get(CHK, {}).get("wire", {}).get("check")
        res["during"] = models.get(CHK, {}).get("wire", {}).get("between_first_and_last_frame")
        # the emulator's samples stand for the first and the last frame (else: unknown)
        if res["during"] is not None and not models.get(CHK, {}).get("wire", {}).get("between_sampled_exactly", True):
            res["during"] = None
        res["ioctls"] = st["ioctls"]["total"]
        res["hcalls"] = st["hypercalls"]["total"]
        hc = st["hypercalls"]
        res["map_hcalls"] = hc["H_PUT_TCE"] + hc["H_PUT_TCE_INDIRECT"] + hc["H_STUFF_TCE"]
        res["tces"] = st["tces"]["mapped"]
        res["dma_faults"] = st["dma"]["faults"]
        res["clean_exit"] = st["at_exit"]["clean"]
    return res


def ok(res, allow_drops=True):
    """Nothing corrupt, reordered or duplicated, nothing left at exit, nothing mapped while
    forwarding; every frame testpmd sent reached the checker (the driver sends what its
    TX ring holds before a stop), and every gap the checker saw is a frame testpmd itself
    counted as TX-dropped (ring full; drops after the last frame sent leave no gap). With
    allow_drops=False there are none (the tests, whose rates leave room, ask for that)."""
    c = res.get("check") or {}
    drops_explain_gaps = 0 <= c.get("lost", -1) <= res["tx_dropped"]
    quiet = res.get("during") is not None and not any(res["during"].values())
    return res["rc"] == 0 and not res.get("hung") and c.get("received", 0) > 0 and res.get("clean_exit") \
        and res.get("dma_faults") == 0 and c.get("received") == res["tx"] \
        and not (c.get("reordered") or c.get("duplicated") or c.get("corrupt") or c.get("foreign")) \
        and drops_explain_gaps and quiet and (allow_drops or res["tx_dropped"] == 0)


def report(res):
    c = res.get("check") or {}
    if c.get("clean") and ok(res, allow_drops=False):
        verdict = "clean"
    elif ok(res, allow_drops=True):
        verdict = "clean (every frame sent arrived; every gap is a frame testpmd counted as TX-dropped)"
    else:
        verdict = "NOT CLEAN"
    print(f"  {res['platform']}: {res['queues']} queue pair(s), {res['size']} B frames, fwd {res['mode']}:"
          f" {res['tx']} frames in {res['seconds']:.1f} s = {res['mpps']:.3f} Mpps"
          f" ({res['cycles_per_packet']} cycles/packet in testpmd)")
    print(f"    checker: {c.get('received', 0)} received, {c.get('lost', 0)} lost, {c.get('reordered', 0)} reordered,"
          f" {c.get('duplicated', 0)} duplicated, {c.get('corrupt', 0)} corrupt, "
          f"testpmd TX-dropped {res['tx_dropped']}: {verdict}")
    if res.get("hung"):
        print(f"    testpmd HUNG: {res['hung']}")
    d = res.get("during") or {}
    print(f"    between the first and the last frame checked: {d.get('ioctls')} ioctls ({d.get('map_ioctls')}"
          f" map/unmap/register/window), {d.get('hypercalls')} TCE hypercalls, {d.get('tces')} TCEs written")
    print(f"    whole run, kernel/hypervisor: {res.get('ioctls')} ioctls, {res.get('hcalls')} hypercalls,"
          f" {res.get('tces')} TCEs, {res.get('dma_faults')} DMA faults, at exit "
          f"{'clean' if res.get('clean_exit') else 'LEAKED'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--platform", default="pseries-ddw")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--size", default="64")
    ap.add_argument("--queues", type=int, default=1)
    ap.add_argument("--mode", default="io")
    ap.add_argument("--rate", type=int, default=0, help="generator frames/s (0: as fast as the path takes)")
    ap.add_argument("--build", default=os.environ.get("SPAPR_BUILD", TOP / "build"))
    ap.add_argument("--no-drops", action="store_true",
                    help="a frame testpmd drops on a full TX ring is an error (by default it is accounted for:"
                         " every gap the checker sees must be one of them)")
    ap.add_argument("--allow-drops", action="store_true", help=argparse.SUPPRESS)  # the default now
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--stack", choices=sorted(STACKS), default="ours",
                    help="whose bus and PMD (see above)")
    a = ap.parse_args()
    res = forward(a.build, a.platform, a.seconds, a.size, a.queues, a.mode, a.rate, stack=a.stack)
    if a.json:
        print(json.dumps({k: v for k, v in res.items() if k not in ("output", "stats")}, indent=1))
    else:
        report(res)
    if not ok(res, allow_drops=not a.no_drops):
        sys.stderr.write(res["output"][-3000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
