# SPDX-License-Identifier: BSD-3-Clause
"""spapr-emu run: unmodified programs on the emulated POWER platform see the kernel's
answers, the hypercalls a pSeries guest makes, and a leak report at exit."""
import os
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

SEED_V1 = {
    "get_api_version": (0, "0"),
    "check_extension_spapr": (1, "0"),
    "check_extension_type1": (0, "0"),
    "group_get_status": (0, "0"),
    "group_set_container": (0, "0"),
    "set_iommu_v1": (0, "0"),
    "get_info": (0, "0"),
    "map_before_enable": (-1, "EPERM"),
    "enable": (0, "0"),
    "map_dma": (0, "0"),
    "map_dma_outside_window": (-1, "ENXIO"),
    "device_reset": (0, "0"),
    "unmap_dma": (0, "0"),
    "disable": (0, "0"),
    "close_device": (0, "0"),
    "close_group": (0, "0"),
    "close_container": (0, "0"),
}

WINDOW = {"pseries-ddw": 0x40000000, "pseries-noddw": 0x40000000, "powernv": 0x80000000}


@pytest.mark.parametrize("platform", sorted(WINDOW))
def test_seed_flow_sees_the_kernel_answers(run_emu, seed, platform):
    r = run_emu([seed, "0000:00:01.0"], "--platform", platform)
    assert r.rc == 0, r.err
    steps = r.steps()
    for name, answer in SEED_V1.items():
        assert steps[name] == answer, (name, r.out)
    for name in ("open_container", "open_group", "get_device_fd"):
        assert steps[name][0] >= 0
    assert f"window start=0x0 size={WINDOW[platform]:#x} flags=0x0" in r.out
    assert "group_viable=1" in r.out
    assert r.stats["platform"] == platform
    assert r.stats["at_exit"]["clean"] is True, r.stats["at_exit"]


def test_seed_flow_hypercalls_match_a_real_pseries_guest(run_emu, seed):
    """counts-612-e1000.txt: map 1 MiB (reset + 512 STUFF + 256 x 2), unmap (256 x 2),
    close the group (262144 x 2, reset + 512 STUFF)."""
    r = run_emu([seed, "0000:00:01.0"], "--platform", "pseries-ddw")
    assert r.rc == 0, r.err
    hc = r.stats["hypercalls"]
    assert hc["H_GET_TCE"] == 256 + 256 + 262144
    assert hc["H_PUT_TCE"] == 256 + 256 + 262144
    assert hc["H_STUFF_TCE"] == 512 + 512
    assert hc["H_PUT_TCE_INDIRECT"] == 0
    assert r.stats["rtas"]["ibm,reset-pe-dma-windows"] == 2
    mem = r.stats["memory"]
    assert mem["locked_peak_bytes"] == (1 << 30) + (2 << 20)  # window + its TCE table
    assert mem["locked_bytes"] == 0
    assert r.stats["ioctls"]["VFIO_IOMMU_MAP_DMA"] == 3


def test_powernv_makes_no_hypercalls(run_emu, seed):
    r = run_emu([seed, "0000:00:01.0"], "--platform", "powernv")
    assert r.rc == 0, r.err
    assert r.stats["hypercalls"]["total"] == 0
    assert r.stats["opal"]["tce_kill"] > 0


def _without_ipc_lock(limit):
    """As an unprivileged user: RLIMIT_MEMLOCK=limit and no CAP_IPC_LOCK (root bypasses
    the limit, in the kernel and in the emulator)."""
    prefix = ["prlimit", f"--memlock={limit}", "--"]
    if os.geteuid() == 0:
        prefix += ["setpriv", "--inh-caps=-ipc_lock", "--ambient-caps=-ipc_lock",
                   "--bounding-set=-ipc_lock", "--"]
    return prefix


def test_seed_flow_with_low_memlock_gets_enomem_from_enable(run_emu, seed):
    r = run_emu([seed, "0000:00:01.0"], prefix=_without_ipc_lock(64 * 1024))
    steps = r.steps()
    assert steps["get_info"] == (0, "0")
    assert steps["enable"] == (-1, "ENOMEM"), r.out
    assert r.rc == 1
    assert r.stats["memory"]["locked_bytes"] == 0


