#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# rnbd-serve reconfigured under load: a stress client on export A runs
# through two SIGHUP reloads (B added, C removed) and a failed one (a syntax
# error, logged with file and line, old configuration kept) without a single
# error.  Then the control socket: list with live counters, exports, reload,
# close-session of an idle session (which reconnects), and
# force-close-device, after which the client's I/O gets ENOTCONN.
# Usage: test-serve-reload.sh RNBD_SERVE RNBD_IO
. "$(dirname "$0")/serve-lib.sh"

conf=$T/serve.conf
write_conf() {
	local e
	{
		echo 'dev_search_path = "";'
		echo 'exports = ('
		for e in "$@"; do
			case $e in
			A) echo '	{ name = "A"; type = "memory"; size = "64M"; },' ;;
			B) echo '	{ name = "B"; type = "memory"; size = "16M"; },' ;;
			C) echo '	{ name = "C"; type = "memory"; size = "1M"; },' ;;
			esac
		done
		echo '	{ name = "Z"; type = "memory"; size = "4K"; }'
		echo ');'
	} >"$conf.new"
	mv "$conf.new" "$conf"
}

write_conf A C
serve srv "$conf"
pid=${BG_PID[srv]}
log=$T/srv.err
io info "$(uri srv C)"
io_fails 2 "ENOENT \(No such file or directory\): OPEN B \(rw\)" info "$(uri srv B)"

start_bg stress "$IO" stress "$(uri srv A stress)" --seconds 8 --depth 16 --size-max 128K \
	--region 0:32M
wait_for_line "$T/stress.err" "ready session=stress device_id=0" || fail "stress did not start"
sleep 1

# the live session, its device and counters
r=$(ctl srv '{"command":"list"}')
[ "$(jget "$r" 'r["ok"]')" = True ] || fail "list: $r"
[ "$(jget "$r" '[s["name"] for s in r["sessions"]]')" = "['stress']" ] || fail "list: $r"
[ "$(jget "$r" '[(d["id"], d["name"], d["mode"], d["size"], d["forced"])
	for d in r["sessions"][0]["devices"]]')" = "[(0, 'A', 'rw', 67108864, False)]" ] ||
	fail "list devices: $r"
[ "$(jget "$r" 'all(r["sessions"][0]["devices"][0][k] > 0
	for k in ("reads", "writes", "bytes_read", "bytes_written"))')" = True ] ||
	fail "list counters: $r"
[ "$(jget "$r" '[(p["state"], p["local"], p["bytes_read"] > 0, p["bytes_write"] > 0)
	for p in r["sessions"][0]["paths"]]')" = "[('connected', '127.0.0.1:${PORT[srv]}', True, True)]" ] ||
	fail "list paths: $r"
echo "list during stress: ok"

# two reloads: B appears, C goes
write_conf A B
kill -HUP "$pid"
wait_count "$log" "configuration reloaded: 3 exports, 0 rules" 1 || fail "first SIGHUP"
kill -HUP "$pid"
wait_count "$log" "configuration reloaded: 3 exports, 0 rules" 2 || fail "second SIGHUP"
grep -c "SIGHUP: reloading $conf" "$log" | grep -qx 2 || fail "SIGHUP not logged twice"

# a broken file: logged with its line, the running configuration stays
printf 'dev_search_path = "";\nexports = (\n\t{ name = "B"; type = "memory"; size = ; }\n);\n' >"$conf"
kill -HUP "$pid"
wait_for_line "$log" \
	"rnbd-serve: error: reload failed, keeping the old configuration: $conf:3: syntax error" ||
	fail "no error for the broken file"
kill -0 "$pid" || fail "rnbd-serve died on a broken configuration"
io write "$(uri srv B)" 0 65536 31
io verify "$(uri srv B)" 0 65536 31
io_fails 2 "ENOENT \(No such file or directory\): OPEN C \(rw\)" info "$(uri srv C)"
echo "SIGHUP: ok"

# reload over the socket, failing then working
r=$(ctl srv '{"command":"reload"}')
[ "$(jget "$r" '(r["ok"], r["errno"])')" = "(False, 22)" ] || fail "reload of a broken file: $r"
[[ "$(jget "$r" 'r["error"]')" == "$conf:3: syntax error" ]] || fail "reload error: $r"
write_conf A B C
r=$(ctl srv '{"command":"reload"}')
[ "$(jget "$r" 'r["ok"]')" = True ] || fail "reload: $r"
wait_count "$log" "configuration reloaded: 4 exports, 0 rules" 1 || fail "socket reload"
r=$(ctl srv '{"command":"exports"}')
[ "$(jget "$r" '[e["name"] for e in r["exports"]]')" = "['A', 'B', 'C', 'Z']" ] ||
	fail "exports: $r"
