#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every export type of rnbd-serve end to end: memory, file with io_uring and
# with sync I/O, and (as root) a loop device.  Data written through the
# network is read back, and found in the file or on the device itself;
# discard and write-zeroes read back as zeroes with their neighbours intact;
# geometry, out-of-range and unaligned I/O, read-only exports.
# Usage: test-serve-backends.sh RNBD_SERVE RNBD_IO
. "$(dirname "$0")/serve-lib.sh"
requires_cmd cmp dd truncate

SIZE=$((32 << 20))
MiB=$((1 << 20))
truncate -s $SIZE "$T/uring.img" "$T/sync.img"
# a read-only file with known content
"$IO" pattern 0 $MiB 5 >"$T/ro.img" || fail "rnbd-io pattern"
truncate -s $SIZE "$T/ro.img"

loopdev=
if [ "$(id -u)" != 0 ]; then
	echo "blockdev: skipped, a loop device needs root"
else
	truncate -s $SIZE "$T/loop.img"
	if loopdev=$(losetup --find --show "$T/loop.img" 2>"$T/losetup.err"); then
		CLEANUPS+=("losetup -d $loopdev")
	else
		echo "blockdev: skipped, losetup failed: $(cat "$T/losetup.err")"
		loopdev=
	fi
fi

blk=
[ -n "$loopdev" ] && blk=", { name = \"blk\"; type = \"blockdev\"; path = \"$loopdev\"; }"
cat >"$T/serve.conf" <<EOF
dev_search_path = "";
exports = (
	{ name = "mem"; type = "memory"; size = "32M"; },
	{ name = "uring"; type = "file"; path = "$T/uring.img"; io_engine = "uring"; },
	{ name = "sync"; type = "file"; path = "$T/sync.img"; io_engine = "sync"; },
	{ name = "mem-ro"; type = "memory"; size = "1M"; readonly = true; },
	{ name = "file-ro"; type = "file"; path = "$T/ro.img"; readonly = true; }
	$blk
);
EOF
serve srv "$T/serve.conf"

# backing_cmp KIND BACKING OFF LEN SEED|zero: the bytes are in the storage itself
backing_cmp() {
	local kind=$1 backing=$2 off=$3 len=$4 seed=$5 direct=
	[ "$kind" = memory ] && return 0
	[ "$kind" = blockdev ] && direct=iflag=direct
	dd if="$backing" bs=512 skip=$((off / 512)) count=$((len / 512)) $direct status=none \
		>"$T/got" || fail "dd $backing"
	if [ "$seed" = zero ]; then
		cmp -n "$len" "$T/got" /dev/zero || fail "$backing at $off + $len: not zeroes"
	else
		"$IO" pattern "$off" "$len" "$seed" >"$T/want"
		cmp "$T/got" "$T/want" || fail "$backing at $off + $len: not pattern $seed"
	fi
}

