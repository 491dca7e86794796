# SPDX-License-Identifier: BSD-3-Clause
"""Stock dpdk-testpmd forwarding through our virtio-net PMD on the emulated platforms:
port 0's device generates numbered frames, port 1's device checks each one testpmd sends
(devtools/emu-forward.py runs the session). Rates are set below what the device threads
of a 2-core machine take, so that every frame must arrive: these are correctness tests,
the benchmark is `devtools/emu-forward.py` without --rate."""
import importlib.util
import os
import re

import pytest

from conftest import BUILD, TOP

_spec = importlib.util.spec_from_file_location("emu_forward", TOP / "devtools/emu-forward.py")
fwd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fwd)

pytestmark = pytest.mark.skipif(not os.path.exists(fwd.TESTPMD), reason="dpdk-testpmd is not installed")


def run(**kw):
    kw.setdefault("seconds", 1.0)
    kw.setdefault("rate", 50000)
    res = fwd.forward(BUILD, **kw)
    assert res["stats"] is not None, res["output"][-3000:]
    return res


def assert_clean(res, least=10000):
    c = res["check"]
    assert fwd.ok(res, allow_drops=False), (c, res["tx_dropped"], res["output"][-3000:])
    assert c["received"] >= least, c
    # what testpmd sent is what the checker got: a stop sends what the TX ring holds first
    assert res["tx"] == c["received"]


@pytest.mark.parametrize("platform", ["pseries-ddw", "pseries-noddw", "powernv"])
def test_io_forwarding_is_lossless_and_in_order(platform):
    assert_clean(run(platform=platform))


def test_forwarding_maps_nothing():
    """The emulator samples its IOMMU counters at the first and the last frame the
    checker gets: nothing in between. And every ioctl and hypercall of the whole run
    happens at start and teardown: three times the frames, the same counts."""
    short, long_ = run(seconds=0.5), run(seconds=1.5)
    assert_clean(short, least=5000)
    assert_clean(long_)
    assert short["during"] == long_["during"] == {"ioctls": 0, "map_ioctls": 0, "hypercalls": 0, "tces": 0}
    assert long_["check"]["received"] > 2 * short["check"]["received"]
    for key in ("ioctls", "hcalls", "map_hcalls", "tces"):
        assert short[key] == long_[key], key
    assert short["stats"]["ioctls"]["VFIO_IOMMU_MAP_DMA"] == long_["stats"]["ioctls"]["VFIO_IOMMU_MAP_DMA"]


@pytest.mark.parametrize("mode", ["mac", "macswap", "5tswap", "csum"])
def test_forwarding_modes(mode):
    assert_clean(run(mode=mode))


@pytest.mark.parametrize("queues", [2, 4])
def test_queue_pairs(queues):
    """Flows spread over the queue pairs by the device; each flow stays in order."""
    res = run(queues=queues, ring=1024)
    assert_clean(res)
    check = next(m for m in res["stats"]["device_models"] if m["addr"] == fwd.CHK)
    tx_queues = [q for q in check["queues"] if q["kind"] == "tx"]
    assert len(tx_queues) == queues
    assert all(q["chains"] > 0 for q in tx_queues), tx_queues


def model(res, addr):
    return next(m for m in res["stats"]["device_models"] if m["addr"] == addr)


def test_more_rx_than_tx_queues():
    """4 RX queues and 1 TX queue (as DPDK's event rx adapter tests ask): the port starts
    with four pairs and the device fills every RX queue. (testpmd itself polls only
    min(RX, TX) queues: the other rings fill and stay full, which the device waits on.)"""
    res = run(queues=4, mode="rxonly", ring=1024, extra_testpmd=("--txq=1",))
    assert res["rc"] == 0 and res["rx"] > 0 and "Fail" not in res["output"], res["output"][-3000:]
    gen = model(res, fwd.GEN)
    rx = [q for q in gen["queues"] if q["kind"] == "rx"]
    assert len(rx) == 4 and all(q["chains"] >= 1024 for q in rx), rx
    assert gen["rx_dropped_no_queue"] == 0