def test_seed_flow_with_enough_memlock_and_no_capability(run_emu, seed):
    """A 4 MiB window needs 4 MiB (its 8 KiB TCE table is below one page): 8 MiB is enough
    (and stays under the default hard limit, which raising needs CAP_SYS_RESOURCE)."""
    r = run_emu([seed, "0000:00:01.0"], "--set", "tce32-size=4M",
                prefix=_without_ipc_lock(8 << 20))
    assert r.rc == 0, r.out + r.err
    assert r.steps()["enable"] == (0, "0")
    assert r.steps()["map_dma"] == (0, "0")
    # the 8 KiB TCE table rounds down to 0 pages: the kernel charges table_size >> PAGE_SHIFT
    assert r.stats["memory"]["locked_peak_bytes"] == 4 << 20


def _python(code):
    return [sys.executable, "-c", textwrap.dedent(code)]


DEVICE_SCENARIO = f"""
    import sys, os, fcntl, mmap, struct, ctypes
    sys.path.insert(0, {HERE!r})
    import vfio_uapi as v
    libc = ctypes.CDLL(None, use_errno=True)
    c = os.open("/dev/vfio/vfio", os.O_RDWR)
    g = os.open("/dev/vfio/0", os.O_RDWR)
    v.set_container(g, c)
    fcntl.ioctl(c, v.SET_IOMMU, v.SPAPR_TCE_IOMMU)
    d = libc.ioctl(g, ctypes.c_ulong(v.GROUP_GET_DEVICE_FD), ctypes.c_char_p(b"0000:00:01.0"))
    assert d >= 0, ctypes.get_errno()
    vendor, device = struct.unpack("<HH", os.pread(d, 4, v.CONFIG_REGION << 40))
    print(f"ids {{vendor:04x}}:{{device:04x}}")
    info = v.ioctl_buf(d, v.DEVICE_GET_REGION_INFO, "IIIIQQ", 32, 0, 0, 0, 0, 0)
    print("bar0", hex(info[4]), info[1] & 4 != 0)
    m = mmap.mmap(d, info[4], mmap.MAP_SHARED, offset=info[5])
    m[16:20] = b"POWR"
    print("bar0 through pread:", os.pread(d, 4, (0 << 40) + 16))
    m.close()
    os.close(d); os.close(g); os.close(c)
"""


def test_unmodified_python_reaches_the_device(run_emu):
    r = run_emu(_python(DEVICE_SCENARIO))
    assert r.rc == 0, r.err
    assert "ids 1b36:0005" in r.out
    assert "bar0 0x4000 True" in r.out
    assert "bar0 through pread: b'POWR'" in r.out
    assert r.stats["at_exit"]["clean"] is True


LEAKY = f"""
    import sys, os, fcntl, mmap, ctypes
    sys.path.insert(0, {HERE!r})
    import vfio_uapi as v
    c = os.open("/dev/vfio/vfio", os.O_RDWR)
    g = os.open("/dev/vfio/0", os.O_RDWR)
    v.set_container(g, c)
    fcntl.ioctl(c, v.SET_IOMMU, v.SPAPR_TCE_IOMMU)
    fcntl.ioctl(c, v.ENABLE, 0)
    buf = mmap.mmap(-1, 1 << 20)
    v.map_dma(c, ctypes.addressof(ctypes.c_char.from_buffer(buf)), 0, 1 << 20)
    print("mapped, exiting without cleanup")
"""


def test_leak_report_names_what_was_left(run_emu):
    r = run_emu(_python(LEAKY))
    assert r.rc == 0, r.err
    left = r.stats["at_exit"]
    assert left["clean"] is False
    assert left["open_containers"] == 1 and left["open_groups"] == 1
    assert left["windows"] == 1
    assert left["mapped_tces"] == 256
    assert left["locked_bytes"] == (1 << 30) + (2 << 20)


def test_programs_that_do_not_use_vfio_are_untouched(run_emu):
    r = run_emu(["sh", "-c", "echo hello; echo oops >&2; exit 3"])
    assert r.rc == 3
    assert r.out == "hello\n"
    assert r.err == "oops\n"
    assert r.stats["ioctls"]["total"] == 0
    assert r.stats["at_exit"]["clean"] is True


def test_sysfs_tree_for_the_devices(run_emu):
    r = run_emu(["sh", "-c", 'ls "$SYSFS_PCI_DEVICES"; cat "$SYSFS_PCI_DEVICES"/*/numa_node;'
                 ' readlink "$SYSFS_PCI_DEVICES"/0000:00:03.0/iommu_group'],
                "--devices", "3", "--group-size", "2", "--numa-nodes", "2")
    assert r.rc == 0, r.err
    lines = r.out.split()
    assert lines[:3] == ["0000:00:01.0", "0000:00:02.0", "0000:00:03.0"]
    assert lines[3:6] == ["0", "0", "1"]
    assert lines[6].endswith("iommu_groups/1")


