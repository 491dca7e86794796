# SPDX-License-Identifier: BSD-3-Clause
"""Our PMD answers applications as DPDK's stock net_virtio does (doc/pmd.md). For the
same emulated device, once with our PMD (stack "ours") and once with stock net_virtio
on our backend (stack "pci": bus/pci and net_virtio, only our bus plugin added):

  - stock testpmd: `show port info`, the offload capabilities, the link started and
    stopped, `port config mtu` from too small to too large, queue set-ups with free
    thresholds and deferred start, `set stat_qmap`, `port config all rss ip`: testpmd's
    own lines must be the same, field by field; every refusal of ours is one log line
    of its own;
  - a small ethdev program (compiled here against the installed DPDK) for what testpmd
    cannot ask or show: dev_info field by field (speed_capa, min_mtu, max_mtu), the RX
    and TX multi-queue modes at configure, RX buffers too small for the MTU, each
    return code.

What may differ is listed below (KNOWN_*), each asserted as what it is."""
import importlib.util
import os
import pathlib
import re
import subprocess
import tempfile

import pytest

from conftest import BUILD, TOP

_spec = importlib.util.spec_from_file_location("emu_forward", TOP / "devtools/emu-forward.py")
fwd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fwd)

pytestmark = pytest.mark.skipif(not os.path.exists(fwd.TESTPMD), reason="dpdk-testpmd is not installed")

STACKS = ("ours", "pci")
OVERHEAD = 14 + 4 + 12      # net_virtio's: Ethernet header, a VLAN tag, the virtio-net header
MAX_FRAME = 9728            # net_virtio's VIRTIO_MAX_RX_PKTLEN

# --- testpmd ---------------------------------------------------------------------------

# port 1's device (the emulator's options, doc/emulator.md), testpmd's extra options
DEVICES = {
    "default": ("", ()),                                            # MTU 1500, 10 Gb/s full duplex
    "mtu9000-1g-half-nocsum": ("mtu=9000,speed=1000,duplex=half,csum=off,queues=4,qsize=1024", ()),
    "mtu9714-unknown": ("mtu=9714,speed=unknown,duplex=unknown", ()),
    "mtu9000-scatter": ("mtu=9000,speed=25000", ("--enable-scatter",)),
}


def device_mtu(opts):
    m = re.search(r"mtu=(\d+)", opts)
    return int(m.group(1)) if m else 1500


def script_for(mtu):
    sizes = sorted({45, 46, 67, 68, 1500, 1501, 2018, 2019, mtu, mtu + 1, 9698, 9699, 9710, 9711})
    script = ["show port info 1", "show port 1 rx_offload capabilities", "show port 1 tx_offload capabilities",
              "port stop 1", "show port info 1", "port start 1", "show port info 1"]
    script += [f"port config mtu 1 {n}" for n in sizes] + ["show port info 1"]
    script += ["set stat_qmap rx 1 0 0", "set stat_qmap tx 1 0 0", "port config all rss ip", "port config all rss none"]
    # queue set-ups at the next start: free thresholds (the device's ring is 256 or 1024
    # entries: 3 is not a multiple of 4, 4096 is beyond either, 4 is fine), deferred start
    script += ["port stop all"]
    for kind, values in (("rxfreet", (3, 4096, 4, 0)), ("txfreet", (4096, 4, 0))):
        for n in values:
            script += [f"port config all {kind} {n}", "port start all", "port stop all"]
    for q in ("rxq", "txq"):
        script += [f"port 1 {q} 0 deferred_start on", "port start all", "port stop all",
                   f"port 1 {q} 0 deferred_start off"]
    return script + ["port start all", "show port info 1"]


def run_testpmd(stack, opts, extra):
    res = fwd.forward(BUILD, script=script_for(device_mtu(opts)), stack=stack, ring=256,
                      check_opts=tuple(o for o in opts.split(",") if o),
                      extra_testpmd=("--disable-link-check", *extra))
    assert res["rc"] == 0 and not res["hung"], (stack, res["hung"], res["output"][-3000:])
    return res["output"]


