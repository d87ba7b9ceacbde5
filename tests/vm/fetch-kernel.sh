#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Download Debian bookworm's kernel for the test VM: linux-image-$KVER, the
# ABI of the installed linux-headers-$KVER (so that build-modules.sh builds
# modules it accepts), with apt-get download + dpkg -x into
# $RNBD_VM_CACHE/kernel-$KVER (vmlinuz, vmlinux, lib/modules/$KVER). No root needed.
# Does nothing when that directory is complete. Exit 77 when the package
# cannot be had (no network, unknown version).
set -euo pipefail
. "$(dirname "$0")/common.sh"
vm_paths

fetch() {
	[ -f "$KERNEL_DIR/.done" ] && return 0
	command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
		skip "apt-get/dpkg not found: not a Debian host"
	local tmp=$KERNEL_DIR.tmp deb
	rm -rf "$tmp" "$KERNEL_DIR"
	mkdir -p "$tmp/deb"
	say "downloading linux-image-$KVER"
	if ! (cd "$tmp/deb" && apt-get download -q -o Acquire::Retries=1 \
		-o Acquire::http::Timeout=30 "linux-image-$KVER" >download.log 2>&1); then
		sed 's/^/  /' "$tmp/deb/download.log" | tail -n 5
		rm -rf "$tmp"
		skip "cannot download linux-image-$KVER (no network or apt lists: apt-get update)"
	fi
	deb=$(ls "$tmp"/deb/linux-image-"$KVER"_*.deb)
	say "extracting $(basename "$deb")"
	dpkg -x "$deb" "$tmp/pkg"
	mv "$tmp/pkg/boot/vmlinuz-$KVER" "$tmp/vmlinuz"
	mv "$tmp/pkg/boot/config-$KVER" "$tmp/config"
	mkdir -p "$tmp/lib/modules"
	mv "$tmp/pkg/lib/modules/$KVER" "$tmp/lib/modules/"
	dpkg-deb -f "$deb" Version >"$tmp/version"
	rm -rf "$tmp/pkg" "$tmp/deb"
	# qemu boots the uncompressed ELF vmlinux through its PVH entry point
	# (CONFIG_PVH): 8 s faster under TCG than decompressing vmlinuz.
	# The bzImage holds it xz-compressed after the xz magic.
	local off
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$tmp/vmlinuz" | head -n 1 | cut -d: -f1)
	# (xz stops reading at the end of the stream: tail may get SIGPIPE)
	if [ -n "$off" ] && { tail -c +$((off + 1)) "$tmp/vmlinuz" || true; } |
		xz -dc --single-stream >"$tmp/vmlinux" 2>/dev/null &&
		[ "$(head -c 4 "$tmp/vmlinux" | tr -d '\177')" = ELF ]; then
		say "vmlinux extracted for PVH boot"
	else
		echo "note: could not extract vmlinux, booting vmlinuz (slower)"
		rm -f "$tmp/vmlinux"
	fi
	# the package leaves modules.dep to its postinst
	say "depmod"
	depmod -b "$tmp" "$KVER"
	local hv iv
	hv=$(pkg_version "linux-headers-$KVER")
	iv=$(cat "$tmp/version")
	[ "$hv" = "$iv" ] || echo "WARNING: linux-image-$KVER $iv but linux-headers-$KVER $hv"
	echo "linux-image-$KVER $iv" >"$tmp/.done"
	mv "$tmp" "$KERNEL_DIR"
	say "kernel: $KERNEL_DIR ($iv)"
}
with_lock fetch
