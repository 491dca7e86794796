#!/usr/bin/env bash
# DPDK's own example applications, built as a user of DPDK builds them: the sources the
# DPDK of libdpdk.pc installed (<prefix>/share/dpdk/examples: Debian's dpdk-doc package,
# or a DPDK built from source), unmodified, with their own Makefile (make + pkg-config). Our plugins are not
# linked in: the applications load them with -d, or find them installed.
# Usage: devtools/build-examples.sh [OUT_DIR [APP...]]
#   OUT_DIR default build/examples; APPs default: skeleton l2fwd l3fwd l3fwd-power
#   the binaries: OUT_DIR/<app>/build/<binary> (basicfwd, l2fwd, l3fwd, ...)
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"

out=${1:-$SPAPR_TOP/build/examples}
shift || true
[ $# -gt 0 ] || set -- skeleton l2fwd l3fwd l3fwd-power
src=$(pkg-config --variable=prefix libdpdk 2>/dev/null || echo /usr)/share/dpdk/examples
if [ ! -d "$src/$1" ] && [ "$src" = /usr/share/dpdk/examples ]; then
	require_root
	install_packages dpdk-doc make pkg-config gcc
fi
mkdir -p "$out"
# what several examples share (l3fwd's port grouping), found as ../common
rm -rf "${out:?}/common"
cp -r "$src/common" "$out/common"
for app in "$@"; do
	[ -d "$src/$app" ] || die "no example '$app' in $src"
	rm -rf "${out:?}/$app"
	cp -r "$src/$app" "$out/$app"
	# run path: a DPDK outside the loader's directories (built from source) is found
	LDFLAGS="-Wl,-rpath,$(pkg-config --variable=libdir libdpdk)" make -s -C "$out/$app" >/dev/null ||
		die "make of DPDK's example $app failed (in $out/$app)"
	log "built $out/$app/build/$(sed -n 's/^APP = //p' "$out/$app/Makefile")"
done
