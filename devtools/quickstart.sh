#!/usr/bin/env bash
# First command on a fresh Debian 12 machine (as root): installs what is missing,
# provisions DPDK's driver-SDK headers, builds, reserves hugepages, and runs the main
# job: the emulated POWER platform runs the kernel documentation's sPAPR VFIO example,
# unmodified, on each platform preset and reports what the kernel and the hypervisor
# did; then stock dpdk-testpmd loads our bus and virtio-net PMD plugins and forwards
# generated frames to a checker (devtools/emu-forward.py). Idempotent; quick on a
# second run.
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"

build_dir=${SPAPR_BUILD:-$SPAPR_TOP/build}
"$SPAPR_TOP/devtools/setup.sh" "$build_dir"

emu=$build_dir/app/spapr-emu/spapr-emu
seed=$build_dir/test/progs/spapr-seed
out=$(mktemp -d "${TMPDIR:-/var/tmp}/spapr-quickstart.XXXXXX")
trap 'rm -rf "$out"' EXIT

log "the kernel's sPAPR example, unmodified, on an emulated pSeries guest:"
"$emu" run --platform pseries-ddw --stats "$out/pseries-ddw.json" -- "$seed" 0000:00:01.0 |
	sed 's/^/    /'
for platform in pseries-noddw powernv; do
	"$emu" run --platform "$platform" --stats "$out/$platform.json" -- "$seed" 0000:00:01.0 \
		> "$out/$platform.log" || { cat "$out/$platform.log"; die "the example failed on $platform"; }
done
log "what the kernel and the hypervisor did, per platform preset:"
/usr/bin/python3 "$SPAPR_TOP/devtools/emu-summary.py" "$out"/pseries-ddw.json \
	"$out"/pseries-noddw.json "$out"/powernv.json
fwd=$SPAPR_TOP/devtools/emu-forward.py
log "stock dpdk-testpmd forwarding through our virtio-net PMD on an emulated pSeries guest,"
log "at 200k frames/s (every frame checked):"
/usr/bin/python3 "$fwd" --platform pseries-ddw --seconds 3 --rate 200000 || die "forwarding was not clean"
log "as fast as this machine's emulated devices take (a full TX ring drops, as testpmd counts):"
/usr/bin/python3 "$fwd" --platform pseries-ddw --seconds 3 || die "forwarding was not clean"
log "next: devtools/test.sh runs every test; doc/emulator.md explains the platform"
