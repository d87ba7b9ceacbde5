#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Our client over RDMA against the kernel's rnbd-server: a brd ramdisk, 32
# MiB written by rnbd-io (librnbd, transport=rdma), read back and checked by
# librnbd, and compared on the server's /dev/ram0; then a few seconds of
# mixed random I/O at depth 32.  Twice: with the kernel server's default
# always_invalidate=Y (NEW_RKEY: every response carries a fresh rkey) and
# with always_invalidate=N (one long-lived key).
. "$VM_LIB"
use_build
IO=$RNBD_BUILD/tests/integration/rnbd-io
need_libs "$IO"
SIZE_MB=${SIZE_MB:-32}
BYTES=$((SIZE_MB * 1048576))

rdma_up 0
mod_load brd rd_nr=1 rd_size=$((SIZE_MB * 1024))
URI="rnbd://vmclt@$RDMA_ADDR:1234/dev/ram0?transport=rdma"

for inval in 1 0; do
	step "kernel server with always_invalidate=$inval"
	mod_load rtrs-server always_invalidate=$inval
	mod_load rnbd-server
	check "info over RDMA" "$IO" info "$URI"
	t0=$(now)
	check "write $SIZE_MB MiB" "$IO" write "$URI" 0 $BYTES 7
	t1=$(now)
	check "verify $SIZE_MB MiB" "$IO" verify "$URI" 0 $BYTES 7
	t2=$(now)
	echo "RESULT always_invalidate=$inval write: $(rate $BYTES "$t0" "$t1")"
	echo "RESULT always_invalidate=$inval read: $(rate $BYTES "$t1" "$t2")"
	echo 3 >/proc/sys/vm/drop_caches
	"$IO" pattern 0 $BYTES 7 >/tmp/pattern
	check "the server's /dev/ram0 holds it" cmp -n $BYTES /tmp/pattern /dev/ram0
	rm -f /tmp/pattern
	check "flush" "$IO" flush "$URI"
	# brd offers no discard: refused by the client with the reason, no I/O
	check "discard refused as the server offers none" sh -c \
		"'$IO' discard '$URI' 1048576 1048576 2>&1 | grep -q 'does not offer DISCARD'"
	check "random I/O at depth 32 with verification" \
		"$IO" --seconds 4 --depth 32 --region 0:$BYTES stress "$URI"
	kmsg_check "always_invalidate=$inval"
	mod_unload rnbd-server rtrs-server
done
mod_unload rtrs-core brd
rdma_down
mod_unload rdma_rxe
echo "30-rdma-client-kernel-server: ok"
