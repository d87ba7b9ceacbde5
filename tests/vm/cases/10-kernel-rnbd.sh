#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Baseline for the harness: the kernel's rnbd-server exports a brd ramdisk,
# the kernel's rnbd-client maps it over soft-RoCE (rxe0) as /dev/rnbd0.
# 32 MiB of random data written with O_DIRECT through /dev/rnbd0, read back
# and compared, and compared on the server's /dev/ram0; unmap; rmmod; no
# kernel errors (checked by mod_load/mod_unload and by /init).
. "$VM_LIB"
SIZE_MB=${SIZE_MB:-32}
BYTES=$((SIZE_MB * 1048576))
SESS=vmtest
CTL=/sys/devices/virtual/rnbd-client/ctl

rdma_up 0
mod_load brd rd_nr=1 rd_size=$((SIZE_MB * 1024))
mod_load rnbd-server
mod_load rnbd-client

step "map /dev/ram0 over RTRS ($RDMA_ADDR)"
echo "sessname=$SESS path=ip:$RDMA_ADDR device_path=/dev/ram0" >"$CTL/map_device" ||
	fail "map_device"
check "/dev/rnbd0 appears" wait_for 10 test -b /dev/rnbd0
info "rnbd0: $(cat /sys/block/rnbd0/size) sectors, session $(cat /sys/block/rnbd0/rnbd/session), state $(cat /sys/block/rnbd0/rnbd/state), access $(cat /sys/block/rnbd0/rnbd/access_mode)"
check "size is ${SIZE_MB} MiB" test "$(cat /sys/block/rnbd0/size)" = $((BYTES / 512))
check "server lists the export" test -d /sys/devices/virtual/rnbd-server/ctl/devices/ram0
kmsg_check "map"

step "I/O: ${SIZE_MB} MiB O_DIRECT"
dd if=/dev/urandom of=/tmp/pattern bs=1M count="$SIZE_MB" status=none
t0=$(now)
check "write through /dev/rnbd0" dd if=/tmp/pattern of=/dev/rnbd0 bs=1M oflag=direct status=none
t1=$(now)
check "read back through /dev/rnbd0" dd if=/dev/rnbd0 of=/tmp/readback bs=1M iflag=direct status=none
t2=$(now)
echo "RESULT write ${SIZE_MB} MiB: $(rate $BYTES "$t0" "$t1")"
echo "RESULT read ${SIZE_MB} MiB: $(rate $BYTES "$t1" "$t2")"
check "client read-back matches" cmp /tmp/pattern /tmp/readback
echo 3 >/proc/sys/vm/drop_caches
check "server /dev/ram0 matches" cmp -n $BYTES /tmp/pattern /dev/ram0
rm -f /tmp/readback
{
	echo "write_mbps $(awk -v b=$BYTES -v s="$t0" -v e="$t1" 'BEGIN{printf "%.1f", b / (e - s) / 1e6}')"
	echo "read_mbps $(awk -v b=$BYTES -v s="$t1" -v e="$t2" 'BEGIN{printf "%.1f", b / (e - s) / 1e6}')"
} >"$VM_RESULTS/throughput"

step "small buffered write + fsync, seen on the server"
check "write 512 bytes at sector 7" sh -c 'echo hello-rnbd | dd of=/dev/rnbd0 bs=512 seek=7 conv=sync,fsync status=none'
check "server sector 7" sh -c 'dd if=/dev/ram0 bs=512 skip=7 count=1 iflag=direct status=none | grep -q hello-rnbd'
kmsg_check "I/O"

step "unmap + unload"
echo normal >/sys/block/rnbd0/rnbd/unmap_device || fail "unmap_device"
check "/dev/rnbd0 gone" wait_for 10 test ! -e /dev/rnbd0
mod_unload rnbd-client rnbd-server rtrs-client rtrs-server rtrs-core brd
rdma_down
mod_unload rdma_rxe
echo "10-kernel-rnbd: ok"
