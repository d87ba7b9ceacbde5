#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# rnbdctl's ublk backend, which needs ublk_drv (built out of tree for the
# VM): rnbd-serve with a memory export on loopback, `rnbdctl map --backend
# ublk` gives /dev/ublkbN of the export's size; 32 MiB of random data
# written with O_DIRECT, read back and compared; ext4 made, a file written,
# remounted and checked; unmap refused while mounted, then done; nothing
# left in the run directory.  The same dd through the FUSE + loop backend
# in the same boot gives the ublk/fuse ratio (functional numbers, TCG).
. "$VM_LIB"
use_build
need_libs "$RNBD_BUILD/cli/rnbd-serve" "$RNBD_BUILD/cli/rnbdctl"
SIZE_MB=32
BYTES=$((SIZE_MB * 1048576))
PORT=1240
export RNBD_RUN_DIR=/tmp/rnbd-run

mod_load ublk_drv
mod_loaded fuse || mod_load fuse
mod_loaded loop || mod_load loop
rnbd-serve -f -m 64M -l "127.0.0.1:$PORT" -s /tmp/serve.sock 2>/tmp/serve.log &
SERVE=$!
check "rnbd-serve listens" wait_for 20 grep -q "ready" /tmp/serve.log
URI="rnbd://vmublk@127.0.0.1:$PORT/memory"

# ctl ARGS...: rnbdctl must succeed; its stdout in $OUT
ctl() {
	OUT=$(rnbdctl "$@" 2>/tmp/ctl.err) || { cat /tmp/ctl.err /tmp/serve.log; fail "rnbdctl $*"; }
}

# io_rates DEV NAME: O_DIRECT write and read of the pattern, compared;
# sets W_S and R_S (seconds)
io_rates() {
	t0=$(now)
	check "$2: write $SIZE_MB MiB" dd if=/tmp/pattern of="$1" bs=1M oflag=direct status=none
	t1=$(now)
	check "$2: read back" dd if="$1" of=/tmp/readback bs=1M count=$SIZE_MB iflag=direct \
		status=none
	t2=$(now)
	check "$2: read-back matches" cmp /tmp/pattern /tmp/readback
	echo "RESULT $2 write $SIZE_MB MiB: $(rate $BYTES "$t0" "$t1")"
	echo "RESULT $2 read $SIZE_MB MiB: $(rate $BYTES "$t1" "$t2")"
	W_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	R_S=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
	rm -f /tmp/readback
}

dd if=/dev/urandom of=/tmp/pattern bs=1M count=$SIZE_MB status=none

step "map with the ublk backend"
ctl map --backend ublk "$URI"
DEV=$OUT
info "mapped $DEV"
case $DEV in /dev/ublkb*) ;; *) fail "map printed '$DEV', not /dev/ublkbN" ;; esac
check "$DEV is a block device" test -b "$DEV"
check "$DEV has the export's size" test "$(blockdev --getsize64 "$DEV")" = $((64 << 20))
ctl --json list
check "list says backend ublk" sh -c "echo '$OUT' | grep -q '\"backend\": *\"ublk\"'"

step "I/O through ublk"
io_rates "$DEV" ublk
UW=$W_S UR=$R_S

step "ext4 on ublk"
mkdir -p /tmp/mnt
check "mkfs.ext4" mke2fs -q -t ext4 -F "$DEV"
check "mount" mount "$DEV" /tmp/mnt
check "write a file" dd if=/tmp/pattern of=/tmp/mnt/f bs=1M count=8 status=none conv=fsync
rnbdctl unmap "$DEV" 2>/tmp/ctl.err
rc=$?
check "unmap while mounted is refused" test $rc != 0
check "... because the device is in use" grep -q "is in use; unmap --force" /tmp/ctl.err
check "umount" umount /tmp/mnt
check "mount again" mount "$DEV" /tmp/mnt
check "the file survived" sh -c "head -c 8388608 /tmp/pattern | cmp - /tmp/mnt/f"
check "umount" umount /tmp/mnt
ctl unmap "$DEV"
check "$DEV is gone" wait_for 10 sh -c "! test -e $DEV"
check "the session daemon is gone" wait_for 10 sh -c \
	"test -z \"\$(find $RNBD_RUN_DIR -mindepth 1 2>/dev/null)\""

step "the same I/O through FUSE + loop, for the ratio"
ctl map --backend fuse "$URI"
FDEV=$OUT
info "mapped $FDEV"
io_rates "$FDEV" fuse
ctl unmap "$FDEV"
echo "RESULT ublk/fuse speed: write $(awk -v u="$UW" -v f="$W_S" 'BEGIN { printf "%.2f", f / u }')x," \
	"read $(awk -v u="$UR" -v f="$R_S" 'BEGIN { printf "%.2f", f / u }')x"

kill $SERVE
check "rnbd-serve stops" wait_for 20 sh -c "! kill -0 $SERVE 2>/dev/null"
mod_unload ublk_drv
echo "40-rnbdctl-ublk: ok"
