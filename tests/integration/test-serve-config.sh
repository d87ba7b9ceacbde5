#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# rnbd-serve's configuration file: every kind of mistake stops it before it
# listens, with exit status 1 and "FILE:LINE: what" (or "cannot start: what"
# for the few values only the server checks); a good file starts; -c of a
# missing file fails; without -c and without the default file it serves its
# built-in memory export and nothing else; a port in use stops it with the
# reason.
# Usage: test-serve-config.sh RNBD_SERVE RNBD_IO
. "$(dirname "$0")/serve-lib.sh"

# bad LINE MESSAGE-REGEX CONTENT: rnbd-serve refuses CONTENT at LINE
bad() {
	local line=$1 re=$2 out rc
	printf '%b' "$3" >"$T/bad.conf"
	out=$(timeout 10 "$SERVE" -f -c "$T/bad.conf" -l 127.0.0.1:0 -s "$T/bad.sock" 2>&1)
	rc=$?
	[ $rc = 1 ] || { echo "$out"; fail "exit $rc for: $3"; }
	grep -qxE "rnbd-serve: $T/bad\.conf:$line: $re" <<<"$out" ||
		{ echo "$out"; fail "no '$T/bad.conf:$line: $re' for: $3"; }
	grep -q "listening" <<<"$out" && fail "it listened with: $3"
	[ "$(wc -l <<<"$out")" = 1 ] || { echo "$out"; fail "more than the error for: $3"; }
}

bad 2 "syntax error" 'port = 1234;\nlisten = [ "127.0.0.1" ;\n'
bad 2 "unknown setting 'colour'" 'port = 1234;\ncolour = "blue";\n'
bad 2 "unknown export setting 'colour'" \
	'exports = (\n  { name = "m"; type = "memory"; size = "1M"; colour = "blue"; }\n);\n'
bad 2 "export without a name" 'exports = (\n  { type = "memory"; size = "1M"; }\n);\n'
bad 3 "export a is defined twice" \
	'exports = (\n  { name = "a"; type = "memory"; size = "1M"; },\n  { name = "a"; type = "memory"; size = "2M"; }\n);\n'
bad 2 "export a: a memory export has a size and no path" \
	'exports = (\n  { name = "a"; type = "memory"; size = "1M"; path = "/tmp/x"; }\n);\n'
bad 2 "export f: a file export has a path and no size" \
	'exports = (\n  { name = "f"; type = "file"; }\n);\n'
bad 2 'export d: type must be "memory", "file" or "blockdev"' \
	'exports = (\n  { name = "d"; type = "disk"; path = "/dev/null"; }\n);\n'
bad 3 "size: '12Q' is not a size \(like 4096, 64K, 1G\)" \
	'exports = (\n  { name = "m"; type = "memory";\n    size = "12Q"; }\n);\n'
bad 3 "port 70000 is larger than 65535" '# comment\n\nport = 70000;\n'
bad 2 "rule mode 'write': none, ro, rw or migration" \
	'rules = (\n  { sessions = "*"; devices = "*"; mode = "write"; }\n);\n'
bad 1 'listen must be a list of addresses \[ "\.\.\." \]' 'listen = "127.0.0.1";\n'
bad 1 "exports must be a list \( \.\.\. \)" 'exports = 5;\n'
echo "bad files: ok"

# -c of a file that is not there
out=$(timeout 10 "$SERVE" -f -c "$T/missing.conf" -l 127.0.0.1:0 -s "$T/bad.sock" 2>&1)
rc=$?
[ $rc = 1 ] || fail "missing -c file: exit $rc: $out"
[ "$out" = "rnbd-serve: $T/missing.conf: No such file or directory" ] ||
	fail "missing -c file: $out"
echo "missing file: ok"