def test_real_sysfs_paths_of_emulated_devices_reach_the_tree(run_emu):
    """Programs that do not honour SYSFS_PCI_DEVICES (or check /sys/module/vfio, as
    DPDK's EAL does) find the emulated machine at the kernel's paths."""
    r = run_emu(["sh", "-c", "cat /sys/bus/pci/devices/0000:00:02.0/vendor;"
                 " readlink /sys/bus/pci/devices/0000:00:02.0/iommu_group;"
                 " test -d /sys/module/vfio && echo vfio loaded;"
                 " ls /sys/kernel/iommu_groups/1/devices"],
                "--devices", "2")
    assert r.rc == 0, r.err
    assert r.out.split("\n")[:4] == ["0x1b36", "../../../../kernel/iommu_groups/1",
                                     "vfio loaded", "0000:00:02.0"]
    r = run_emu(_python("""
        import os
        print(os.path.isdir("/sys/module/vfio_iommu_spapr_tce"),
              os.path.basename(os.readlink("/sys/bus/pci/devices/0000:00:01.0/driver")),
              open("/sys/bus/pci/devices/0000:00:01.0/numa_node").read().strip())
    """), "--device", "0000:00:01.0,node=3")
    assert r.out.strip() == "True vfio-pci 3", r.err


def test_dev_vfio_lists_what_the_kernel_would(run_emu):
    """/dev/vfio as a directory (DPDK 25.11's EAL opendir()s it before anything else): the
    container node and one node per group with a device bound to vfio-pci; a group
    whose only device a kernel driver holds has none, and opening its name fails as in
    the kernel."""
    r = run_emu(_python("""
        import errno, os
        print(sorted(os.listdir("/dev/vfio")), sorted(os.listdir("/dev/vfio/")))
        print(os.path.isdir("/dev/vfio"), os.path.exists("/dev/vfio/2"), os.access("/dev/vfio/vfio", os.R_OK))
        fd = os.open("/dev/vfio/0", os.O_RDWR)
        print("group 0 opened")
        try:
            os.open("/dev/vfio/2", os.O_RDWR)
        except OSError as e:
            print(errno.errorcode[e.errno])
        # fopen() reaches the emulated group too, not the listing's empty file
        import ctypes, fcntl, struct
        libc = ctypes.CDLL(None)
        libc.fopen.restype = ctypes.c_void_p
        f = libc.fopen(b"/dev/vfio/1", b"r+")
        st = bytearray(struct.pack("II", 8, 0))
        fcntl.ioctl(libc.fileno(ctypes.c_void_p(f)), (0x3b << 8) | 103, st)  # VFIO_GROUP_GET_STATUS
        print("fopen: group status", struct.unpack("II", st)[1], libc.fclose(ctypes.c_void_p(f)))
    """), "--device", "0000:00:01.0,group=0", "--device", "0000:00:02.0,group=1",
        "--device", "0000:00:03.0,group=2,driver=virtio-pci")
    assert r.rc == 0, r.err
    assert r.out.split("\n")[:5] == ["['0', '1', 'vfio'] ['0', '1', 'vfio']", "True False True",
                                     "group 0 opened", "ENOENT", "fopen: group status 1 0"], r.out + r.err


def test_exit_status_of_a_signalled_program(run_emu):
    r = run_emu(["sh", "-c", "kill -TERM $$"])
    assert r.rc == 128 + 15


