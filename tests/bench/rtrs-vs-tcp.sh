#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Raw RTRS over TCP loopback against its ceiling, a minimal blocking TCP
# ping-pong moving the same bytes, measured in the same run.  Each case runs
# both alternately (ROUNDS times, SECS each) and reports the median ratio.
# Usage: rtrs-vs-tcp.sh RTRS_PERF [ROUNDS] [SECS]
. "$(dirname "$0")/../integration/lib.sh"
perf=$1
rounds=${2:-3}
secs=${3:-2}

start_bg rsrv "$perf" server -l 127.0.0.1:0 -w 2 -m 1048576
start_bg tsrv "$perf" tcp-server -l 127.0.0.1:0
wait_for_line "$T/rsrv.out" '^listening on' || fail "rtrs server"
wait_for_line "$T/tsrv.out" '^listening on' || fail "tcp server"
rport=$(sed -n 's/^listening on 127.0.0.1://p' "$T/rsrv.out")
tport=$(sed -n 's/^listening on 127.0.0.1://p' "$T/tsrv.out")

field() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-22s %12s %12s %7s %10s %10s %7s\n' case rtrs_iops tcp_iops ratio \
	rtrs_p99us tcp_p99us target
while read -r name size depth dir target; do
	ratios=()
	for r in $(seq "$rounds"); do
		w=""; [ "$dir" = write ] && w=-W
		a=$("$perf" client -p "127.0.0.1:$rport" -s "$size" -d "$depth" -t "$secs" -w 2 $w) ||
			fail "$name: rtrs client"
		b=$("$perf" tcp-client -p "127.0.0.1:$tport" -s "$size" -d "$depth" -t "$secs" $w) ||
			fail "$name: tcp client"
		ai=$(field iops <<<"$a"); bi=$(field iops <<<"$b")
		ratios+=("$(awk -v a="$ai" -v b="$bi" 'BEGIN { printf "%.3f", a / b }')")
		last_a=$a; last_b=$b
	done
	ratio=$(printf '%s\n' "${ratios[@]}" | median)
	verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t ? "ok" : "BELOW") }')
	printf '%-22s %12s %12s %7s %10s %10s %5s %s\n' "$name" "$(field iops <<<"$last_a")" \
		"$(field iops <<<"$last_b")" "$ratio" "$(field p99_us <<<"$last_a")" \
		"$(field p99_us <<<"$last_b")" "$target" "$verdict"
done <<'CASES'
4k-read-qd1 4096 1 read 0.85
4k-read-qd32 4096 32 read 0.75
4k-write-qd32 4096 32 write 0.75
1m-read-qd1 1048576 1 read 0.80
1m-read-qd32 1048576 32 read 0.80
1m-write-qd8 1048576 8 write 0.80
CASES
