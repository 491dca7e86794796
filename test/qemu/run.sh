#!/usr/bin/env bash
# Run one static ppc64le program in a QEMU (TCG) POWER9 pSeries guest on the real Linux
# VFIO sPAPR TCE driver, with an emulated NIC on its own PHB bound to vfio-pci.
# Usage: test/qemu/run.sh [--nic virtio|e1000] [--nics N] [--out DIR] [--timeout S] [--root DIR]
#                         [--smp N] -- PROGRAM [ARGS...]
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
nic=virtio nics=1 out="" timeout=300 extra_root="" smp=1 udp=
while [ $# -gt 0 ]; do
	case $1 in
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
[ $# -ge 1 ] || die "no program: run.sh [options] -- PROGRAM [ARGS...]"
prog=$1; shift
cache=$SPAPR_CACHE/qemu
[ -f "$cache/.complete" ] || die "no guest kernel in $cache: run test/qemu/setup.sh first"
krel=$(cat "$cache/kernel-release")
case $nic in
virtio) dev="virtio-net-pci,disable-legacy=on,iommu_platform=on,romfile="; id=1af4:1041 ;;
e1000) dev="e1000,romfile="; id=8086:100e ;;
*) die "--nic takes virtio or e1000" ;;
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

# The trace goes to its own file: QEMU makes stdio non-blocking, a shared pipe loses lines.
rm -f "$out/trace.log" "$out/nic.pcap" "$out/nic2.pcap"
set +e
timeout "$timeout" "${SPAPR_QEMU:-qemu-system-ppc64}" -M "pseries,x-vof=on${SPAPR_QEMU_MACHINE_OPTS:-}" -cpu POWER9 -smp "$smp" -m ${SPAPR_QEMU_MEM:-4G} \
	-display none -monitor none -serial stdio -nodefaults \
	-kernel "$cache/kernel/boot/vmlinux-$krel" -initrd "$out/initramfs.cpio.gz" \
	-append "console=hvc0 loglevel=4 nic=$id ${SPAPR_QEMU_APPEND:-}" \
	-device spapr-pci-host-bridge,index=1,id=phb1 \
	$netdev -device "$dev,netdev=n0,bus=phb1.0,addr=1" \
	-object filter-dump,id=f0,netdev=n0,file="$out/nic.pcap",maxlen=128 "${nic2[@]}" \
	-msg timestamp=on -D "$out/trace.log" -trace 'spapr_iommu_*' -trace 'vfio_spapr*' \
	</dev/null 2>&1 | perl -MTime::HiRes=time -ne 'BEGIN{$|=1} printf("%.6f %s", time, $_)' > "$out/console.log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 124 ] && die "the guest did not power off in $timeout s (see $out/console.log)"
grep -q '@@PROG-BEGIN' "$out/console.log" || die "the program did not run (see $out/console.log)"
sed -n '/@@PROG-BEGIN/,/@@PROG-END/p' "$out/console.log" | cut -d' ' -f2- | tr -d '\r' | sed '1d'
