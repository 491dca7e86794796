#!/usr/bin/env bash
# Set-up (as quickstart.sh), then every test: the unit tests (meson test) and the
# system tests (pytest under test/). Non-zero exit on any failure, and when pytest
# collects no test at all.
# Usage: devtools/test.sh [MESON_OPTIONS...]   (build dir: $SPAPR_BUILD, default build)
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"

build_dir=${SPAPR_BUILD:-$SPAPR_TOP/build}
"$SPAPR_TOP/devtools/setup.sh" "$build_dir" "$@"

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
log "all tests passed"
