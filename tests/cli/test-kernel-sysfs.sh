# SPDX-License-Identifier: LGPL-2.1-or-later
# rnbdctl's kernel backend (cli/rnbdctl/kernel.c) against a fake sysfs: a
# tree of directories, regular files and one symlink under a temporary
# directory, used through $RNBD_SYSROOT.  Checks what list/show read from it
# (--json field by field, and the tables) and the exact bytes that map,
# unmap, remap, resize, path and session commands write into it.  Needs
# neither root nor the rnbd modules.
# usage: test-kernel-sysfs.sh RNBDCTL
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/ctl-lib.sh"

CTL=${1:?usage: $0 RNBDCTL}
requires_cmd python3

R=$T/root
export RNBD_SYSROOT=$R
# no session daemon of this host may show up in the lists
export RNBD_RUN_DIR=$T/run
unset RNBD_TAB

CLT=$R/sys/class/rnbd-client/ctl
RTRS=$R/sys/class/rtrs-client
P1='ip:10.0.0.2@ip:10.0.0.1'
P2='ip:10.0.1.2@ip:10.0.1.1'

# put FILE CONTENT: a sysfs attribute, with its trailing newline
put() {
	mkdir -p "$(dirname "$1")"
	printf '%s\n' "$2" >"$1"
}

