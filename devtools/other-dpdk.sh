#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build and test this tree against another DPDK release than the machine's (a row of
# devtools/dpdk-releases.txt): Debian's package of it in a chroot (debootstrap, made once
# under $SPAPR_CACHE/chroot/<suite>) while that suite ships it, else DPDK built from its
# source tarball on this machine (devtools/dpdk-build.sh, cached).
#   devtools/other-dpdk.sh [--full] RELEASE [PYTEST_ARGS...]
#   devtools/other-dpdk.sh --prepare RELEASE    (only make the chroot or build: CI starts it early)
# The tree is built with -Dwerror=true against that DPDK's driver-SDK headers, the unit
# tests run, then the system tests: by default the gate's set (the bus, the PMD
# forwarding, the PCI takeover, secondary processes, a user who is not root, device
# strings and load orders); --full: all of test/system (the extended tier). Needs root,
# the hugepages of the host, and for a chroot the configured Debian mirror (the first time).
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"

prepare=0 full=0
case ${1:-} in
--prepare) prepare=1; shift ;;
--full) full=1; shift ;;
esac
version=${1:?usage: devtools/other-dpdk.sh [--prepare|--full] RELEASE [PYTEST_ARGS...] (RELEASE: $(releases | tr '\n' ' '))}
shift
other_dpdk "$version"
suite=$other_suite
if [ "$(release_field "$version" tier)" = - ] && [ "${SPAPR_TRY:-0}" != 1 ]; then
	die "DPDK $version: not supported by this tree (doc/building.md says why; SPAPR_TRY=1 builds and tests it anyway, to port it)"
fi
require_root

# the system tests of the gate, or all of them; what differs between DPDK versions of
# the secondaries (the fds handed over, EAL's VFIO requests from a secondary, pdump's
# mempool order), not every variant of test_secondary
sec=test/system/test_secondary.py
gate_tests=(test/system/test_bus_spapr.py test/system/test_pmd_forward.py test/system/test_pci_takeover.py
	"$sec::test_a_secondary_forwards_on_its_own_queues[ours]" "$sec::test_a_secondary_forwards_on_its_own_queues[pci]"
	"$sec::test_proc_info_reads_the_primarys_ports"
	"$sec::test_pdump_captures_and_a_killed_secondary_leaves_the_primary_unharmed[ours]"
	"$sec::test_outside_the_platform_a_secondary_is_told_not_killed" test/system/test_nonroot.py
	test/system/test_devargs.py)
