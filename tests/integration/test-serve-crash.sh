#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# rnbd-serve killed with SIGKILL: what it acknowledged as flushed (and as
# FUA, and everything a stress run saw completed) is in the file when a new
# server starts over it.  A process crash keeps the page cache, so this
# checks that acknowledgements come after the data reached the file, not
# what a power cut would keep.
# Usage: test-serve-crash.sh RNBD_SERVE RNBD_IO
. "$(dirname "$0")/serve-lib.sh"
requires_cmd cmp dd truncate

MiB=$((1 << 20))
truncate -s $((64 * MiB)) "$T/disk.img"
cat >"$T/serve.conf" <<EOF
dev_search_path = "";
exports = ( { name = "disk"; type = "file"; path = "$T/disk.img"; } );
EOF

serve srv1 "$T/serve.conf"
u=$(uri srv1 disk)
io write "$u" 0 $((4 * MiB)) 21 --flush
io write "$u" $((8 * MiB)) $MiB 22 --fua
out=$("$IO" stress "$u" --seconds 3 --depth 32 --size-max 128K --region 16M:16M \
	--save-map "$T/map" 2>&1) || { echo "$out"; fail "stress before the crash"; }
grep -q " errors=0 .* mismatches=0$" <<<"$out" || { echo "$out"; fail "stress: $out"; }
echo "$out" | grep '^stress: seconds'

pid=${BG_PID[srv1]}
kill9_bg srv1
kill -0 "$pid" 2>/dev/null && fail "rnbd-serve survived SIGKILL"
grep -q "rnbd-serve: info: stopped" "$T/srv1.err" && fail "rnbd-serve stopped cleanly?"

serve srv2 "$T/serve.conf"
u=$(uri srv2 disk)
io verify "$u" 0 $((4 * MiB)) 21
io verify "$u" $((8 * MiB)) $MiB 22
out=$("$IO" verify-map "$u" "$T/map" 2>&1) || { echo "$out"; fail "verify-map after the crash"; }
grep -qE "^verify-map: verified_blocks=[1-9][0-9]* mismatches=0$" <<<"$out" ||
	fail "verify-map: $out"
echo "after the crash: $(grep '^verify-map:' <<<"$out")"
cmp <(dd if="$T/disk.img" bs=1M count=4 status=none) <("$IO" pattern 0 $((4 * MiB)) 21) ||
	fail "the flushed data is not in the file"

# the check is not blind: zero the region behind the server's back
dd if=/dev/zero of="$T/disk.img" bs=1M seek=16 count=16 conv=notrunc status=none
out=$("$IO" verify-map "$u" "$T/map" 2>&1)
rc=$?
[ $rc = 1 ] || { echo "$out"; fail "verify-map of a zeroed region: exit $rc"; }
grep -qE "mismatches=[1-9]" <<<"$out" || fail "verify-map of a zeroed region: $out"
grep -qE "generation [0-9]+ expected" <<<"$out" || fail "no mismatch described: $out"

stop_bg srv2 || { show_bg srv2; fail "rnbd-serve exit status"; }
echo "PASS: flushed and acknowledged data survive SIGKILL"
