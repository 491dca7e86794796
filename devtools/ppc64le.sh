# Building for ppc64le on another machine: Debian's ppc64el DPDK unpacked into a sysroot
# (downloaded with a private APT configuration: nothing of the host's package state is
# touched) and a Meson cross build of this tree against it. Source it after lib.sh.
# devtools/cross-build.sh is the command; test/qemu/testpmd.sh uses the same functions.

# ppc64el_apt SUITE: sets apt_opts for Debian SUITE's ppc64el packages (lists fetched
# when asked with `ppc64el_apt_update`). bookworm also gets bookworm-backports.
ppc64el_apt() {
	local suite=$1 dir=$SPAPR_CACHE/qemu/apt suites=$1
	[ "$suite" = bookworm ] && suites="bookworm bookworm-backports"
	[ "$suite" = bookworm ] || dir=$SPAPR_CACHE/qemu/apt-$suite
	mkdir -p "$dir/sources.list.d" "$dir/lists/partial"
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
		"$(debian_mirror)" "$suites" /usr/share/keyrings/debian-archive-keyring.gpg > "$dir/sources.list.d/debian.sources"
	apt_opts=(-q -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$dir/sources.list.d"
		-o "Dir::State::Lists=$dir/lists" -o "Dir::State::status=/dev/null" -o "Acquire::Check-Valid-Until=false"
		-o "APT::Sandbox::User=root" -o "APT::Architecture=ppc64el" -o "APT::Architectures::=ppc64el")
}

ppc64el_apt_update() {
	apt-get "${apt_opts[@]}" update >/dev/null || die "apt-get update for ppc64el failed"
}

# ppc64el_release_version RELEASE: the version of ppc64el dpdk-dev the suite offers (lists
# fetched), checked to be of RELEASE (24.11, 25.11); ppc64el_apt first.
ppc64el_release_version() {
	local v
	v=$(apt-cache "${apt_opts[@]}" policy dpdk-dev | awk '/Candidate:/ {print $2}')
	case $v in "$1".*) echo "$v" ;; *) die "the suite's ppc64el dpdk-dev is '$v', not DPDK $1" ;; esac
}

# ppc64el_sysroot VERSION: Debian's ppc64el dpdk-dev and libdpdk-dev of VERSION with their
# dependency closure, unpacked once under $SPAPR_CACHE/qemu/dpdk-VERSION; prints the path.
# ppc64el_apt first.
ppc64el_sysroot() {
	local version=$1 sysroot=$SPAPR_CACHE/qemu/dpdk-$1 pkgs dl=$SPAPR_CACHE/qemu/dl-dpdk
	if [ ! -f "$sysroot/.complete" ]; then
		log "downloading Debian's ppc64el DPDK $version and what it depends on" >&2
		pkgs=$(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
			--no-breaks --no-replaces --no-enhances "dpdk-dev=$version" "libdpdk-dev=$version" |
			grep -v '^ \|^<' | sort -u)
		rm -rf "$sysroot" "$dl"; mkdir -p "$sysroot" "$dl"
		# shellcheck disable=SC2086
		(cd "$dl" && apt-get "${apt_opts[@]}" download $pkgs >/dev/null) ||
			die "cannot download Debian's ppc64el dpdk-dev $version and its dependencies"
		for d in "$dl"/*.deb; do dpkg -x "$d" "$sysroot"; done
		rm -rf "$dl"
		touch "$sysroot/.complete"
	fi
	echo "$sysroot"
}

# cross_build SYSROOT SDK_INCLUDE BUILD_DIR [MESON_OPTIONS...]: this tree for ppc64le
# against the sysroot's DPDK (plugins in BUILD_DIR/drivers).
cross_build() {
	local sysroot=$1 sdk=$2 build=$3
	shift 3
	install_packages gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross
	mkdir -p "$build"
	cat > "$build.cross" <<CROSS
[binaries]
c = 'powerpc64le-linux-gnu-gcc'
ar = 'powerpc64le-linux-gnu-ar'
strip = 'powerpc64le-linux-gnu-strip'
pkgconfig = '/usr/bin/pkg-config'
[built-in options]
c_args = ['--sysroot=$sysroot']
c_link_args = ['--sysroot=$sysroot', '-Wl,-rpath-link=$sysroot/usr/lib/powerpc64le-linux-gnu',
               '-Wl,-rpath-link=$sysroot/lib/powerpc64le-linux-gnu']
[properties]
sys_root = '$sysroot'
pkg_config_libdir = '$sysroot/usr/lib/powerpc64le-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig'
[host_machine]
system = 'linux'
cpu_family = 'ppc64'
cpu = 'ppc64le'
endian = 'little'
CROSS
	[ -f "$build/build.ninja" ] || meson setup "$build" "$SPAPR_TOP" --cross-file "$build.cross" \
		-Ddpdk_driver_sdk="$sdk" "$@" >/dev/null || die "meson setup for ppc64le failed (see $build/meson-logs)"
	ninja -C "$build" >/dev/null || die "the ppc64le build failed (ninja -C $build)"
}
