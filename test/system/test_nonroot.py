# SPDX-License-Identifier: BSD-3-Clause
"""A user who is not root, on a pSeries guest. The kernel shows physical addresses in
/proc/self/pagemap to root only, so EAL takes IOVA as VA whatever --iova-mode says, and
the dynamic windows of a pSeries guest start at 1<<59, above every virtual address:
the bus says what works (root; or DPDK's memory placed inside the default window), and
that works: the default window holds DPDK's memory at its virtual addresses, and memory
DPDK would add beyond it is refused before it is handed out.

Run as `nobody` (setpriv), with a hugetlbfs mount of its own, the binaries copied where
it can read them, and CAP_IPC_LOCK kept where the test needs locked memory (the
container's hard RLIMIT_MEMLOCK is too small for DPDK's memory)."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD
from test_bus_spapr import TESTPMD, checked

NOBODY = 65534
DEV = "bus=spapr,addr=0000:00:01.0"
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root"),
    pytest.mark.skipif(not shutil.which("setpriv"), reason="setpriv (util-linux) is not installed"),
    pytest.mark.skipif(not os.path.exists(TESTPMD), reason="dpdk-testpmd is not installed"),
]


@pytest.fixture(scope="module")
def nobody_env():
    """A directory `nobody` can read (the binaries), one it can write (stats, DPDK's
    runtime files) and a hugetlbfs mount it owns."""
    top = tempfile.mkdtemp(prefix="spapr-nonroot.", dir="/var/tmp")
    os.chmod(top, 0o755)
    bins, work, huge = (os.path.join(top, d) for d in ("bin", "work", "huge"))
    for d in (bins, work, huge):
        os.mkdir(d)
    os.chmod(work, 0o777)
    for rel in ("app/spapr-emu/spapr-emu", "app/spapr-emu/libspapr-emu-preload.so",
                "drivers/librte_bus_spapr.so", "test/pmd/librte_net_spapr_test.so"):
        shutil.copy2(BUILD / rel, bins)
    subprocess.run(["mount", "-t", "hugetlbfs", "-o", f"uid={NOBODY},mode=0700", "nodev", huge], check=True)
    try:
        yield {"bin": bins, "work": work, "huge": huge}
    finally:
        subprocess.run(["umount", huge], check=False)
        shutil.rmtree(top, ignore_errors=True)


def run_as_nobody(env, platform, eal=(), ipc_lock=False, testpmd_args=(),
                  commands="set fwd txonly\nstart\nstop\nquit\n"):
    caps = "+ipc_lock" if ipc_lock else "-ipc_lock"
    stats = os.path.join(env["work"], "stats.json")
    if os.path.exists(stats):
        os.unlink(stats)
    cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", f"--inh-caps={caps}",
           f"--ambient-caps={caps}", "--",
           os.path.join(env["bin"], "spapr-emu"), "run", "--platform", platform, "--stats", stats, "--",
           TESTPMD, "-l", "0-1", "-n", "1", "--no-pci", "--file-prefix", f"nobody{os.getpid()}",
           "--huge-dir", env["huge"], "-m", "64", "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_test.so",
           "-a", DEV, "--log-level=bus.spapr:info", *eal, "--", "--total-num-mbufs=2048", "-i", *testpmd_args]
    proc = subprocess.run(cmd, input=commands, capture_output=True, text=True, timeout=120, cwd=env["work"],
                          env=dict(os.environ, LD_LIBRARY_PATH=env["bin"], HOME=env["work"],
                                   XDG_RUNTIME_DIR=env["work"]))
    import json
    st = json.loads(open(stats).read()) if os.path.exists(stats) else None
    return proc.returncode, proc.stdout + proc.stderr, st


@pytest.mark.parametrize("platform", ["pseries-ddw", "pseries-noddw"])
def test_not_root_is_told_what_works(nobody_env, platform):
    # --iova-mode=pa cannot help: Debian's 22.11 takes VA anyway, 23.11 on stops there
    rc, out, st = run_as_nobody(nobody_env, platform, eal=("--iova-mode=pa",))
    assert "Selected IOVA mode 'VA'" in out or \
        "Cannot use IOVA as 'PA' since physical addresses are not available" in out, out
    rc, out, st = run_as_nobody(nobody_env, platform)
    assert "Selected IOVA mode 'VA'" in out, out      # EAL's choice without physical addresses
    assert re.search(r"spapr: IOMMU group 0: DPDK uses IOVA=VA because it cannot read physical addresses "
                     r"\(only root can, in /proc/self/pagemap\), and .*: run as root \(the bus then chooses "
                     r"the IOVAs\), or keep DPDK's memory inside the default window 0x0-0x3fffffff with "
                     r"--base-virtaddr=0x10000000 and -m 752 or less", out), out
    assert "--iova-mode=pa" not in out.split("EAL: Selected IOVA mode")[1], out  # not the advice that fails
    assert "probed by" not in out
    assert st["dma"]["faults"] == 0 and st["at_exit"]["clean"] is True


@pytest.mark.parametrize("platform", ["pseries-ddw", "pseries-noddw"])
def test_not_root_with_memory_in_the_default_window_forwards(nobody_env, platform):
    """Following that advice: DPDK's memory at its virtual addresses in the default
    window (v2 keeps it on pseries-ddw; v1 on pseries-noddw), every mbuf's IOVA mapped."""
    rc, out, st = run_as_nobody(nobody_env, platform, eal=("--base-virtaddr=0x10000000",), ipc_lock=True)
    assert rc == 0, out
    assert "Selected IOVA mode 'VA'" in out
    assert "spapr: 0000:00:01.0: probed by net_spapr_test" in out, out
    sent, wrong = checked(out)
    assert sent > 0 and wrong == 0, out
    assert st["rtas"].get("ibm,create-pe-dma-window", 0) == 0, st["rtas"]   # the default window, as it is
    assert st["dma"]["faults"] == 0 and st["at_exit"]["clean"] is True, st["at_exit"]


def test_not_root_memory_beyond_the_default_window_is_refused(nobody_env):
    """More memory than the default window holds above DPDK's lowest address: EAL's
    allocation is refused before the memory is handed out (no DMA fault, nothing mapped
    outside the window), with the options that avoid it."""
    rc, out, st = run_as_nobody(nobody_env, "pseries-ddw", eal=("--base-virtaddr=0x10000000",), ipc_lock=True,
                                testpmd_args=("--total-num-mbufs=400000",), commands="quit\n")
    assert rc != 0
    assert re.search(r"spapr: socket 0: DPDK asks for \d+ MiB of memory but with IOVA=VA the default DMA window "
                     r"holds 766 MiB above DPDK's lowest address: start with -m 766 \(or --socket-mem\) or less",
                     out), out
    assert out.count("DPDK asks for") == 1, out             # said once, however often EAL retries
    assert "Creation of mbuf pool for socket 0 failed" in out
    assert "failed (" not in out, out                        # no mapping failed: nothing out of reach
    assert st["dma"]["faults"] == 0 and st["at_exit"]["clean"] is True, st["at_exit"]
