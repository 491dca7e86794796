#!/usr/bin/env bash
# Run every libFuzzer target of test/fuzz for a fixed time on a copy of its corpus
# (test/fuzz/corpus/<target>), with ASan+UBSan: non-zero exit on any crash, leak,
# undefined behaviour or failed invariant; the input that did it is kept in the work
# directory and its path printed. Builds the targets first (clang) unless given a build.
#   devtools/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]
# FUZZ_SEED (default 1: the same inputs every run, so that what CI finds reproduces;
# 0: a new random seed each run, to explore).
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"

seconds=${1:-20}
build=${2:-$SPAPR_TOP/build-fuzz}
if [ ! -d "$build" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Ddpdk_driver_sdk="$(sdk_dir)" >/dev/null
fi
ninja -C "$build" >/dev/null
work=$(mktemp -d "${TMPDIR:-/var/tmp}/spapr-fuzz.XXXXXX")
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
failed=0
for target in devargs emu_config plan sysfs rxtx; do
	mkdir -p "$work/$target"
	cp "$SPAPR_TOP/test/fuzz/corpus/$target"/* "$work/$target/"
	if (cd "$work" && "$build/test/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -seed="${FUZZ_SEED:-1}" \
		-artifact_prefix="$work/$target-" "$work/$target" > "$work/$target.log" 2>&1); then
		log "fuzz_$target: $(grep -o 'Done [0-9]* runs' "$work/$target.log" | tail -1) in $seconds s, no crash"
	else
		tail -40 "$work/$target.log"
		log "fuzz_$target FAILED: input kept in $work ($(ls "$work" | grep "^$target-" | tr '\n' ' '))"
		failed=1
	fi
done
[ $failed = 0 ] && rm -rf "$work"
exit $failed
