#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the test VM's initramfs (an uncompressed cpio: fastest to unpack
# under TCG) into $RNBD_VM_CACHE/initramfs-$KEY.cpio, KEY from everything
# that goes in. Needs fetch-kernel.sh's and build-modules.sh's output.
# Contents, copied from this (Debian bookworm) host with their libraries:
#   busybox-static (applets not provided otherwise), dash as /bin/sh, kmod,
#   iproute2 (ip, rdma), coreutils dd/timeout, util-linux, e2fsprogs,
#   rdma-core tools + the rxe provider, perftest, fusermount3,
#   the libraries our binaries link (libuv, libconfig, json-c, liburing,
#   fuse3, ibverbs, rdmacm, uuid, subunit), fio with RNBD_VM_FIO=1,
#   modules (rxe, rtrs, rnbd, ublk, brd, null_blk, loop, ...) + depmod output,
#   tests/vm/init as /init and tests/vm/lib/functions.sh.
# RNBD_VM_EXTRA_BINS="FILE..." adds host executables/libraries.
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin # mke2fs, losetup, ... for non-root users too
. "$(dirname "$0")/common.sh"
vm_paths
[ -f "$KERNEL_DIR/.done" ] || die "run fetch-kernel.sh first"
[ -f "$MODULES_DIR/.done" ] || die "run build-modules.sh first"
INITRD=$VM_CACHE/initramfs-$(initramfs_key).cpio

MODS="rdma_rxe ib_uverbs rdma_ucm rdma_cm ib_cm iw_cm ib_umad
  rtrs-core rtrs-client rtrs-server rnbd-client rnbd-server ublk_drv
  brd null_blk loop nbd dummy veth fuse ext4 crc32_generic crc32-pclmul
  crc32c_generic crc32c-intel
  virtio_pci 9pnet_virtio 9p"

# the binaries (and their libraries); missing optional ones are skipped
REQUIRED="busybox dash kmod ip rdma timeout dd dmesg"
OPTIONAL="ibv_devices ibv_devinfo ibv_rc_pingpong ibv_ud_pingpong rping ucmatose
  udaddy rdma_server rdma_client ib_send_bw ib_write_bw ib_read_bw ib_send_lat
  ib_write_lat losetup blockdev blkdiscard lsblk wipefs mount umount findmnt
  mke2fs e2fsck fusermount3 cmp sha256sum stat truncate sync strace"
LIBS="libuv.so.1 libconfig.so.9 libjson-c.so.5 liburing.so.2 libfuse3.so.3
  libibverbs.so.1 librdmacm.so.1 libuuid.so.1 libsubunit.so.0 libgcc_s.so.1"

build() {
	[ -f "$INITRD" ] && return 0
	local root=$VM_CACHE/initramfs.root
	local b f l m p rel
	rm -rf "$root"
	mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,etc,proc,sys,dev,run,tmp,mnt,host,root}
	ln -s usr/bin "$root/bin"
	ln -s usr/sbin "$root/sbin"
	ln -s usr/lib "$root/lib"
	ln -s usr/lib64 "$root/lib64"
	mkdir -p "$root/var"
	ln -s ../run "$root/var/run"
	ln -s ../tmp "$root/var/tmp"

	# ------------------------------------------------------------ modules
	# Debian's modules.dep (fetch-kernel.sh ran depmod) resolves the stock
	# modules; ours depend on each other and on stock ones
	say "modules"
	mkdir -p "$root/lib/modules/$KVER/extra"
	cp "$MODULES_DIR"/*.ko "$root/lib/modules/$KVER/extra/"
	local ours stock=()
	ours=$(cd "$MODULES_DIR" && ls -- *.ko | sed 's/\.ko$//; s/-/_/g')
	for m in $MODS $(modinfo -F depends "$MODULES_DIR"/*.ko | tr , ' '); do
		echo "$ours" | grep -qx "${m//-/_}" || stock+=("$m")
	done
	modprobe -d "$KERNEL_DIR" -S "$KVER" -a --show-depends "${stock[@]}" >"$root/deps" 2>&1 ||
		die "modules: $(grep -v ^insmod "$root/deps")"
	awk '$1 == "insmod" { print substr($2, length(k) + 2) }' k="$KERNEL_DIR" "$root/deps" |
		sort -u | (cd "$KERNEL_DIR" && xargs cp --parents -t "$root")
	rm "$root/deps"
	cp "$KERNEL_DIR/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} \
		"$root/lib/modules/$KVER/"
	depmod -b "$root" "$KVER"

	# ------------------------------------------------------------ userspace
	say "userspace"
	local files=()
	for b in $REQUIRED; do
		f=$(command -v "$b") || skip "$b not found on the host (tests/vm/install-deps.sh)"
		files+=("$f")
	done
	for b in $OPTIONAL ${RNBD_VM_FIO:+fio}; do
		if f=$(command -v "$b"); then files+=("$f"); else echo "  (not on the host: $b)"; fi
	done
	ldconfig -p >"$root/ldconfig"
	for l in $LIBS; do
		f=$(awk -v l="$l" '$1 == l && /x86-64/ { print $NF; exit }' "$root/ldconfig")
		[ -n "$f" ] || skip "library $l not found on the host (tests/vm/install-deps.sh)"
		files+=("$f")
	done
	rm "$root/ldconfig"
	# the soft-RoCE provider, dlopen()ed by libibverbs
	for f in /usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav*.so /etc/libibverbs.d/rxe.driver; do
		[ -e "$f" ] || skip "$f missing (apt-get install ibverbs-providers)"
		files+=("$f")
	done
	[ -e /etc/mke2fs.conf ] && files+=(/etc/mke2fs.conf)
	for f in ${RNBD_VM_EXTRA_BINS:-}; do
		files+=("$f")
	done
	# the files and their shared libraries, at the same paths, symlinks resolved
	{
		printf '%s\n' "${files[@]}"
		ldd "${files[@]}" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }' || true
	} | sort -u | xargs cp -L --parents -t "$root"
	ldd "$root/usr/bin/busybox" >/dev/null 2>&1 &&
		skip "busybox is not static (apt-get install busybox-static)"
	ln -sf dash "$root/usr/bin/sh"
	for b in modprobe insmod rmmod lsmod modinfo depmod; do
		ln -sf ../bin/kmod "$root/usr/sbin/$b"
	done
	[ -e "$root/usr/sbin/mke2fs" ] && ln -sf mke2fs "$root/usr/sbin/mkfs.ext4"
	[ -e "$root/usr/sbin/e2fsck" ] && ln -sf e2fsck "$root/usr/sbin/fsck.ext4"
	# busybox applets for what no real tool provides. Debian's busybox-static
	# prefers its own applets inside its shell, hence dash as /bin/sh.
	mkdir "$root/bb"
	/usr/bin/busybox --install -s "$root/bb"
	(cd "$root/usr" && ls bin sbin) | (cd "$root/bb" && xargs rm -f --)
	mv "$root"/bb/* "$root/usr/bin/"
	rmdir "$root/bb"
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
	: >"$root/etc/fstab"

	# ------------------------------------------------------------ init + lib
	install -m 755 "$VM_DIR/init" "$root/init"
	install -D -m 644 "$VM_DIR/lib/functions.sh" "$root/usr/lib/rnbd-vm/functions.sh"

	say "cpio ($(du -sh "$root" | cut -f1))"
	# images of other inputs (other trees sharing the cache): keep recent ones
	find "$VM_CACHE" -maxdepth 1 -name 'initramfs-*.cpio' -mmin +60 -delete
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
	rm -rf "$root"
	say "initramfs: $INITRD"
}
with_lock build