def test_more_tx_than_rx_queues():
    """1 RX queue and 2 TX queues (l3fwd with two lcores on one RX queue, say): the port
    enables two pairs, pair 1's RX queue stays disabled; frames the device steers there
    are dropped and counted by it (the other pair's are not held up), testpmd sends on
    its queues and the checker gets what it sent."""
    res = run(queues=2, mode="txonly", rate=0, extra_testpmd=("--rxq=1", "--txq=2", "--txpkts=64"))
    ports = fwd.port_stats(res["output"])
    assert res["rc"] == 0 and ports[1][1] > 10000, res["output"][-3000:]
    gen = model(res, fwd.GEN)
    assert gen["rx_dropped_no_queue"] > 0 and gen["queues"][0]["chains"] > 0, gen
    assert res["stats"]["dma"]["faults"] == 0 and res["clean_exit"]


@pytest.mark.parametrize("size", ["60", "1514", "64-1514", "9000", "64-9000"])
def test_frame_sizes(size):
    """Jumbo frames arrive as mbuf chains (mergeable RX buffers) and leave as
    multi-segment TX chains."""
    assert_clean(run(size=size, rate=20000), least=5000)


def test_rxonly_and_txonly():
    res = run(mode="rxonly")
    assert res["rc"] == 0 and res["rx"] > 10000 and res["check"]["received"] == 0
    res = run(mode="txonly", rate=0, extra_testpmd=("--txpkts=64",))
    ports = fwd.port_stats(res["output"])
    # testpmd's own frames reach the checker as foreign (not the generator's) frames
    assert ports[1][1] > 10000 and res["check"]["foreign"] > 0, (ports, res["check"])
    assert res["stats"]["dma"]["faults"] == 0 and res["clean_exit"]


def test_start_stop_and_port_restart_cycles():
    """Forwarding stops and starts, ports stop and start (rings rebuilt, RX buffers
    drained and refilled): no fault, no corruption, nothing left at exit."""
    script = ["set fwd io"]
    for _ in range(3):
        script += ["start", "sleep 0.3", "stop", "port stop all", "port start all"]
    script += ["start", "sleep 0.3", "stop"]
    res = run(script=script)
    c = res["check"]
    assert res["rc"] == 0 and res["clean_exit"] and res["dma_faults"] == 0, res["output"][-3000:]
    assert c["received"] > 20000 and not (c["reordered"] or c["duplicated"] or c["corrupt"] or c["foreign"]), c


def assert_nothing_leaked_or_unaccounted(res, zones_before, least):
    """The checker saw no corruption, duplicate or reordering, and every frame it missed
    is one the PMD counted as discarded by a port stop (left in an RX ring, or not sent
    from a TX ring) or testpmd as TX-dropped; with every port stopped no mbuf is out of
    the pool, the memzones (rings, header slots, control queue) are those of before,
    and the emulator found nothing mapped, registered, locked or open at exit."""
    out, c = res["output"], res["check"]
    assert res["hung"] is None and res["rc"] == 0, (res["hung"], out[-3000:])
    assert res["clean_exit"] and res["dma_faults"] == 0, (res["stats"]["at_exit"], out[-3000:])
    assert not (c["reordered"] or c["duplicated"] or c["corrupt"] or c["foreign"]), c
    assert c["received"] >= least, c
    blocks = fwd.xstats_blocks(out)
    discarded = fwd.discarded_at_stop(blocks, 0, "rx") + fwd.discarded_at_stop(blocks, 1, "tx")
    assert c["lost"] == discarded + fwd.tx_dropped_total(out), (c, blocks[-2:])
    assert fwd.mempool_in_use(out) == 0
    assert fwd.memzones(out) == zones_before


