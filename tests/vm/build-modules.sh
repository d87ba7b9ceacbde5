#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the kernel modules that Debian bookworm's 6.1 kernel does not ship,
# out of tree, from the linux-source-6.1 package against linux-headers-$KVER:
#   rtrs-core rtrs-client rtrs-server     (CONFIG_INFINIBAND_RTRS_*)
#   rnbd-client rnbd-server               (CONFIG_BLK_DEV_RNBD_*)
#   ublk_drv                              (CONFIG_BLK_DEV_UBLK)
# Output: $RNBD_VM_CACHE/modules-$KEY/*.ko, KEY from the headers and source
# package versions and this script. Does nothing when that is complete.
# Needs gcc, make and the packages above (tests/vm/install-deps.sh); no root.
set -euo pipefail
. "$(dirname "$0")/common.sh"
vm_paths

build() {
	[ -f "$MODULES_DIR/.done" ] && return 0
	[ -f "$KHDR/Module.symvers" ] || skip "linux-headers-$KVER not installed"
	[ -f "$KSRC_TAR" ] || skip "$KSRC_TAR missing (apt-get install $KSRC_PKG)"
	command -v make >/dev/null && command -v gcc >/dev/null || skip "gcc/make missing"

	local tmp=$MODULES_DIR.tmp top
	rm -rf "$tmp" "$MODULES_DIR"
	mkdir -p "$tmp/src"
	top=$(basename "$KSRC_TAR" .tar.xz)
	say "extracting rtrs, rnbd and ublk_drv sources from $KSRC_TAR"
	tar -xJf "$KSRC_TAR" -C "$tmp/src" --strip-components=1 \
		"$top/drivers/infiniband/ulp/rtrs" "$top/drivers/block/rnbd" \
		"$top/drivers/block/ublk_drv.c"
	# the upstream subdirectory Makefiles, driven by CONFIG_* on the command line
	cat >"$tmp/src/Kbuild" <<-'EOF'
		obj-m += drivers/infiniband/ulp/rtrs/
		obj-m += drivers/block/rnbd/
		obj-m += drivers/block/ublk_drv.o
	EOF
	say "building against linux-headers-$KVER"
	# rnbd's Makefile adds -I$(srctree)/drivers/infiniband/ulp/rtrs, which the
	# headers package lacks: point KCFLAGS at the extracted copy
	if ! make -C "$KHDR" M="$tmp/src" -j"$(nproc)" \
		CONFIG_INFINIBAND_RTRS=m CONFIG_INFINIBAND_RTRS_CLIENT=m \
		CONFIG_INFINIBAND_RTRS_SERVER=m CONFIG_BLK_DEV_RNBD=y \
		CONFIG_BLK_DEV_RNBD_CLIENT=m CONFIG_BLK_DEV_RNBD_SERVER=m \
		CONFIG_BLK_DEV_UBLK=m \
		KCFLAGS="-I$tmp/src/drivers/infiniband/ulp/rtrs" modules \
		>"$tmp/build.log" 2>&1; then
		tail -n 40 "$tmp/build.log"
		die "module build failed (log: $tmp/build.log)"
	fi
	local m f
	for m in rtrs-core rtrs-client rtrs-server rnbd-client rnbd-server ublk_drv; do
		f=$(find "$tmp/src" -name "$m.ko")
		[ -n "$f" ] || die "$m.ko not built"
		# debug info is most of the size and useless in the VM
		strip --strip-debug -o "$tmp/$m.ko" "$f"
	done
	rm -rf "$tmp/src"
	echo "$KVER" >"$tmp/.done"
	mv "$tmp" "$MODULES_DIR"
	say "modules: $(cd "$MODULES_DIR" && echo *.ko)"
}
with_lock build
