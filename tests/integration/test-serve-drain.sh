#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGTERM to rnbd-serve under load at queue depth 128, on a memory and a
# file export.  The server answers what it has, closes the sessions and
# exits 0.  Each client sees every request it issued complete exactly once:
# done before the stop, or failed with EIO once its short I/O timeout
# passed without a server; never with wrong data.  Whatever the file export
# acknowledged is in the file for the next server.
# Usage: test-serve-drain.sh RNBD_SERVE RNBD_IO
. "$(dirname "$0")/serve-lib.sh"
requires_cmd truncate

truncate -s 64M "$T/disk.img"
cat >"$T/serve.conf" <<EOF
dev_search_path = "";
exports = (
	{ name = "mem"; type = "memory"; size = "64M"; },
	{ name = "disk"; type = "file"; path = "$T/disk.img"; }
);
EOF
serve srv "$T/serve.conf"
pid=${BG_PID[srv]}

# the session is gone after the stop: requests wait io_timeout for a path
# that never comes back, then fail with EIO
for e in mem disk; do
	start_bg "c-$e" "$IO" stress "$(uri srv $e "drain-$e")" --seconds 6 --depth 128 \
		--size-max 128K --region 0:32M --io-timeout-ms 1500 --reconnect-delay-ms 300 \
		--allow-errno EIO --save-map "$T/$e.map"
	wait_for_line "$T/c-$e.err" "ready session=drain-$e" || fail "client $e did not start"
done
sleep 2
r=$(ctl srv '{"command":"list"}')
[ "$(jget "$r" 'sorted((s["name"], s["devices"][0]["bytes_written"] > 0)
	for s in r["sessions"])')" = "[('drain-disk', True), ('drain-mem', True)]" ] ||
	fail "not both under load: $r"

kill -TERM "$pid"
for i in $(seq 300); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && { show_bg srv; fail "rnbd-serve still running 30 s after SIGTERM"; }
rc=0
wait "$pid" || rc=$?
unset "BG_PID[srv]"
[ $rc = 0 ] || { show_bg srv; fail "rnbd-serve exited $rc after SIGTERM"; }
grep -q "rnbd-serve: info: SIGTERM: finishing requests in flight, closing sessions" "$T/srv.err" ||
	{ show_bg srv; fail "no drain in the log"; }
tail -1 "$T/srv.err" | grep -qx "rnbd-serve: info: stopped" || { show_bg srv; fail "not stopped"; }
grep -q "rnbd-serve: error" "$T/srv.err" && { show_bg srv; fail "errors in the log"; }
[ -e "${SOCK[srv]}" ] && fail "the control socket is still there"
echo "rnbd-serve: drained and exited 0"

for e in mem disk; do
	rc=0
	wait "${BG_PID[c-$e]}" || rc=$?
	unset "BG_PID[c-$e]"
	[ $rc = 0 ] || { show_bg "c-$e"; fail "client $e: exit $rc"; }
	line=$(grep '^stress: seconds' "$T/c-$e.out")
	echo "$e: $line"
	re='submitted=([0-9]+) completed=([0-9]+) twice=0 .* errors=0 '
	re+='allowed_errors=([0-9]+) verified_blocks=([0-9]+) mismatches=0$'
	[[ "$line" =~ $re ]] || fail "client $e: $line"
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] || fail "client $e: lost completions"
	# the stop did hit requests, and data was checked before it
	[ "${BASH_REMATCH[3]}" -gt 0 ] || fail "client $e: no request outlived the server"
	[ "${BASH_REMATCH[4]}" -gt 0 ] || fail "client $e: nothing verified"
	grep -qx "final: stopped at offset 0: EIO (allowed)" "$T/c-$e.out" ||
		{ show_bg "c-$e"; fail "client $e: final read did not fail with EIO"; }
done

# a new server over the same file has every write the first one acknowledged
serve srv2 "$T/serve.conf"
out=$("$IO" verify-map "$(uri srv2 disk)" "$T/disk.map" 2>&1) ||
	{ echo "$out"; fail "acknowledged writes missing after the drain"; }
grep -qE "^verify-map: verified_blocks=[1-9][0-9]* mismatches=0$" <<<"$out" || fail "$out"
echo "after the drain: $(grep '^verify-map:' <<<"$out")"
stop_bg srv2 || { show_bg srv2; fail "rnbd-serve exit status"; }
echo "PASS: SIGTERM drains, clients see completions or EIO, never bad data"
