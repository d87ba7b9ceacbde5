#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# rnbd-serve's command line and start: numbers are taken whole or refused
# (exit 2, saying which option and what it takes); -h lists -h; without -f
# the command returns only once the server is up, with status 0, or with
# status 1 and the reason on stderr when it could not start (an address in
# use), instead of 0 from a daemon that then dies; the configuration's own
# errors keep their line, also for values only a running server used to
# refuse.
# Usage: test-serve-fix-cli.sh RNBD_SERVE RNBD_IO
. "$(dirname "$0")/serve-lib.sh"

# usage_error ARGS...: exit 2 and one line saying why, nothing started
usage_error() {
	local re=$1 out rc
	shift
	out=$(timeout 10 "$SERVE" "$@" -c "$T/none.conf" -s "$T/u.sock" 2>&1)
	rc=$?
	[ $rc = 2 ] || { echo "$out"; fail "exit $rc for $*"; }
	grep -qxE "rnbd-serve: $re" <<<"$out" || { echo "$out"; fail "no '$re' for $*"; }
}
usage_error "-w 'abc': a number from 0 to 256" -w abc
usage_error "-w '257': a number from 0 to 256" -w 257
usage_error "-w '-1': a number from 0 to 256" -w -1
usage_error "-w '': a number from 0 to 256" -w ''
usage_error "-p '12abc': a number from 1 to 65535" -p 12abc
usage_error "-p ' 12': a number from 1 to 65535" -p ' 12'
usage_error "-p '0': a number from 1 to 65535" -p 0
usage_error "-p '65536': a number from 1 to 65535" -p 65536
usage_error "-p '99999999999999999999': a number from 1 to 65535" -p 99999999999999999999
usage_error "-m '2T': a multiple of 4096 up to 1T, like 1G" -m 2T
out=$("$SERVE" -h) || fail "-h: exit $?"
grep -qE '^ +-h ' <<<"$out" || { echo "$out"; fail "-h does not list -h"; }
grep -qE '^ +-V ' <<<"$out" || { echo "$out"; fail "-h does not list -V"; }
echo "command line: ok"

# the file's values that only the server used to refuse, through the process
conf_error() {
	local line=$1 re=$2 out rc
	printf '%b' "$3" >"$T/bad.conf"
	out=$(timeout 10 "$SERVE" -c "$T/bad.conf" -l 127.0.0.1:0 -s "$T/bad.sock" 2>&1)
	rc=$?
	[ $rc = 1 ] || { echo "$out"; fail "exit $rc for: $3"; }
	grep -qxE "rnbd-serve: $T/bad\.conf:$line: $re" <<<"$out" ||
		{ echo "$out"; fail "no '$line: $re' for: $3"; }
}
conf_error 2 'transport "udp": "tcp" or "rdma"' 'port = 1;\ntransport = "udp";\n'
conf_error 1 'listen\[0\] must be a string' 'listen = [ 5 ];\n'
conf_error 1 'max_io_size 100 is smaller than 4096 \(0: the default\)' 'max_io_size = 100;\n'
conf_error 3 'export m: size 1000 must be a multiple of 4096' \
	'exports = (\n  { name = "m"; type = "memory";\n    size = 1000; }\n);\n'
conf_error 1 'export m: size 2199023255552 must be at most 1 TiB' \
	'exports = ( { name = "m"; type = "memory"; size = "2T"; } );\n'
echo "configuration errors: ok"

printf 'dev_search_path = "";\nexports = ( { name = "m"; type = "memory"; size = "1M"; } );\n' \
	>"$T/good.conf"

# a start that fails without -f: the command says so
serve first "$T/good.conf"
out=$(timeout 20 "$SERVE" -c "$T/good.conf" -l "127.0.0.1:${PORT[first]}" -s "$T/second.sock" 2>&1)
rc=$?
[ $rc = 1 ] || { echo "$out"; fail "without -f, a port in use: exit $rc"; }
grep -qx "rnbd-serve: error: cannot start: cannot listen on 127\.0\.0\.1:${PORT[first]}: .*in use" \
	<<<"$out" || fail "without -f, a port in use: '$out'"
[ -e "$T/second.sock" ] && fail "a server that could not start made its control socket"
stop_bg first || { show_bg first; fail "first server: exit status"; }
echo "failed start without -f: ok"

# a start that works without -f: the command returns once it serves
SOCK[d]=$T/d.sock
out=$(timeout 20 "$SERVE" -c "$T/good.conf" -l 127.0.0.1:0 -s "${SOCK[d]}" 2>&1)
rc=$?
[ $rc = 0 ] || { echo "$out"; fail "without -f: exit $rc"; }
[ -z "$out" ] || fail "without -f, output: $out"
# the daemon's pid, from its end of the control socket
dpid=$(python3 - "${SOCK[d]}" <<-'PY'
	import socket, struct, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(10)
	s.connect(sys.argv[1])
	cred = s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
	print(struct.unpack("3i", cred)[0])
	PY
) || fail "no control socket right after the command returned"
CLEANUPS+=("kill -KILL $dpid")
r=$(ctl d '{"command":"exports"}')
[ "$(jget "$r" '[e["name"] for e in r["exports"]]')" = "['m']" ] || fail "daemon exports: $r"
kill -TERM "$dpid"
for i in $(seq 100); do
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$dpid" 2>/dev/null && fail "the daemon did not stop on SIGTERM"
[ -e "${SOCK[d]}" ] && fail "the daemon left its control socket"
echo "start without -f: ok"

echo "PASS: command line, configuration errors, starts without -f"