# Two devices: rnbd0 (/dev/ram0 in session sess1, open, two paths) and
# rnbd1 (vol/b in sess2, ro, closed, its path down); sda is no rnbd disk,
# rnbd7 a disk being torn down (no rnbd/ directory).
make_tree() {
	rm -rf "$R"
	put "$CLT/map_device" "Usage: echo \"sessname=<name of the rtrs session> path=<[srcaddr@]dstaddr> [path=<[srcaddr@]dstaddr>] device_path=<full path on remote side> [access_mode=<ro|rw|migration>] [nr_poll_queues=<number of queues>]\" > map_device"
	mkdir -p "$CLT/devices" "$R/dev"
	local n sess path mode state size
	for n in 0 1; do
		if [ $n = 0 ]; then
			sess=sess1 path=/dev/ram0 mode=rw state=open size=2097152
		else
			sess=sess2 path=vol/b mode=ro state=closed size=16384
		fi
		local B=$R/sys/block/rnbd$n
		put "$B/rnbd/session" "$sess"
		put "$B/rnbd/mapping_path" "$path"
		put "$B/rnbd/access_mode" "$mode"
		put "$B/rnbd/state" "$state"
		put "$B/rnbd/nr_poll_queues" 0
		put "$B/rnbd/unmap_device" "Usage: echo <normal|force> > unmap_device"
		put "$B/rnbd/remap_device" "Usage: echo <1> > remap_device"
		put "$B/rnbd/resize" "Usage: echo <new size in sectors> > resize"
		put "$B/size" "$size"
		put "$B/queue/logical_block_size" 512
		ln -s "../../../../block/rnbd$n" "$CLT/devices/${path//\//!}@$sess"
		: >"$R/dev/rnbd$n"
	done
	put "$R/sys/block/sda/size" 100
	mkdir -p "$R/sys/block/rnbd7"

	local S=$RTRS/sess1
	put "$S/mpath_policy" "min-inflight (MI: 1)"
	put "$S/max_reconnect_attempts" -1
	put "$S/add_path" "Usage: echo [<source addr>@]<destination addr> > add_path"
	local p src dst
	for p in "$P1" "$P2"; do
		src=${p%@*} dst=${p#*@}
		put "$S/paths/$p/state" connected
		put "$S/paths/$p/src_addr" "$src"
		put "$S/paths/$p/dst_addr" "$dst"
		put "$S/paths/$p/hca_name" rxe0
		put "$S/paths/$p/cur_latency" "12345 ns"
		put "$S/paths/$p/reconnect" "Usage: echo 1 > reconnect"
		put "$S/paths/$p/disconnect" "Usage: echo 1 > disconnect"
		put "$S/paths/$p/remove_path" "Usage: echo 1 > remove_path"
		put "$S/paths/$p/stats/rdma" "1 4096 3 12288 5 6"
		put "$S/paths/$p/stats/reset_all" "echo 1 to reset all statistics"
	done
	S=$RTRS/sess2
	put "$S/mpath_policy" "round-robin (RR: 0)"
	put "$S/add_path" "Usage: echo [<source addr>@]<destination addr> > add_path"
	p='ip:10.0.2.2@ip:10.0.2.1'
	put "$S/paths/$p/state" disconnected
	put "$S/paths/$p/src_addr" ip:10.0.2.2
	put "$S/paths/$p/dst_addr" ip:10.0.2.1
	put "$S/paths/$p/reconnect" "Usage: echo 1 > reconnect"
	put "$S/paths/$p/remove_path" "Usage: echo 1 > remove_path"
}

# Empty the attribute files that rnbdctl may write, so that each check
# sees only what the last command wrote (a regular file, unlike sysfs,
# keeps what is past the end of a short write).
clear_writes() {
	local f
	for f in "$CLT/map_device" "$R"/sys/block/rnbd*/rnbd/{unmap,remap}_device \
		"$R"/sys/block/rnbd*/rnbd/resize "$RTRS"/*/add_path "$RTRS"/*/mpath_policy \
		"$RTRS"/*/paths/*/{reconnect,disconnect,remove_path}; do
		[ -f "$f" ] && : >"$f"
	done
}

# wrote FILE TEXT: rnbdctl wrote exactly TEXT, without a newline
wrote() {
	local got
	got=$(cat "$1"; echo x)
	got=${got%x}
	[ "$got" = "$2" ] || fail "${1#"$R"}: '$got', expected '$2'"
}

# untouched FILE...: nothing was written
untouched() {
	local f
	for f; do
		[ -s "$f" ] && fail "${f#"$R"} was written: '$(cat "$f")'"
	done
	return 0
}

step() { echo "== $*"; }

make_tree

step "list, --json: every device, with the kernel's fields"
ctl_ok --json list
jcheck "$OUT" "len(j) == 2"
jcheck "$OUT" "sorted(j, key=lambda d: d['device']) == [
	{'device': '/dev/rnbd0', 'session': 'sess1', 'mapping_path': '/dev/ram0',
	 'access_mode': 'rw', 'state': 'open', 'backend': 'kernel', 'size': 1 << 30,
	 'logical_block_size': 512, 'device_id': None},
	{'device': '/dev/rnbd1', 'session': 'sess2', 'mapping_path': 'vol/b',
	 'access_mode': 'ro', 'state': 'closed', 'backend': 'kernel', 'size': 8 << 20,
	 'logical_block_size': 512, 'device_id': None}]"
ctl_ok --json list devices
jcheck "$OUT" "sorted(d['device'] for d in j) == ['/dev/rnbd0', '/dev/rnbd1']"
ctl_ok list
grep -qE '^DEVICE +SESSION +PATH +MODE +STATE +SIZE +BACKEND$' <<<"$OUT" || { echo "$OUT"; fail "list header"; }
grep -qE '^/dev/rnbd0 +sess1 +/dev/ram0 +rw +open +1G +kernel$' <<<"$OUT" || { echo "$OUT"; fail "list row rnbd0"; }
grep -qE '^/dev/rnbd1 +sess2 +vol/b +ro +closed +8M +kernel$' <<<"$OUT" || { echo "$OUT"; fail "list row rnbd1"; }

