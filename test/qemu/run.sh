#!/usr/bin/env bash
# Run one static ppc64le program on the real Linux VFIO sPAPR TCE driver in QEMU (TCG): a
# POWER9 pSeries guest (the default), or a PowerNV host (skiboot's OPAL, the kernel on
# bare metal), with an emulated NIC on a PHB of its own bound to vfio-pci.
# Usage: test/qemu/run.sh [--machine pseries|powernv9|powernv8] [--nic virtio|e1000|e1000e]
#                         [--nics N] [--out DIR] [--timeout S] [--root DIR] [--smp N]
#                         [--kprobes] -- PROGRAM [ARGS...]
#   --machine powernv9 (PHB4) / powernv8 (PHB3): one PHB with a root port, the NIC behind
#     it (default NIC e1000e: DPDK's net_e1000_em drives it); Debian's skiboot; no
#     hugepages under the radix MMU (QEMU 7.2 lacks the page-size encodings), 16 MiB ones
#     with SPAPR_QEMU_APPEND="disable_radix hugepagesz=16M hugepages=N". QEMU has no trace
#     events there: --kprobes makes the guest count the kernel's TCE, window, bypass and
#     EEH functions and OPAL calls (kprobe_profile, which a program may read per step).
#   --nics 2: a second NIC of the same model on a PHB of its own (its own IOMMU group)
#   --root DIR: a directory merged into the guest's root (libraries, plugins, data)
#   --udp PORT: the NIC's network is a UDP socket: QEMU takes frames (one a datagram) on
#     127.0.0.1:PORT and sends the guest's to 127.0.0.1:PORT+1 (default: user networking,
#     which sends the guest nothing)
#   ARGS may use @ADDR and @GROUP (the NIC's PCI address and IOMMU group in the guest),
#   @ADDR2 (the second NIC's).
# Writes DIR/console.log (host time-stamped: "<epoch> <line>"), DIR/trace.log (QEMU's
# spapr_iommu_* and vfio_spapr* trace events) and DIR/nic.pcap (what the NIC sent and
# received, frames cut at 128 bytes; nic2.pcap for the second); prints the program's output. Needs
# test/qemu/setup.sh first.
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/../../devtools/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
machine=pseries nic="" nics=1 out="" timeout=300 extra_root="" smp=1 udp= kprobes=""
while [ $# -gt 0 ]; do
	case $1 in
	--machine) machine=$2; shift 2 ;;
	--kprobes) kprobes=kprobes; shift ;;
	--nic) nic=$2; shift 2 ;;
	--nics) nics=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--root) extra_root=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--udp) udp=$2; shift 2 ;;
	--) shift; break ;;
	*) die "unknown option $1 (see the usage at the top of $0)" ;;
	esac
done
case $nics in 1|2) ;; *) die "--nics takes 1 or 2" ;; esac
case $machine in
pseries) nic=${nic:-virtio} ;;
powernv9|powernv8) nic=${nic:-e1000e}; [ "$nics" = 1 ] || die "--nics 2 is for --machine pseries" ;;
*) die "--machine takes pseries, powernv9 or powernv8" ;;
esac
[ $# -ge 1 ] || die "no program: run.sh [options] -- PROGRAM [ARGS...]"
prog=$1; shift
cache=$SPAPR_CACHE/qemu
[ -f "$cache/.complete" ] || die "no guest kernel in $cache: run test/qemu/setup.sh first"
krel=$(cat "$cache/kernel-release")
case $nic in
virtio) dev="virtio-net-pci,disable-legacy=on,iommu_platform=on,romfile="; id=1af4:1041 ;;
e1000) dev="e1000,romfile="; id=8086:100e ;;
e1000e) dev="e1000e,romfile="; id=8086:10d3 ;;
*) die "--nic takes virtio, e1000 or e1000e" ;;
esac
out=${out:-$(mktemp -d "${TMPDIR:-/var/tmp}/spapr-qemu.XXXXXX")}
mkdir -p "$out"

