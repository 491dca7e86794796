#!/usr/bin/env bash
# Build and test this tree against another DPDK than the machine's: Debian's DPDK of
# another suite in a chroot (debootstrap, made once under $SPAPR_CACHE/chroot/<suite>).
#   devtools/other-dpdk.sh VERSION [PYTEST_ARGS...]
# VERSION: 24.11 (Debian 13 trixie) or 25.11 (sid). The tree is built there with
# -Dwerror=true against that DPDK's driver-SDK headers, the unit tests run, then the
# system tests (default: the bus, the PMD forwarding, the PCI takeover, secondary
# processes, a user who is not root). Needs root,
# network access to deb.debian.org (the first time) and the hugepages of the host.
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"

version=${1:?usage: devtools/other-dpdk.sh 24.11|25.11 [PYTEST_ARGS...]}
shift
case $version in
24.11) suite=trixie sdk_tag=24.11.6 ;;
25.11) suite=sid sdk_tag=25.11.2 ;;
*) die "DPDK $version: not one this script knows (24.11, 25.11)" ;;
esac
require_root
install_packages debootstrap

# Debian ships no driver-SDK headers: from the source package where it can be fetched,
# else from the project's shared build inputs (the headers of the DPDK tag, unmodified).
find_sdk() {
	local d
	for d in "$SPAPR_CACHE/dpdk-sdk-$version/include" "$SPAPR_TOP/../shared/dpdk-sdk/$sdk_tag/include" \
		/work/shared/dpdk-sdk/"$sdk_tag"/include; do
		[ -f "$d/ethdev_driver.h" ] && { echo "$d"; return 0; }
	done
	return 1
}
sdk=$(find_sdk) || die "no driver-SDK headers for DPDK $version (looked in $SPAPR_CACHE, ../shared/dpdk-sdk)"

root=$SPAPR_CACHE/chroot/$suite
if [ ! -x "$root/usr/bin/dpdk-testpmd" ]; then
	log "making a Debian $suite chroot with its DPDK in $root (once)"
	mkdir -p "$root"
	debootstrap --variant=minbase --include=dpdk,dpdk-dev,libdpdk-dev,meson,ninja-build,gcc,pkg-config,python3-pytest,python3-pyelftools,libc6-dev,util-linux,procps \
		"$suite" "$root" http://deb.debian.org/debian > "$SPAPR_CACHE/chroot/$suite.log" 2>&1 ||
		die "debootstrap $suite failed (see $SPAPR_CACHE/chroot/$suite.log)"
fi
log "DPDK $(chroot "$root" dpkg-query -W -f='${Version}' libdpdk-dev) in $root, driver-SDK headers from $sdk"

mounts=()
cleanup() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { # bind SRC DST [ro]
	mkdir -p "$2"
	mountpoint -q "$2" && return 0
	mount --bind "$1" "$2"
	[ "${3:-}" = ro ] && mount -o remount,bind,ro "$2"
	mounts+=("$2")
}
bind "$SPAPR_TOP" "$root/src"
bind "$sdk" "$root/sdk" ro
for m in proc sys dev dev/pts dev/hugepages; do bind "/$m" "$root/$m"; done
mkdir -p "$root/var/run/dpdk"

build=/build-$version
chroot "$root" sh -ec "cd /src
	[ -d $build ] || meson setup $build -Dwerror=true -Ddpdk_driver_sdk=/sdk >/dev/null
	ninja -C $build >/dev/null
	meson test -C $build --suite unit --suite integration --print-errorlogs --num-processes 2 >/dev/null"
log "DPDK $version: built with -Dwerror=true, unit and integration tests passed"
[ $# -gt 0 ] || set -- test/system/test_bus_spapr.py test/system/test_pmd_forward.py test/system/test_pci_takeover.py \
	test/system/test_secondary.py test/system/test_nonroot.py
chroot "$root" bash -c "cd /src && SPAPR_BUILD=$build python3 -m pytest -p no:cacheprovider -q $(printf '%q ' "$@")"
