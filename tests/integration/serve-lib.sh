# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the rnbd-serve tests, on top of lib.sh.  Source it from a test
# called as "test-serve-X.sh RNBD_SERVE RNBD_IO"; then:
#   serve NAME CONF [ARGS...]   start rnbd-serve -f -c CONF on 127.0.0.1:0 as
#                               NAME (log: $T/NAME.err), wait until ready,
#                               PORT[NAME]=its port, SOCK[NAME]=its control socket
#   uri NAME DEV [SESS]         rnbd://[SESS@]127.0.0.1:PORT/DEV
#   io ARGS...                  rnbd-io ARGS, must exit 0 (output shown if not)
#   io_fails CODE REGEX ARGS... rnbd-io ARGS must exit CODE with output matching REGEX
#   info_get KEY ARGS...        the KEY= line of "rnbd-io info ARGS"
#   ctl NAME JSON               one control request; prints the reply line
#   jget JSON EXPR              python EXPR over the reply r (r["ok"], ...)
#   wait_count FILE REGEX N     wait (10 s) until N lines of FILE match REGEX
#   kill9_bg NAME               SIGKILL a start_bg process and reap it
# A client that hangs is stopped after IO_LIMIT seconds.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVE=${1:?usage: $0 RNBD_SERVE RNBD_IO}
IO=${2:?usage: $0 RNBD_SERVE RNBD_IO}
[ -x "$SERVE" ] || skip "no rnbd-serve at $SERVE"
[ -x "$IO" ] || skip "no rnbd-io at $IO"
requires_cmd python3 timeout
IO_LIMIT=120

declare -A PORT=() SOCK=()

serve() {
	local name=$1 conf=$2
	shift 2
	SOCK[$name]=$T/$name.sock
	start_bg "$name" "$SERVE" -f -c "$conf" -l 127.0.0.1:0 -s "${SOCK[$name]}" "$@"
	wait_for_line "$T/$name.err" 'rnbd-serve: info: ready$' ||
		{ show_bg "$name"; fail "rnbd-serve $name did not start"; }
	PORT[$name]=$(sed -n 's/^rnbd-serve: info: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
		"$T/$name.err" | tail -1)
	[ -n "${PORT[$name]}" ] || { show_bg "$name"; fail "no port in the log of $name"; }
}

uri() {
	echo "rnbd://${3:+$3@}127.0.0.1:${PORT[$1]}/$2"
}

io() {
	local out rc
	out=$(timeout -k 5 $IO_LIMIT "$IO" "$@" 2>&1)
	rc=$?
	[ "$rc" = 0 ] || { echo "$out"; fail "rnbd-io $*: exit $rc"; }
	echo "$out" >>"$T/io.log"
}

io_fails() {
	local code=$1 re=$2 out rc
	shift 2
	out=$(timeout -k 5 $IO_LIMIT "$IO" "$@" 2>&1)
	rc=$?
	[ "$rc" = "$code" ] || { echo "$out"; fail "rnbd-io $*: exit $rc, expected $code"; }
	grep -qE "$re" <<<"$out" || { echo "$out"; fail "rnbd-io $*: no '$re' in its output"; }
}

info_get() {
	local key=$1 out
	shift
	out=$(timeout -k 5 $IO_LIMIT "$IO" info "$@" 2>&1) ||
		{ echo "$out"; fail "rnbd-io info $*"; }
	sed -n "s/^$key=//p" <<<"$out"
}

ctl() {
	python3 - "${SOCK[$1]}" "$2" <<-'EOF'
	import socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(10)
	s.connect(sys.argv[1])
	s.sendall(sys.argv[2].encode() + b"\n")
	reply = b""
	while not reply.endswith(b"\n"):
	    part = s.recv(65536)
	    if not part:
	        break
	    reply += part
	print(reply.decode().strip())
	EOF
}

jget() {
	python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

wait_count() {
	local file=$1 re=$2 n=$3 i
	for i in $(seq 100); do
		[ "$(grep -cE "$re" "$file" 2>/dev/null)" -ge "$n" ] && return 0
		sleep 0.1
	done
	echo "timeout waiting for $n lines '$re' in $file:"
	tail -20 "$file"
	return 1
}

kill9_bg() {
	local pid=${BG_PID[$1]}
	kill -KILL "$pid"
	# bash would report the "Killed" job on stderr
	wait "$pid" 2>/dev/null
	unset "BG_PID[$1]"
}