# the initramfs: busybox, /init, the VFIO modules (uncompressed), the program and its arguments
root=$out/initramfs
rm -rf "$root"; mkdir -p "$root/bin" "$root/mods"
[ -n "$extra_root" ] && cp -a "$extra_root/." "$root/"
cp "$cache/busybox/bin/busybox" "$root/bin/busybox"
cp "$here/guest-init" "$root/init"; chmod 755 "$root/init"
cp "$prog" "$root/prog"; chmod 755 "$root/prog"
printf '%s\n' "$*" > "$root/prog.args"
moddir=$cache/kernel/lib/modules/$krel/kernel/drivers/vfio
: > "$root/modules.list"
for m in vfio vfio_iommu_spapr_tce pci/vfio-pci-core pci/vfio-pci; do
	n=$(basename $m)
	if [ -f "$moddir/$m.ko.xz" ]; then xz -dc "$moddir/$m.ko.xz" > "$root/mods/$n.ko"
	else cp "$moddir/$m.ko" "$root/mods/$n.ko"; fi
	echo "$n" >> "$root/modules.list"
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initramfs.cpio.gz"

netdev="-netdev user,id=n0,restrict=on"
[ -n "$udp" ] && netdev="-netdev socket,id=n0,udp=127.0.0.1:$((udp + 1)),localaddr=127.0.0.1:$udp"

nic2=()
[ "$nics" = 2 ] && nic2=(-device spapr-pci-host-bridge,index=2,id=phb2 -netdev user,id=n1,restrict=on
	-device "$dev,netdev=n1,bus=phb2.0,addr=1,mac=52:54:00:12:34:57" -object filter-dump,id=f1,netdev=n1,file="$out/nic2.pcap",maxlen=128)

# The machine: pSeries with the NIC on a PHB of its own (QEMU's spapr_iommu_* trace events
# count the hypercalls); PowerNV with one PHB and its root port (the default six PHBs
# cost 6 s of link training) and the BMC without which QEMU does not exit at power-off.
if [ "$machine" = pseries ]; then
	machine_args=(-M "pseries,x-vof=on${SPAPR_QEMU_MACHINE_OPTS:-}" -cpu POWER9 -m "${SPAPR_QEMU_MEM:-4G}"
		-device spapr-pci-host-bridge,index=1,id=phb1 -trace 'spapr_iommu_*' -trace 'vfio_spapr*')
	nic_bus=phb1.0 nic_addr=1
else
	machine_args=(-M "$machine" -m "${SPAPR_QEMU_MEM:-3G}" -device ipmi-bmc-sim,id=bmc0
		-device isa-ipmi-bt,bmc=bmc0,irq=10 -device pnv-phb,chip-id=0,index=0,id=phb0
		-device pnv-phb-root-port,id=rp0,bus=phb0)
	nic_bus=rp0 nic_addr=0
fi

# The trace goes to its own file: QEMU makes stdio non-blocking, a shared pipe loses lines.
rm -f "$out/trace.log" "$out/nic.pcap" "$out/nic2.pcap"
set +e
timeout "$timeout" "${SPAPR_QEMU:-qemu-system-ppc64}" "${machine_args[@]}" -smp "$smp" \
	-display none -monitor none -serial stdio -nodefaults \
	-kernel "$cache/kernel/boot/vmlinux-$krel" -initrd "$out/initramfs.cpio.gz" \
	-append "console=hvc0 loglevel=4 nic=$id $kprobes ${SPAPR_QEMU_APPEND:-}" \
	$netdev -device "$dev,netdev=n0,bus=$nic_bus,addr=$nic_addr" \
	-object filter-dump,id=f0,netdev=n0,file="$out/nic.pcap",maxlen=128 "${nic2[@]}" \
	-msg timestamp=on -D "$out/trace.log" \
	</dev/null 2>&1 | perl -MTime::HiRes=time -ne 'BEGIN{$|=1} printf("%.6f %s", time, $_)' > "$out/console.log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 124 ] && die "the guest did not power off in $timeout s (see $out/console.log)"
grep -q '@@PROG-BEGIN' "$out/console.log" || die "the program did not run (see $out/console.log)"
sed -n '/@@PROG-BEGIN/,/@@PROG-END/p' "$out/console.log" | cut -d' ' -f2- | tr -d '\r' | sed '1d'
