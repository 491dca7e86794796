# SPDX-License-Identifier: BSD-3-Clause
"""DPDK's own unit-test application against our ports: the ethdev-facing autotests of the
installed dpdk-test (Debian's dpdk-dev package), written by DPDK's maintainers, drive two
ports of ours on the emulated platform, and in the same run two net_null vdevs (the
reference). A test case that passes on the vdevs and fails on ours fails here; so does
an autotest that does not run to its end on ours.

Stacks: "ours" (the spapr bus and virtio-net PMD, on every preset) and "pci" (DPDK's own
bus/pci and net_virtio on our backend: only -d librte_bus_spapr.so added). The emulated
devices loop what they are sent back (backend=loop) and have 4 queue pairs: DPDK's rx
adapter tests use three RX queues of port 0. doc/testing.md lists the autotests and why
others do not apply."""
import functools
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, other_dpdk

DPDK_TEST = shutil.which("dpdk-test") or "/usr/bin/dpdk-test"
PORTS = ("0000:00:01.0", "0000:00:02.0")
DEV_OPTS = "model=virtio-net,backend=loop,qsize=1024,queues=4,speed=1000"

# the autotests that drive whatever ethdev ports EAL gives them
AUTOTESTS = ["pmd_perf_autotest", "event_eth_rx_adapter_autotest", "event_eth_rx_intr_adapter_autotest",
             "event_eth_tx_adapter_autotest", "bitratestats_autotest", "latencystats_autotest",
             "metrics_autotest", "pdump_autotest", "ethdev_link_status"]

pytestmark = [pytest.mark.skipif(not os.path.exists(DPDK_TEST), reason="dpdk-test is not installed"),
              pytest.mark.skipif(os.path.exists(DPDK_TEST) and other_dpdk(DPDK_TEST) is not None,
                                 reason=str(os.path.exists(DPDK_TEST) and other_dpdk(DPDK_TEST)))]


class Result:
    """One dpdk-test run: exit status, output, and {case: succeeded|failed|skipped|
    unsupported} (an autotest without cases: itself, OK/Failed/Skipped)."""

    def __init__(self, rc, out, stats=None):
        self.rc, self.out, self.stats = rc, out, stats
        self.cases = dict(re.findall(r"^ \+ TestCase \[\s*\d+\] : (\S+) (\w+)", out, re.M))
        m = re.search(r"^Test (OK|Failed|Skipped)$", out, re.M)
        self.verdict = m.group(1) if m else None

    def failed(self):
        return sorted(c for c, s in self.cases.items() if s == "failed")

    def passed(self):
        return sorted(c for c, s in self.cases.items() if s == "succeeded")


# event_eth_rx_adapter's mbuf pool is 8192 x ports x 64 mbufs (2.4 GiB for two ports)
HUGEPAGES = 1536
NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"


@pytest.fixture(scope="module", autouse=True)
def enough_hugepages():
    """3 GiB of 2 MiB hugepages for this module (as many as there were, after)."""
    try:
        before = int(open(NR_HUGEPAGES).read())
        if before < HUGEPAGES:
            open(NR_HUGEPAGES, "w").write(str(HUGEPAGES))
    except OSError as e:
        pytest.skip(f"cannot reserve {HUGEPAGES} hugepages ({e}): run as root")
    yield
    if before < HUGEPAGES:
        open(NR_HUGEPAGES, "w").write(str(before))


def eal_args(prefix):
    return ["-l", "0-1", "-n", "1", "--file-prefix", prefix, "--log-level=bus.spapr:notice"]


@functools.lru_cache(maxsize=None)
def reference(autotest):
    """The autotest on two net_null vdevs, no emulator (cached for the session)."""
    cmd = [DPDK_TEST, *eal_args(f"ref{os.getpid()}"), "--no-pci", "--vdev", "net_null0", "--vdev", "net_null1"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, DPDK_TEST=autotest))
    return Result(p.returncode, p.stdout + p.stderr)


def run_ours(run_emu, autotest, platform, stack):
    env = dict(os.environ, DPDK_TEST=autotest, LD_LIBRARY_PATH=f"{BUILD}/drivers")
    if stack == "ours":
        eal = ["--no-pci", "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so",
               *[a for p in PORTS for a in ("-a", f"bus=spapr,addr={p}")]]
    else:
        eal = ["-d", "librte_bus_spapr.so", *[a for p in PORTS for a in ("-a", p)]]
    devices = [a for i, p in enumerate(PORTS) for a in ("--device", f"{p},group={i},{DEV_OPTS}")]
    r = run_emu([DPDK_TEST, *eal_args(f"auto{os.getpid()}"), *eal], "--platform", platform, *devices,
                env=env, timeout=300)
    return Result(r.rc, r.out + r.err, r.stats)