# a good file, with every kind of section
truncate -s 8M "$T/disk.img"
cat >"$T/good.conf" <<EOF
# rnbd-serve test configuration
listen = [ "127.0.0.1:1" ];
port = 1;
workers = 2;
queue_depth = 128;
max_io_size = "64K";
heartbeat_ms = 2000;
dev_search_path = "";
exports = (
	{ name = "mem"; type = "memory"; size = "4M"; },
	{ name = "disk"; type = "file"; path = "$T/disk.img"; io_engine = "sync"; }
);
rules = (
	{ sessions = "ro-*"; devices = "*"; mode = "ro"; },
	{ sessions = "*"; devices = "*"; mode = "rw"; }
);
EOF
serve good "$T/good.conf"
[ "$(info_get size "$(uri good mem)")" = $((4 << 20)) ] || fail "mem size"
[ "$(info_get size "$(uri good disk)")" = $((8 << 20)) ] || fail "disk size"
# the file's max_io_size reached the wire
[ "$(info_get max_io_size "$(uri good disk)")" -le 65536 ] || fail "max_io_size"
io write "$(uri good disk)" 0 65536 3
io verify "$(uri good disk)" 0 65536 3
io_fails 2 "EPERM \(Operation not permitted\): OPEN mem \(rw\)" info "$(uri good mem ro-x)"
io zero-check "$(uri good mem ro-x)?access_mode=ro" 0 65536
stop_bg good || { show_bg good; fail "good configuration: exit status"; }
echo "good file: ok"

# no -c: the default file, or without it the built-in memory export
if [ -e /etc/rnbd/rnbd-serve.conf ]; then
	echo "no -c: skipped, /etc/rnbd/rnbd-serve.conf exists"
else
	SOCK[default]=$T/default.sock
	start_bg default "$SERVE" -f -m 4M -l 127.0.0.1:0 -s "${SOCK[default]}"
	wait_for_line "$T/default.err" 'rnbd-serve: info: ready$' || fail "no start without -c"
	PORT[default]=$(sed -n 's/^rnbd-serve: info: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
		"$T/default.err")
	grep -qx "rnbd-serve: info: export memory" "$T/default.err" || fail "no memory export"
	grep -q "looked up under" "$T/default.err" && fail "a search path without configuration"
	[ "$(info_get size "$(uri default memory)")" = $((4 << 20)) ] || fail "-m 4M"
	io write "$(uri default memory)" 4096 8192 4
	io verify "$(uri default memory)" 4096 8192 4
	io_fails 2 "ENOENT \(No such file or directory\): OPEN etc/passwd" \
		info "$(uri default etc/passwd)?access_mode=ro"
	stop_bg default || { show_bg default; fail "no -c: exit status"; }
	echo "no -c: ok"
fi

# values the library would refuse are refused by the parser, at their line
bad 2 "export m: size 1000 must be a multiple of 4096" \
	'exports = (\n  { name = "m"; type = "memory"; size = 1000; }\n);\n'
bad 1 "max_io_size 100 is smaller than 4096 \(0: the default\)" 'max_io_size = 100;\n'
echo "values checked at start: ok"

# an address in use: exit 1 before anything else starts, saying why (checked
# last, as it fails on a library bug: the reason is lost on its way back
# from the I/O thread that tried to listen)
serve first "$T/good.conf"
out=$(timeout 10 "$SERVE" -f -c "$T/good.conf" -l "127.0.0.1:${PORT[first]}" \
	-s "$T/second.sock" 2>&1)
rc=$?
[ $rc = 1 ] || { echo "$out"; fail "a second server on port ${PORT[first]}: exit $rc"; }
grep -q "listening" <<<"$out" && fail "a second server listened on ${PORT[first]}"
[ -e "$T/second.sock" ] && fail "a server that cannot start made its control socket"
stop_bg first || { show_bg first; fail "first server: exit status"; }
grep -qx "rnbd-serve: error: cannot start: cannot listen on 127\.0\.0\.1:${PORT[first]}: .*in use" \
	<<<"$out" || fail "BUG: no reason for a port in use: '$out'"

echo "PASS: configuration errors, good files, defaults"
