#!/usr/bin/env bash
# Set-up (as quickstart.sh), then every test: the unit tests (meson test), the system
# tests (pytest under test/), and the real-kernel tier in a QEMU pSeries guest
# (test/qemu: the conformance check and stock testpmd with our plugins, Debian 12's DPDK
# 22.11 and sid's 25.11; it downloads the guest kernel and Debian's ppc64el DPDKs once;
# SPAPR_SKIP_QEMU=1 skips it). Non-zero
# exit on any failure, and when pytest collects no test at all.
# Usage: devtools/test.sh [MESON_OPTIONS...]   (build dir: $SPAPR_BUILD, default build)
#        devtools/test.sh --dpdk [--full] RELEASE [PYTEST_ARGS...]: the same tree against
#        another DPDK release of devtools/dpdk-releases.txt: Debian's in a chroot, or built
#        from its source (devtools/other-dpdk.sh, doc/building.md)
#        devtools/test.sh --extended: the extended tier, beyond CI's gate (devtools/extended.sh)
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --dpdk ]; then
	shift
	exec "$SPAPR_TOP/devtools/other-dpdk.sh" "$@"
fi
if [ "${1:-}" = --extended ]; then
	shift
	exec "$SPAPR_TOP/devtools/extended.sh" "$@"
fi

build_dir=${SPAPR_BUILD:-$SPAPR_TOP/build}
"$SPAPR_TOP/devtools/setup.sh" "$build_dir" "$@"
install_test_packages

log "unit tests"
meson test -C "$build_dir" --print-errorlogs --num-processes 2

log "system tests"
set +e
SPAPR_BUILD=$build_dir /usr/bin/python3 -m pytest -p no:cacheprovider -q "$SPAPR_TOP/test"
rc=$?
set -e
if [ $rc = 5 ]; then
	die "pytest collected no tests"
fi
[ $rc = 0 ] || die "system tests failed (pytest exit $rc)"

if [ "${SPAPR_SKIP_QEMU:-0}" != 1 ]; then
	log "the real kernel: QEMU pSeries guests and PowerNV hosts against the emulator, and testpmd in them"
	SPAPR_BUILD=$build_dir "$SPAPR_TOP/test/qemu/conformance.sh"
	SPAPR_BUILD=$build_dir "$SPAPR_TOP/test/qemu/testpmd.sh" --seconds 1
	SPAPR_BUILD=$build_dir "$SPAPR_TOP/test/qemu/testpmd.sh" --seconds 2 --machine powernv9
	log "the real kernel again, with Debian sid's ppc64el DPDK 25.11 in the guest"
	# what changes with DPDK's version; the IOMMU v1 choice and 1 GiB pages are this
	# project's own (22.11 above runs them)
	SPAPR_BUILD=$build_dir "$SPAPR_TOP/test/qemu/testpmd.sh" --seconds 1 --dpdk 25.11 --skip pci-v1:virtio,ours-1G
fi
log "all tests passed"