io info "$(uri srv C)"
echo "socket reload: ok"

# close-session on an idle session: it reconnects and re-opens by itself
start_bg idle "$IO" verify "$(uri srv B idle)" 0 65536 31 --wait-for "$T/go-idle" \
	--reconnect-delay-ms 200
wait_for_line "$T/idle.err" "ready session=idle" || fail "idle client did not start"
r=$(ctl srv '{"command":"close-session","session":"idle"}')
[ "$(jget "$r" 'r["ok"]')" = True ] || fail "close-session: $r"
wait_for_line "$log" "rnbd server: session idle disconnected" || fail "session not closed"
wait_count "$log" "rnbd server: session idle: device [0-9]+ is B" 2 || fail "no re-open"
touch "$T/go-idle"
rc=0
wait "${BG_PID[idle]}" || rc=$?
unset "BG_PID[idle]"
[ $rc = 0 ] || { show_bg idle; fail "idle client after close-session: exit $rc"; }
r=$(ctl srv '{"command":"show","session":"nobody"}')
[ "$r" = '{"ok":false,"errno":2,"error":"no session named nobody"}' ] || fail "show nobody: $r"
r_nobody=$(ctl srv '{"command":"close-session","session":"nobody"}')
[ "$(jget "$r_nobody" '(r["ok"], r["errno"])')" = "(False, 2)" ] ||
	fail "close-session nobody: $r_nobody"
echo "close-session: ok"

# force-close-device: the client is not told, its next I/O fails
start_bg fc "$IO" write "$(uri srv B fc)" $((1 << 20)) 65536 32 --wait-for "$T/go-fc"
wait_for_line "$T/fc.err" "ready session=fc" || fail "fc client did not start"
id=$(sed -n 's/.*ready session=fc device_id=//p' "$T/fc.err")
r=$(ctl srv '{"command":"force-close-device","session":"fc","id":7}')
[ "$(jget "$r" '(r["ok"], r["errno"], r["error"])')" = \
	"(False, 2, 'session fc has no device 7 open')" ] || fail "force-close of id 7: $r"
r=$(ctl srv "{\"command\":\"force-close-device\",\"session\":\"fc\",\"id\":$id}")
[ "$(jget "$r" 'r["ok"]')" = True ] || fail "force-close-device: $r"
r=$(ctl srv '{"command":"show","session":"fc"}')
[ "$(jget "$r" '[(d["id"], d["forced"]) for d in r["session"]["devices"]]')" = \
	"[($id, True)]" ] || fail "show after force-close: $r"
touch "$T/go-fc"
rc=0
wait "${BG_PID[fc]}" || rc=$?
unset "BG_PID[fc]"
[ $rc = 1 ] || { show_bg fc; fail "write after force-close: exit $rc"; }
grep -q "write at 1048576 + 65536: ENOTCONN (Transport endpoint is not connected)" \
	"$T/fc.err" || { show_bg fc; fail "write after force-close did not get ENOTCONN"; }
grep -q "force-closing device $id (B)" "$log" || fail "force-close not logged"
echo "force-close-device: ok"

# the stress run went through all of it
rc=0
wait "${BG_PID[stress]}" || rc=$?
unset "BG_PID[stress]"
[ $rc = 0 ] || { show_bg stress; fail "stress: exit $rc"; }
grep -qE "^stress: seconds=.* errors=0 allowed_errors=0 verified_blocks=[1-9][0-9]* mismatches=0$" \
	"$T/stress.out" || { show_bg stress; fail "stress results"; }
grep -qE "^final: verified_blocks=[1-9][0-9]* mismatches=0$" "$T/stress.out" ||
	{ show_bg stress; fail "stress final verification"; }
grep '^stress: seconds' "$T/stress.out"

stop_bg srv || { show_bg srv; fail "rnbd-serve exit status"; }

# Library bugs, checked last so that everything above runs regardless:
# errors must come with a message (rnbd.h: "with a human-readable message").
bugs=0
[ -n "$(jget "$r_nobody" 'r["error"]')" ] || {
	echo "BUG: close-session of an unknown session answers an empty error: $r_nobody"
	bugs=$((bugs + 1))
}
grep -qE "ENOTCONN \(Transport endpoint is not connected\): .+" "$T/fc.err" || {
	echo "BUG: rnbd_dev_pwrite failed with ENOTCONN and left rnbd_errmsg() empty"
	bugs=$((bugs + 1))
}
[ $bugs = 0 ] || fail "$bugs library bugs, see above"
echo "PASS: reloads under load and the control socket"
