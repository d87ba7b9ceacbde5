#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# TCP socket buffers: rnbd-serve's sndbuf/rcvbuf apply to every connection
# it accepts, a URI's ?sndbuf=&rcvbuf= to every connection of the client's
# session; seen with ss(8) on the live connections (Linux doubles them).
# Without the settings the kernel autotunes (no fixed size).
# Usage: test-sockbuf.sh RNBD_SERVE RNBD_IO
. "$(dirname "$0")/serve-lib.sh"
requires_cmd ss

cat >"$T/serve.conf" <<EOF
dev_search_path = "";
sndbuf = "256K";
rcvbuf = "512K";
exports = ( { name = "m"; type = "memory"; size = "16M"; } );
EOF
serve srv "$T/serve.conf"
port=${PORT[srv]}

# skmem FIELD LOCAL|PEER: FIELD (tb: send buffer, rb: receive buffer) of
# every established connection whose local or peer port is the server's
skmem() {
	local field=$1 side=$2
	ss -tmnH state established "( ${side,,}port = :$port )" |
		sed -n "s/.*skmem:([^)]*\b$field\([0-9]*\).*/\1/p" | sort -u
}

start_bg io "$IO" --seconds 5 --depth 4 --workers 2 stress \
	"$(uri srv m sb)?sndbuf=128K&rcvbuf=384K"
wait_for_line "$T/io.err" '^rnbd-io: ready' || { show_bg io; fail "rnbd-io did not connect"; }
# con 0 and one per worker, on each side
n=$(ss -tnH state established "( sport = :$port )" | wc -l)
[ "$n" = 3 ] || { ss -tnm; fail "$n server-side connections, not 3"; }
[ "$(skmem tb S)" = $((2 * 256 << 10)) ] || { ss -tnm; fail "server send buffer: $(skmem tb S)"; }
[ "$(skmem rb S)" = $((2 * 512 << 10)) ] || { ss -tnm; fail "server receive buffer: $(skmem rb S)"; }
[ "$(skmem tb D)" = $((2 * 128 << 10)) ] || { ss -tnm; fail "client send buffer: $(skmem tb D)"; }
[ "$(skmem rb D)" = $((2 * 384 << 10)) ] || { ss -tnm; fail "client receive buffer: $(skmem rb D)"; }
wait "${BG_PID[io]}" || { show_bg io; fail "stress with fixed buffers failed"; }
unset "BG_PID[io]"
grep -q " errors=0 " "$T/io.out" || { show_bg io; fail "I/O errors"; }
grep -q "mismatches=0" "$T/io.out" || { show_bg io; fail "mismatches"; }
echo "fixed sizes: ok"

io_fails 2 "sndbuf '2G': bytes, or with a K, M or G suffix, up to 1G" info "$(uri srv m)?sndbuf=2G"
echo "a bad size in the URI: ok"