step "list sessions"
ctl_ok --json list sessions
jcheck "$OUT" "sorted(s['name'] for s in j) == ['sess1', 'sess2']"
jcheck "$OUT" "all(sorted(s) == ['backend', 'devices', 'name', 'paths', 'pid', 'policy', 'state'] for s in j)"
jcheck "$OUT" "[(s['backend'], s['pid'], s['state'], s['policy'], len(s['paths']), [d['device'] for d in s['devices']])
	for s in sorted(j, key=lambda s: s['name'])] ==
	[('kernel', None, 'connected', 'min-inflight', 2, ['/dev/rnbd0']),
	 ('kernel', None, 'disconnected', 'round-robin', 1, ['/dev/rnbd1'])]"
ctl_ok list sessions
grep -qE '^sess1 +connected +kernel +min-inflight +2 +1$' <<<"$OUT" || { echo "$OUT"; fail "sessions row"; }

step "list paths"
ctl_ok --json list paths
jcheck "$OUT" "len(j) == 3"
jcheck "$OUT" "[p for p in j if p['name'] == '$P1'] == [
	{'id': None, 'name': '$P1', 'session': 'sess1', 'src': 'ip:10.0.0.2',
	 'dst': 'ip:10.0.0.1', 'state': 'connected', 'reqs_read': 1, 'bytes_read': 4096,
	 'reqs_write': 3, 'bytes_write': 12288, 'inflight': 5, 'failovers': 6,
	 'hb_rtt_ns': 12345}]"
# no stats and no latency: zeros, and no hb_rtt_ns
jcheck "$OUT" "[(p['session'], p['state'], p['reqs_read'], 'hb_rtt_ns' in p) for p in j
	if p['name'] == 'ip:10.0.2.2@ip:10.0.2.1'] == [('sess2', 'disconnected', 0, False)]"
ctl_ok list paths
grep -qE '^sess1 +- +ip:10\.0\.0\.2 +ip:10\.0\.0\.1 +connected +5 +1 +3$' <<<"$OUT" || { echo "$OUT"; fail "paths row"; }

step "show a device by node, by name, by mapping path; a session"
for d in /dev/rnbd0 rnbd0 /dev/ram0; do
	ctl_ok --json show "$d"
	jcheck "$OUT" "j['device'] == '/dev/rnbd0' and j['session'] == 'sess1' and j['size'] == 1 << 30"
done
ctl_ok --json show sess2
jcheck "$OUT" "j['name'] == 'sess2' and j['state'] == 'disconnected' and j['devices'][0]['mapping_path'] == 'vol/b'"
ctl_ok show rnbd1
grep -qE '^state +closed$' <<<"$OUT" || { echo "$OUT"; fail "show fields"; }
grep -qE '^size +8M \(8388608 bytes\)$' <<<"$OUT" || { echo "$OUT"; fail "show size"; }
ctl_ok show sess1
grep -qE '^policy +min-inflight$' <<<"$OUT" || { echo "$OUT"; fail "show session"; }
grep -qE "^sess1 +- +ip:10\.0\.1\.2 +ip:10\.0\.1\.1 +connected" <<<"$OUT" || { echo "$OUT"; fail "show session paths"; }
grep -qE '^/dev/rnbd0 +sess1' <<<"$OUT" || { echo "$OUT"; fail "show session devices"; }
ctl_fails 1 "no device or session nosuch" show nosuch