def pmd_line(line):
    """A line the PMD logged (not testpmd's own)."""
    # 26.07 prefixes the logtype: "VIRTIO_INIT: virtio_mtu_set(): ..."
    return line.startswith(("spapr_virtio:", "virtio_")) or re.match(r"(?:[A-Z_]+: )?\w+\(\): ", line) is not None


def answers(out):
    """[(command, testpmd's own lines, the PMD's lines)] for each command sent."""
    res = []
    for chunk in out.replace("\r", "").split("testpmd> ")[1:]:
        lines = chunk.rstrip("\n").split("\n")
        if lines[0] == "quit":
            break
        body = [ln.rstrip() for ln in lines[1:] if ln.strip()]
        res.append((lines[0], [ln for ln in body if not pmd_line(ln)], [ln for ln in body if pmd_line(ln)]))
    return res


def port_info(lines):
    """`show port info`'s "Field: value" lines as a dict."""
    return dict(ln.split(": ", 1) for ln in lines if ": " in ln and not ln.startswith(" "))


def capabilities(lines):
    """{"Per Queue": set, "Per Port": set} of `show port P rx_offload capabilities`."""
    return {k.strip(): set(v.split()) for ln in lines if ":" in ln
            for k, v in [ln.split(":", 1)] if k.strip() in ("Per Queue", "Per Port")}


# net_virtio's private dump (eth_dev_priv_dump, DPDK 23.03 on), which `show port info`
# ends with: ours has none (doc/pmd.md)
NET_VIRTIO_PRIV_DUMP = {"guest_features", "vtnet_hdr_size", "use_vec", "use_inorder", "intr_lsc", "max_mtu",
                        "max_rx_pkt_len", "max_queue_pairs", "req_guest_features"}

# `show port info` fields that differ, and how: (ours, net_virtio's) as functions of the
# device's MTU
KNOWN_INFO = {
    "Driver name": lambda mtu: ("net_spapr_virtio", "net_virtio"),
    # no MAC filters in ours (no mac_addr_add): the port's own address only
    "Maximum number of MAC addresses": lambda mtu: ("1", "64"),
    # ours: max_mtu plus net_virtio's own overhead (ethdev's overhead, max_rx_pktlen -
    # max_mtu, stays 30: a frame length converts to the MTU it is); net_virtio: 9728
    # whatever the device's MTU
    "Maximum configurable length of RX packet": lambda mtu: (str(min(mtu + OVERHEAD, MAX_FRAME)), str(MAX_FRAME)),
}
# RX offloads ours adds, in software (doc/pmd.md): the IPv4 header checksum always, the
# TCP/UDP checksums also when the device has no GUEST_CSUM (net_virtio then offers none)
SOFTWARE_RX = {"IPV4_CKSUM", "UDP_CKSUM", "TCP_CKSUM"}


@pytest.fixture(scope="module")
def pmd_runs():
    cache = {}

    def get(name):
        if name not in cache:
            opts, extra = DEVICES[name]
            cache[name] = {s: answers(run_testpmd(s, opts, extra)) for s in STACKS}
        return cache[name]
    return get


