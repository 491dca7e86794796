# SPDX-License-Identifier: BSD-3-Clause
"""What the benchmarks share: stock dpdk-testpmd sessions under spapr-emu, the
emulator's counters, hugepages, and the results folder (JSON, CSV, PNG)."""
import argparse
import atexit
import csv
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

TOP = pathlib.Path(__file__).resolve().parents[2]
TESTPMD = shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd"
GEN, CHK = "0000:00:01.0", "0000:00:02.0"
HUGEPAGE = 2 << 20

_spec = importlib.util.spec_from_file_location("emu_forward", TOP / "devtools/emu-forward.py")
fwd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fwd)


def build_dir(arg=None):
    return pathlib.Path(arg or os.environ.get("SPAPR_BUILD", TOP / "build")).resolve()


def parse_size(s):
    """'256M', '1G', '4096' (MiB) -> bytes."""
    s = s.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1])
    return int(float(s[:-1]) * mult) if mult else int(s) << 20


def human(n):
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def ensure_hugepages(nbytes):
    """At least nbytes of 2 MiB hugepages reserved (as root); returns what there is."""
    f = pathlib.Path("/proc/sys/vm/nr_hugepages")
    want = -(-nbytes // HUGEPAGE)
    have = int(f.read_text())
    if have < want:
        try:
            f.write_text(str(want))
        except OSError as e:
            raise SystemExit(f"need {want} hugepages of 2 MiB ({nbytes >> 20} MiB), have {have}: {e}"
                             " (run as root, or echo N > /proc/sys/vm/nr_hugepages)")
        have = int(f.read_text())
    return have * HUGEPAGE


_saved_pools = {}


def _pool_file(page):
    return pathlib.Path(f"/sys/kernel/mm/hugepages/hugepages-{page >> 10}kB/nr_hugepages")


def _restore_pools():
    for f, n in _saved_pools.items():
        try:
            f.write_text(str(n))
        except OSError:
            pass


def set_hugepages(nbytes, page=HUGEPAGE):
    """Exactly nbytes of hugepages of `page` bytes in the kernel's pool (as root); every
    pool is put back as it was when the benchmark exits."""
    f = _pool_file(page)
    if not f.exists():
        raise SystemExit(f"this kernel has no {page >> 20} MiB hugepages")
    if not _saved_pools:
        atexit.register(_restore_pools)
    _saved_pools.setdefault(f, int(f.read_text()))
    want = -(-nbytes // page)
    try:
        f.write_text(str(want))
    except OSError as e:
        raise SystemExit(f"cannot set {want} hugepages of {page >> 20} MiB: {e} (run as root)")
    if int(f.read_text()) < want:
        raise SystemExit(f"only {f.read_text().strip()} of {want} hugepages of {page >> 20} MiB could be reserved")


def hugepage_sizes():
    """The hugepage sizes this kernel has pools for, in bytes."""
    return sorted(int(d.name.split("-")[1][:-2]) << 10 for d in pathlib.Path("/sys/kernel/mm/hugepages").iterdir())


def huge_dir(page):
    """A hugetlbfs mount of that page size (mounted if needed): for EAL's --huge-dir."""
    if page == HUGEPAGE:
        return None
    d = pathlib.Path(f"/dev/hugepages-{page >> 20}M")
    mounts = pathlib.Path("/proc/mounts").read_text()
    if f" {d} hugetlbfs " not in mounts:
        d.mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "hugetlbfs", "-o", f"pagesize={page >> 20}M", "nodev", str(d)], check=True)
    return str(d)


