#!/usr/bin/env bash
# Provision DPDK's driver-SDK headers for the installed libdpdk-dev, outside the source
# tree: CACHE/dpdk-sdk-<version>/include. Prints that directory. Idempotent.
# With --source: the whole source tree of that version (Debian's patches applied) in
# CACHE/dpdk-src-<version>, for builds of a patched library (upstream/dpdk/).
# Usage: dpdk-sdk.sh [--source] [CACHE]   (default /var/cache/dpdk-spapr)
set -euo pipefail

want=sdk
if [ "${1:-}" = --source ]; then
	want=source
	shift
fi
cache=${1:-/var/cache/dpdk-spapr}
headers="lib/eal/include/bus_driver.h lib/eal/include/dev_driver.h
lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_pci.h lib/ethdev/ethdev_vdev.h
lib/ethdev/rte_flow_driver.h lib/ethdev/rte_mtr_driver.h lib/ethdev/rte_tm_driver.h
drivers/bus/pci/bus_pci_driver.h drivers/bus/vdev/bus_vdev_driver.h"

version=$(dpkg-query -W -f='${Version}' libdpdk-dev 2>/dev/null) ||
	{ echo "dpdk-sdk.sh: libdpdk-dev is not installed (apt-get install libdpdk-dev)" >&2; exit 1; }
dest=$cache/dpdk-sdk-$version
[ $want = source ] && dest=$cache/dpdk-src-$version
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/dpdk-sdk.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/sources.list.d" "$work/apt/lists/partial" "$work/dl"

# A private APT configuration: the configured Debian sources, with deb-src added.
found=0
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	grep -q 'debian' "$f" || continue
	sed -E 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb deb-src/' "$f" > "$work/apt/sources.list.d/$(basename "$f")"
	found=1
done
if [ -f /etc/apt/sources.list ] && grep -qE '^deb ' /etc/apt/sources.list; then
	sed -nE 's/^deb (.*debian.*)$/deb-src \1/p' /etc/apt/sources.list > "$work/apt/sources.list.d/src.list"
	found=1
fi
[ $found = 1 ] || { echo "dpdk-sdk.sh: no Debian APT source configured" >&2; exit 1; }

apt_opts=(-q -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/apt/sources.list.d"
	-o "Dir::State::Lists=$work/apt/lists" -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" update >/dev/null ||
	{ echo "dpdk-sdk.sh: apt-get update with deb-src failed" >&2; exit 1; }
# Pin the exact installed version: another suite may offer a newer DPDK.
(cd "$work/dl" && apt-get "${apt_opts[@]}" source --download-only "dpdk=$version" >/dev/null) ||
	{ echo "dpdk-sdk.sh: cannot download the source of dpdk=$version" >&2; exit 1; }
dpkg-source --no-check -x "$work"/dl/dpdk_*.dsc "$work/src" >/dev/null
if [ $want = source ]; then
	rm -rf "$dest"
	mkdir -p "$cache"
	mv "$work/src" "$dest"
	echo "$version" > "$dest/.complete"
	echo "$dest"
	exit 0
fi

mkdir -p "$dest/include"
for h in $headers; do
	[ -f "$work/src/$h" ] || { echo "dpdk-sdk.sh: $h missing from dpdk $version source" >&2; exit 1; }
	cp "$work/src/$h" "$dest/include/"
done
echo "$version" > "$dest/.complete"
echo "$dest"