if [ $# = 0 ]; then
	if [ $full = 1 ]; then set -- test/system; else set -- "${gate_tests[@]}"; fi
fi

# run_tests BUILD_DIR PYTEST_ARGS...: where this shell's DPDK is the release's
run_tests() {
	local build=$1
	shift
	if [ ! -f "$build/build.ninja" ]; then # none, or a set-up that failed half-way
		rm -rf "$build"
		meson setup "$build" "$SPAPR_TOP" -Dwerror=true -Ddpdk_driver_sdk="$sdk" >/dev/null ||
			die "DPDK $version: meson setup of $build failed"
	fi
	ninja -C "$build" >/dev/null || { ninja -C "$build" | grep -E 'error|FAILED' | head -20; die "DPDK $version: the build failed"; }
	meson test -C "$build" --suite unit --suite integration --print-errorlogs --num-processes 2 >/dev/null ||
		die "DPDK $version: unit or integration tests failed ($build/meson-logs/testlog.txt)"
	log "DPDK $version: built with -Dwerror=true, unit and integration tests passed"
	set +e
	(cd "$SPAPR_TOP" && SPAPR_BUILD=$build /usr/bin/python3 -m pytest -p no:cacheprovider -q "$@")
	local rc=$?
	set -e
	[ $rc != 5 ] || die "DPDK $version: pytest collected no tests"
	return $rc
}

# The release guard (test_release_guard.py), where an earlier release has this one's
# ABI (26.07 kept 25.11's soname): our plugins built for that one, in this one's testpmd.
guard_test() { # guard_test DPDK_DIR
	local r earlier="" other build
	for r in $(releases abi "$(release_field "$version" abi)"); do
		[ "$r" = "$version" ] && break
		earlier=$r
	done
	[ -n "$earlier" ] || return 0
	other=$("$SPAPR_TOP/devtools/dpdk-build.sh" "$earlier")
	build=$SPAPR_TOP/build-$earlier-guard-$(basename "$other" | sed 's/.*-//')
	if [ ! -f "$build/build.ninja" ]; then
		rm -rf "$build"
		PKG_CONFIG_PATH=$other/lib/pkgconfig meson setup "$build" "$SPAPR_TOP" -Dtests=false \
			-Ddpdk_driver_sdk="$other/include" >/dev/null || die "DPDK $earlier: meson setup of $build failed"
	fi
	ninja -C "$build" >/dev/null || die "DPDK $earlier: the build in $build failed"
	log "DPDK $version: the plugins built for $earlier (same ABI) in its testpmd"
	(cd "$SPAPR_TOP" && PATH=$1/bin:$PATH SPAPR_GUARD_PLUGINS=$build/drivers SPAPR_GUARD_RELEASE=$earlier \
		/usr/bin/python3 -m pytest -p no:cacheprovider -q test/system/test_release_guard.py) ||
		die "DPDK $version: the release guard failed"
}

# From source: where no Debian suite ships the release (any more).
from_source() {
	local dpdk
	dpdk=$("$SPAPR_TOP/devtools/dpdk-build.sh" "$version")
	log "DPDK $version built from source in $dpdk"
	[ $prepare = 1 ] && exit 0
	guard_test "$dpdk"
	sdk=$dpdk/include
	use_built_dpdk "$dpdk"
	# a build directory per DPDK build and source tree (ninja knows files by path and time)
	run_tests "$SPAPR_TOP/build-$version-$(basename "$dpdk" | sed 's/.*-//')" "$@"
	exit $?
}
[ "$suite" = - ] && from_source "$@"

install_packages debootstrap
sdk=$(other_sdk_dir "$version")

# what the build and every system test use (clang: test_mmio's compilers; dpdk-doc and
# make: DPDK's examples, test_dpdk_examples; iproute2 and
# ping: test_virtio_net's kernel network); SPAPR_CHROOT_EXTRA: more, added to a made chroot
# (the extended tier's Open vSwitch)
packages=dpdk,dpdk-dev,libdpdk-dev,dpdk-doc,make,meson,ninja-build,gcc,clang,pkg-config,python3-pytest,python3-pyelftools,libc6-dev,util-linux,procps,iproute2,iputils-ping
root=$SPAPR_CACHE/chroot/$suite
if [ ! -x "$root/usr/bin/dpdk-testpmd" ]; then
	log "making a Debian $suite chroot with its DPDK in $root (once)"
	mkdir -p "$root"
	# a half-made root is removed: the next run starts again
	debootstrap --variant=minbase --include="$packages" \
		"$suite" "$root" "$(debian_mirror)" > "$SPAPR_CACHE/chroot/$suite.log" 2>&1 ||
		{ rm -rf "$root"; die "debootstrap $suite failed (see $SPAPR_CACHE/chroot/$suite.log)"; }
fi
# a chroot made by an older version of this script: add what it lacks
missing=$(chroot "$root" dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' ${packages//,/ } ${SPAPR_CHROOT_EXTRA:-} 2>&1 |
	awk '$1 != "ii" {print $NF}' | tr '\n' ' ' || true)
if [ -n "${missing// /}" ]; then
	log "adding to the $suite chroot: $missing"
	# no service of a package starts in the chroot (Open vSwitch's would)
	printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	chroot "$root" sh -c "apt-get -qq -o Acquire::Check-Valid-Until=false update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends $missing" \
		>> "$SPAPR_CACHE/chroot/$suite.log" 2>&1 || die "apt-get install in the $suite chroot failed (see $SPAPR_CACHE/chroot/$suite.log)"
fi
have=$(chroot "$root" dpkg-query -W -f='${Version}' libdpdk-dev)
case $have in
"$version".*) ;;
*)  # the suite moved on to another release (sid: 25.11, then 26.11)
	log "Debian $suite's DPDK is $have now, not $version: DPDK $version from its source instead"
	from_source "$@" ;;
esac
log "DPDK $have in $root, driver-SDK headers from $sdk"

if [ $prepare = 1 ]; then
	log "the $suite chroot for DPDK $version is ready in $root"
	exit 0
fi
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
# the tree and the SDK change from run to run: a mount a killed run left there (of a tree
# since deleted, which mountpoint(1) cannot even stat) is replaced, not reused
for m in src sdk; do
	while grep -q " $root/$m " /proc/self/mounts; do umount -l "$root/$m" || break; done
done
bind "$SPAPR_TOP" "$root/src"
bind "$sdk" "$root/sdk" ro
for m in proc sys dev dev/pts dev/hugepages; do bind "/$m" "$root/$m"; done
mkdir -p "$root/var/run/dpdk"

# a build directory per source tree: ninja knows a tree's files by their path in the
# chroot (/src) and their times, so another tree bound there could pass for up to date
build=/build-$version-$(printf '%s' "$SPAPR_TOP" | md5sum | cut -c1-8)
chroot "$root" sh -ec "cd /src
	[ -d $build ] || meson setup $build -Dwerror=true -Ddpdk_driver_sdk=/sdk >/dev/null
	ninja -C $build >/dev/null
	meson test -C $build --suite unit --suite integration --print-errorlogs --num-processes 2 >/dev/null"
log "DPDK $version: built with -Dwerror=true, unit and integration tests passed"
set +e
chroot "$root" bash -c "cd /src && SPAPR_BUILD=$build python3 -m pytest -p no:cacheprovider -q $(printf '%q ' "$@")"
rc=$?
set -e
[ $rc != 5 ] || die "DPDK $version: pytest collected no tests"
exit $rc
