# SPDX-License-Identifier: LGPL-2.1-or-later
# rnbdctl end to end, as root: rnbd-serve on loopback, devices mapped through
# FUSE + loop, a file system made, filled, remounted and checked; --json
# parsed; two devices on one session; unmap refused while mounted; the
# server killed and restarted under a mapped device; refused maps leave
# nothing behind; rnbdtab; the server subcommands.
# usage: test-rnbdctl.sh RNBD_SERVE RNBDCTL
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/ctl-lib.sh"

SERVE=${1:?usage: $0 RNBD_SERVE RNBDCTL}
CTL=${2:?usage: $0 RNBD_SERVE RNBDCTL}
requires_root "FUSE mounts, loop devices and mkfs"
requires_cmd mkfs.ext4 python3 sha256sum losetup
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -e /dev/loop-control ] || skip "no loop devices"

export RNBD_RUN_DIR=$T/run
RUN=$RNBD_RUN_DIR
MNT=$T/mnt
mkdir -p "$MNT" "$T/search/sub"
truncate -s 64M "$T/disk1.img"
truncate -s 32M "$T/disk2.img"
truncate -s 8M "$T/search/sub/plain.img"
ln -s /etc/passwd "$T/search/escape"
cat >"$T/serve.conf" <<EOF
dev_search_path = "$T/search";
exports = (
  { name = "disk1"; type = "file"; path = "$T/disk1.img"; },
  { name = "disk2"; type = "file"; path = "$T/disk2.img"; },
  { name = "mem"; type = "memory"; size = "16M"; }
);
EOF

CLEANUPS+=("umount -l '$MNT'" "'$CTL' unmap --all --force")

start_serve() {
	start_bg serve "$SERVE" -f -c "$T/serve.conf" -l "127.0.0.1:$1" -s "$T/serve.sock"
	wait_for_line "$T/serve.err" 'rnbd-serve: info: ready$' ||
		{ show_bg serve; fail "rnbd-serve did not start"; }
}