def test_thousand_port_restarts():
    """1000 times: stop both ports (the device is reset, the rings drained), start them
    (negotiated again, rings refilled), forward, stop forwarding. The IOMMU is never
    touched in between: restarts map nothing."""
    script = ["set fwd io", "start", "sleep 0.2", "stop", "dump_memzone"]
    script += ["port stop all", "port start all", "start", "stop"] * 1000
    script += ["show port xstats all", "port stop all", "dump_mempool", "dump_memzone"]
    res = run(script=script, rate=100000, extra_testpmd=("--disable-link-check", "--no-flush-rx"))
    zones = fwd.memzones(res["output"], 1)
    assert_nothing_leaked_or_unaccounted(res, zones, least=20000)
    assert res["stats"]["device_models"][0]["resets"] >= 1000
    assert not any(res["during"].values()), res["during"]


@pytest.mark.parametrize("platform,cycles", [("pseries-ddw", 100), ("pseries-noddw", 20), ("powernv", 20)])
def test_detach_attach_cycles(platform, cycles):
    """Hot-unplug and re-plug, the checker's port and the generator's in turn: the bus
    closes the group's container (every TCE, registration and locked byte back) and
    opens it again at the same IOVAs (mbufs keep theirs); the port is set up anew and
    forwarding goes on where it stopped."""
    script = ["set fwd io", "start", "sleep 0.2", "stop", "dump_memzone"]
    for i in range(cycles):
        port, addr = (1, fwd.CHK) if i % 2 == 0 else (0, fwd.GEN)
        script += [f"port stop {port}", f"show port xstats {port}", f"port detach {port}",
                   f"port attach bus=spapr,addr={addr}", f"port start {port}", "start", "stop"]
    script += ["port stop all", "dump_mempool", "dump_memzone"]
    res = run(platform=platform, script=script, rate=100000,
              extra_testpmd=("--disable-link-check", "--no-flush-rx"))
    out = res["output"]
    assert out.count("Port 1 is attached") == (cycles + 1) // 2, out[-3000:]
    assert out.count("Port 0 is attached") == cycles // 2, out[-3000:]
    assert_nothing_leaked_or_unaccounted(res, fwd.memzones(out, 1), least=15000)


def test_ring_occupancy():
    """rx_queue_count and descriptor status: with forwarding stopped the generator fills
    port 0's RX ring to the last descriptor; port 1 receives nothing; its TX ring is
    free."""
    script = ["set fwd io", "sleep 0.3", "show port 0 rxq 0 desc used count", "show port 0 rxq 0 desc 1023 status",
              "show port 1 rxq 0 desc used count", "show port 1 rxq 0 desc 0 status",
              "show port 1 txq 0 desc 1023 status", "show port 1 rxq 0 desc 1024 status"]
    res = run(script=script, ring=1024, rate=100000)
    # "Used desc count = N" (22.11), "RxQ Q used desc count = N" (24.11 on)
    answers = re.findall(r"(?:[Uu]sed desc count = (\d+)|Desc status = (\w+)|Invalid input: .*desc id = (\d+))",
                         res["output"])
    assert [a for t in answers for a in t if a] == ["1024", "DONE", "0", "AVAILABLE", "DONE", "1024"], \
        res["output"][-3000:]


def test_queue_info_and_burst_modes():
    """rxq/txq info and burst modes (testpmd showed RX desc=0 before): the ring sizes
    asked, the pool, the buffer size, the queue state and the data path."""
    script = ["show rxq info 0 0", "show txq info 1 0", "set fwd io", "start", "sleep 0.2", "stop"]
    out = run(script=script, ring=512, seconds=0.2)["output"]
    rx = out[out.index("Infos for port 0 , RX queue 0"):]
    assert re.search(r"Mempool: mb_pool_0\n", rx), rx[:800]
    assert "Number of RXDs: 512" in rx and "RX buffer size: 2048" in rx and "Rx queue state: started" in rx
    assert "Burst mode: Scalar, split ring, mergeable buffers" in rx
    tx = out[out.index("Infos for port 1 , TX queue 0"):]
    assert "Number of TXDs: 512" in tx and "Tx queue state: started" in tx and "Burst mode: Scalar, split ring\n" in tx
    # what testpmd prints when forwarding starts comes from the same calls
    assert re.findall(r"RX desc=(\d+)", out)[:2] == ["512", "512"], out[-3000:]
    assert re.findall(r"TX desc=(\d+)", out)[:2] == ["512", "512"]


