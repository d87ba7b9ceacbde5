# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the shell integration tests.  Source it; then:
#   requires_root "why"       skip (77) unless root
#   requires_cmd ip ...       skip unless the commands exist
#   start_bg NAME CMD...      start CMD in the background, output in $T/NAME.{out,err}
#   wait_for_line FILE REGEX  wait (10 s) until FILE has a line matching REGEX
#   stop_bg NAME              SIGTERM then wait (10 s) then SIGKILL, by PID
# Every process started with start_bg is stopped on exit.
set -uo pipefail

T=$(mktemp -d "${TMPDIR:-/tmp}/rnbd-test.XXXXXX")
declare -A BG_PID=()
CLEANUPS=()

cleanup() {
	local name
	for name in "${!BG_PID[@]}"; do
		stop_bg "$name" >/dev/null 2>&1
	done
	for c in "${CLEANUPS[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap "exit 143" TERM INT

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

requires_root() { [ "$(id -u)" = 0 ] || skip "needs root: $*"; }

requires_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "needs $c"
	done
}

start_bg() {
	local name=$1
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	BG_PID[$name]=$!
}

wait_for_line() {
	local file=$1 re=$2 i
	for i in $(seq 100); do
		grep -qE "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timeout waiting for '$re' in $file:"
	cat "$file" "${file%.out}.err" 2>/dev/null | tail -20
	return 1
}

stop_bg() {
	local name=$1 pid=${BG_PID[$1]:-} i rc
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	unset "BG_PID[$name]"
	return $rc
}

# show_bg NAME: its output, for a failure report
show_bg() {
	echo "--- $1 stdout"; cat "$T/$1.out" 2>/dev/null | tail -20
	echo "--- $1 stderr"; cat "$T/$1.err" 2>/dev/null | tail -40
}
