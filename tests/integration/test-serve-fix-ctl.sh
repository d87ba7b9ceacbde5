#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# rnbd-serve's control socket: every request that fails says why, with a
# message that names what was not found, for close-session, show and
# force-close-device (errors that arise on an I/O thread included), for
# missing arguments, unknown commands and a failed reload; replies write
# "/" as it is, not "\/".
# Usage: test-serve-fix-ctl.sh RNBD_SERVE RNBD_IO
. "$(dirname "$0")/serve-lib.sh"

conf=$T/serve.conf
cat >"$conf" <<EOF2
dev_search_path = "$T/dir/%SESSNAME%";
exports = (
	{ name = "vm/m"; type = "memory"; size = "16M"; },
	{ name = "f"; type = "file"; path = "$T/f.img"; }
);
EOF2
truncate -s 1M "$T/f.img"
serve srv "$conf"

# err JSON ERRNO MESSAGE: the request fails with that errno and exactly that message
err() {
	local r
	r=$(ctl srv "$1")
	[ "$(jget "$r" '(r["ok"], r["errno"])')" = "(False, $2)" ] || fail "$1: $r"
	[ "$(jget "$r" 'r["error"]')" = "$3" ] || fail "$1: '$(jget "$r" 'r["error"]')', not '$3'"
}

err '{"command":"close-session","session":"nobody"}' 2 "no session named nobody"
err '{"command":"show","session":"nobody"}' 2 "no session named nobody"
err '{"command":"force-close-device","session":"nobody","id":0}' 2 "no session named nobody"
err '{"command":"close-session"}' 22 'close-session needs a "session"'
err '{"command":"force-close-device","session":"s1"}' 22 \
	'force-close-device needs a device "id"'
err '{"command":"frobnicate"}' 22 "unknown command 'frobnicate'"
err '{"session":"s1"}' 22 'request without a "command"'
echo "no session: ok"

# with a live session, its unknown device
start_bg stress "$IO" stress "$(uri srv vm/m s1)" --seconds 30 --depth 4 --size-max 64K
wait_for_line "$T/stress.err" "ready session=s1 device_id=0" || fail "stress did not start"
err '{"command":"force-close-device","session":"s1","id":7}' 2 "session s1 has no device 7 open"
r=$(ctl srv '{"command":"show","session":"s1"}')
[ "$(jget "$r" '[d["name"] for d in r["session"]["devices"]]')" = "['vm/m']" ] || fail "show: $r"
grep -qF '\/' <<<"$r" && fail "show escapes '/': $r"
grep -qF '"name":"vm/m"' <<<"$r" || fail "show: no plain vm/m: $r"
r=$(ctl srv '{"command":"close-session","session":"s1"}')
[ "$(jget "$r" 'r["ok"]')" = True ] || fail "close-session s1: $r"
stop_bg stress >/dev/null 2>&1
echo "live session: ok"

# a reload that fails says where
echo 'port = ;' >>"$conf"
r=$(ctl srv '{"command":"reload"}')
[ "$(jget "$r" '(r["ok"], r["errno"])')" = "(False, 22)" ] || fail "bad reload: $r"
grep -qE "^$conf:[0-9]+: syntax error$" <<<"$(jget "$r" 'r["error"]')" || fail "bad reload: $r"
echo "failed reload: ok"

# slashes as they are
r=$(ctl srv '{"command":"exports"}')
grep -qF '\/' <<<"$r" && fail "exports escapes '/': $r"
grep -qF "\"path\":\"$T/f.img\"" <<<"$r" || fail "exports: no plain path: $r"
grep -qF '"name":"vm/m"' <<<"$r" || fail "exports: no plain vm/m: $r"
grep -qF "\"dev_search_path\":\"$T/dir/%SESSNAME%\"" <<<"$r" || fail "exports: search path: $r"
echo "slashes: ok"

stop_bg srv || { show_bg srv; fail "exit status"; }
echo "PASS: control socket errors say why; slashes unescaped"
