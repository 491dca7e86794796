# SPDX-License-Identifier: BSD-3-Clause
"""Debian 12's Open vSwitch with DPDK (ovs-vswitchd-dpdk: OVS 3.1.0 on DPDK 22.11),
unmodified, switches between two virtio-net devices of the emulated pSeries guest with
dynamic DMA windows: port p0's device generates numbered frames, port p1's device checks
every frame OVS sends it. Three ways:
  - ours: the spapr bus and our virtio-net PMD, the ports made at EAL init (-a
    bus=spapr,addr=...), found by OVS by their MAC (dpdk-devargs=class=eth,mac=...);
  - pci: DPDK's own bus/pci and net_virtio on our bus's IOMMU set-up (only the bus
    plugin loaded); the devices are kept from EAL's probe at init (-b) so that OVS
    hot-plugs each at add-port (rte_dev_probe) and removes it at del-port;
  - ours-bus-devargs: our PMD hot-plugged by OVS as dpdk-devargs=bus=spapr,addr=...,
    which only DPDK's ethdev with the iterator series of upstream/dpdk/ can look up:
    the installed librte_ethdev rebuilt with it (upstream/dpdk/patched-ethdev.sh),
    dropped in with LD_LIBRARY_PATH.
Each: a userspace bridge with one flow, in_port=p0 -> p1, frames forwarded; both ports
deleted and added again five times; frames forwarded again; OVS's own view (dpif/show,
Interface statistics) against the checker's; `exit --cleanup`; then ovs-vswitchd
started again on the same database: its ports come back, it forwards again, and stops
again, this time releasing its ports first. Each run of ovs-vswitchd is one `spapr-emu
run` with its own --stats JSON: the checker's verdict (nothing reordered, duplicated,
corrupt or foreign; every frame OVS sent arrived; every gap one that was counted) and the
at-exit report (nothing mapped, locked or open, but what OVS is known to leave: below).

OVS runs without systemd, in the test's own directory (OVS_RUNDIR & co.), ovs-vswitchd
in the foreground as the child of spapr-emu, in a network namespace of its own (the
bridge's internal port is a tap device)."""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import typing

import pytest

from conftest import BUILD, TOP, other_dpdk

VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
pytestmark = [pytest.mark.skipif(not os.path.exists(VSWITCHD),
                                 reason="Open vSwitch with DPDK is not installed (package openvswitch-switch-dpdk)"),
              pytest.mark.skipif(os.path.exists(VSWITCHD) and other_dpdk(VSWITCHD) is not None,
                                 reason=str(os.path.exists(VSWITCHD) and other_dpdk(VSWITCHD)))]

GEN, CHK = "0000:00:01.0", "0000:00:02.0"
MACS = {"p0": "52:54:00:12:34:56", "p1": "52:54:00:12:34:57"}   # the devices' defaults (01.0, 02.0)
OFPORTS = {"p0": 1, "p1": 2}
RING = 2048         # OVS's default descriptors per queue: the devices take rings that large
RATE = 20000        # generator frames/s, well below what the path takes on a 2-CPU machine
SECONDS = 2.0       # each forwarding phase
CYCLES = 5          # del-port p0, del-port p1, add-port p1, add-port p0
# the device threads away from OVS's PMD thread (pmd-cpu-mask=0x2: CPU 1), which polls all the time
DEV_OPTS = f"poll-us=20,qsize={RING},cpus=0"
DEVICES = ["--device", f"{GEN},group=0,model=virtio-net,backend=gen,rate={RATE},flows=4,size=64-300,{DEV_OPTS}",
           "--device", f"{CHK},group=1,model=virtio-net,backend=check,{DEV_OPTS}"]

class Stack(typing.NamedTuple):
    extra: list         # what dpdk-extra holds (with --file-prefix)
    devargs: dict       # each port's dpdk-devargs
    ours: bool          # our PMD (its discarded-at-stop xstats, read through telemetry)
    hotplug: bool       # OVS hot-plugs the devices (add-port) and removes them (del-port)
    patched: bool       # needs DPDK's ethdev with the iterator series (upstream/dpdk/)


