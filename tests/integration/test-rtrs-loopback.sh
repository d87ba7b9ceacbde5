#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# RTRS over TCP on loopback, real processes: mixed requests of 0..1 MiB,
# checksummed both ways, at queue depths 1..128, and several sessions at
# once.  Usage: test-rtrs-loopback.sh RTRS_ECHO [COUNT]
. "$(dirname "$0")/lib.sh"
echo_bin=$1
count=${2:-100000}

start_bg srv "$echo_bin" server -l 127.0.0.1:0 -w 2 -m 1048576
wait_for_line "$T/srv.out" '^listening on' || fail "server did not start"
port=$(sed -n 's/^listening on 127.0.0.1://p' "$T/srv.out")

total=0
for qd in 1 8 32 128; do
	n=$((count / 4))
	[ "$qd" = 1 ] && n=$((count / 20))
	out=$("$echo_bin" client -p "127.0.0.1:$port" -s "qd$qd" -n "$n" -d "$qd" -w 2 \
		-S 1048576 2>&1) || { echo "$out"; show_bg srv; fail "QD $qd"; }
	echo "QD $qd: $out"
	grep -q "completed $n bad 0 failed 0 twice 0" <<<"$out" || fail "QD $qd: $out"
	total=$((total + n))
done

# four sessions at once, each its own client process with two sessions
pids=()
for k in 1 2 3 4; do
	"$echo_bin" client -p "127.0.0.1:$port" -s "multi$k" -k 2 -n 2000 -d 16 -w 2 \
		-S 131072 >"$T/multi$k.out" 2>&1 &
	pids+=($!)
done
for k in 1 2 3 4; do
	wait "${pids[$((k - 1))]}" || { cat "$T/multi$k.out"; fail "session set $k"; }
	grep -q "completed 4000 bad 0 failed 0 twice 0" "$T/multi$k.out" ||
		fail "session set $k: $(cat "$T/multi$k.out")"
	total=$((total + 4000))
done
echo "8 concurrent sessions: ok"

stop_bg srv || { show_bg srv; fail "server exit status"; }
served=$(sed -n 's/^served \([0-9]*\) requests, 0 with bad data, 0 lent .*/\1/p' "$T/srv.out")
[ "$served" = "$total" ] || { show_bg srv; fail "server served '$served', clients sent $total"; }
echo "PASS: $total requests verified end to end"
