# SPDX-License-Identifier: BSD-3-Clause
"""The ethdev iterator series (upstream/dpdk/ethdev-iterator/) against the DPDK it is
for: the installed DPDK's librte_ethdev rebuilt from its own source with the series'
backport applied (upstream/dpdk/patched-ethdev.sh), dropped in under the same stock
programs with LD_LIBRARY_PATH. Side by side with the installed library, on the emulated
pSeries DDW preset with one port of each stack: the strings that crash stock ethdev
(bus=pci,addr=..., class=eth) find their ports; a bus other than the four ethdev names
(this project's) is iterated in the global syntax, its class layer honoured; the legacy
syntax of such a bus gets an error that says what to write."""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, TOP, other_dpdk

GEN, CHK = "0000:00:01.0", "0000:00:02.0"
MAC0, MAC1 = "52:54:00:12:34:56", "52:54:00:12:34:57"
PATCHED = TOP / "upstream/dpdk/patched-ethdev.sh"
# the patched library is a rebuild of the machine's Debian DPDK: with it only
_DEBIAN_TESTPMD = "/usr/bin/dpdk-testpmd"
pytestmark = pytest.mark.skipif(shutil.which("dpdk-testpmd") != _DEBIAN_TESTPMD or bool(other_dpdk(_DEBIAN_TESTPMD)),
                                reason="the series' backport rebuilds the machine's Debian DPDK: this run tests another")


@pytest.fixture(scope="module")
def patched_ethdev():
    p = subprocess.run([str(PATCHED)], capture_output=True, text=True, timeout=1200)
    if p.returncode != 0 and "no backport of the ethdev iterator series" in p.stderr:
        pytest.skip(p.stderr.strip())
    assert p.returncode == 0, p.stdout + p.stderr
    lib = pathlib.Path(p.stdout.strip().splitlines()[-1])
    assert any(lib.glob("librte_ethdev.so.*")), lib
    return lib


def iterate(strings, ethdev_dir=None):
    """dev-probe under the emulator: GEN on this bus (our PMD), CHK on bus/pci (stock
    net_virtio), then each string through RTE_ETH_FOREACH_MATCHING_DEV. Returns {string:
    ports found, or 'refused', or 'crashed'} and the output."""
    libs = f"{ethdev_dir}:{BUILD}/drivers" if ethdev_dir else f"{BUILD}/drivers"
    res, out = {}, ""
    for s in strings:   # one process a string: a crash ends only its own
        with tempfile.TemporaryDirectory(prefix="spapr-iter.") as tmp:
            cmd = [str(BUILD / "app/spapr-emu/spapr-emu"), "run", "--platform", "pseries-ddw",
                   "--stats", f"{tmp}/stats.json",
                   "--device", f"{GEN},group=0,model=virtio-net,backend=gen",
                   "--device", f"{CHK},group=1,model=virtio-net,backend=check",
                   "--", str(BUILD / "test/progs/dev-probe"), "-l", "0", "-n", "1",
                   "--file-prefix", f"iter{os.getpid()}", "-d", "librte_bus_spapr.so",
                   "-d", "librte_net_spapr_virtio.so", "-a", f"bus=spapr,addr={GEN}", "-a", CHK,
                   "--", "iterate", s]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, LD_LIBRARY_PATH=libs))
        o = p.stdout + p.stderr
        out += f"--- {s}: rc {p.returncode}\n{o[-1500:]}"
        m = re.search(rf"^iterate {re.escape(s)}: (\d+) port\(s\)$", o, re.M)
        if m:
            res[s] = [line for line in re.findall(r"^iterate port \d+: bus=\S+ device=(\S+)", o, re.M)]
        elif re.search(rf"^iterate {re.escape(s)}: refused", o, re.M):
            res[s] = "refused"
        else:
            res[s] = "crashed" if p.returncode != 0 else "?"
    return res, out


# "crashed": the unpatched answer today; a distribution that takes patch 1 (stable)
# answers as the patched library, which the test takes too
STRINGS = {
    # string: (stock ethdev, patched ethdev)
    f"bus=pci,addr={CHK}": ("crashed", [CHK]),
    "class=eth": ("crashed", [GEN, CHK]),
    f"bus=spapr,addr={GEN},iommu=auto": ("refused", [GEN]),   # the string that attached it
    f"class=eth,mac={MAC1}": ([CHK], [CHK]),
    CHK: ([CHK], [CHK]),
    f"bus=spapr,addr={GEN}": ("refused", [GEN]),
    f"bus=spapr,addr={GEN}/class=eth,mac={MAC0}": ("refused", [GEN]),
    f"bus=spapr,addr={GEN}/class=eth,mac={MAC1}": ("refused", []),
    f"bus=spapr,addr={CHK}": ("refused", []),
    "bus=spapr": ("refused", [GEN]),
    f"spapr:{GEN}": ("refused", "refused"),
    "/class=eth": ("crashed", "refused"),
}


def test_ethdev_iterator_series_side_by_side(patched_ethdev):
    stock, out_stock = iterate(list(STRINGS))
    patched, out_patched = iterate(list(STRINGS), patched_ethdev)
    for s, (want_stock, want_patched) in STRINGS.items():
        assert stock[s] == want_stock or (want_stock == "crashed" and stock[s] != "crashed"), \
            (s, stock[s], out_stock)
        assert patched[s] == want_patched, (s, patched[s], out_patched)
    assert "Bus spapr cannot iterate a device given by name: use bus=spapr,<bus arguments>" in out_patched
