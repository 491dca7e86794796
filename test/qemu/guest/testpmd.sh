#!/bin/sh
# In the QEMU guest, pSeries or PowerNV (test/qemu/testpmd.sh builds its root: Debian's ppc64el
# dpdk-testpmd, its libraries, the PMDs it needs and our plugins in /plugins):
# txonly or rxonly on the NIC for some seconds, then the statistics.
#   testpmd.sh PCI_ADDRESS ours|dpdk|pci|pci-v1 SECONDS [txonly|rxonly] [secondary]
# secondary: once forwarding, dpdk-proc-info attaches as a secondary process (our PMD: the
# primary hands it the device's fd and it maps the doorbells through it; bus/pci: EAL's VFIO
# code takes the primary's group through the bus's answers), before the SECONDS count.
# ours: the spapr bus and virtio-net PMD; dpdk: DPDK's bus/pci, EAL VFIO and net_virtio
# (or net_e1000_em); pci: the same stock stack with only our bus plugin added, which sets
# the IOMMU up for bus/pci's device; pci-v1: that with the v1 IOMMU (iommu=v1).
mkdir -p /var/run /tmp /dev/hugepages
# QEMU 7.2's PowerNV kernel has no hugepage size (doc/qemu.md): DPDK runs with --no-huge
MEM="-m 64"
mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || MEM="--no-huge -m 64"
# the kernel's PowerNV work (run.sh --kprobes), for txreport.py: "@@KPROF step name=hits ..."
kprof() {
	[ -r /sys/kernel/tracing/kprobe_profile ] &&
		echo "@@KPROF $1 $(awk '{ printf "%s=%s ", $1, $2 }' /sys/kernel/tracing/kprobe_profile)"
}
P=$(echo /usr/lib/powerpc64le-linux-gnu/dpdk/pmds-*)
A=${P##*pmds-}  # the PMDs' ABI: 23.0 (DPDK 22.11), 25.0 (24.11)
export LD_LIBRARY_PATH=/plugins
if [ "$2" = ours ]; then
	EAL="--no-pci -d $P/librte_mempool_ring.so.$A -d /plugins/librte_bus_spapr.so
	     -d /plugins/librte_net_spapr_virtio.so -a bus=spapr,addr=$1 --log-level=bus.spapr:info"
else
	EAL="-d $P/librte_mempool_ring.so.$A -d $P/librte_bus_pci.so.$A -d $P/librte_net_virtio.so.$A
	     -d $P/librte_net_e1000.so.$A -a $1"
	case $2 in
	pci) EAL="$EAL -d /plugins/librte_bus_spapr.so --log-level=bus.spapr:info" ;;
	pci-v1) EAL="$EAL -d /plugins/librte_bus_spapr.so -a bus=spapr,addr=$1,iommu=v1 --log-level=bus.spapr:info" ;;
	esac
fi
# a secondary maps DPDK's memory where the primary has it: with the kernel's address
# randomisation the primary's reservation (next to its libraries) may be taken by the
# secondary's own libraries (EAL: "Cannot reserve ... please use '--base-virtaddr'"),
# so the primary reserves far below them (IOVA is PA here: the address changes no DMA)
[ "${5:-}" = secondary ] && MEM="$MEM --base-virtaddr=0x100000000000"
kprof eal-start
echo "@@EAL $MEM"
echo "@@STEP eal-start"
# --stats-period keeps testpmd forwarding until the signal (without it, testpmd reads
# stdin, finds it closed and stops at once)
/usr/bin/dpdk-testpmd -l 0-1 -n 1 $MEM $EAL -- --forward-mode="${4:-txonly}" --auto-start \
	--total-num-mbufs=2048 --txpkts=64 --stats-period 100 > /tmp/out 2>&1 < /dev/null &
pid=$!
# SECONDS of forwarding, counted from its start: under TCG on a loaded host EAL's start
# alone can outlast a run, and a SIGINT during it still lets testpmd start forwarding and
# send one burst before it stops (32 frames: once taken for a stalled port). Forwarding
# has started when one of testpmd's threads other than the main one has used CPU (the
# forwarding lcore polls; the others sleep); its output, a file, is not flushed before.
lcore_busy() {
	for stat in /proc/$pid/task/*/stat; do
		[ "$stat" = "/proc/$pid/task/$pid/stat" ] && continue
		# utime, in clock ticks: the 14th field (DPDK's thread names have no spaces)
		set -- $(cat "$stat" 2>/dev/null) 0 0 0 0 0 0 0 0 0 0 0 0 0 0
		[ "${14}" -ge 20 ] && return 0
	done
	return 1
}
waited=0
while ! lcore_busy && kill -0 $pid 2>/dev/null && [ $waited -lt 120 ]; do
	sleep 1
	waited=$((waited + 1))
done
kprof ready
echo "@@READY"   # the port is up: the host may send
if [ "${5:-}" = secondary ]; then
	# (proc-info adds -n and --proc-type=secondary itself: 25.11 refuses them twice; it sets
	# the global log level to NOTICE: INFO asked for again)
	/usr/bin/dpdk-proc-info $EAL --log-level=7 -- --stats > /tmp/secondary 2>&1
	rc=$?
	echo "@@SECONDARY rc=$rc"
	{ grep -E 'NIC statistics for port|spapr|EAL: (Using IOMMU|Could|Cannot|Fail)|Error' /tmp/secondary
	  [ $rc = 0 ] || tail -5 /tmp/secondary; } | sed 's/^/@@SECONDARY /' | head -25
fi
if [ "$3" -gt 1 ]; then
	sleep $(($3 - 1))
	kprof forwarding  # still forwarding: before the teardown
	sleep 1
else
	sleep "$3"
fi
kill -INT $pid 2>/dev/null
wait $pid
kprof testpmd-exit
echo "@@STEP testpmd-exit"
grep -vE '^ *$|^\[' /tmp/out | grep -vE 'RX P=|peer=|threshold|offloads|desc=|Offloads|\[2J' | head -70
