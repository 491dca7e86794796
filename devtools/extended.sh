#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The extended tier: what CI's gate leaves out for time, run before resolving an issue
# that touches it (doc/testing.md says which test is in which tier). Each step says how
# long it took; the first failure stops it. Expects the gate's set-up (devtools/test.sh
# or setup.sh) to have run.
#   - every patch series of upstream/dpdk/: applies to its DPDK tree, builds patch by
#     patch with -Werror, DPDK's check-git-log.sh (upstream/dpdk/check-series.sh);
#   - every other DPDK release of the gate (devtools/dpdk-releases.txt) with all of
#     test/system (the gate runs its set): devtools/other-dpdk.sh --full RELEASE;
#   - Open vSwitch of Debian trixie (DPDK 24.11) and sid (DPDK 25.11), in their chroots,
#     through both stacks (test/system/test_ovs.py; the gate runs Debian 12's).
# Usage: devtools/extended.sh
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"
require_root

step() { # step NAME COMMAND...
	local name=$1 t0
	shift
	t0=$(date +%s)
	log "$name"
	"$@" || die "$name failed"
	log "$name: passed in $(( $(date +%s) - t0 )) s"
}

for series in "$SPAPR_TOP"/upstream/dpdk/*/; do
	[ -f "$series/0000-cover-letter.patch" ] || continue
	step "upstream series $(basename "$series")" "$SPAPR_TOP/upstream/dpdk/check-series.sh" "$series"
done
for r in $(releases tier gate); do
	step "DPDK $r: every system test" "$SPAPR_TOP/devtools/other-dpdk.sh" --full "$r"
done
for v in 24.11 25.11; do
	step "Open vSwitch with DPDK $v" env SPAPR_CHROOT_EXTRA=openvswitch-switch-dpdk \
		"$SPAPR_TOP/devtools/other-dpdk.sh" "$v" test/system/test_ovs.py
done
log "extended tier passed"
