# SPDX-License-Identifier: LGPL-2.1-or-later
# Host-side settings and helpers shared by the VM test scripts (sourced by
# fetch-kernel.sh, build-modules.sh, build-initramfs.sh and run-vm.sh).
#
# Environment (all optional):
#   RNBD_BUILD_DIR    meson build directory shared into the VM (default <src>/build)
#   RNBD_VM_CACHE     cache of the expensive artifacts (default <build>/vm-cache)
#   RNBD_VM_KVER      Debian kernel ABI to boot, e.g. 6.1.0-56-amd64 (default:
#                     the one linux-headers-amd64 depends on, else the newest
#                     installed linux-headers-6.1.0-*-amd64)
#   RNBD_VM_REQUIRE=1 a missing prerequisite is a failure instead of a skip (77)

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$VM_DIR/../.." && pwd)
BUILD_DIR=${RNBD_BUILD_DIR:-$SRC_DIR/build}
VM_CACHE=${RNBD_VM_CACHE:-$BUILD_DIR/vm-cache}
KSRC_PKG=linux-source-6.1
KSRC_TAR=/usr/src/$KSRC_PKG.tar.xz

vm_t0=${vm_t0:-$(date +%s.%N)}
say() { printf '[vm %6.1fs] %s\n' "$(awk -v a="$vm_t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*"; }

# skip REASON...: prerequisite missing -> exit 77 (or 1 with RNBD_VM_REQUIRE=1)
skip() {
	echo "SKIP: $*"
	if [ "${RNBD_VM_REQUIRE:-0}" = 1 ]; then
		echo "RNBD_VM_REQUIRE=1: treating the skip as a failure"
		exit 1
	fi
	exit 77
}
die() { echo "ERROR: $*" >&2; exit 1; }

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

# vm_kver: the kernel ABI (linux-image-$KVER / linux-headers-$KVER)
vm_kver() {
	if [ -n "${RNBD_VM_KVER:-}" ]; then
		echo "$RNBD_VM_KVER"
		return
	fi
	local k
	k=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		grep -o 'linux-headers-6\.1\.0-[0-9]*-amd64' | head -n 1)
	k=${k#linux-headers-}
	if [ -n "$k" ] && [ -f "/usr/src/linux-headers-$k/Module.symvers" ]; then
		echo "$k"
		return
	fi
	ls -d /usr/src/linux-headers-6.1.0-*-amd64 2>/dev/null |
		sed 's|.*/linux-headers-||' | sort -V | tail -n 1
}

# hash_of STRINGS...: short content hash used in cache keys
hash_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }
file_hash() { cat "$@" | sha256sum | cut -c1-16; }

# Cache layout (every directory is complete once its .done stamp exists):
#   kernel-$KVER/            vmlinuz + lib/modules/$KVER (Debian's package)
#   modules-$KEY/            the out-of-tree *.ko (KEY: headers, source, script)
#   initramfs-$KEY.cpio      (KEY: kernel, modules, scripts, host packages)
vm_paths() {
	KVER=$(vm_kver)
	[ -n "$KVER" ] || skip "no linux-headers-6.1.0-*-amd64 installed (run tests/vm/install-deps.sh)"
	KHDR=/usr/src/linux-headers-$KVER
	KERNEL_DIR=$VM_CACHE/kernel-$KVER
	MODULES_KEY=$(hash_of "$KVER" "$(pkg_version "linux-headers-$KVER")" \
		"$(pkg_version $KSRC_PKG)" "$(file_hash "$VM_DIR/build-modules.sh")")
	MODULES_DIR=$VM_CACHE/modules-$MODULES_KEY
	export KVER KHDR KERNEL_DIR MODULES_DIR VM_CACHE
}

# initramfs_key: everything that goes into the image
initramfs_key() {
	local pkgs
	pkgs=$(dpkg-query -W -f='${Package}=${Version}\n' busybox-static kmod iproute2 \
		ibverbs-providers ibverbs-utils rdmacm-utils perftest libibverbs1 librdmacm1 \
		libuv1 libconfig9 libjson-c5 liburing2 libfuse3-3 fuse3 libuuid1 e2fsprogs \
		util-linux coreutils dash libc6 fio libsubunit0 2>/dev/null)
	hash_of "$KVER" "$(cat "$KERNEL_DIR/.done" 2>/dev/null)" "$MODULES_KEY" "$pkgs" \
		"$(file_hash "$VM_DIR/build-initramfs.sh" "$VM_DIR/init" "$VM_DIR/lib/functions.sh")" \
		"${RNBD_VM_FIO:-0}" "${RNBD_VM_EXTRA_BINS:-}"
}

# with_lock CMD...: serialize cache builders (parallel meson tests, several trees)
with_lock() {
	mkdir -p "$VM_CACHE"
	(
		flock -w 1800 9 || die "could not lock $VM_CACHE/.lock"
		"$@"
	) 9>"$VM_CACHE/.lock"
}