@pytest.mark.parametrize("device", DEVICES)
def test_testpmd_answers_as_net_virtio(pmd_runs, device):
    opts, extra = DEVICES[device]
    mtu = device_mtu(opts)
    runs = pmd_runs(device)
    ours, pci = runs["ours"], runs["pci"]
    assert [a[0] for a in ours] == [a[0] for a in pci] == script_for(mtu)
    for (cmd, mine, theirs), (_, stock, stock_pmd) in zip(ours, pci):
        if cmd.startswith("show port info"):
            a, b = port_info(mine), port_info(stock)
            dump = b.keys() & NET_VIRTIO_PRIV_DUMP
            assert not dump or dump == NET_VIRTIO_PRIV_DUMP, (cmd, dump)
            b = {k: v for k, v in b.items() if k not in dump}
            assert a.keys() == b.keys(), (cmd, a.keys() ^ b.keys())
            for field in a:
                if field in KNOWN_INFO:
                    assert (a[field], b[field]) == KNOWN_INFO[field](mtu), (cmd, field, a[field], b[field])
                else:
                    assert a[field] == b[field], (device, cmd, field, a[field], b[field])
        elif cmd == "show port 1 rx_offload capabilities":
            a, b = capabilities(mine), capabilities(stock)
            assert a["Per Queue"] == b["Per Queue"], (a, b)
            assert a["Per Port"] == b["Per Port"] | SOFTWARE_RX, (a, b)
        else:
            # the same answer, line for line (the driver's name aside)
            assert mine == [ln.replace("net_virtio", "net_spapr_virtio") for ln in stock], (device, cmd, mine, stock)
            # each refusal: one line of ours when net_virtio logs its own
            refused = bool(stock_pmd) and not cmd.startswith("port stop")
            if refused:
                assert len(theirs) == 1 and re.match(r"spapr_virtio: 0000:00:0[12]\.0: ", theirs[0]), (cmd, theirs)
            else:
                assert theirs == [], (cmd, theirs)


def test_testpmd_link_and_mtu_answers(pmd_runs):
    """What the comparison above holds, spelled out (10 Gb/s full, 1 Gb/s half, unknown
    speed and duplex): the link and MTU answers net_virtio gives."""
    for device, speed, duplex in (("default", "10 Gbps", "full-duplex"), ("mtu9000-1g-half-nocsum", "1 Gbps", "half-duplex"),
                                  ("mtu9714-unknown", "Unknown", "full-duplex")):
        opts = DEVICES[device][0]
        mtu = device_mtu(opts)
        ours = pmd_runs(device)["ours"]
        infos = [port_info(a[1]) for a in ours if a[0] == "show port info 1"]
        up, down = infos[0], infos[1]
        assert (up["Link status"], up["Link speed"], up["Link duplex"], up["Autoneg status"]) == \
            ("up", speed, duplex, "On"), up
        # stopped: down with no speed, as net_virtio (the duplex stays the device's)
        assert (down["Link status"], down["Link speed"], down["Link duplex"], down["Autoneg status"]) == \
            ("down", "None", duplex, "On"), down
        assert up["MTU"] == str(min(mtu, 1500)), up
        said = {int(a[0].split()[-1]): a[1] + a[2] for a in ours if a[0].startswith("port config mtu 1 ")}
        # ethdev's own floor is 46 (net_virtio sets no min_mtu); below 68 the PMD refuses
        assert said[45] == ["MTU (45) < device min MTU (46) for port_id 1"], said[45]
        assert "Set MTU failed. diag=-22" in said[67] and "Set MTU failed. diag=-22" in said[46]
        assert any("MTU 67 asked, below the least, 68" in ln for ln in said[67]), said[67]
        assert said[68] == [] and said[min(mtu, 2018)] == []
        # the device's MTU is the largest (max_mtu); ethdev refuses what is above it
        assert said[mtu] == [] or mtu > 2018, said[mtu]
        assert said[mtu + 1] == [f"MTU ({mtu + 1}) > device max MTU ({mtu}) for port_id 1"], said[mtu + 1]
        if mtu > 2018:   # a frame of 2049 bytes needs two 2048-byte buffers: refused without scatter
            assert "Set MTU failed. diag=-22" in said[2019], said[2019]
            assert any("enable RTE_ETH_RX_OFFLOAD_SCATTER" in ln for ln in said[2019]), said[2019]
    scatter = {int(a[0].split()[-1]): a[1] + a[2] for a in pmd_runs("mtu9000-scatter")["ours"]
               if a[0].startswith("port config mtu 1 ")}
    assert scatter[2019] == [] and scatter[9000] == [], scatter


# --- an ethdev program: what testpmd cannot ask or show ---------------------------------

ADDR = "0000:00:01.0"
PROBE_EAL = {
    "ours": ["--no-pci", "-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so", "-a", f"bus=spapr,addr={ADDR}"],
    "pci": ["-d", "librte_bus_spapr.so", "-a", ADDR],
}


