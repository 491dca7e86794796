# Shared set-up steps for quickstart.sh, test.sh and .ci/run. Source it; do not run it.
# Every step is idempotent: a second run only checks and returns.

SPAPR_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPAPR_CACHE=${SPAPR_CACHE:-/var/cache/dpdk-spapr}
SPAPR_PACKAGES="dpdk dpdk-dev libdpdk-dev libnuma-dev meson ninja-build pkg-config \
python3-pytest python3-matplotlib python3-pyelftools gcc clang dpkg-dev xz-utils libc6-dev tcpdump iproute2 iputils-ping"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*"; }
die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

require_root() {
	[ "$(id -u)" = 0 ] || die "run as root (installs packages, provisions headers, reserves hugepages)"
}

# Install the Debian packages that are missing; apt-get update only when needed.
install_packages() {
	local missing="" p
	for p in $SPAPR_PACKAGES $*; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || die "apt-get update failed"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null ||
		die "apt-get install$missing failed"
}

# What only the tests use (Open vSwitch with DPDK, test_ovs.py): installed with no
# service of it started (a policy-rc.d for the install, where the machine has none).
SPAPR_TEST_PACKAGES="openvswitch-switch-dpdk"
install_test_packages() {
	local policy=/usr/sbin/policy-rc.d made=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$policy"
		chmod 755 "$policy"
		made=1
	fi
	SPAPR_PACKAGES="" install_packages $SPAPR_TEST_PACKAGES
	if [ $made = 1 ]; then rm -f "$policy"; fi
}

# Print the driver-SDK include directory for the installed libdpdk-dev.
sdk_dir() {
	local v
	v=$(dpkg-query -W -f='${Version}' libdpdk-dev 2>/dev/null) || die "libdpdk-dev is not installed"
	echo "$SPAPR_CACHE/dpdk-sdk-$v/include"
}

# Another DPDK release than the installed one: the Debian suite that ships it and the
# DPDK tag of the driver-SDK headers in the project's shared build inputs. Sets
# other_suite and other_sdk_tag; dies on a release it does not know.
other_dpdk() {
	case $1 in
	24.11) other_suite=trixie other_sdk_tag=24.11.6 ;;
	25.11) other_suite=sid other_sdk_tag=25.11.2 ;;
	*) die "DPDK $1: not one this project builds against besides the installed one (24.11, 25.11)" ;;
	esac
}

# The driver-SDK include directory for another release (other_dpdk first): Debian ships
# no driver-SDK headers, so from the source package where it could be fetched, else from
# the project's shared build inputs (the headers of the DPDK tag, unmodified).
other_sdk_dir() {
	local d
	for d in "$SPAPR_CACHE/dpdk-sdk-$1/include" "$SPAPR_TOP/../shared/dpdk-sdk/$other_sdk_tag/include" \
		/work/shared/dpdk-sdk/"$other_sdk_tag"/include; do
		[ -f "$d/ethdev_driver.h" ] && { readlink -f "$d"; return 0; }  # no "..": meson refuses a path that looks inside the tree
	done
	die "no driver-SDK headers for DPDK $1 (looked in $SPAPR_CACHE, ../shared/dpdk-sdk)"
}

# DPDK's driver-SDK headers (bus_driver.h, ethdev_driver.h, ...) are not in Debian's
# libdpdk-dev. Take them from the Debian source package of exactly the installed version,
# with a private APT configuration that adds deb-src to the configured Debian sources.
provision_sdk() {
	"$SPAPR_TOP/devtools/dpdk-sdk.sh" "$SPAPR_CACHE" >/dev/null || die "could not provision DPDK driver-SDK headers"
}

# meson setup (or reconfigure) BUILD_DIR with extra options.
configure_build() {
	local dir=$1; shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" -Ddpdk_driver_sdk="$(sdk_dir)" "$@" >/dev/null
	else
		meson setup "$dir" "$SPAPR_TOP" -Ddpdk_driver_sdk="$(sdk_dir)" "$@" >/dev/null
	fi || die "meson setup of $dir failed"
}

build() {
	ninja -C "$1" >/dev/null || { ninja -C "$1"; die "build in $1 failed"; }
}

# Reserve at least N 2 MiB hugepages and make sure a hugetlbfs is mounted.
reserve_hugepages() {
	local want=$1 f=/proc/sys/vm/nr_hugepages have
	have=$(cat $f)
	if [ "$have" -lt "$want" ]; then
		echo "$want" > $f || die "cannot reserve $want hugepages in $f"
		have=$(cat $f)
		[ "$have" -ge "$want" ] || log "warning: only $have of $want 2 MiB hugepages could be reserved"
	fi
	if ! grep -qs ' hugetlbfs ' /proc/mounts; then
		mkdir -p /dev/hugepages
		mount -t hugetlbfs nodev /dev/hugepages || die "cannot mount hugetlbfs on /dev/hugepages"
	fi
}