def test_a_frozen_device_is_reported_not_hung():
    """The checker's device makes a DMA to no window after 20000 frames (a device bug):
    the IOMMU refuses, the PE freezes. The port reports it (a log line, link down, the
    eeh_frozen_events xstat), testpmd keeps answering, stops and exits; a new start
    fails with the error (pSeries guests have no EEH recovery through VFIO); nothing is
    left behind."""
    res = run(script=["set fwd io", "start", "sleep 1", "show port info 1", "show port xstats 1", "stop",
                      "port stop all", "port start all"], rate=100000,
              extra_testpmd=("--disable-link-check",), check_opts=("fault-after=20000",))
    out = res["output"]
    assert res["hung"] is None and res["rc"] == 0, out[-3000:]
    assert "spapr_virtio: 0000:00:02.0: the device's PE is frozen (EEH): link down; no EEH recovery through" \
           " VFIO on this platform (pSeries guest): restart the application" in out
    assert re.search(r"Link status: down", out) and "eeh_frozen_events: 1" in out
    assert "Fail to start port 1: Input/output error" in out
    assert res["stats"]["eeh"]["freezes"] == 1 and res["stats"]["dma"]["faults"] == 1
    assert res["clean_exit"], res["stats"]["at_exit"]


def test_powernv_port_recovers_from_a_pe_freeze_by_itself():
    """PowerNV (EEH through VFIO): the checker's device makes a DMA to no window after
    20000 frames; the PE freezes. Without any command the port recovers: the watchdog
    notices, the events go out, the bus resets and thaws the PE and writes the mappings
    again, the device comes up again and forwarding resumes. The loss is exactly what the
    port counted: every frame the checker missed is one its TX ring held at the freeze
    (tx_q0_discarded_at_stop, in testpmd's TX-dropped with the rest of what testpmd could
    not send), nothing reordered, duplicated or corrupt."""
    res = run(platform="powernv", script=["set fwd io", "start", "sleep 2", "stop", "show port xstats 1"],
              rate=50000, check_opts=("fault-after=20000",))
    out, c = res["output"], res["check"]
    assert res["hung"] is None and res["rc"] == 0, out[-3000:]
    for line in ("spapr_virtio: 0000:00:02.0: the device's PE is frozen (EEH): link down; recovering it",
                 "Port 1: error recovering event",
                 "spapr: 0000:00:02.0: IOMMU group 1: PE recovered (reset, thawed, mappings written again)",
                 "spapr_virtio: 0000:00:02.0: recovered from the PE freeze: the port forwards again",
                 "Port 1: error recovery successful event"):
        assert line in out, (line, out[-3000:])
    x = fwd.xstats_blocks(out)[-1][1]
    assert x["eeh_frozen_events"] == 1 and x["eeh_recoveries"] == 1, x
    st = res["stats"]
    assert st["eeh"]["freezes"] == 1 and st["eeh"]["resets"] == 1 and st["dma"]["faults"] == 1, st["eeh"]
    assert not (c["reordered"] or c["duplicated"] or c["corrupt"] or c["foreign"]), c
    assert c["received"] > 30000, c                          # forwarding went on after the recovery
    assert 0 < x["tx_q0_discarded_at_stop"] <= c["lost"] == res["tx_dropped"], (c, x, res["tx_dropped"])
    # testpmd counted those as sent (the PMD took them): all the others arrived
    assert c["received"] == res["tx"] - x["tx_q0_discarded_at_stop"], (c, x, res["tx"])
    assert res["clean_exit"], st["at_exit"]


