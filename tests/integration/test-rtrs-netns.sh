#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Multipath failover across two veth links between two network namespaces:
# for each policy, writes and reads with checksums run over both paths, one
# link goes down mid-run and comes back.  Every request must complete exactly
# once with correct data, some must have failed over, and the path must
# reconnect.  Usage: test-rtrs-netns.sh RTRS_ECHO
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
echo_bin=$1
netns_setup

# reads are answered from lent memory (-L): responses queued when a link
# goes down must be given back all the same
start_bg srv ip netns exec "$NS_S" "$echo_bin" server -l 0.0.0.0:0 -w 2 -m 262144 -H 300 -L
wait_for_line "$T/srv.out" '^listening on' || fail "server did not start"
port=$(sed -n 's/^listening on 0.0.0.0://p' "$T/srv.out")

for policy in round-robin min-inflight min-latency; do
	RTRS_ECHO_PATHS=1 RTRS_ECHO_LOG=1 ip netns exec "$NS_C" "$echo_bin" client \
		-s "mp-${policy}" -p "$CLT_IP1,$SRV_IP1:$port" -p "$CLT_IP2,$SRV_IP2:$port" \
		-P "$policy" -R 9 -d 32 -w 2 -S 262144 -r 300 -H 300 -T 20000 \
		>"$T/cli.out" 2>"$T/cli.err" &
	cli=$!
	sleep 2.5
	ip -n "$NS_C" link set "$VC2" down
	sleep 3
	ip -n "$NS_C" link set "$VC2" up
	wait $cli
	rc=$?
	cat "$T/cli.out"
	[ $rc = 0 ] || { cat "$T/cli.err"; show_bg srv; fail "$policy: client exit $rc"; }
	grep -qE "^issued ([0-9]+) completed \1 bad 0 failed 0 twice 0 " "$T/cli.out" ||
		fail "$policy: not every request completed exactly once"
	grep -qE "failovers [1-9]" "$T/cli.out" || fail "$policy: no request failed over"
	grep -qE "^path 1 connected .* reconnects [1-9]" "$T/cli.out" ||
		fail "$policy: path 1 did not come back"
	grep -qE "^path 0 connected .* reconnects 0" "$T/cli.out" ||
		fail "$policy: path 0 was disturbed"
done
stop_bg srv || { show_bg srv; fail "server exit status"; }
grep -q "0 with bad data, 0 lent pieces not given back" "$T/srv.out" ||
	{ show_bg srv; fail "server saw bad data or kept lent pieces"; }
echo "PASS"
