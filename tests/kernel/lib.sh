# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the kernel-suite scripts: find the kernel build tree, make a
# scratch dir, run a bounded Kbuild.

# RNBD_REQUIRE_KERNEL_TESTS=1 (for CI, where the packages are installed)
# turns a skip into a failure, so that a broken install cannot hide.
skip() {
	echo "SKIP: $*"
	[ -n "${RNBD_REQUIRE_KERNEL_TESTS:-}" ] && exit 1
	exit 77
}

die() {
	echo "FAIL: $*"
	exit 1
}

# The running kernel is not the one the headers are for: never use
# /lib/modules/$(uname -r).
find_kdir() {
	if [ -z "${KDIR:-}" ]; then
		KDIR=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
	fi
	[ -n "$KDIR" ] && [ -f "$KDIR/Makefile" ] ||
		skip "no kernel headers (install linux-headers-amd64 or set KDIR)"
	# Debian's headers name their compiler (gcc-12 for 6.1).
	kcc=$(sed -n 's/^CC =.*\(gcc-[0-9][0-9]*\).*/\1/p' "$KDIR/.kernelvariables" 2>/dev/null)
	for tool in make "${kcc:-gcc}" timeout; do
		command -v "$tool" >/dev/null || skip "no $tool"
	done
	echo "kernel headers: $KDIR"
}

# Scratch dir under $TMPDIR (the meson build dir when run by meson test).
make_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || die "mktemp"
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 1' HUP INT TERM
}

# kmake <module dir> <make args...>
kmake() {
	dir=$1
	shift
	timeout "${KMAKE_TIMEOUT:-240}" make -s -C "$KDIR" M="$dir" "$@"
}
