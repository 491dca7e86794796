#!/usr/bin/env bash
# The real-kernel tier's ingredients, from Debian packages only, cached outside the tree
# ($SPAPR_CACHE/qemu, default /var/cache/dpdk-spapr/qemu). Idempotent. Prints the cache.
#  host (installed): qemu-system-ppc, the ppc64le cross compiler and C library, cpio
#  guest (downloaded and unpacked, not installed): a Linux 6.12 ppc64el kernel with 64 KiB
#    pages from bookworm-backports (VFIO in pSeries guests needs >= 6.11) and busybox-static
# Usage: test/qemu/setup.sh        (as root)
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/../../devtools/lib.sh"
require_root
SPAPR_PACKAGES=""
install_packages qemu-system-ppc gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross cpio xz-utils

cache=$SPAPR_CACHE/qemu
if [ -f "$cache/.complete" ]; then echo "$cache"; exit 0; fi
mkdir -p "$cache/dl"
# A private APT configuration for ppc64el: bookworm and bookworm-backports, nothing of the
# host's own configuration or package state touched (devtools/ppc64le.sh).
# shellcheck source=devtools/ppc64le.sh
. "$SPAPR_TOP/devtools/ppc64le.sh"
ppc64el_apt bookworm
ppc64el_apt_update
kernel=$(apt-cache "${apt_opts[@]}" search --names-only '^linux-image-6\.12\.[0-9.]+\+deb12-powerpc64le-64k$' |
	awk '{print $1}' | sort -V | tail -1)
[ -n "$kernel" ] || die "no linux-image-6.12.*-powerpc64le-64k in bookworm-backports for ppc64el"
(cd "$cache/dl" && apt-get "${apt_opts[@]}" download "$kernel" busybox-static >/dev/null) ||
	die "cannot download $kernel and busybox-static (ppc64el)"
rm -rf "$cache/kernel" "$cache/busybox"
dpkg -x "$cache"/dl/linux-image-*_ppc64el.deb "$cache/kernel"
dpkg -x "$cache"/dl/busybox-static_*_ppc64el.deb "$cache/busybox"
krel=${kernel#linux-image-}
[ -f "$cache/kernel/boot/vmlinux-$krel" ] || die "no vmlinux in $kernel"
echo "$krel" > "$cache/kernel-release"
rm -f "$cache"/dl/*.deb
touch "$cache/.complete"
log "kernel $krel and busybox in $cache"
echo "$cache"