def assert_no_worse_than_the_reference(ours, ref):
    """Every case the reference passes passes on ours; an autotest the reference passes
    as a whole passes on ours."""
    assert ref.verdict is not None, "the reference run did not finish:\n" + ref.out[-3000:]
    regressions = sorted(set(ref.passed()) & set(ours.failed()))
    missing = sorted(set(ref.passed()) - set(ours.cases))
    assert not regressions and not missing, (f"pass on net_null, fail on ours: {regressions}; "
                                             f"not run on ours: {missing}\n" + ours.out[-4000:])
    if ref.verdict == "OK":
        assert ours.verdict == "OK", ours.out[-4000:]


def assert_platform_clean(ours):
    s = ours.stats
    assert s is not None, ours.out[-3000:]
    assert s["dma"]["faults"] == 0, s["dma"]
    assert s["at_exit"]["clean"] is True, s["at_exit"]


@pytest.mark.parametrize("autotest", AUTOTESTS)
def test_autotest_on_our_pmd(run_emu, autotest):
    ours = run_ours(run_emu, autotest, "pseries-ddw", "ours")
    assert_no_worse_than_the_reference(ours, reference(autotest))
    assert_platform_clean(ours)


# the same on the other presets and through stock bus/pci + net_virtio on our backend:
# the autotests whose ports move packets or are started and stopped
MOVING = ["pmd_perf_autotest", "event_eth_rx_adapter_autotest", "event_eth_tx_adapter_autotest"]
RX_ADAPTER = "event_eth_rx_adapter_autotest"
OTHERS = [(a, p, s) for a in MOVING for p, s in [("pseries-noddw", "ours"), ("powernv", "ours"), ("pseries-ddw", "pci")]
          if a != RX_ADAPTER or (p, s) == ("powernv", "ours")]


@pytest.mark.parametrize("autotest,platform,stack", OTHERS)
def test_autotest_on_other_presets_and_stacks(run_emu, autotest, platform, stack):
    ours = run_ours(run_emu, autotest, platform, stack)
    assert_no_worse_than_the_reference(ours, reference(autotest))
    assert_platform_clean(ours)


def test_rx_adapter_pool_beyond_a_v1_window_is_refused(run_emu):
    """The rx adapter test's 2.4 GiB mbuf pool does not fit the 1 GiB default window of a
    pSeries without dynamic windows: refused once, before anything is mapped outside the
    window, with what to do; the test's set-up fails and nothing is left behind."""
    ours = run_ours(run_emu, RX_ADAPTER, "pseries-noddw", "ours")
    refusals = re.findall(r"^spapr: socket 0: DPDK asks for (\d+) MiB of memory but the DMA window holds (\d+) MiB:"
                          r" start with -m \d+", ours.out, re.M)
    assert len(refusals) == 1 and int(refusals[0][0]) > int(refusals[0][1]), ours.out[-3000:]
    assert "Port initialization failed err -12" in ours.out
    assert_platform_clean(ours)


def test_rx_adapter_through_stock_net_virtio(run_emu):
    """Every case passes on stock bus/pci + net_virtio over our backend. The test then
    frees its mbuf pool while the stopped ports still hold its mbufs in their RX rings
    (it never closes them), and net_virtio frees them at EAL's clean-up: dpdk-test
    dies of SIGSEGV at exit. So it does with stock EAL alone on PowerNV (no plugin of
    ours): DPDK's test and net_virtio, not our backend. Our PMD lets go of every mbuf
    at stop."""
    ours = run_ours(run_emu, RX_ADAPTER, "pseries-ddw", "pci")
    assert_no_worse_than_the_reference(ours, reference(RX_ADAPTER))
    assert ours.stats["dma"]["faults"] == 0
    env = dict(os.environ, DPDK_TEST=RX_ADAPTER)
    devices = [a for i, p in enumerate(PORTS) for a in ("--device", f"{p},group={i},{DEV_OPTS}")]
    stock = run_emu([DPDK_TEST, *eal_args(f"stock{os.getpid()}"), *[a for p in PORTS for a in ("-a", p)]],
                    "--platform", "powernv", *devices, env=env, timeout=300)
    stock = Result(stock.rc, stock.out + stock.err, stock.stats)
    assert stock.verdict == "OK", stock.out[-3000:]
    assert ours.stats["exit"].get("signal") == stock.stats["exit"].get("signal") == 11, \
        (ours.stats["exit"], stock.stats["exit"])
