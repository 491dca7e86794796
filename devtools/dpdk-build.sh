#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build a DPDK release from its unmodified source tarball (../shared/dpdk-src) where
# Debian has no package of it: the libraries, drivers and applications the tests use,
# with the driver-SDK headers, installed in a cache directory keyed by the tarball's
# checksum and the build options. Prints that directory (bin/, lib/, include/). Idempotent
# and safe to run twice at once (a lock per build).
#   devtools/dpdk-build.sh RELEASE     (a release of devtools/dpdk-releases.txt with a tarball)
# Configured the way RHEL and Fedora build it (-Ddrivers_install_subdir=dpdk-pmds): EAL
# auto-loads the plugins of <dir>/lib/dpdk-pmds, which the packaging work reuses.
# Its binaries and libraries find each other by their run path (RUNPATH: the directory),
# as installed ones would: a user of it sets PATH and PKG_CONFIG_PATH (lib.sh use_built_dpdk), nothing else.
set -euo pipefail
# shellcheck source=devtools/lib.sh
. "$(dirname "$0")/lib.sh"

release=${1:?usage: devtools/dpdk-build.sh RELEASE (one of devtools/dpdk-releases.txt with a tarball)}
tag=$(release_field "$release" tag)
tarball=$(release_field "$release" tarball)
[ "$tarball" != - ] || die "DPDK $release: no source tarball in devtools/dpdk-releases.txt (a Debian package only)"
src=$(dpdk_src_dir)/$tarball
[ -f "$src" ] || die "DPDK $release: $src is missing (the project's shared build inputs)"

# Not the whole tree (ten times as long): the drivers RHEL builds for ppc64le (its spec's
# ENABLED_DRIVERS), and net/null, net/pcap (dpdk-pdump writes through it),
# mempool/stack, librte_power (with its drivers from 24.11: l3fwd-power) and the
# route tables of l3fwd that the tests use; the libraries they,
# testpmd, dpdk-proc-info and dpdk-pdump link (meson adds the mandatory ones). EAL
# auto-loads every driver in both processes of a multi-process application, so both have
# the same shared-memory tail queues (net/vhost brings librte_hash's: proc-info has it).
libs=acl,bitratestats,bpf,cmdline,cryptodev,dmadev,eventdev,gro,gso,fib,hash,ip_frag,latencystats,lpm,metrics,pcapng,pdump,power,rib,security,timer,vhost
drivers=bus/pci,bus/vdev,mempool/ring,mempool/stack,net/failsafe,net/i40e,net/null,net/pcap,net/ring,net/tap,net/vhost,net/virtio,power/acpi,power/cppc,power/kvm_vm
apps=test-pmd,proc-info,pdump
options=(-Dplatform=generic -Dbuildtype=debugoptimized -Ddefault_library=shared -Dlibdir=lib
	-Denable_driver_sdk=true -Ddrivers_install_subdir=dpdk-pmds -Denable_libs=$libs
	-Denable_drivers=$drivers -Denable_apps=$apps -Dtests=false -Denable_docs=false
	-Dexamples= -Dcheck_includes=false -Denable_kmods=false)
key=$( { sha256sum < "$src"; printf '%s\n' "${options[@]}"; } | sha256sum | cut -c1-12)
dest=$SPAPR_CACHE/dpdk-build/$tag-$key
options+=("-Dc_link_args=-Wl,-rpath,$dest/lib")
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi

mkdir -p "$SPAPR_CACHE/dpdk-build"
exec 9> "$dest.lock"
flock 9
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi
install_packages libpcap-dev >&2
work=$(mktemp -d "${TMPDIR:-/var/tmp}/dpdk-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "building DPDK $tag from $tarball into $dest (once; a few minutes)" >&2
tar -xJf "$src" -C "$work"
tree=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -1)
rm -rf "$dest"
# DPDK's own options that this release has (enable_libs and enable_apps came in 22.x,
# enable_kmods went in 25.x): the key need not say, the tarball does
kept=()
for o in "${options[@]}"; do
	name=${o#-D}
	name=${name%%=*}
	case $name in
	buildtype | default_library | libdir | c_link_args) ;;
	*) grep -q "option('$name'" "$tree/meson_options.txt" || continue ;;
	esac
	kept+=("$o")
done
options=("${kept[@]}")
# DPDK's build runs the python3 of PATH and needs Debian's pyelftools
PATH=/usr/bin:$PATH meson setup "$work/build" "$tree" --prefix="$dest" "${options[@]}" \
	> "$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; die "meson setup of DPDK $tag failed"; }
PATH=/usr/bin:$PATH ninja -C "$work/build" > "$work/build.log" 2>&1 ||
	{ tail -40 "$work/build.log" >&2; die "building DPDK $tag failed"; }
PATH=/usr/bin:$PATH meson install -C "$work/build" --no-rebuild > "$work/install.log" 2>&1 ||
	{ tail -20 "$work/install.log" >&2; die "installing DPDK $tag in $dest failed"; }
printf '%s\n' "$tag" "${options[@]}" > "$dest/.complete"
# builds of this tag with other inputs (an older version of this script) are garbage now
for old in "$SPAPR_CACHE/dpdk-build/$tag"-*; do
	case $old in "$dest" | "$dest.lock") ;; *) rm -rf "$old" ;; esac
done
log "DPDK $tag built in $dest" >&2
echo "$dest"
