#!/usr/bin/env bash
# Part B of the real-kernel tier: Debian's ppc64el dpdk-testpmd in the QEMU pSeries guest,
# with our plugins (cross-built for ppc64le against Debian's ppc64el DPDK of the same
# version), with DPDK's own bus/pci and net_virtio alone, and with DPDK's own bus/pci and
# PMDs (net_virtio v2 and v1, net_e1000_em) on our backend: txonly on the guest's NIC for
# each, rxonly of frames the host sends for ours and for stock net_virtio on our backend. Reports whether each worked,
# the frames QEMU's network saw (its pcap), and the hypercalls QEMU counted from EAL
# start to the first DMA and between the first and the last DMA of the device.
# On PowerNV (--machine powernv9|powernv8: the kernel as the bare-metal host, stock EAL's
# own sPAPR code works there): stock DPDK alone with net_e1000_em on an e1000e, the same
# PMD on our backend, our PMD and stock net_virtio on our backend on virtio-net, txonly,
# each with the kernel's TCE writes and OPAL calls (kprobes) from EAL start to the port up
# and its TCE writes while forwarding (none expected). DPDK runs with --no-huge there
# (QEMU 7.2's PowerNV kernel has no hugepage size).
# Usage: test/qemu/testpmd.sh [--seconds S] [--out DIR] [--dpdk 24.11]
#                             [--machine pseries|powernv9|powernv8] [--skip RUNS]  (as root)
#   --skip: pSeries runs left out, comma-separated: STACK:NIC of the txonly runs (pci-v1:virtio,
#   dpdk:virtio, ...), ours-1G (the 1 GiB hugepage run); CI leaves out, for the second DPDK in
#   the guest, the runs of this project's own choices that do not change with DPDK's version
#   without --out the files go to a temporary directory, removed when the run passes;
#   --dpdk: Debian's ppc64el DPDK of that release (24.11: trixie's) instead of the one the
#   host has installed, our plugins cross-built against it
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/../../devtools/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
seconds=5 out="" release="" machine=pseries skip=
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--dpdk) release=$2; shift 2 ;;
	--machine) machine=$2; shift 2 ;;
	--skip) skip=",$2,"; shift 2 ;;
	*) die "unknown option $1 (see the usage at the top of $0)" ;;
	esac
done
if [ -z "$out" ]; then
	# a run of our own: removed when it passes (QEMU's DMA trace alone is ~100 MB a run)
	out=$(mktemp -d "${TMPDIR:-/var/tmp}/spapr-testpmd.XXXXXX")
	tmp_out=1
	trap '[ $? = 0 ] && rm -rf "$out"' EXIT
fi
mkdir -p "$out"
cache=$("$here/setup.sh" | tail -1)
# shellcheck source=devtools/ppc64le.sh
. "$SPAPR_TOP/devtools/ppc64le.sh"
if [ -z "$release" ]; then
	version=$(dpkg-query -W -f='${Version}' libdpdk-dev) || die "libdpdk-dev is not installed (devtools/setup.sh)"
	sdk=$(sdk_dir)
	ppc64el_apt bookworm  # its lists: setup.sh
else
	other_dpdk "$release"
	sdk=$(other_sdk_dir "$release")
	ppc64el_apt "$other_suite"
	# the lists again whenever no DPDK of the release is unpacked yet (a newer one may be out)
	compgen -G "$cache/dpdk-$release.*/.complete" >/dev/null || ppc64el_apt_update
	version=$(ppc64el_release_version "$release")
fi
sysroot=$(ppc64el_sysroot "$version")
log "cross-building our plugins for ppc64le"
build=$out/build-ppc64le
cross_build "$sysroot" "$sdk" "$build" -Dtests=false