@pytest.fixture(scope="module")
def probe():
    return str(BUILD / "test/progs/ethdev-answers")


def run_probe(probe, stack, opts, platform):
    with tempfile.TemporaryDirectory(prefix="spapr-answers.") as tmp:
        stats = pathlib.Path(tmp) / "stats.json"
        dev = f"{ADDR},group=0,model=virtio-net,backend=loop" + (f",{opts}" if opts else "")
        cmd = [str(BUILD / "app/spapr-emu/spapr-emu"), "run", "--platform", platform, "--stats", str(stats),
               "--device", dev, "--", probe, "-l", "0", "-n", "1", "--file-prefix", f"answers{os.getpid()}",
               *PROBE_EAL[stack]]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, LD_LIBRARY_PATH=f"{BUILD}/drivers"))
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "init=failed" not in out, (stack, out[-3000:])
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\w+)=(.*)$", p.stdout, re.M)}, out


RX_IPV4_CKSUM, RX_UDP_CKSUM, RX_TCP_CKSUM = 1 << 1, 1 << 2, 1 << 3
ETH_DEV_AUTOFILL_QUEUE_XSTATS, ETH_DEV_INTR_LSC = 1 << 6, 1 << 1
ENOTSUP = 95


def known_probe(key, ours, pci, mtu, platform):
    """Whether (ours, pci) is a known, deliberate difference for this field; each
    asserted as exactly what it is."""
    if key == "driver":
        return (ours, pci) == ("net_spapr_virtio", "net_virtio")
    if key == "max_mac_addrs":          # no MAC filters
        return (ours, pci) == ("1", "64")
    if key == "mac_addr_add":
        # ...so adding one is refused (ethdev: no op); net_virtio fails it too on this
        # device (-1: no VIRTIO_NET_F_CTRL_MAC_ADDR offered), takes it on one that has it
        return ours == str(-ENOTSUP) and pci == "-1"
    if key == "max_rx_pktlen":          # max_mtu + 30, 9728 at most; net_virtio 9728 always
        return (ours, pci) == (str(min(mtu + OVERHEAD, MAX_FRAME)), str(MAX_FRAME))
    if key == "rx_offload_capa":        # RX checksums in software
        return int(ours, 16) == int(pci, 16) | RX_IPV4_CKSUM | RX_UDP_CKSUM | RX_TCP_CKSUM
    if key in ("default_rxportconf", "default_txportconf"):
        # ours proposes a ring of 256 (the device's, if smaller); net_virtio nothing
        # (ethdev then asks for 512, which net_virtio takes as the device's whole ring)
        return ours.split("/")[1:] == pci.split("/")[1:] == ["0", "0"] and pci.startswith("0/") \
            and ours.startswith("256/")
    if key == "dev_flags":              # ours: per-queue xstats from the basic stats; net_virtio: LSC
        return int(ours, 16) & ~ETH_DEV_AUTOFILL_QUEUE_XSTATS == int(pci, 16) & ~ETH_DEV_INTR_LSC \
            and int(ours, 16) & ETH_DEV_AUTOFILL_QUEUE_XSTATS and int(pci, 16) & ETH_DEV_INTR_LSC
    if key == "configure_lsc":          # no link-status interrupt in ours (ethdev refuses)
        return ours == "-22" and pci == "0"
    if key in ("rxq_info_get", "rx_burst_mode_get", "rx_queue_count", "supported_ptypes"):
        # queue information, burst modes, RX descriptor counts, packet types: ours has them
        return ours == {"supported_ptypes": "1"}.get(key, "0") and \
            pci == {"supported_ptypes": "0", "rx_queue_count": str(-ENOTSUP)}.get(key, str(-ENOTSUP))
    if key == "get_monitor_addr":       # no power-management monitor address in ours
        return ours == str(-ENOTSUP) and pci == "0"
    if key == "err_handle_mode" and platform == "powernv":
        return (ours, pci) == ("2", "0")  # PROACTIVE: EEH recovery on PowerNV
    return False


