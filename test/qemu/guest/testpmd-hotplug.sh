#!/bin/sh
# In the QEMU pSeries guest: stock dpdk-testpmd with DPDK's bus/pci and net_virtio on our
# backend (only -d librte_bus_spapr.so added), two NICs in two IOMMU groups in one
# testpmd: txonly on both, a hot-plug cycle of the second (port stop, port close,
# device detach, port attach, port start), txonly on both again.
#   testpmd-hotplug.sh PCI_ADDRESS PCI_ADDRESS2 SECONDS
mkdir -p /var/run /tmp /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages
P=$(echo /usr/lib/powerpc64le-linux-gnu/dpdk/pmds-*)
A=${P##*pmds-}  # the PMDs' ABI: 23.0 (DPDK 22.11), 25.0 (24.11)
export LD_LIBRARY_PATH=/plugins
echo "@@STEP eal-start"
( sleep 5; echo "set fwd txonly"; echo start; sleep "$3"; echo stop
  echo "port stop 1"; echo "port close 1"; echo "device detach $2"; sleep 1
  echo "port attach $2"; sleep 2; echo "port start 1"; sleep 2
  echo start; sleep "$3"; echo stop; echo quit ) |
/usr/bin/dpdk-testpmd -l 0-1 -n 1 -m 64 -d $P/librte_mempool_ring.so.$A -d $P/librte_bus_pci.so.$A \
	-d $P/librte_net_virtio.so.$A -d /plugins/librte_bus_spapr.so -a "$1" -a "$2" \
	--log-level=bus.spapr:info -- -i --total-num-mbufs=4096 --txpkts=64 > /tmp/out 2>&1
echo "@@STEP testpmd-exit"
grep -vE '^ *$|^\[' /tmp/out | grep -vE 'RX P=|peer=|threshold|offloads|desc=|Offloads|\[2J' | head -150