log "the guest's root: testpmd ($version), its PMDs and libraries, our plugins"
pmds=$(cd "$sysroot" && echo usr/lib/powerpc64le-linux-gnu/dpdk/pmds-*)
abi=${pmds##*pmds-}  # 23.0: DPDK 22.11, 25.0: 24.11 (the guest scripts find it the same way)
[ -d "$sysroot/$pmds" ] || die "no PMD directory in $sysroot"
rm -rf "$out/root"
/usr/bin/python3 "$here/rootfs.py" "$sysroot" "$out/root" usr/bin/dpdk-testpmd usr/bin/dpdk-proc-info \
	"$pmds/librte_mempool_ring.so.$abi" \
	"$pmds/librte_bus_pci.so.$abi" "$pmds/librte_net_virtio.so.$abi" "$pmds/librte_net_e1000.so.$abi" \
	"$build/drivers/librte_bus_spapr.so" "$build/drivers/librte_net_spapr_virtio.so" >/dev/null
for lib in libgcc_s.so.1; do  # dlopen'ed by glibc (pthread_cancel)
	for d in lib usr/lib; do
		[ -e "$sysroot/$d/powerpc64le-linux-gnu/$lib" ] && mkdir -p "$out/root/$d/powerpc64le-linux-gnu" &&
			cp -L "$sysroot/$d/powerpc64le-linux-gnu/$lib" "$out/root/$d/powerpc64le-linux-gnu/"
	done
done

rc=0
if [ "$machine" != pseries ]; then
	for run in dpdk:e1000e pci:e1000e ours:virtio pci:virtio; do
		stack=${run%%:*} nic=${run#*:}
		name=$machine-$stack-$nic
		log "dpdk-testpmd txonly for $seconds s on $machine: $stack on $nic"
		SPAPR_QEMU_APPEND="" "$here/run.sh" --machine "$machine" --kprobes --smp 2 --nic "$nic" --root "$out/root" \
			--out "$out/$name-tx" -- "$here/guest/testpmd.sh" @ADDR "$stack" "$seconds" txonly \
			> "$out/$name-tx.txt" 2>&1 || true
		/usr/bin/python3 "$here/txreport.py" "$stack/$nic" txonly "$out/$name-tx.txt" "$out/$name-tx" || rc=1
	done
	[ $rc = 0 ] || die "testpmd on $machine did not do what it should (files in $out)"
	if [ -n "${tmp_out:-}" ]; then log "done"; else log "done (files in $out)"; fi
	exit 0
fi
export SPAPR_QEMU_APPEND="disable_ddw hugepagesz=2M hugepages=64"  # doc/qemu.md: disable_ddw
# stacks: ours; stock DPDK alone (fails on pSeries); stock DPDK's bus/pci and PMDs on our
# backend (-d librte_bus_spapr.so): net_virtio with v2 and with iommu=v1, net_e1000_em on
# QEMU's e1000
for run in ours:virtio dpdk:virtio pci:virtio pci-v1:virtio pci:e1000; do
	[[ $skip == *",$run,"* ]] && { log "txonly $run: skipped (--skip)"; continue; }
	stack=${run%%:*} nic=${run#*:}
	name=$stack-$nic
	# a secondary process (dpdk-proc-info) attaches to ours (handed the device fd) and to stock
	# net_virtio on our backend (EAL's VFIO code takes the primary's group, sPAPR type)
	secondary="" sign=""
	case $run in
	ours:virtio) secondary=secondary sign="its device fd handed over" ;;
	pci:virtio) secondary=secondary sign="EAL: Using IOMMU type 7 (sPAPR)" ;;
	esac
	log "dpdk-testpmd txonly for $seconds s in the guest: $stack on $nic${secondary:+, and a secondary process}"
	"$here/run.sh" --smp 2 --nic "$nic" --root "$out/root" --out "$out/$name-tx" -- "$here/guest/testpmd.sh" @ADDR \
		"$stack" "$seconds" txonly $secondary > "$out/$name-tx.txt" 2>&1 || true
	/usr/bin/python3 "$here/txreport.py" "$stack/$nic" txonly "$out/$name-tx.txt" "$out/$name-tx" || rc=1
	if [ -n "$secondary" ]; then
		if grep -q '@@SECONDARY rc=0' "$out/$name-tx.txt" && grep -q '@@SECONDARY.*NIC statistics for port 0' \
			"$out/$name-tx.txt" && grep -qF "$sign" "$out/$name-tx.txt" &&
			! grep -qE '@@SECONDARY.*(Could not|Cannot|Fail|Error|not mappable)' "$out/$name-tx.txt"; then
			log "  a secondary process (dpdk-proc-info) attached to the port: $sign"
		else
			log "  the secondary process did not attach (files in $out/$name-tx):"
			grep '@@SECONDARY' "$out/$name-tx.txt" | head -10 >&2
			rc=1
		fi
	fi
done
# POWER's hash MMU (POWER8, PowerVM LPARs, disable_radix) has 16 MiB hugepages only. A
# fact about stock DPDK, checked each run: its EAL cannot run there. 22.11 reserves its
# address space with ordinary pages and maps each hugepage over the reservation
# (MAP_FIXED); the hash MMU's slices take one page size each, so the kernel refuses
# (EBUSY), with dynamic and legacy memory alike: "Cannot init memory" before any bus.
# From 24.11 EAL checks first and says "DPDK on PPC64 requires radix-mmu".
log "dpdk-testpmd in the guest on the hash MMU with 16 MiB hugepages (stock EAL cannot run there)"
SPAPR_QEMU_MACHINE_OPTS=",cap-hpt-max-page-size=16M" \
	SPAPR_QEMU_APPEND="disable_ddw disable_radix default_hugepagesz=16M hugepagesz=16M hugepages=8" \
	"$here/run.sh" --smp 2 --root "$out/root" --out "$out/ours-16M-tx" -- "$here/guest/testpmd.sh" @ADDR \
	ours 1 txonly > "$out/ours-16M-tx.txt" 2>&1 || true
if grep -q 'Cannot init memory\|DPDK on PPC64 requires radix-mmu' "$out/ours-16M-tx.txt" &&
	! grep -qi 'unsupported hugepagesz\|mount: .* failed' "$out/ours-16M-tx/console.log"; then
	log "  16 MiB hugepages reserved and mounted on the hash MMU; EAL: $(grep -o 'Cannot init memory\|DPDK on PPC64 requires radix-mmu' \
		"$out/ours-16M-tx.txt" | head -1)"
else
	log "  16 MiB hugepages on the hash MMU: not the known EAL failure (files in $out/ours-16M-tx)"
	rc=1
fi
# 1 GiB hugepages on the radix MMU: the bus maps the one page with 16 MiB TCEs (one MAP);
# our PMD must forward from it as from 2 MiB pages
if [[ $skip == *",ours-1G,"* ]]; then
	log "txonly with a 1 GiB hugepage: skipped (--skip)"
else
	log "dpdk-testpmd txonly for $seconds s in the guest with a 1 GiB hugepage: ours on virtio"
	SPAPR_QEMU_APPEND="disable_ddw default_hugepagesz=1G hugepagesz=1G hugepages=1" \
		"$here/run.sh" --smp 2 --nic virtio --root "$out/root" --out "$out/ours-1G-tx" -- "$here/guest/testpmd.sh" \
		@ADDR ours "$seconds" txonly > "$out/ours-1G-tx.txt" 2>&1 || true
	/usr/bin/python3 "$here/txreport.py" "ours/virtio (1 GiB pages)" txonly "$out/ours-1G-tx.txt" "$out/ours-1G-tx" ||
		rc=1
	grep -q 'spapr: IOMMU group .* 1073741824 bytes of DPDK memory' "$out/ours-1G-tx.txt" ||
		{ log "  1 GiB hugepage: the bus did not map one 1 GiB page (files in $out/ours-1G-tx)"; rc=1; }
fi
# RX: QEMU's network is a UDP socket; once testpmd's port is up in the guest (@@READY on
# the console) the host sends frames into it, 20,000 a second for S seconds, and stops
# before testpmd does
log "dpdk-testpmd in the guest, two NICs in two groups, a hot-plug cycle: pci"
"$here/run.sh" --smp 2 --nics 2 --root "$out/root" --out "$out/pci-hotplug" -- "$here/guest/testpmd-hotplug.sh" \
	@ADDR @ADDR2 "$seconds" > "$out/pci-hotplug.txt" 2>&1 || true
/usr/bin/python3 "$here/hotplugreport.py" "$out/pci-hotplug.txt" "$out/pci-hotplug" || rc=1
for stack in ours pci; do
	port=$((40000 + ($$ + ${#stack}) % 20000))
	log "dpdk-testpmd rxonly in the guest, $seconds s of frames from the host: $stack"
	mkdir -p "$out/$stack-rx"; rm -f "$out/$stack-rx/console.log"
	( for _ in $(seq 600); do grep -qs '@@READY' "$out/$stack-rx/console.log" && break; sleep 0.1; done
	  /usr/bin/python3 "$here/udpgen.py" "$port" 20000 "$seconds" > "$out/udpgen-$stack.txt" ) &
	gen=$!
	"$here/run.sh" --smp 2 --udp "$port" --root "$out/root" --out "$out/$stack-rx" -- "$here/guest/testpmd.sh" \
		@ADDR "$stack" $((seconds + 5)) rxonly > "$out/$stack-rx.txt" 2>&1 || true
	wait $gen 2>/dev/null || true
	/usr/bin/python3 "$here/txreport.py" "$stack" rxonly "$out/$stack-rx.txt" "$out/$stack-rx" || rc=1
done
[ $rc = 0 ] || die "testpmd in the guest did not do what it should (files in $out)"
if [ -n "${tmp_out:-}" ]; then log "done"; else log "done (files in $out)"; fi