# exercise EXPORT KIND BACKING LBS PBS
exercise() {
	local name=$1 kind=$2 backing=$3 lbs=$4 pbs=$5 u off len seed
	u=$(uri srv "$name")

	[ "$(info_get size "$u")" = $SIZE ] || fail "$name: size $(info_get size "$u")"
	[ "$(info_get logical_block_size "$u")" = "$lbs" ] || fail "$name: logical block size"
	[ "$(info_get physical_block_size "$u")" = "$pbs" ] || fail "$name: physical block size"
	[ "$(info_get readonly "$u")" = 0 ] || fail "$name: read-only"
	[ "$(info_get max_discard_sectors "$u")" -gt 0 ] || fail "$name: no discard"
	[ "$(info_get max_write_zeroes_sectors "$u")" -gt 0 ] || fail "$name: no write-zeroes"

	# first block, a large request split on the wire, the last 64K, the last block
	for w in "0 4096 11" "$((4096 + lbs)) $((300 << 10)) 12" "$((SIZE - 65536)) 65536 13" \
		"$((SIZE - lbs)) $lbs 14"; do
		read -r off len seed <<<"$w"
		io write "$u" "$off" "$len" "$seed"
		io verify "$u" "$off" "$len" "$seed"
		backing_cmp "$kind" "$backing" "$off" "$len" "$seed"
	done
	io write "$u" $((SIZE - 4 * lbs)) $((4 * lbs)) 15 --fua --flush
	io verify "$u" $((SIZE - 4 * lbs)) $((4 * lbs)) 15
	backing_cmp "$kind" "$backing" $((SIZE - 4 * lbs)) $((4 * lbs)) 15
	# rnbd-io does see wrong data
	io_fails 1 "mismatch at offset 0: " verify "$u" 0 4096 99

	# discard in the middle of written data: zeroes there, the rest as written
	io write "$u" $MiB $((3 * MiB)) 16
	io discard "$u" $((MiB + 65536)) $MiB
	io zero-check "$u" $((MiB + 65536)) $MiB
	io verify "$u" $MiB 65536 16
	io verify "$u" $((2 * MiB + 65536)) $((MiB - 65536)) 16
	backing_cmp "$kind" "$backing" $((MiB + 65536)) $MiB zero
	# write-zeroes, unmapping and not
	io write-zeroes "$u" $((2 * MiB + 65536)) 65536
	io zero-check "$u" $((2 * MiB + 65536)) 65536
	io write-zeroes "$u" $((3 * MiB)) $((64 * lbs)) --nounmap
	io zero-check "$u" $((3 * MiB)) $((64 * lbs))
	io verify "$u" $((3 * MiB + 64 * lbs)) $((MiB - 64 * lbs)) 16
	backing_cmp "$kind" "$backing" $((3 * MiB)) $((64 * lbs)) zero
	io flush "$u"

	# beyond the end, unaligned, zero-length: refused before anything is sent
	io_fails 1 "write at $SIZE \+ $lbs: ERANGE .*beyond the end \($SIZE\)" \
		write "$u" $SIZE "$lbs" 1
	io_fails 1 "read at $((SIZE - lbs)) \+ $((2 * lbs)): ERANGE .*beyond the end" \
		verify "$u" $((SIZE - lbs)) $((2 * lbs)) 1
	io_fails 1 "discard at $SIZE \+ 4096: ERANGE" discard "$u" $SIZE 4096
	io_fails 1 "write at 256 \+ $lbs: EINVAL .*not aligned to $lbs bytes" write "$u" 256 "$lbs" 1
	echo "$name ($kind): ok"
}

exercise mem memory - 512 4096
# never written memory reads as zeroes
io zero-check "$(uri srv mem)" $((8 * MiB)) $MiB
exercise uring file "$T/uring.img" 512 4096
exercise sync file "$T/sync.img" 512 4096
if [ -n "$loopdev" ]; then
	exercise blk blockdev "$loopdev" "$(blockdev --getss "$loopdev")" \
		"$(blockdev --getpbsz "$loopdev")"
fi

# read-only exports: a read-write OPEN is refused with EACCES, a read-only
# one works and its writes are refused by the client with EROFS
for name in mem-ro file-ro; do
	io_fails 2 "EACCES \(Permission denied\): OPEN $name \(rw\) on .*: Permission denied" \
		write "$(uri srv $name)" 0 4096 1
	u="$(uri srv $name)?access_mode=ro"
	[ "$(info_get readonly "$u")" = 1 ] || fail "$name: not read-only"
	io_fails 1 "write at 0 \+ 4096: EROFS .*$name is open read-only" write "$u" 0 4096 1
	io_fails 1 "discard at 0 \+ 4096: EROFS" discard "$u" 0 4096
	io flush "$u"
done
io zero-check "$(uri srv mem-ro)?access_mode=ro" 0 $MiB
[ "$(info_get size "$(uri srv mem-ro)?access_mode=ro")" = $MiB ] || fail "mem-ro size"
io verify "$(uri srv file-ro)?access_mode=ro" 0 $MiB 5
io zero-check "$(uri srv file-ro)?access_mode=ro" $MiB $MiB
cmp -n $MiB "$T/ro.img" <("$IO" pattern 0 $MiB 5) || fail "the read-only file changed"
echo "read-only exports: ok"

stop_bg srv || { show_bg srv; fail "rnbd-serve exit status"; }
grep -q "rnbd-serve: info: stopped" "$T/srv.err" || { show_bg srv; fail "no clean stop"; }
# what the file exports acknowledged is in the files after the server is gone
backing_cmp file "$T/uring.img" $((SIZE - 4 * 512)) $((4 * 512)) 15
backing_cmp file "$T/sync.img" 0 4096 11
echo "PASS: every export type"