step "map --backend kernel: the exact map_device line"
clear_writes
ctl_ok map --backend kernel "sessname=sess1 dest_port=1235 path=ip:10.0.0.2@ip:10.0.0.1 path=ip:10.0.1.1 device_path=/dev/ram0"
[ "$OUT" = /dev/rnbd0 ] || fail "map printed '$OUT'"
wrote "$CLT/map_device" "sessname=sess1 dest_port=1235 path=ip:10.0.0.2@ip:10.0.0.1 dest_port=1235 path=ip:10.0.1.1 device_path=/dev/ram0 access_mode=rw"
clear_writes
ctl_ok --json map --backend kernel --access-mode ro "rnbd://sess1@[fe80::1%eth0]:1236,10.0.0.1//dev/ram0"
jcheck "$OUT" "j['device'] == '/dev/rnbd0' and j['backend'] == 'kernel' and j['mapping_path'] == '/dev/ram0'"
wrote "$CLT/map_device" "sessname=sess1 dest_port=1236 path=ip:fe80::1%eth0 dest_port=1234 path=ip:10.0.0.1 device_path=/dev/ram0 access_mode=ro"
clear_writes
ctl_ok map --backend kernel --path 10.0.0.2,10.0.0.1 --path '[::1]:1237' --port 1236 --sessname sess2 --access-mode migration vol/b
[ "$OUT" = /dev/rnbd1 ] || fail "map printed '$OUT'"
wrote "$CLT/map_device" "sessname=sess2 dest_port=1236 path=ip:10.0.0.2@ip:10.0.0.1 dest_port=1237 path=ip:::1 device_path=vol/b access_mode=migration"
clear_writes
# an existing session by name alone; poll queues
ctl_ok map --backend kernel "sessname=sess1 device_path=/dev/ram0 nr_poll_queues=-1"
wrote "$CLT/map_device" "sessname=sess1 device_path=/dev/ram0 access_mode=rw nr_poll_queues=-1"
clear_writes
ctl_ok map --backend kernel "sessname=sess1 path=gid:fe80:0000:0000:0000:0002:c903:0010:c0f5 device_path=/dev/ram0"
wrote "$CLT/map_device" "sessname=sess1 dest_port=1234 path=gid:fe80:0000:0000:0000:0002:c903:0010:c0f5 device_path=/dev/ram0 access_mode=rw"

step "map: what is refused before anything is written"
clear_writes
ctl_fails 1 "need --backend kernel" map "sessname=s path=gid:fe80::1 device_path=x"
ctl_fails 1 "nr_poll_queues needs --backend kernel" map --backend fuse "sessname=s path=ip:10.0.0.1 device_path=x nr_poll_queues=2"
ctl_fails 1 "timeouts are fixed" map --backend kernel --io-timeout 5 "sessname=s path=ip:10.0.0.1 device_path=x"
ctl_fails 1 "unknown option 'bogus'" map --backend kernel "sessname=s bogus=1 device_path=x"
ctl_fails 1 "no device_path=" map --backend kernel "sessname=s path=ip:10.0.0.1"
ctl_fails 1 "more than 6 paths" map --backend kernel "sessname=s path=ip:1.1.1.1 path=ip:1.1.1.2 path=ip:1.1.1.3 path=ip:1.1.1.4 path=ip:1.1.1.5 path=ip:1.1.1.6 path=ip:1.1.1.7 device_path=x"
ctl_fails 1 "no '/', '.' or spaces" map --backend kernel --sessname a.b --path 10.0.0.1 x
ctl_fails 1 "paths both in" map --backend kernel --path 10.0.0.1 "sessname=s path=ip:10.0.0.2 device_path=x"
# where ublk_drv exists the daemon tries the loopback port 1 and is refused
ctl_fails 1 "the kernel has no ublk_drv|refused" map --backend ublk \
	"sessname=s dest_port=1 path=ip:127.0.0.1 device_path=x"
ctl_fails 1 "backend 'nbd'" map --backend nbd "sessname=s path=ip:10.0.0.1 device_path=x"
ctl_fails 2 "map needs one" map --backend kernel
untouched "$CLT/map_device"
# written, but the kernel lists no such device
ctl_fails 1 "mapped nosuch, but the kernel does not list it" map --backend kernel "sessname=sess1 device_path=nosuch"
wrote "$CLT/map_device" "sessname=sess1 device_path=nosuch access_mode=rw"
# no rnbd_client: with RNBD_SYSROOT set, rnbdctl does not try modprobe
mkdir -p "$T/empty"
RNBD_SYSROOT=$T/empty ctl_fails 1 "no rnbd_client module" map --backend kernel "sessname=s path=ip:10.0.0.1 device_path=x"
RNBD_SYSROOT=$T/empty ctl_ok --json list
[ "$OUT" = "[]" ] || fail "list without rnbd_client: '$OUT'"

