#!/bin/sh
# In the QEMU pSeries guest (test/qemu/run.sh --root with Debian's ppc64el dpdk-testpmd,
# its libraries and our plugins in /plugins, see doc/qemu.md): txonly on the NIC.
# $1: PCI address, $2: stack (ours: the spapr bus and PMD; dpdk: bus/pci + net_virtio),
# $3: seconds
mkdir -p /var/run /tmp /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages
echo "@@HUGEPAGES $(cat /proc/sys/vm/nr_hugepages)"
P=/usr/lib/powerpc64le-linux-gnu/dpdk/pmds-23.0
export LD_LIBRARY_PATH=/plugins
if [ "$2" = ours ]; then
	EAL="--no-pci -d $P/librte_mempool_ring.so.23.0 -d /plugins/librte_bus_spapr.so -d /plugins/librte_net_spapr_virtio.so -a bus=spapr,addr=$1 --log-level=bus.spapr:info --log-level=pmd.net.spapr_virtio:debug"
else
	EAL="-d $P/librte_mempool_ring.so.23.0 -d $P/librte_bus_pci.so.23.0 -d $P/librte_net_virtio.so.23.0 -a $1"
fi
echo "@@STEP testpmd-start"
timeout -s INT $3 /usr/bin/dpdk-testpmd -l 0-1 -n 1 -m 64 $EAL -- --forward-mode=txonly --auto-start --total-num-mbufs=2048 --txpkts=64 > /tmp/out 2>&1 < /dev/null &
sleep $3; sleep 1
grep -v "^  *$" /tmp/out | head -60
echo "@@STEP testpmd-end rc=$?"
