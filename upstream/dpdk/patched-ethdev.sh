#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The installed DPDK's librte_ethdev with the ethdev iterator series applied
# (ethdev-iterator/backport-<release>/), built from that exact version's Debian source
# with Debian's configuration, so that it drops in for the installed library
# (LD_LIBRARY_PATH) under stock applications: testpmd, Open vSwitch. Only ethdev and
# what it links are built. Cached in $SPAPR_CACHE/ethdev-iterator-<version>-<patches>.
# Prints the directory holding the library. Idempotent.
# Usage: upstream/dpdk/patched-ethdev.sh
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/../../devtools/lib.sh"

version=$(dpkg-query -W -f='${Version}' libdpdk-dev 2>/dev/null) || die "libdpdk-dev is not installed"
release=$(echo "$version" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
series=$SPAPR_TOP/upstream/dpdk/ethdev-iterator/backport-$release
[ -d "$series" ] || die "no backport of the ethdev iterator series for DPDK $release ($series)"
key=$(cat "$series"/*.patch | sha256sum | cut -c1-12)
dest=$SPAPR_CACHE/ethdev-iterator-$version-$key
mkdir -p "$SPAPR_CACHE"
exec 9> "$SPAPR_CACHE/ethdev-iterator.lock"
flock 9 # one build at a time: two runs sharing the cache would remove each other's
if [ -f "$dest/.complete" ]; then echo "$dest/lib"; exit 0; fi

src=$("$SPAPR_TOP/devtools/dpdk-sdk.sh" --source "$SPAPR_CACHE") || die "no source of dpdk $version"
rm -rf "$SPAPR_CACHE/ethdev-iterator-$version-"* # builds of an older series
mkdir -p "$dest"
cp -a "$src" "$dest/src"
for p in "$series"/*.patch; do
	patch -d "$dest/src" -p1 --quiet --no-backup-if-mismatch < "$p" || die "$(basename "$p") does not apply to dpdk $version"
done

# Debian's configuration (debian/rules, dpkg-buildflags): what decides the ABI and
# rte_build_config.h, and the compiler flags Debian's own build has.
# DPDK's build wants Debian's python3 (pyelftools), not one earlier in PATH.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
PATH=/usr/bin:$PATH meson setup "$dest/build" "$dest/src" --prefix=/usr --libdir="lib/$arch" \
	--includedir=include/dpdk --default-library=shared --buildtype=plain \
	-Dc_args="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
	-Dc_link_args="$(dpkg-buildflags --get LDFLAGS)" \
	-Dinclude_subdir_arch="../$arch/dpdk" -Dplatform=generic -Dtests=false \
	-Denable_drivers=bus/pci -Denable_apps=proc-info > "$dest/configure.log" 2>&1 ||
	die "meson setup failed: $dest/configure.log"
installed=/usr/include/$arch/dpdk/rte_build_config.h
if ! diff -q <(grep -v '^$' "$installed") <(grep -v '^$' "$dest/build/rte_build_config.h") >/dev/null; then
	diff "$installed" "$dest/build/rte_build_config.h" > "$dest/config.diff" || true
	# the driver and library lists differ (only ethdev is used); the limits must not
	if grep -E '^[<>] #define RTE_(MAX_|ARCH|CACHE_LINE|EAL_PMD_PATH|IOVA|MBUF|PKTMBUF)' "$dest/config.diff"; then
		die "the build configuration differs from the installed DPDK's (above; $dest/config.diff)"
	fi
fi
abi=$(cut -d. -f1 "$dest/src/ABI_VERSION")
lib=librte_ethdev.so.$(cat "$dest/src/ABI_VERSION")
PATH=/usr/bin:$PATH ninja -C "$dest/build" "lib/$lib" > "$dest/build.log" 2>&1 || die "build failed: $dest/build.log"
mkdir -p "$dest/lib"
cp "$dest/build/lib/$lib" "$dest/lib/"
ln -sf "$lib" "$dest/lib/librte_ethdev.so.$abi"
rm -rf "$dest/src" "$dest/build"
echo "$version" > "$dest/.complete"
echo "$dest/lib"
