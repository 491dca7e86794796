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

# The Debian archive this machine's APT configuration names (its main archive, not the
# security one): debootstrap and the ppc64el package lists use the same mirror.
debian_mirror() {
	local uri
	uri=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null; } |
		awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/ && $i ~ /debian/) {print $i; exit}}')
	[ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ && $0 ~ /debian/ {
		for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null)
	[ -n "$uri" ] || die "no Debian archive in this machine's APT configuration (/etc/apt/sources.list{,.d})"
	echo "$uri"
}

# Print the driver-SDK include directory for the installed libdpdk-dev.
sdk_dir() {
	local v
	v=$(dpkg-query -W -f='${Version}' libdpdk-dev 2>/dev/null) || die "libdpdk-dev is not installed"
	echo "$SPAPR_CACHE/dpdk-sdk-$v/include"
}

# The DPDK releases this tree knows (devtools/dpdk-releases.txt, one row each).
# release_field RELEASE FIELD prints one column of a release's row; dies on an unknown one.
SPAPR_RELEASES=$SPAPR_TOP/devtools/dpdk-releases.txt
release_field() {
	local col
	col=$(awk -v f="$2" '/^# release /{for (i = 2; i <= NF; i++) if ($i == f) print i - 1}' "$SPAPR_RELEASES")
	[ -n "$col" ] || die "no column $2 in $SPAPR_RELEASES"
	awk -v r="$1" -v c="$col" '!/^#/ && $1 == r {print $c; found = 1} END {exit !found}' "$SPAPR_RELEASES" ||
		die "DPDK $1: not a release of $SPAPR_RELEASES ($(releases | tr '\n' ' '))"
}
# releases [FIELD VALUE]: the releases, or those whose FIELD is VALUE
releases() {
	local r
	for r in $(awk '!/^#/ && NF {print $1}' "$SPAPR_RELEASES"); do
		if [ $# = 0 ] || [ "$(release_field "$r" "$1")" = "$2" ]; then echo "$r"; fi
	done
}

# Another DPDK release than the installed one: the Debian suite that ships it (- none)
# and the DPDK tag of its driver-SDK headers. Sets other_suite and other_sdk_tag; dies
# on a release devtools/dpdk-releases.txt does not have.
other_dpdk() {
	other_suite=$(release_field "$1" debian)
	other_sdk_tag=$(release_field "$1" tag)
}

# The project's shared build inputs (../shared: DPDK source tarballs, driver-SDK headers):
# beside the checkout, or beside the repository a clone was made from (CI's clean clone).
shared_dir() {
	local d origin
	for d in "${SPAPR_SHARED:-}" "$SPAPR_TOP/../shared"; do
		[ -n "$d" ] && [ -d "$d/dpdk-src" ] && { readlink -f "$d"; return 0; }
	done
	origin=$(git -C "$SPAPR_TOP" config --get remote.origin.url 2>/dev/null || true)
	if [ -d "$origin" ] && [ -d "$origin/../shared/dpdk-src" ]; then readlink -f "$origin/../shared"; return 0; fi
	die "the project's shared build inputs (../shared/dpdk-src) are not beside $SPAPR_TOP nor its origin: set SPAPR_SHARED"
}

# The DPDK source tarballs (../shared/dpdk-src).
dpdk_src_dir() {
	echo "$(shared_dir)/dpdk-src"
}

# The driver-SDK include directory for another release (other_dpdk first): Debian ships
# no driver-SDK headers, so from the source package where it could be fetched, else from
# the project's shared build inputs (the headers of the DPDK tag, unmodified), else from
# the release's tarball.
other_sdk_dir() {
	local d shared
	shared=$(shared_dir)
	for d in "$SPAPR_CACHE/dpdk-sdk-$1/include" "$shared/dpdk-sdk/$other_sdk_tag/include"; do
		[ -f "$d/ethdev_driver.h" ] && { readlink -f "$d"; return 0; }  # no "..": meson refuses a path that looks inside the tree
	done
	[ "$(release_field "$1" tarball)" != - ] && { echo "$("$SPAPR_TOP/devtools/dpdk-build.sh" "$1")/include"; return 0; }
	die "no driver-SDK headers for DPDK $1 (looked in $SPAPR_CACHE, $shared/dpdk-sdk)"
}

# Use a DPDK built from source (devtools/dpdk-build.sh's directory) in this shell: its
# applications first in PATH, its libdpdk.pc for meson.
use_built_dpdk() {
	export PATH=$1/bin:$PATH PKG_CONFIG_PATH=$1/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
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
