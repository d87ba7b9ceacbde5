#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Two RTRS paths over two soft-RoCE devices (rxe0 on dummy0, rxe1 on dummy1):
# the kernel rnbd-client maps a brd ramdisk of the kernel rnbd-server through
# a session with both paths, I/O goes over both (round-robin), then I/O
# works with one path removed (remove_path) and after adding it back.
. "$VM_LIB"
SIZE_MB=8
BYTES=$((SIZE_MB * 1048576))
SESS=vm2path
CTL=/sys/devices/virtual/rnbd-client/ctl

rdma_up 0
rdma_up 1
mod_load brd rd_nr=1 rd_size=$((SIZE_MB * 1024))
mod_load rnbd-server
mod_load rnbd-client

step "map over two paths"
echo "sessname=$SESS path=ip:$RDMA_ADDR path=ip:$RDMA_ADDR1 device_path=/dev/ram0" >"$CTL/map_device" ||
	fail "map_device"
check "/dev/rnbd0 appears" wait_for 10 test -b /dev/rnbd0
P=/sys/class/rtrs-client/$SESS/paths
ls "$P"
check "two paths" test "$(ls "$P" | wc -l)" = 2
for p in "$P"/*; do
	info "$(basename "$p"): $(cat "$p/state")"
	check "$(basename "$p") connected" grep -q connected "$p/state"
done
kmsg_check "map"

step "I/O over both paths (round-robin)"
echo round-robin >"/sys/class/rtrs-client/$SESS/mpath_policy" || fail "mpath_policy"
dd if=/dev/urandom of=/tmp/pattern bs=1M count="$SIZE_MB" status=none
check "write" dd if=/tmp/pattern of=/dev/rnbd0 bs=64k oflag=direct status=none
check "read back matches" sh -c "dd if=/dev/rnbd0 bs=64k iflag=direct status=none | cmp - /tmp/pattern"
# stats/rdma: reads, read bytes, writes, write bytes, inflight, failovers
for p in "$P"/*; do
	st=$(cat "$p/stats/rdma")
	info "$(basename "$p"): $st"
	check "$(basename "$p") carried reads and writes" \
		test "$(echo "$st" | awk '{ print ($1 > 0 && $3 > 0) }')" = 1
done

step "remove path 1, I/O on path 0 only"
p1=$(ls -d "$P"/*"$RDMA_ADDR1"* | head -n 1)
[ -n "$p1" ] || fail "no path to $RDMA_ADDR1 in $(ls "$P")"
echo 1 >"$p1/remove_path" || fail "remove_path"
check "one path left" wait_for 10 test "$(ls "$P" | wc -l)" = 1
check "write again" dd if=/tmp/pattern of=/dev/rnbd0 bs=64k oflag=direct status=none
check "read back matches" sh -c "dd if=/dev/rnbd0 bs=64k iflag=direct status=none | cmp - /tmp/pattern"

step "add path 1 back"
echo "ip:$RDMA_ADDR1" >"/sys/class/rtrs-client/$SESS/add_path" || fail "add_path"
check "two paths again" wait_for 10 test "$(ls "$P" | wc -l)" = 2
check "read back matches" sh -c "dd if=/dev/rnbd0 bs=64k iflag=direct status=none | cmp - /tmp/pattern"
echo 3 >/proc/sys/vm/drop_caches
check "server /dev/ram0 matches" cmp -n $BYTES /tmp/pattern /dev/ram0

step "unmap + unload"
echo normal >/sys/block/rnbd0/rnbd/unmap_device || fail "unmap_device"
check "/dev/rnbd0 gone" wait_for 10 test ! -e /dev/rnbd0
mod_unload rnbd-client rnbd-server rtrs-client rtrs-server rtrs-core brd
rdma_down
mod_unload rdma_rxe
echo "15-kernel-rnbd-2path: ok"
