#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A patch series of upstream/dpdk/ checked as DPDK's maintainers would: it applies with
# `git am` to the tree it is for (the 26.11 tree of ../shared/dpdk-src, or a tarball
# given), every patch builds on its own (the libraries it touches, -Werror), and DPDK's
# devtools/check-git-log.sh passes but for what needs DPDK's git history (Fixes: hashes,
# .mailmap). Build trees in a temporary directory.
# Usage: upstream/dpdk/check-series.sh SERIES_DIR [DPDK_TARBALL]
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/../../devtools/lib.sh"

series=$(cd "${1:?usage: check-series.sh SERIES_DIR [DPDK_TARBALL]}" && pwd)
tarball=${2:-$SPAPR_TOP/../shared/dpdk-src/dpdk-26.11-rc0-vfio-rework.tar.xz}
[ -f "$tarball" ] || die "no DPDK tree: $tarball"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/spapr-series.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xf "$tarball"
tree=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -1)
git -C "$tree" init -q
git -C "$tree" add -A
git -C "$tree" -c user.name=base -c user.email=base@localhost commit -qm "$(basename "$tarball")"
patches=$(find "$series" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | sort)
[ -n "$patches" ] || die "no patch in $series"
n=$(echo "$patches" | wc -l)
PATH=/usr/bin:$PATH meson setup "$work/build" "$tree" -Dplatform=generic -Dtests=false -Denable_drivers=bus/pci \
	-Denable_apps=test-pmd -Dwerror=true > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; die "meson setup failed"; }
for p in $patches; do
	git -C "$tree" -c user.name=check -c user.email=check@localhost am -q "$p" ||
		die "$(basename "$p") does not apply to $(basename "$tarball")"
	libs=$(git -C "$tree" show --name-only --format= HEAD | sed -nE 's@^lib/([^/]+)/.*@\1@p' | sort -u)
	for l in $libs; do
		target=$(ninja -C "$work/build" -t targets all | grep -oE "^lib/librte_$l\.so(\.[0-9]+)+" | head -1)
		[ -n "$target" ] || die "no build target for lib/$l"
		PATH=/usr/bin:$PATH ninja -C "$work/build" "$target" > "$work/build.log" 2>&1 ||
			{ tail -30 "$work/build.log"; die "$(basename "$p"): lib/$l does not build"; }
	done
	log "$(basename "$p"): applies and builds ($libs)"
done
out=$(cd "$tree" && devtools/check-git-log.sh -n"$n" 2>&1 || true)
bad=$(echo "$out" | grep -vE "^(Wrong 'Fixes' reference:|Contributor name/email mismatch with .mailmap: |Invalid patch\(es\) found|$)" |
	grep -vE "^	(Fixes: |.*is unknown in .mailmap)" || true)
[ -z "$bad" ] || { echo "$out"; die "check-git-log.sh"; }
log "$n patch(es): check-git-log.sh clean (Fixes: hashes and .mailmap need DPDK's history)"
