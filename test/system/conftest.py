# SPDX-License-Identifier: BSD-3-Clause
"""System tests: real binaries under `spapr-emu run` on the emulated POWER platform.

The build directory comes from $SPAPR_BUILD (devtools/test.sh sets it), else ./build.
"""
import functools
import json
import os
import pathlib
import re
import subprocess
import time

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("SPAPR_BUILD", TOP / "build")).resolve()



@functools.lru_cache(maxsize=None)
def eal_driver_dir():
    """The driver directory EAL auto-loads (RTE_EAL_PMD_PATH in rte_build_config.h) of
    the DPDK the tree was built against (libdpdk.pc, as PKG_CONFIG_PATH finds it: a
    Debian package or a build from source), or None."""
    try:
        flags = subprocess.run(["pkg-config", "--cflags-only-I", "libdpdk"], capture_output=True,
                               text=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    for inc in (f[2:] for f in flags if f.startswith("-I")):
        cfg = pathlib.Path(inc) / "rte_build_config.h"
        m = re.search(r'#define RTE_EAL_PMD_PATH "([^"]+)"', cfg.read_text()) if cfg.exists() else None
        if m:
            return pathlib.Path(m.group(1))
    return None


def eal_driver(name):
    """A driver of EAL's driver directory (librte_X.so), or None."""
    d = eal_driver_dir()
    return str(d / name) if d and (d / name).exists() else None


def _eal_dir_of(binary):
    """The directory of the librte_eal a binary loads (ldd), real path; None if none."""
    try:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"librte_eal\.so\.\d+ => (\S+)", out)
    return os.path.dirname(os.path.realpath(m.group(1))) if m else None


@functools.lru_cache(maxsize=None)
def tree_dpdk_libdir():
    """The library directory of the DPDK the tree was built against (libdpdk.pc)."""
    try:
        d = subprocess.run(["pkg-config", "--variable=libdir", "libdpdk"], capture_output=True, text=True,
                           timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return os.path.realpath(d) if d else None


def other_dpdk(binary):
    """Why a binary cannot test this build (it runs another DPDK than the tree was built
    against: Debian 12's Open vSwitch or dpdk-test next to a DPDK built from source), or
    None when it runs the same one."""
    have, want = _eal_dir_of(binary), tree_dpdk_libdir()
    if have is None or want is None or have == want:
        return None
    return f"{binary} runs the DPDK in {have}, the tree is built against the one in {want}"

def _exe(rel):
    path = BUILD / rel
    if not path.exists():
        pytest.fail(f"{path} is missing: build first (devtools/test.sh does)")
    return str(path)


@pytest.fixture(scope="session")
def spapr_emu():
    return _exe("app/spapr-emu/spapr-emu")


@pytest.fixture(scope="session")
def seed():
    return _exe("test/progs/spapr-seed")


class Run:
    """One `spapr-emu run`: its output, exit status and --stats JSON."""

    def __init__(self, proc, stats_path):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.stats = json.loads(stats_path.read_text()) if stats_path.exists() else None

    def steps(self):
        """{step: (ret, errno)} from the `<step> ret=N errno=E` lines."""
        res = {}
        for line in self.out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1].startswith("ret=") and parts[2].startswith("errno="):
                res[parts[0]] = (int(parts[1][4:]), parts[2][6:])
        return res


@pytest.fixture
def run_emu(spapr_emu, tmp_path):
    """run_emu(cmd, *options, prefix=[]) -> Run"""

    def run(cmd, *options, prefix=(), timeout=120, env=None, stdin=None):
        stats = tmp_path / "stats.json"
        argv = list(prefix) + [spapr_emu, "run", "--stats", str(stats), *options, "--", *cmd]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env=env, stdin=stdin)
        return Run(proc, stats)

    return run


def telemetry(prefix, commands):
    """{command: reply} from Debian's dpdk-telemetry.py, once the application with this
    file prefix has its telemetry socket up and has probed (its prompt comes after)."""
    sock = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.1)
    time.sleep(1)
    q = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input="".join(c + "\n" for c in commands),
                       capture_output=True, text=True, timeout=30)
    replies = [json.loads(line) for line in q.stdout.splitlines() if line.startswith('{"/')]
    return {k: v for r in replies for k, v in r.items()}