OUR_PLUGINS = ["-d", "librte_bus_spapr.so", "-d", "librte_net_spapr_virtio.so"]
STACKS = {
    # the ports made at EAL init, found by their MAC
    "ours": Stack(OUR_PLUGINS + ["-a", f"bus=spapr,addr={GEN}", "-a", f"bus=spapr,addr={CHK}"],
                  {"p0": f"class=eth,mac={MACS['p0']}", "p1": f"class=eth,mac={MACS['p1']}"},
                  ours=True, hotplug=False, patched=False),
    # stock net_virtio: the devices kept from EAL's probe at init, hot-plugged by address
    "pci": Stack(["-d", "librte_bus_spapr.so", "-b", GEN, "-b", CHK], {"p0": GEN, "p1": CHK},
                 ours=False, hotplug=True, patched=False),
    # our PMD hot-plugged by bus=spapr,addr=, what stock ethdev cannot iterate; kept
    # from bus/pci's probe at init as the pci stack's
    "ours-bus-devargs": Stack(OUR_PLUGINS + ["-b", GEN, "-b", CHK], {"p0": f"bus=spapr,addr={GEN}", "p1": f"bus=spapr,addr={CHK}"},
                              ours=True, hotplug=True, patched=True),
}
# KNOWN, not a leak of ours: OVS 3.1 never calls rte_eal_cleanup(), and del-port or exit
# closes only a port OVS itself hot-plugged. The ports made at EAL init (stack "ours")
# are still open when `exit --cleanup` exits: their devices, groups, containers, DMA
# windows and the registration of DPDK's memory are the kernel's to release at the exit
# (the stats JSON's release_hypercalls_owed). The restart's stop releases the ports first
# (del-port, then netdev-dpdk/detach), and its report must be clean.
LEFT_BY_EXIT = {"open_devices": 2, "open_groups": 2, "registrations": 1}


