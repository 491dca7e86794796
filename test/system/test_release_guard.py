# SPDX-License-Identifier: BSD-3-Clause
"""The release guard: our plugins built for another DPDK release with the same soname
(DPDK 26.07 kept 25.11's .26 although struct rte_bus changed) load into stock testpmd,
refuse themselves in one line each before registering anything, and testpmd runs on.

SPAPR_GUARD_PLUGINS names the drivers directory of a build of this tree against that
other release, SPAPR_GUARD_RELEASE that release (25.11); testpmd is the one in PATH (devtools/other-dpdk.sh sets both, for each
release that shares its ABI with an earlier one in devtools/dpdk-releases.txt)."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

GUARD = os.environ.get("SPAPR_GUARD_PLUGINS")
BUILT_FOR = os.environ.get("SPAPR_GUARD_RELEASE")
TESTPMD = shutil.which("dpdk-testpmd")
pytestmark = pytest.mark.skipif(not (GUARD and BUILT_FOR and TESTPMD),
                                reason="SPAPR_GUARD_PLUGINS (plugins of another release) not given")

PLUGINS = ("librte_bus_spapr.so", "librte_net_spapr_virtio.so")


def test_a_plugin_of_another_release_refuses_itself_and_testpmd_runs_on():
    plugins = pathlib.Path(GUARD)
    built_for = BUILT_FOR
    cmd = [TESTPMD, "-l", "0-1", "-n", "1", "--no-pci", "--no-huge", "-m", "256", "--file-prefix",
           f"guard{os.getpid()}", *[a for p in PLUGINS for a in ("-d", p)],
           "--vdev", "net_null0", "--vdev", "net_null1", "--", "-i", "--total-num-mbufs=2048"]
    r = subprocess.run(cmd, input="start\nstop\nquit\n", capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, LD_LIBRARY_PATH=str(plugins)))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    for p in PLUGINS:
        lines = [line for line in out.splitlines() if f"{p}: built for DPDK {built_for}" in line]
        assert len(lines) == 1, out[-3000:]
        assert "but this application runs DPDK" in lines[0] and "rebuild the plugin against DPDK" in lines[0]
    # nothing of them registered: no spapr bus, its telemetry or its driver
    assert "spapr" not in out.replace(str(plugins), "").lower().replace(
        "librte_bus_spapr.so", "").replace("librte_net_spapr_virtio.so", ""), out[-3000:]
    # and testpmd forwarded on its own ports
    assert re.search(r"Forward statistics for port 0", out) and "Bye..." in out, out[-3000:]