start_serve 0
PORT=$(sed -n 's/^rnbd-serve: info: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/serve.err" | tail -1)
[ -n "$PORT" ] || fail "no port in the server's log"
URI=rnbd://t1@127.0.0.1:$PORT

run_dir_empty() {
	local left
	left=$(find "$RUN" -mindepth 1 2>/dev/null)
	[ -z "$left" ] || { echo "$left"; fail "left behind in $RUN after: $1"; }
}

checksums() {
	(cd "$MNT" && sha256sum f1 f2 f3)
}

step() { echo "== [${SECONDS}s] $*"; }

step "empty lists"
ctl_ok --json list
[ "$OUT" = "[]" ] || fail "list --json with nothing mapped: '$OUT', not []"
ctl_ok --json list sessions
[ "$OUT" = "[]" ] || fail "list sessions --json: '$OUT'"

step "map, mkfs, fill"
ctl_ok map --reconnect-delay 1 --io-timeout 4 "$URI/disk1"
DEV1=$OUT
[ -b "$DEV1" ] || fail "map printed '$DEV1', not a block device"
[ "$(blockdev --getsize64 "$DEV1")" = $((64 << 20)) ] || fail "$DEV1 is not 64 MiB"
mkfs.ext4 -q -F "$DEV1" || fail "mkfs.ext4 $DEV1"
mount "$DEV1" "$MNT" || fail "mount $DEV1"
for f in f1 f2 f3; do
	head -c $((3 << 20)) /dev/urandom >"$MNT/$f" || fail "write $f"
done
SUMS=$(checksums)
# on disk before the outages below: writeback that meets an I/O timeout fails
sync -f "$MNT/f1" || fail "sync"

step "--json list, show"
ctl_ok --json list
jcheck "$OUT" "len(j) == 1 and j[0]['device'] == '$DEV1' and j[0]['session'] == 't1' and
	j[0]['mapping_path'] == 'disk1' and j[0]['access_mode'] == 'rw' and
	j[0]['state'] == 'open' and j[0]['size'] == 64 << 20 and j[0]['backend'] == 'fuse'"
ctl_ok --json list sessions
jcheck "$OUT" "len(j) == 1 and j[0]['name'] == 't1' and j[0]['state'] == 'connected' and
	len(j[0]['paths']) == 1 and len(j[0]['devices']) == 1"
ctl_ok --json list paths
jcheck "$OUT" "len(j) == 1 and j[0]['dst'] == '127.0.0.1:$PORT' and j[0]['state'] == 'connected'
	and j[0]['reqs_write'] > 0"
ctl_ok --json show "$DEV1"
jcheck "$OUT" "j['device'] == '$DEV1' and j['logical_block_size'] == 512"
ctl_ok show t1
grep -q "^name  *t1$" <<<"$OUT" || { echo "$OUT"; fail "show t1: no name line"; }
ctl_ok list
grep -qE "^$DEV1 +t1 +disk1 +rw +open +64M +fuse$" <<<"$OUT" || { echo "$OUT"; fail "list table"; }

step "a second device on the same session"
ctl_ok map "$URI/disk2"
DEV2=$OUT
[ -b "$DEV2" ] && [ "$DEV2" != "$DEV1" ] || fail "second map gave '$DEV2'"
ctl_ok --json list sessions
jcheck "$OUT" "len(j) == 1 and len(j[0]['devices']) == 2"
[ "$(pgrep -fc 'rnbdctl session-daemon -s t1')" = 1 ] || fail "not one daemon for session t1"
head -c $((1 << 20)) /dev/urandom >"$T/pattern"
dd if="$T/pattern" of="$DEV2" bs=1M oflag=direct status=none || fail "dd to $DEV2"
cmp <(dd if="$DEV2" bs=1M count=1 iflag=direct status=none) "$T/pattern" ||
	fail "$DEV2 read back differs"
ctl_fails 1 "already mapped" map "$URI/disk2"

step "unmap while mounted is refused"
ctl_fails 1 "in use" unmap "$DEV1"
[ -b "$DEV1" ] && mountpoint -q "$MNT" || fail "$DEV1 went away after a refused unmap"

step "the server killed and restarted under a mounted device"
kill -KILL "${BG_PID[serve]}"
wait "${BG_PID[serve]}" 2>/dev/null
unset "BG_PID[serve]"
# I/O issued now waits for a path; the restarted server answers it
(dd if="$DEV2" bs=1M count=1 iflag=direct status=none >"$T/during") &
DD=$!
sleep 1
start_serve "$PORT"
for i in $(seq 200); do
	kill -0 $DD 2>/dev/null || break
	sleep 0.1
done
kill -0 $DD 2>/dev/null && { kill $DD; fail "I/O did not resume after the server came back"; }
wait $DD || fail "I/O across the server restart failed"
cmp "$T/during" "$T/pattern" || fail "data read across the restart differs"
ctl_ok --json show "$DEV1"
jcheck "$OUT" "j['state'] == 'open'"

step "with no server for longer than --io-timeout, I/O fails, then comes back"
stop_bg serve
dd if="$DEV2" of=/dev/null bs=4k count=1 iflag=direct status=none 2>"$T/dd.err" &&
	fail "read with no server for longer than --io-timeout succeeded"
grep -q "Input/output error" "$T/dd.err" || { cat "$T/dd.err"; fail "no EIO"; }
start_serve "$PORT"
ok=
for i in $(seq 100); do
	if cmp <(dd if="$DEV2" bs=1M count=1 iflag=direct status=none 2>/dev/null) "$T/pattern" \
		2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.2
done
[ -n "$ok" ] || fail "$DEV2 did not come back after the server restarted"

step "unmount, unmap, map again, checksums"
umount "$MNT" || fail "umount"
ctl_ok unmap "$DEV1"
ctl_ok unmap "$DEV2"
for i in $(seq 100); do
	[ -z "$(find "$RUN" -mindepth 1 2>/dev/null)" ] && break
	sleep 0.1
done
run_dir_empty "unmapping every device"
ctl_ok map "$URI/disk1"
DEV1=$OUT
mount "$DEV1" "$MNT" || fail "mount after remap"
[ "$(checksums)" = "$SUMS" ] || fail "checksums differ after unmap and map"
umount "$MNT"
ctl_ok remap "$DEV1"
ctl_ok resize "$DEV1" 32M
[ "$(blockdev --getsize64 "$DEV1")" = $((32 << 20)) ] || fail "resize to 32M"
ctl_ok resize "$DEV1"
[ "$(blockdev --getsize64 "$DEV1")" = $((64 << 20)) ] || fail "resize back to the server's size"
ctl_fails 1 "not in 1\.\." resize "$DEV1" 1G
ctl_ok unmap --all
run_dir_empty "unmap --all"

step "refused maps: clear errors, nothing left behind"
ctl_fails 1 "No such file" map "$URI/nosuch"
run_dir_empty "a map of a missing export"
ctl_fails 1 "\.\." map "$URI/sub/..%2F..%2Fdisk1.img"
run_dir_empty "a map with .."
ctl_fails 1 "out of the server.s search path" map "$URI/escape"
run_dir_empty "a map of a symlink out of the search path"
ctl_fails 1 "refused|onnection" map "rnbd://t2@127.0.0.1:1/disk1"
run_dir_empty "a map of a server that is not there"
ctl_fails 1 "no session t9" map --sessname t9 disk1
ctl_fails 2 "" map
ctl_fails 2 "unknown command" frobnicate
ctl_fails 1 "access mode" map --access-mode rx "$URI/disk1"
ctl_fails 1 "not mapped" unmap /dev/loop999

step "the kernel's option string, read-only"
ctl_ok map "sessname=t3 dest_port=$PORT path=ip:127.0.0.1 device_path=sub/plain.img access_mode=ro"
DEV3=$OUT
[ "$(blockdev --getro "$DEV3")" = 1 ] || fail "an ro map is writable"
ctl_ok --json show "$DEV3"
jcheck "$OUT" "j['session'] == 't3' and j['access_mode'] == 'ro' and j['size'] == 8 << 20"
ctl_ok unmap "$DEV3"

step "rnbdtab"
cat >"$T/rnbdtab" <<EOF
# comment
$URI/disk1 --access-mode ro
"sessname=t4 dest_port=$PORT path=ip:127.0.0.1 device_path=mem"

EOF
RNBD_TAB=$T/rnbdtab ctl_ok map --all
[ "$(wc -l <<<"$OUT")" = 2 ] || { echo "$OUT"; fail "map --all did not map two devices"; }
RNBD_TAB=$T/rnbdtab ctl_ok map --all
ctl_ok --json list
jcheck "$OUT" "sorted(d['mapping_path'] for d in j) == ['disk1', 'mem']"

step "server subcommands"
ctl_ok --json server --socket "$T/serve.sock" list
jcheck "$OUT" "sorted(s['name'] for s in j) == ['t1', 't4']"
ctl_ok server --socket "$T/serve.sock" exports
grep -qE "^disk1 +file" <<<"$OUT" || { echo "$OUT"; fail "server exports table"; }
ctl_ok --json server --socket "$T/serve.sock" show t4
jcheck "$OUT" "j['devices'][0]['name'] == 'mem'"
ctl_fails 1 "no session" server --socket "$T/serve.sock" show nosuch

ctl_ok unmap --all
run_dir_empty "the last unmap --all"
echo "PASS"