class Ovs:
    """ovsdb-server and ovs-vswitchd-dpdk (under spapr-emu) in a private directory."""

    def __init__(self, rundir, stack, ethdev_dir=None):
        self.dir, self.stack, self.s = rundir, stack, STACKS[stack]
        self.prefix = f"ovs{os.getpid()}{stack.replace('-', '')}"
        libs = f"{ethdev_dir}:{BUILD}/drivers" if ethdev_dir else f"{BUILD}/drivers"
        self.env = dict(os.environ, OVS_RUNDIR=str(rundir), OVS_LOGDIR=str(rundir), OVS_DBDIR=str(rundir),
                        OVS_SYSCONFDIR=str(rundir), LD_LIBRARY_PATH=libs)
        self.db = f"unix:{rundir}/db.sock"
        self.ovsdb = self.vswitchd = None
        self.runs = 0

    def cmd(self, *args, timeout=60):
        try:
            r = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{' '.join(args)}: no answer in {timeout} s\n{self.log_tail()}\n{self.threads()}")
        if r.returncode:
            # ovs-vsctl --timeout ends with SIGALRM: ovs-vswitchd did not answer
            hung = r.returncode in (-14, 128 + 14) and self.threads()
            pytest.fail(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}\n{self.log_tail()}\n{hung or ''}")
        return r.stdout.strip()

    def threads(self):
        """Where ovs-vswitchd's threads are (gdb), for a switch that stopped answering."""
        if not shutil.which("gdb") or self.vswitchd is None or self.vswitchd.poll() is not None:
            return ""
        try:
            pid = (self.dir / "ovs-vswitchd.pid").read_text().strip()
            bt = subprocess.run(["gdb", "-p", pid, "-batch", "-ex", "thread apply all bt"], capture_output=True,
                                text=True, timeout=120).stdout
        except (OSError, subprocess.SubprocessError) as e:
            return f"(no backtrace: {e})"
        return "ovs-vswitchd's threads:\n" + "\n".join(
            line for line in bt.splitlines() if line.startswith(("Thread ", "#")) and " ?? ()" not in line)

    def vsctl(self, *args):
        return self.cmd("ovs-vsctl", f"--db={self.db}", "--timeout=30", *args)

    def appctl(self, *args):
        return self.cmd("ovs-appctl", "-t", f"{self.dir}/ovs-vswitchd.ctl", *args)

    def ofctl(self, command, *args):
        return self.cmd("ovs-ofctl", "-O", "OpenFlow13", command, f"unix:{self.dir}/br0.mgmt", *args)

    def log(self):
        log = self.dir / "ovs-vswitchd.log"
        return log.read_text() if log.exists() else ""

    def log_tail(self, n=40):
        out = self.dir / f"vswitchd{self.runs}.out"
        return "\n".join(self.log().splitlines()[-n:]) + ("\n" + out.read_text()[-2000:] if out.exists() else "")

    def _wait_for(self, path, proc, timeout=60):
        end = time.monotonic() + timeout
        while not path.exists():
            if proc.poll() is not None:
                pytest.fail(f"{proc.args[0]} exited {proc.returncode} before {path.name} appeared\n{self.log_tail()}")
            if time.monotonic() > end:
                pytest.fail(f"no {path} after {timeout} s\n{self.log_tail()}")
            time.sleep(0.05)

    def start_db(self):
        self.cmd("ovsdb-tool", "create", f"{self.dir}/conf.db", SCHEMA)
        self.ovsdb = subprocess.Popen(
            ["ovsdb-server", f"{self.dir}/conf.db", f"--remote=punix:{self.dir}/db.sock",
             f"--pidfile={self.dir}/ovsdb-server.pid", f"--unixctl={self.dir}/ovsdb-server.ctl",
             f"--log-file={self.dir}/ovsdb-server.log", "-vconsole:off"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_for(self.dir / "db.sock", self.ovsdb)
        extra = self.s.extra
        self.vsctl("--no-wait", "init")
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true",
                   "other_config:dpdk-socket-mem=512", "other_config:dpdk-socket-limit=512",
                   "other_config:pmd-cpu-mask=0x2",
                   f"other_config:dpdk-extra={' '.join(extra)} --file-prefix={self.prefix}")

    def start_switch(self):
        """ovs-vswitchd-dpdk as spapr-emu's program; returns once DPDK is up. EAL loads
        our plugins by name from LD_LIBRARY_PATH (it refuses them under a world-writable
        directory such as /tmp)."""
        self.runs += 1
        self.stats = self.dir / f"stats{self.runs}.json"
        ctl = self.dir / "ovs-vswitchd.ctl"
        with open(self.dir / f"vswitchd{self.runs}.out", "w") as out:
            self.vswitchd = subprocess.Popen(
                ["unshare", "--net", "--", str(BUILD / "app/spapr-emu/spapr-emu"), "run", "--platform",
                 "pseries-ddw", "--stats", str(self.stats), *DEVICES, "--",
                 VSWITCHD, self.db, f"--pidfile={self.dir}/ovs-vswitchd.pid", f"--unixctl={ctl}",
                 f"--log-file={self.dir}/ovs-vswitchd.log", "-vconsole:off"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self._wait_for(ctl, self.vswitchd)
        self.vsctl("--timeout=60", "wait-until", "Open_vSwitch", ".", "dpdk_initialized=true")

    def stop_switch(self):
        """exit --cleanup: (ovs-vswitchd's exit status, its run's stats JSON)."""
        self.appctl("exit", "--cleanup")
        try:
            rc = self.vswitchd.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"ovs-vswitchd still running 60 s after exit --cleanup\n{self.log_tail()}")
        assert self.stats.exists(), f"no stats JSON (exit {rc})\n{self.log_tail()}"
        return rc, json.loads(self.stats.read_text())

    def stop_db(self):
        self.cmd("ovs-appctl", "-t", f"{self.dir}/ovsdb-server.ctl", "exit")
        self.ovsdb.wait(timeout=30)

    def kill(self):
        """Whatever of ours is still running (a failed test), by pid; EAL's runtime directory."""
        for p in (self.vswitchd, self.ovsdb):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(f"/var/run/dpdk/{self.prefix}", ignore_errors=True)

    def telemetry(self, command):
        """One reply of EAL's telemetry socket (OVS disables DPDK's multi-process, not this)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(10)
            s.connect(f"/var/run/dpdk/{self.prefix}/dpdk_telemetry.v2")
            json.loads(s.recv(1 << 16))
            s.send(command.encode())
            reply = json.loads(s.recv(1 << 20))
        return reply[command.split(",")[0]]


def patched_ethdev():
    """The installed DPDK's librte_ethdev with the iterator series (built once, cached),
    or skip with the reason (no backport for this DPDK release)."""
    p = subprocess.run([str(TOP / "upstream/dpdk/patched-ethdev.sh")], capture_output=True, text=True, timeout=1200)
    if p.returncode != 0 and "no backport of the ethdev iterator series" in p.stderr:
        pytest.skip(p.stderr.strip())
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout.strip().splitlines()[-1]


@pytest.fixture
def ovs(tmp_path, request):
    o = Ovs(tmp_path, request.param, patched_ethdev() if STACKS[request.param].patched else None)
    yield o
    o.kill()


def iface(o, port, column):
    return o.vsctl("get", "Interface", port, column)


def add_port(o, port):
    devargs = o.s.devargs
    o.vsctl("add-port", "br0", port, "--", "set", "Interface", port, "type=dpdk",
            f"options:dpdk-devargs={devargs[port]}", f"ofport_request={OFPORTS[port]}")
    # ovs-vsctl succeeds when the port cannot be made: its Interface's error says so
    assert_port_up(o, port)


def assert_port_up(o, port):
    err = iface(o, port, "error")
    assert err == "[]", f"{port}: {err}\n{o.log_tail()}"
    assert iface(o, port, "ofport") == str(OFPORTS[port])
    o.vsctl("--timeout=30", "wait-until", "Interface", port, "link_state=up", "admin_state=up")
    assert iface(o, port, "mac_in_use") == f'"{MACS[port]}"'


def port_counters(o):
    """{port name: {rx_packets, tx_packets, tx_dropped, ...}}, live (ovs-ofctl dump-ports
    reads the netdevs now; the Interface statistics column is refreshed every 5 s)."""
    res = {}
    names = {str(n): p for p, n in OFPORTS.items()}
    for m in re.finditer(r"port\s+\"?(\w+)\"?:\s*rx pkts=(\d+), bytes=\d+, drop=(\d+), errs=(\d+).*?\n\s*"
                         r"tx pkts=(\d+), bytes=\d+, drop=(\d+), errs=(\d+)", o.ofctl("dump-ports"), re.S):
        res[names.get(m.group(1), m.group(1))] = dict(zip(
            ("rx_packets", "rx_dropped", "rx_errors", "tx_packets", "tx_dropped", "tx_errors"),
            map(int, m.groups()[1:])))
    return res


def statistics(o, port):
    """The Interface's statistics column: {name: value}."""
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", iface(o, port, "statistics"))}


def port_ids_by_mac(o):
    """ours: {MAC: ethdev port id} from EAL's telemetry."""
    res = {}
    for pid in o.telemetry("/ethdev/list"):
        res[o.telemetry(f"/ethdev/info,{pid}")["mac_addr"].lower()] = pid
    return res


class Tally:
    """What OVS says it sent to and dropped for p1, summed over the lives of the port
    (OVS's counters begin again at each add-port); the frames OVS itself dropped because
    their upcall failed (a re-added port's first frames: the datapath polls it before the
    bridge has it, "xlate_key failed (No such device)"; pmd-stats-show's "miss with failed
    upcall"); and for our PMD, what a port stop threw away: what p0's RX ring held when
    p0 was deleted, what p1's TX ring had not sent (its *_discarded_at_stop xstats, which
    OVS does not show: it shows only queue, *_errors and *_dropped xstats)."""

    def __init__(self):
        self.sent = self.dropped = self.failed_upcalls = self.rx_discarded = self.tx_discarded = 0

    def add(self, p1):
        self.sent += p1["tx_packets"]
        self.dropped += p1["tx_dropped"] + p1["tx_errors"]


def failed_upcalls(o):
    """Frames OVS's datapath dropped for a failed upcall since the last call (then cleared)."""
    # OVS 3.1 and 3.5: "miss with failed upcall: N"; 4.0: "- Lost upcalls:  N  (x %)"
    n = sum(int(x) for x in re.findall(r"(?:miss with failed upcall|Lost upcalls):\s+(\d+)",
                                       o.appctl("dpif-netdev/pmd-stats-show")))
    o.appctl("dpif-netdev/pmd-stats-clear")
    return n


def ours_discarded(o, ports, port, kind):
    """ours: a stopped port's frames discarded at the stop (EAL's telemetry: OVS disables
    DPDK's multi-process channel, not this socket)."""
    if not o.s.ours or o.s.hotplug:
        return 0    # net_virtio counts none; a hot-plugged port is gone with its xstats
    return o.telemetry(f"/ethdev/xstats,{ports[MACS[port]]}")[f"{kind}_q0_discarded_at_stop"]


def forward_and_quiesce(o, tally, seconds):
    """Forward for `seconds`, then take the flow away so that nothing more reaches p1, and
    check OVS's Interface statistics of p1 (once refreshed) against its live counters."""
    time.sleep(seconds)
    o.ofctl("del-flows")
    live, end = None, time.monotonic() + 10
    while live != (live := port_counters(o)["p1"]):    # what the PMD thread had in hand is sent
        assert time.monotonic() < end, live
        time.sleep(0.3)
    tally.failed_upcalls += failed_upcalls(o)
    assert live["tx_packets"] > 1000, live
    # the statistics column catches up within other_config:stats-update-interval (5 s)
    o.vsctl("--timeout=15", "wait-until", "Interface", "p1", f"statistics:tx_packets={live['tx_packets']}")
    st = statistics(o, "p1")
    assert st["tx_packets"] == live["tx_packets"] and st["tx_dropped"] == live["tx_dropped"], (st, live)
    assert st["tx_errors"] == st.get("tx_q0_device_errors", 0) == st["ovs_tx_mtu_exceeded_drops"] == 0, st
    tally.add(live)


def assert_dpif(o):
    """dpif/show: the bridge's two DPDK ports, at their OpenFlow numbers, with OVS's rings."""
    out = o.appctl("dpif/show")
    for port in ("p0", "p1"):
        m = re.search(rf"^\s+{port} {OFPORTS[port]}/\d+: \(dpdk: ([^)]*)\)", out, re.M)
        assert m, out
        opts = dict(re.findall(r"([\w-]+)=([^,\s]+)", m.group(1)))   # OVS 3.5 on adds keys of its own
        # OVS 3.1 shows what it configured; 3.5 on what is asked (n_rxq, n_rxq_desc, ...)
        rxq = opts.get("configured_rx_queues", opts.get("n_rxq"))
        rxd = opts.get("configured_rxq_descriptors", opts.get("n_rxq_desc"))
        txd = opts.get("configured_txq_descriptors", opts.get("n_txq_desc"))
        assert (rxq, rxd, txd) == ("1", str(RING), str(RING)), (opts, out)
        assert iface(o, port, "mtu") == "1500", out


def assert_run(o, rc, st, tally, stops, remaps, left=None):
    """One ovs-vswitchd run: its exit, the checker's verdict against OVS's counts, the
    emulated kernel's at-exit report."""
    assert rc == 0 and st["exit"] == {"how": "exited", "status": 0}, (rc, st["exit"], o.log_tail())
    errors = [line for line in o.log().splitlines() if re.search(r"\|(ERR|EMER)\|", line)]
    assert not errors, "\n".join(errors)
    chk = next(m for m in st["device_models"] if m["addr"] == CHK)["wire"]
    c = chk["check"]
    assert not (c["reordered"] or c["duplicated"] or c["corrupt"] or c["foreign"]), c
    # every frame OVS sent to p1 reached the checker (ours: but what a p1 stop threw away)
    assert c["received"] == tally.sent - tally.tx_discarded > 1000, (c, vars(tally))
    # every gap is a frame OVS counted as dropped (for p1, or for a failed upcall), or one
    # p0's RX ring held when p0 was deleted, `stops` times (our PMD counts those; net_virtio
    # does not: at most a ring each time)
    counted = tally.dropped + tally.failed_upcalls
    if o.s.ours and not o.s.hotplug:
        assert c["lost"] == counted + tally.rx_discarded + tally.tx_discarded, (c, vars(tally))
    else:
        assert counted <= c["lost"] <= counted + stops * RING, (c, vars(tally))
    assert st["dma"]["faults"] == 0 and st["eeh"]["freezes"] == 0, (st["dma"], st["eeh"])
    assert st["memory"]["locked_never_returned_bytes"] == 0, st["memory"]
    if not remaps:
        # nothing mapped or unmapped while frames flowed (a hot-plug does map: pci's cycles)
        assert chk["between_sampled_exactly"], chk      # the samples stand for those frames
        assert not any(chk["between_first_and_last_frame"].values()), chk["between_first_and_last_frame"]
    at_exit = st["at_exit"]
    if left:
        # KNOWN (LEFT_BY_EXIT): the ports OVS never closes, with their DMA set-up; nothing more
        assert {k: at_exit[k] for k in left} == left, at_exit
        assert at_exit["windows"] == at_exit["open_containers"] - at_exit["idle_containers"], at_exit
        assert at_exit["registered_bytes"] == 512 << 20, at_exit   # dpdk-socket-mem, once
    else:
        assert at_exit["clean"], at_exit
    return f"{c['received']} frames checked, {c['lost']} lost (OVS: {tally.dropped} TX-dropped, " \
           f"{tally.failed_upcalls} failed upcalls; PMD: {tally.rx_discarded} RX / {tally.tx_discarded} TX " \
           f"discarded at stop)"


@pytest.mark.parametrize("ovs", list(STACKS), indirect=True)
def test_ovs_switches_between_emulated_virtio_net_ports(ovs):
    o, times, t = ovs, {}, time.monotonic()
    o.start_db()
    o.start_switch()
    times["start"], t = time.monotonic() - t, time.monotonic()
    # fail_mode=secure: no NORMAL flow, nothing goes anywhere but where the flow says
    o.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev", "fail_mode=secure")
    add_port(o, "p1")
    add_port(o, "p0")
    assert_dpif(o)
    ports = port_ids_by_mac(o) if o.s.ours and not o.s.hotplug else {}
    o.ofctl("add-flow", "in_port=p0,actions=output:p1")
    failed_upcalls(o)    # p0's first frames, before there was a flow: not the checker's
    tally = Tally()
    time.sleep(SECONDS)
    times["ports, forwarding"], t = time.monotonic() - t, time.monotonic()

    for _ in range(CYCLES):
        tally.failed_upcalls += failed_upcalls(o)
        o.vsctl("del-port", "br0", "p0")
        tally.rx_discarded += ours_discarded(o, ports, "p0", "rx")
        tally.add(port_counters(o)["p1"])      # p0 is gone: p1's counts are final
        o.vsctl("del-port", "br0", "p1")
        tally.tx_discarded += ours_discarded(o, ports, "p1", "tx")
        add_port(o, "p1")
        add_port(o, "p0")
        time.sleep(0.2)
    times[f"{CYCLES} del/add cycles"], t = time.monotonic() - t, time.monotonic()
    assert_dpif(o)
    assert o.ofctl("dump-flows").count("in_port=1 actions=output:2") == 1   # the flow outlived its ports
    forward_and_quiesce(o, tally, SECONDS)
    times["forwarding, statistics"], t = time.monotonic() - t, time.monotonic()
    rc, st = o.stop_switch()
    times["exit"], t = time.monotonic() - t, time.monotonic()
    runs = [assert_run(o, rc, st, tally, stops=CYCLES, remaps=CYCLES if o.s.hotplug else 0,
                       left=None if o.s.hotplug else LEFT_BY_EXIT)]

    # a restart on the same database: the bridge and its ports come back (OpenFlow flows
    # are not kept in the database: the flow is added again)
    o.start_switch()
    for port in ("p1", "p0"):
        assert_port_up(o, port)
    assert_dpif(o)
    ports = port_ids_by_mac(o) if o.s.ours and not o.s.hotplug else {}
    o.ofctl("add-flow", "in_port=p0,actions=output:p1")
    failed_upcalls(o)
    tally = Tally()
    forward_and_quiesce(o, tally, SECONDS)
    # the stop releases the ports first: del-port (which closes a hot-plugged device),
    # then, for a port made at EAL init, OVS's own detach command
    o.vsctl("del-port", "br0", "p0")
    o.vsctl("del-port", "br0", "p1")
    if not o.s.hotplug:
        for port in ("p0", "p1"):
            out = o.appctl("netdev-dpdk/detach", f"class=eth,mac={MACS[port]}")
            assert "have been detached" in out, out
    rc, st = o.stop_switch()
    times["restart: start, forwarding, stop"] = time.monotonic() - t
    runs.append(assert_run(o, rc, st, tally, stops=0, remaps=0))
    o.stop_db()
    print(f"\n{o.stack}: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()) +
          f"\n  first run: {runs[0]}\n  restart: {runs[1]}")