PROBE_DEVICES = {
    "default": ("", "pseries-ddw"),
    "mtu9000-1g-half-nocsum-4q": ("mtu=9000,speed=1000,duplex=half,csum=off,queues=4,qsize=1024", "pseries-ddw"),
    "mtu9714-unknown": ("mtu=9714,speed=unknown,duplex=unknown", "pseries-ddw"),
    "mtu1000-25g-powernv": ("mtu=1000,speed=25000", "powernv"),
}


@pytest.mark.parametrize("device", PROBE_DEVICES)
def test_ethdev_answers_as_net_virtio(probe, device):
    opts, platform = PROBE_DEVICES[device]
    mtu = device_mtu(opts)
    (ours, out_ours), (pci, out_pci) = (run_probe(probe, s, opts, platform) for s in STACKS)
    assert ours.keys() == pci.keys() and "link_stopped" in ours, (ours.keys() ^ pci.keys(), out_ours[-2000:],
                                                                   out_pci[-2000:])
    differ = {k: (ours[k], pci[k]) for k in ours if ours[k] != pci[k]}
    unexplained = {k: v for k, v in differ.items() if not known_probe(k, *v, mtu, platform)}
    assert unexplained == {}, (device, unexplained)
    # and what they both say, spelled out
    speed = {"1000": 1000, "25000": 25000, "unknown": 0xFFFFFFFF}.get(
        (re.search(r"speed=(\w+)", opts) or [None, "10000"])[1], 10000)
    half = "duplex=half" in opts
    assert ours["max_mtu"] == str(mtu) and ours["min_mtu"] == "46", ours
    assert ours["mtu_at_probe"] == str(mtu) and ours["mtu_configured"] == str(min(mtu, 1500)), ours
    assert ours["speed_capa"] == hex({10000: 1 << 8, 25000: 1 << 10}.get(speed, 0)), ours
    assert ours["link_at_probe"] == f"0 status=0 speed=0 duplex={0 if half else 1} autoneg=1", ours
    assert ours["link_started"] == f"0 status=1 speed={speed} duplex={0 if half else 1} autoneg=1", ours
    assert ours["link_stopped"] == ours["link_at_probe"], ours
    assert ours["rx_desc_lim"] == ours["tx_desc_lim"] == "32768/32/1", ours
    # configure: NONE and RSS pass the mode check, RSS is then refused (no VIRTIO_NET_F_RSS),
    # every other mode is invalid
    want = {"NONE": 0, "RSS": -ENOTSUP, "DCB": -22, "DCB_RSS": -22, "VMDQ_ONLY": -22, "VMDQ_RSS": -22,
            "VMDQ_DCB": -22, "VMDQ_DCB_RSS": -22}
    assert {k[len("configure_rx_mq_"):]: int(v) for k, v in ours.items() if k.startswith("configure_rx_mq_")} == want
    assert {k[len("configure_tx_mq_"):]: int(v) for k, v in ours.items() if k.startswith("configure_tx_mq_")} == \
        {"NONE": 0, "DCB": -22, "VMDQ_DCB": -22, "VMDQ_ONLY": -22}
    # one line each, saying what was asked and what to ask
    assert len(re.findall(r"RX multi-queue mode \d asked", out_ours)) == 6, out_ours
    assert len(re.findall(r"TX multi-queue mode \d asked", out_ours)) == 3, out_ours
    assert out_ours.count("RSS asked (RX multi-queue mode 1)") == 1, out_ours
    assert "ask RTE_ETH_MQ_RX_NONE (0)" in out_ours and "ask RTE_ETH_MQ_TX_NONE (0)" in out_ours
    # RX buffers of 1024 bytes for a frame of the MTU plus 30: refused without SCATTER
    small_ok = min(mtu, 1500) + OVERHEAD <= 1024
    assert ours["rxq_small_buffers"] == ("0" if small_ok else "-22"), ours
    assert ours.get("rxq_small_buffers_scatter") == "0", ours
    assert ours["stat_qmap_rx"] == ours["stat_qmap_tx"] == "0", ours
    assert ours["set_mtu_1500"] == ("0" if mtu >= 1500 else "-22"), ours
