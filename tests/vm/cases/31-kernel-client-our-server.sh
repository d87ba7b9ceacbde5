#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The kernel's rnbd-client against our rnbd-serve over RDMA: a file export
# mapped through sysfs as /dev/rnbd0; 32 MiB of random data written with
# O_DIRECT, read back and compared, and compared again on the server's
# backing file; a flush (fsync) and discards (blkdiscard) go through; a
# buffered small write shows up in the file; unmap; no kernel errors.
. "$VM_LIB"
use_build
need_libs "$RNBD_BUILD/cli/rnbd-serve"
SIZE_MB=${SIZE_MB:-32}
BYTES=$((SIZE_MB * 1048576))
PORT=1235
CTL=/sys/devices/virtual/rnbd-client/ctl
IMG=/tmp/disk.img

rdma_up 0
mod_load rnbd-client
truncate -s $((SIZE_MB + 16))M $IMG
cat >/tmp/serve.conf <<CONF
transport = "rdma";
dev_search_path = "";
exports = ( { name = "disk"; type = "file"; path = "$IMG"; } );
CONF
rnbd-serve -f -c /tmp/serve.conf -l "$RDMA_ADDR:$PORT" -s /tmp/serve.sock 2>/tmp/serve.log &
SERVE=$!
check "rnbd-serve listens on RDMA" wait_for 20 grep -q "ready" /tmp/serve.log
cat /tmp/serve.log

step "map through sysfs"
echo "sessname=kclt dest_port=$PORT path=ip:$RDMA_ADDR device_path=disk" >"$CTL/map_device" ||
	{ cat /tmp/serve.log; fail "map_device"; }
check "/dev/rnbd0 appears" wait_for 10 test -b /dev/rnbd0
info "rnbd0: $(cat /sys/block/rnbd0/size) sectors, state $(cat /sys/block/rnbd0/rnbd/state)"
check "size is the file's" test "$(cat /sys/block/rnbd0/size)" = $(((SIZE_MB + 16) * 2048))

step "I/O: $SIZE_MB MiB O_DIRECT"
dd if=/dev/urandom of=/tmp/pattern bs=1M count="$SIZE_MB" status=none
t0=$(now)
check "write through /dev/rnbd0" dd if=/tmp/pattern of=/dev/rnbd0 bs=1M oflag=direct status=none
t1=$(now)
check "read back through /dev/rnbd0" dd if=/dev/rnbd0 of=/tmp/readback bs=1M count="$SIZE_MB" \
	iflag=direct status=none
t2=$(now)
echo "RESULT write $SIZE_MB MiB: $(rate $BYTES "$t0" "$t1")"
echo "RESULT read $SIZE_MB MiB: $(rate $BYTES "$t1" "$t2")"
check "client read-back matches" cmp /tmp/pattern /tmp/readback
check "the server's file matches" cmp -n $BYTES /tmp/pattern $IMG
rm -f /tmp/readback

step "flush and discard"
check "fsync of the block device" sh -c 'echo x | dd of=/dev/rnbd0 bs=512 seek=9 conv=sync,fsync status=none'
check "the small write reached the file" sh -c "dd if=$IMG bs=512 skip=9 count=1 status=none | grep -q x"
check "blkdiscard of 4 MiB" blkdiscard -o $((8 << 20)) -l $((4 << 20)) /dev/rnbd0
check "discarded range reads as zeroes" sh -c \
	"dd if=/dev/rnbd0 bs=1M skip=8 count=4 iflag=direct status=none | tr -d '\\000' | wc -c | grep -qx 0"
# MiB 1..7 and 12..: untouched by the small write (MiB 0) and the discard
same_mib() {
	dd if=/dev/rnbd0 of=/tmp/a bs=1M skip="$1" count="$2" iflag=direct status=none &&
		dd if=/tmp/pattern of=/tmp/b bs=1M skip="$1" count="$2" status=none && cmp /tmp/a /tmp/b
}
check "data before the discard intact" same_mib 1 7
check "data after the discard intact" same_mib 12 $((SIZE_MB - 12))
rm -f /tmp/a /tmp/b
kmsg_check "I/O"

step "unmap"
echo normal >/sys/block/rnbd0/rnbd/unmap_device || fail "unmap_device"
check "/dev/rnbd0 gone" wait_for 10 test ! -e /dev/rnbd0
kill $SERVE
check "rnbd-serve stops" wait_for 20 sh -c "! kill -0 $SERVE 2>/dev/null"
check "rnbd-serve logged no error" sh -c '! grep -q "error" /tmp/serve.log'
mod_unload rnbd-client rtrs-client rtrs-core
rdma_down
mod_unload rdma_rxe
echo "31-kernel-client-our-server: ok"