@pytest.mark.parametrize("args,message", [
    (["--platform", "sparc"], "unknown platform 'sparc'"),
    (["--devices", "0"], "bad option devices=0"),
    (["--device", "01.0"], "expected a PCI address"),
    (["--set", "tce32-size=3M"], "bad option tce32-size=3M"),
    (["--set", "nonsense"], "expected KEY=VALUE"),
    (["--config", "/nonexistent/emu.conf"], "cannot read config /nonexistent/emu.conf"),
    (["--config", "/"], "cannot read config /: Is a directory"),
    (["--stats", "/nonexistent/dir/stats.json"], "cannot write stats file /nonexistent/dir/stats.json: No such file"),
])
def test_bad_options_exit_2_with_one_line(spapr_emu, args, message):
    import subprocess
    p = subprocess.run([spapr_emu, "run", *args, "--", "true"], capture_output=True, text=True)
    assert p.returncode == 2
    assert message in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_bad_config_line_names_file_and_line(spapr_emu, tmp_path):
    import subprocess
    cfg = tmp_path / "emu.conf"
    cfg.write_text("# a platform\nplatform = powernv\nthis is not an option\n")
    p = subprocess.run([spapr_emu, "run", "--config", str(cfg), "--", "true"],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert f"{cfg}:3: expected key=value" in p.stderr


def test_config_with_a_nul_byte_is_refused(spapr_emu, tmp_path):
    import subprocess
    cfg = tmp_path / "emu.conf"
    cfg.write_bytes(b"platform=powernv\x00garbage\n")
    p = subprocess.run([spapr_emu, "run", "--config", str(cfg), "--", "true"], capture_output=True, text=True)
    assert p.returncode == 2
    assert f"{cfg}:1: a NUL byte in the line" in p.stderr


def test_config_file_selects_the_platform(run_emu, seed, tmp_path):
    cfg = tmp_path / "emu.conf"
    cfg.write_text("platform=powernv\ndevice=0001:00:02.0,group=5\n")
    r = run_emu([seed, "0001:00:02.0"], "--config", str(cfg))
    assert r.rc == 0, r.err
    assert r.stats["platform"] == "powernv"
    assert "window start=0x0 size=0x80000000" in r.out


def test_usage_errors(spapr_emu):
    import subprocess
    for argv in ([spapr_emu], [spapr_emu, "frob"], [spapr_emu, "run", "--"]):
        p = subprocess.run(argv, capture_output=True, text=True)
        assert p.returncode == 2, argv
    p = subprocess.run([spapr_emu, "presets"], capture_output=True, text=True)
    assert p.returncode == 0
    assert {"pseries-ddw", "pseries-noddw", "powernv"} <= {l.split()[0] for l in p.stdout.splitlines()}


def _held_seed(spapr_emu, seed, tmp_path, env=None):
    """spapr-seed mapped and holding, under spapr-emu run --stats: (process, stats path)."""
    import subprocess
    stats = tmp_path / "stats.json"
    proc = subprocess.Popen([spapr_emu, "run", "--stats", str(stats), "--", seed, "0000:00:01.0", "--hold"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if line.strip() == "holding":
            break
    return proc, stats


def _child_of(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return int(f.read().split()[0])


@pytest.mark.parametrize("how,sig", [("signal", 2), ("signal", 15), ("died", 9)])
def test_stats_of_a_killed_program_say_what_happened(spapr_emu, seed, tmp_path, how, sig):
    """Killed while it has its mapping: the stats count what it did up to then and say it
    did not exit. A signal the program leaves at its default action (SIGINT is how DPDK's
    skeleton stops) is caught by the shim, which writes the stats, then the default
    action is taken; SIGKILL leaves the last snapshot (every 250 ms)."""
    import json
    import time
    proc, stats = _held_seed(spapr_emu, seed, tmp_path)
    if how == "died":
        time.sleep(0.6)  # a snapshot after the mapping
    os.kill(_child_of(proc.pid), sig)
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig
    st = json.loads(stats.read_text())
    assert st["exit"]["how"] == how and st["exit"]["signal"] == sig, st["exit"]
    if how == "died":
        assert "last snapshot" in st["exit"]["recorded"]
    assert st["ioctls"]["VFIO_IOMMU_MAP_DMA"] == 3 and st["ioctls"]["VFIO_DEVICE_RESET"] == 1, st["ioctls"]
    assert st["at_exit"]["mapped_tces"] == 256 and st["at_exit"]["clean"] is False, st["at_exit"]
    assert not os.path.exists(str(stats) + ".live")


def test_stats_of_a_program_that_exits_say_its_status(run_emu, seed):
    r = run_emu([seed, "0000:00:01.0"])
    assert r.stats["exit"] == {"how": "exited", "status": 0}
    r = run_emu(["sh", "-c", "exit 3"])
    assert r.stats["exit"] == {"how": "exited", "status": 3}     # never used VFIO
    assert r.stats["ioctls"]["total"] == 0


def test_killing_spapr_emu_leaves_neither_its_program_nor_its_directory(spapr_emu, seed, tmp_path):
    """spapr-emu gets SIGKILL: its program goes too (it would use a platform whose files
    are gone), and the run's directory is removed."""
    import time
    runs = tmp_path / "tmp"
    runs.mkdir()
    proc, _ = _held_seed(spapr_emu, seed, tmp_path, env=dict(os.environ, TMPDIR=str(runs)))
    child = _child_of(proc.pid)
    assert len(os.listdir(runs)) == 1             # spapr-emu.XXXXXX
    proc.kill()
    proc.communicate(timeout=30)
    for _ in range(300):
        if not os.path.exists(f"/proc/{child}") and not os.listdir(runs):
            break
        time.sleep(0.01)
    assert not os.path.exists(f"/proc/{child}"), "the program outlived spapr-emu"
    assert os.listdir(runs) == []