step "unmap: normal, force, by mapping path"
clear_writes
ctl_ok unmap /dev/rnbd0
wrote "$R/sys/block/rnbd0/rnbd/unmap_device" normal
untouched "$R/sys/block/rnbd1/rnbd/unmap_device"
clear_writes
ctl_ok unmap --force rnbd1
wrote "$R/sys/block/rnbd1/rnbd/unmap_device" force
clear_writes
ctl_ok unmap /dev/ram0
wrote "$R/sys/block/rnbd0/rnbd/unmap_device" normal
ctl_fails 1 "/dev/rnbd9 is not mapped" unmap /dev/rnbd9
ctl_fails 2 "unmap needs one device" unmap

step "remap, resize"
clear_writes
ctl_ok remap /dev/rnbd1
wrote "$R/sys/block/rnbd1/rnbd/remap_device" 1
clear_writes
ctl_ok resize /dev/rnbd0 1G
wrote "$R/sys/block/rnbd0/rnbd/resize" 2097152
clear_writes
ctl_ok resize rnbd0 4096s
wrote "$R/sys/block/rnbd0/rnbd/resize" 4096
clear_writes
ctl_ok resize /dev/rnbd0 1536K
wrote "$R/sys/block/rnbd0/rnbd/resize" 3072
clear_writes
ctl_fails 1 "whole 512-byte sectors" resize /dev/rnbd0 1000
ctl_fails 1 "needs the new SIZE" resize /dev/rnbd0
ctl_fails 2 "size '1X'" resize /dev/rnbd0 1X
untouched "$R/sys/block/rnbd0/rnbd/resize"

step "path add, delete, reconnect"
clear_writes
ctl_ok path add sess1 10.0.0.3
wrote "$RTRS/sess1/add_path" ip:10.0.0.3
clear_writes
ctl_ok path add sess1 ip:10.0.0.3
wrote "$RTRS/sess1/add_path" ip:10.0.0.3
clear_writes
ctl_ok path add sess1 10.0.0.4,10.0.0.3
wrote "$RTRS/sess1/add_path" ip:10.0.0.4@ip:10.0.0.3
clear_writes
ctl_ok path add sess1 ip:10.0.0.4@ip:10.0.0.3
wrote "$RTRS/sess1/add_path" ip:10.0.0.4@ip:10.0.0.3
clear_writes
ctl_ok path add sess1 '[fe80::1%eth0]'
wrote "$RTRS/sess1/add_path" ip:fe80::1%eth0
clear_writes
ctl_ok path add sess1 gid:fe80:0000:0000:0000:0002:c903:0010:c0f5
wrote "$RTRS/sess1/add_path" gid:fe80:0000:0000:0000:0002:c903:0010:c0f5
clear_writes
# the kernel takes the session's port for a new path
ctl_fails 1 "session's port" path add sess1 10.0.0.3:1235
ctl_fails 1 "bad address" path add sess1 'a b'
untouched "$RTRS/sess1/add_path"
ctl_ok path delete sess1 "$P2"
wrote "$RTRS/sess1/paths/$P2/remove_path" 1
untouched "$RTRS/sess1/paths/$P1/remove_path" "$RTRS/sess1/paths/$P2/reconnect"
clear_writes
ctl_ok path reconnect sess1 "$P1"
wrote "$RTRS/sess1/paths/$P1/reconnect" 1
untouched "$RTRS/sess1/paths/$P2/reconnect" "$RTRS/sess1/paths/$P1/remove_path"
ctl_fails 1 "session sess1 has no path nosuch" path delete sess1 nosuch
ctl_fails 1 "no session nosuch" path add nosuch 10.0.0.1
ctl_fails 2 "usage: rnbdctl path" path frob sess1 x

