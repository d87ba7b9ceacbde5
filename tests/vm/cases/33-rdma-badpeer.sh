#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad input over RDMA (issue 7): a raw-verbs peer (tests/vm/rdma-badpeer.c)
# sends rnbd-serve a wrong magic, a wrong version, short private data, an
# unknown immediate type, a chunk id >= queue_depth, a trailer offset
# outside the chunk, a trailer overrunning the chunk, and reads whose
# descriptor lies before, behind or across the end of the peer's registered
# page.  Each handshake must be rejected and each connection closed, with
# the reason in the server's log; the peer checks that the canary pages
# around its registered page stay intact (soft-RoCE enforces rkey bounds).
# Data written by our real client before survives, and the server goes on
# serving it.  queue_depth is 100, not a power of two, so that the
# immediate can name chunk ids 100..127.
. "$VM_LIB"
use_build
IO=$RNBD_BUILD/tests/integration/rnbd-io
BADPEER=$RNBD_BUILD/tests/vm/rdma-badpeer
need_libs "$RNBD_BUILD/cli/rnbd-serve" "$IO" "$BADPEER"
PORT=1237

rdma_up 0
cat >/tmp/serve.conf <<CONF
transport = "rdma";
queue_depth = 100;
dev_search_path = "";
exports = ( { name = "memory"; type = "memory"; size = "64M"; } );
CONF
rnbd-serve -f -c /tmp/serve.conf -l "$RDMA_ADDR:$PORT" -s /tmp/serve.sock 2>/tmp/serve.log &
SERVE=$!
check "rnbd-serve listens on RDMA" wait_for 20 grep -q "ready" /tmp/serve.log
URI="rnbd://good@$RDMA_ADDR:$PORT/memory?transport=rdma"

step "a known pattern through our client"
check "write 4 MiB" "$IO" write "$URI" 1M 4M 33
check "verify 4 MiB" "$IO" verify "$URI" 1M 4M 33

# bad SCENARIO ERE: the peer sees the expected outcome, the server logs
# a line matching ERE for it and stays up
bad() {
	_from=$(($(wc -l </tmp/serve.log) + 1))
	"$BADPEER" "$RDMA_ADDR" $PORT "$1" || { cat /tmp/serve.log; fail "rdma-badpeer $1"; }
	if ! wait_for 5 sh -c "tail -n +$_from /tmp/serve.log | grep -Eq '$2'"; then
		tail -n +"$_from" /tmp/serve.log
		fail "rnbd-serve did not log /$2/ for $1"
	fi
	echo "ok: $1: $(tail -n +"$_from" /tmp/serve.log | grep -E "$2" | head -n 1 | cut -c 1-160)"
	kill -0 $SERVE 2>/dev/null || fail "rnbd-serve died after $1"
}

step "bad handshakes"
bad bad-magic "rejecting a connection: .*bad magic"
bad bad-version "rejecting a connection: .*unsupported protocol version"
bad short-pdata "rejecting cid 0: no session to join"

step "a well-formed read (the control for what follows)"
bad read-ok "session badpeer-3: path up"

step "bad frames after a correct handshake"
bad unknown-imm "closing a path: immediate of type 7 not expected"
bad chunk-id "closing a path: bad request: .*buf_id 100 >= queue_depth 100"
bad offset "closing a path: bad request: .*trailer offset [0-9]+ outside chunk"
bad trailer-overrun "closing a path: bad request: .*read trailer at [0-9]+ overruns chunk"
bad read-behind-mr "closing a path: send completion: remote access error"
bad read-before-mr "closing a path: send completion: remote access error"
bad read-too-long "closing a path: send completion: remote access error"

step "the server still serves"
check "the pattern is intact" "$IO" verify "$URI" 1M 4M 33
check "a fresh write" "$IO" write "$URI" 8M 2M 34
check "the fresh write verifies" "$IO" verify "$URI" 8M 2M 34
tail -n 30 /tmp/serve.log

kill $SERVE
check "rnbd-serve stops" wait_for 20 sh -c "! kill -0 $SERVE 2>/dev/null"
rdma_down
mod_unload rdma_rxe
echo "33-rdma-badpeer: ok"
