#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A reload that changes settings only a restart applies warns naming every
# one of them (not only listen/port/workers/queue_depth), on SIGHUP and on
# the "reload" command alike, and warns again on the next reload: the values
# compared with are those the server runs with, not the last file's.  A
# reload that changes exports only, or names the values in use, is silent.
# Usage: test-serve-fix-reload.sh RNBD_SERVE RNBD_IO
. "$(dirname "$0")/serve-lib.sh"

conf=$T/serve.conf
log=$T/srv.err
WARN='^rnbd-serve: warning: changed, but applied on restart only: '

put_conf() {
	printf '%b' "$1" >"$conf.new"
	mv "$conf.new" "$conf"
}

base='dev_search_path = "";\ntransport = "tcp";\nmax_io_size = "64K";\n'
put_conf "$base"'exports = ( { name = "a"; type = "memory"; size = "1M"; } );\n'
serve srv "$conf"
pid=${BG_PID[srv]}

# exports only: no warning
put_conf "$base"'exports = ( { name = "b"; type = "memory"; size = "1M"; } );\n'
kill -HUP "$pid"
wait_count "$log" 'configuration reloaded' 1 || fail "first reload"
grep -qE "$WARN" "$log" && fail "a warning for a reload of exports: $(grep -E "$WARN" "$log")"
io info "$(uri srv b)"
echo "exports only: ok"

# every restart-only setting the command line leaves to the file
put_conf 'dev_search_path = "";\nmax_io_size = "32K";\nheartbeat_ms = 1000;\n'\
'queue_depth = 64;\nworkers = 1;\nmax_sessions = 9;\nmax_paths = 3;\nmax_devices = 5;\n'\
'sndbuf = "1M";\n'\
'port = 77;\nexports = ( { name = "b"; type = "memory"; size = "1M"; } );\n'
all='port, workers, queue_depth, max_io_size, heartbeat_ms, max_sessions, max_paths, max_devices, sndbuf$'
kill -HUP "$pid"
wait_count "$log" 'configuration reloaded' 2 || fail "second reload"
wait_count "$log" "$WARN$all" 1 || fail "no warning naming them all"
# still the running values: a second reload of the same file warns again
r=$(ctl srv '{"command":"reload"}')
[ "$(jget "$r" 'r["ok"]')" = True ] || fail "reload command: $r"
wait_count "$log" "$WARN$all" 2 || fail "the second reload did not warn"
# and the server does run with them: max_io_size stayed 64K
[ "$(info_get max_io_size "$(uri srv b)")" -gt 32768 ] || fail "max_io_size changed by a reload"
echo "restart-only settings: ok"

# back to the values in use (port 0 and workers 0 are the defaults): silent
put_conf "$base"'exports = ( { name = "b"; type = "memory"; size = "1M"; } );\n'
kill -HUP "$pid"
wait_count "$log" 'configuration reloaded' 4 || fail "fourth reload"
[ "$(grep -cE "$WARN" "$log")" = 2 ] || fail "a warning for the values in use: $(tail -3 "$log")"
echo "values in use: ok"

stop_bg srv || { show_bg srv; fail "exit status"; }
echo "PASS: reload warnings name every restart-only setting, every time"
