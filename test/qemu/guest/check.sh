#!/bin/sh
# In the QEMU guest (pSeries or PowerNV), booted with nobind (the NIC still on its kernel driver, no
# hugetlbfs mounted): spapr-info --check as a user would run it before set-up, the set-up
# it asks for (bind the NIC to vfio-pci, mount hugetlbfs), and the check again.
#   check.sh PCI_ADDRESS
D=/sys/bus/pci/devices/$1
echo "@@STEP check-before"
/root/spapr-info --check --memory 64M "$1"
echo "@@CHECK-BEFORE rc=$?"
[ -e $D/driver ] && echo "$1" > $D/driver/unbind
echo vfio-pci > $D/driver_override
echo "$1" > /sys/bus/pci/drivers_probe
mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages
echo "@@STEP check-after"
/root/spapr-info --check --memory 64M "$1"
echo "@@CHECK-AFTER rc=$?"