step "session policy, session reconnect"
clear_writes
ctl_ok session policy sess1 min-latency
wrote "$RTRS/sess1/mpath_policy" min-latency
clear_writes
ctl_ok session reconnect sess1
wrote "$RTRS/sess1/paths/$P1/reconnect" 1
wrote "$RTRS/sess1/paths/$P2/reconnect" 1
ctl_fails 1 "no session nosuch" session policy nosuch round-robin
ctl_fails 2 "usage: rnbdctl session" session policy sess1

step "a session being torn down: no policy, no paths, no devices"
mkdir -p "$RTRS/sess3/paths"
ctl_ok --json show sess3
jcheck "$OUT" "j == {'name': 'sess3', 'backend': 'kernel', 'pid': None, 'paths': [],
	'state': 'disconnected', 'policy': None, 'devices': []}"
rmdir "$RTRS/sess3/paths" "$RTRS/sess3"

step "rnbdtab: map --all, unmap --all"
make_tree
clear_writes
cat >"$T/rnbdtab" <<'EOF'
# the kernel's option string, quoted as one argument
"sessname=sess1 path=ip:10.0.0.1 device_path=/dev/ram0" --backend kernel   # trailing

	'rnbd://sess2@10.0.2.1:1240/vol/b' --backend=kernel --access-mode ro
EOF
RNBD_TAB=$T/rnbdtab ctl_ok map --all
[ "$OUT" = "/dev/rnbd0 /dev/ram0
/dev/rnbd1 vol/b" ] || fail "map --all printed '$OUT'"
# one write(2) per line at offset 0: the second line over the first,
# which is longer, so both are seen
L1="sessname=sess1 dest_port=1234 path=ip:10.0.0.1 device_path=/dev/ram0 access_mode=rw"
L2="sessname=sess2 dest_port=1240 path=ip:10.0.2.1 device_path=vol/b access_mode=ro"
wrote "$CLT/map_device" "$L2${L1:${#L2}}"
clear_writes
printf '%s\n' "'unbalanced --backend kernel" '"sessname=s device_path=x bogus=1" --backend kernel' >>"$T/rnbdtab"
RNBD_TAB=$T/rnbdtab ctl_fails 1 "rnbdtab:5: unmatched quote" map --all
grep -q "unknown option 'bogus'" "$T/ctl.err" || { cat "$T/ctl.err"; fail "no error for line 6"; }
# a line that does not split fails map --all too, after the others
clear_writes
printf '%s\n' "'sessname=sess1 device_path=/dev/ram0 --backend kernel" \
	'"sessname=sess1 device_path=/dev/ram0" --backend kernel' >"$T/rnbdtab2"
RNBD_TAB=$T/rnbdtab2 ctl_fails 1 "rnbdtab2: 1 line not mapped" map --all
grep -q "rnbdtab2:1: unmatched quote" "$T/ctl.err" || { cat "$T/ctl.err"; fail "no error for line 1"; }
wrote "$CLT/map_device" "sessname=sess1 device_path=/dev/ram0 access_mode=rw"
RNBD_TAB=$T/nosuch ctl_ok map --all
[ -z "$OUT" ] || fail "map --all of a missing rnbdtab printed '$OUT'"
ctl_fails 2 "takes no device" map --all /dev/ram0
clear_writes
ctl_ok unmap --all
wrote "$R/sys/block/rnbd0/rnbd/unmap_device" normal
wrote "$R/sys/block/rnbd1/rnbd/unmap_device" normal
clear_writes
ctl_ok unmap --all --force
wrote "$R/sys/block/rnbd0/rnbd/unmap_device" force
wrote "$R/sys/block/rnbd1/rnbd/unmap_device" force

step "usage errors exit 2"
ctl_fails 2 "list what" list frob
ctl_fails 2 "unknown command" frob
ctl_fails 2 "" --bogus

echo "all kernel sysfs checks passed"