def stack_args(stack, build, devices):
    """EAL arguments that hand the emulated devices to DPDK's own bus/pci + EAL VFIO and
    its net_virtio ('dpdk'), to DPDK's own bus/pci and net_virtio on our backend (our bus
    plugin added: 'pci'), or to our bus and PMD ('ours')."""
    if stack == "dpdk":
        return [a for d in devices for a in ("-a", d)], {}
    if stack == "pci":
        return ["-d", "librte_bus_spapr.so", "--log-level=bus.spapr:info", *[a for d in devices for a in ("-a", d)]], \
            {"LD_LIBRARY_PATH": f"{build}/drivers"}
    args = ["--no-pci", "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so",
            "--log-level=bus.spapr:info"]
    args += [a for d in devices for a in ("-a", f"bus=spapr,addr={d}")]
    return args, {"LD_LIBRARY_PATH": f"{build}/drivers"}


def run_session(build, platform, devices, eal, app, script, env_extra=None, timeout=120.0):
    """testpmd under spapr-emu run: devices are (addr, group, options) tuples; script lines
    are testpmd commands or 'sleep S'. Returns (rc, output, stats, wall seconds)."""
    build = pathlib.Path(build)
    with tempfile.TemporaryDirectory(prefix="spapr-bench.") as tmp:
        stats = pathlib.Path(tmp) / "stats.json"
        cmd = [str(build / "app/spapr-emu/spapr-emu"), "run", "--platform", platform, "--stats", str(stats)]
        for addr, group, opts in devices:
            cmd += ["--device", f"{addr},group={group}," + opts]
        cmd += ["--", "stdbuf", "-oL", TESTPMD, "-l", "0-1", "-n", "1", "--file-prefix",
                f"bench{os.getpid()}", *eal, "--", "-i", *app]
        env = dict(os.environ, **(env_extra or {}))
        t0 = time.monotonic()
        session = fwd.Testpmd(cmd, env)
        for line in script:
            if line.startswith("sleep "):
                time.sleep(float(line.split()[1]))
            elif not session.command(line, timeout):
                break
        rc, out = session.finish(timeout)
        wall = time.monotonic() - t0
        st = json.loads(stats.read_text()) if stats.exists() else None
    return rc, out, st, wall


class Results:
    """A results folder: rows go to NAME.json and NAME.csv, plots to NAME*.png."""

    def __init__(self, out_dir, name):
        self.dir = pathlib.Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name

    def write(self, rows, meta):
        (self.dir / f"{self.name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
        keys = []
        for r in rows:
            keys += [k for k in r if k not in keys]
        with open(self.dir / f"{self.name}.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)
        return self.dir / f"{self.name}.json"

    def png(self, suffix=""):
        return self.dir / f"{self.name}{suffix}.png"


def arg_parser(doc, name):
    """The options every benchmark has: --out (the results folder), --build, --name."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(TOP / "results"))
    ap.add_argument("--build")
    ap.add_argument("--name", default=name)
    return ap


def publish(a, rows, meta_, columns, plot):
    """Write the rows (JSON, CSV), print the table, draw the plot: the end of every run."""
    res = Results(a.out, a.name)
    path = res.write(rows, meta_)
    print()
    table(rows, columns)
    plt = pyplot()
    fig = plot(plt, rows) if plt else None
    if fig is not None:
        fig.tight_layout()
        fig.savefig(res.png())
        plt.close(fig)
    print(f"\nresults: {path}, {path.with_suffix('.csv')}" + (f", {res.png()}" if fig is not None else ""))


def pyplot():
    """matplotlib with a file-only back-end, or None (then no plot, and a message)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        print("python3-matplotlib is not installed: no plots (apt-get install python3-matplotlib)")
        return None


def table(rows, cols):
    """Print rows as an aligned text table; cols are (key, header) pairs."""
    cells = [[h for _, h in cols]] + [["" if r.get(k) is None else str(r.get(k)) for k, _ in cols] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    for n, c in enumerate(cells):
        print("  ".join(v.rjust(widths[i]) for i, v in enumerate(c)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def meta(build):
    import platform as pf
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "host": pf.node(), "cpus": os.cpu_count(),
            "kernel": pf.release(), "testpmd": TESTPMD, "build": str(build)}
