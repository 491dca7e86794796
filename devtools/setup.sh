#!/usr/bin/env bash
# Set-up shared by quickstart.sh and test.sh: Debian packages, DPDK driver-SDK headers,
# hugepages, and a build in BUILD_DIR (default: build) with extra meson options.
# Usage: devtools/setup.sh [BUILD_DIR [MESON_OPTIONS...]]
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"

build_dir=${1:-$SPAPR_TOP/build}
shift || true
require_root
install_packages
provision_sdk
reserve_hugepages "${SPAPR_HUGEPAGES:-512}"
configure_build "$build_dir" "$@"
build "$build_dir"
log "built in $build_dir"
