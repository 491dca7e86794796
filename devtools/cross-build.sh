#!/usr/bin/env bash
# Build the plugins for a POWER machine (ppc64le) on this one: Debian's ppc64el DPDK of
# the same release is downloaded into a sysroot (cached under $SPAPR_CACHE/qemu), and the
# tree is cross-built against it. Copy BUILD_DIR/drivers/librte_*.so to the POWER
# machine (doc/power.md: where EAL finds them).
# Usage: devtools/cross-build.sh [--dpdk 25.11] [BUILD_DIR]     (as root: installs the
#   cross compiler; default BUILD_DIR build-ppc64le; --dpdk: sid's 25.11 instead of the
#   host's DPDK release; the plugins must be built against the DPDK the machine runs)
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=devtools/ppc64le.sh
. "$(dirname "$0")/ppc64le.sh"
release=""
if [ "${1:-}" = --dpdk ]; then release=$2; shift 2; fi
build=${1:-$SPAPR_TOP/build-ppc64le}
require_root
if [ -z "$release" ]; then
	install_packages
	provision_sdk
	version=$(dpkg-query -W -f='${Version}' libdpdk-dev)
	sdk=$(sdk_dir)
	ppc64el_apt bookworm
	ppc64el_apt_update
else
	other_dpdk "$release"
	sdk=$(other_sdk_dir "$release")
	ppc64el_apt "$other_suite"
	ppc64el_apt_update
	version=$(ppc64el_release_version "$release")
fi
sysroot=$(ppc64el_sysroot "$version")
cross_build "$sysroot" "$sdk" "$build" -Dtests=false
log "plugins for ppc64le against DPDK $version:"
ls "$build"/drivers/librte_*.so