def test_a_device_writing_garbage_stops_its_queues_not_testpmd():
    """The checker's device publishes, after 20000 frames, used entries no correct device
    writes (an id beyond the ring, a length beyond any buffer). The PMD trusts none of
    it: it says so once per queue, counts it (device_errors xstats, in the errors), stops
    those queues (testpmd counts its TX as dropped); testpmd neither crashes nor hangs; a
    port restart resets the device and forwarding resumes; nothing is left behind."""
    res = run(script=["set fwd io", "start", "sleep 1", "stop", "show port xstats 1",
                      "port stop 1", "port start 1", "start", "sleep 0.5", "stop"], rate=50000,
              check_opts=("garbage-after=20000",))
    out = res["output"]
    assert res["hung"] is None and res["rc"] == 0, out[-3000:]
    # TX: the entry names no outstanding chain, or (when the device had used them all)
    # moves the used index past them; RX: an id that is not posted
    assert re.search(r"spapr_virtio: queue 1: the device wrote (a TX id that is not outstanding|a used index "
                     r"ahead of the chains posted by) \d+ \(limit \d+\): queue stopped until the port is started "
                     r"again", out), out[-3000:]
    assert "spapr_virtio: queue 0: the device wrote an RX id that is not posted: 4103 (limit 4096)" in out
    x = fwd.xstats_blocks(out)[0][1]
    assert x["tx_q0_device_errors"] == 1 and x["rx_q0_device_errors"] == 1, x   # counted and said once
    assert out.count("spapr_virtio: queue 1: the device wrote") == 1
    # after the restart the checker gets frames again
    blocks = out.split("Forward statistics for port 1")
    after = re.search(r"TX-packets:\s+(\d+)", blocks[-1])
    assert after and int(after.group(1)) > 1000, blocks[-1][:500]
    assert res["stats"]["dma"]["faults"] == 0
    assert res["clean_exit"], res["stats"]["at_exit"]


def test_regions_where_another_vfio_driver_puts_them():
    """vfio-pci puts region i at i << 40 in the device fd; other VFIO drivers elsewhere.
    The bus and the PMD take every offset from VFIO_DEVICE_GET_REGION_INFO."""
    assert_clean(run(emu_opts=("--set", "region-shift=32")))


def _verdict_case(lost, tx_dropped, **check):
    """A result as forward() returns it, for the verdict alone."""
    c = dict(received=1000, lost=lost, reordered=0, duplicated=0, corrupt=0, foreign=0)
    c.update(check)
    c["clean"] = not any(c[k] for k in ("lost", "reordered", "duplicated", "corrupt", "foreign"))
    return {"rc": 0, "hung": None, "check": c, "tx": 1000, "tx_dropped": tx_dropped, "clean_exit": True,
            "dma_faults": 0, "during": {"ioctls": 0, "map_ioctls": 0, "hypercalls": 0, "tces": 0}}


def test_verdict_accounts_for_frames_testpmd_dropped():
    """'Clean' is nothing lost without account, reordered, duplicated or corrupt: a gap the
    checker sees for a frame testpmd counted as TX-dropped (a full ring on a loaded
    machine) is accounted for; --no-drops makes any drop an error; a gap testpmd did not
    count, or a reordered frame, is never clean."""
    assert fwd.ok(_verdict_case(lost=3, tx_dropped=3))
    assert fwd.ok(_verdict_case(lost=0, tx_dropped=5))  # drops after the last frame sent leave no gap
    assert not fwd.ok(_verdict_case(lost=3, tx_dropped=3), allow_drops=False)
    assert not fwd.ok(_verdict_case(lost=4, tx_dropped=3))
    assert not fwd.ok(_verdict_case(lost=0, tx_dropped=0, reordered=1))


def test_unbounded_rate_exits_zero_when_every_drop_is_accounted():
    """The README's first command forwards as fast as the devices take: testpmd drops on a
    full TX ring there (2 CPUs for testpmd and two device threads); the command must
    still succeed when every drop is accounted for."""
    proc = fwd_main(["--seconds", "1", "--build", str(BUILD)])
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert re.search(r"TX-dropped \d+: clean", proc.stdout), proc.stdout


def fwd_main(args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, str(TOP / "devtools/emu-forward.py"), *args], capture_output=True,
                          text=True, timeout=120)
