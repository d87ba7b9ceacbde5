#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Our client against our server over RDMA with two paths, one per soft-RoCE
# device (rxe0 on dummy0, rxe1 on dummy1): verified random I/O at depth 32
# with the round-robin policy while path 1's link goes down and comes back.
# Requests in flight on the dead path fail over to the other one: no I/O
# error, no mismatch; the path reconnects while the I/O goes on.
#
# Soft-RoCE on 6.1 often loses its connection manager on a port for good
# when the link goes down under live connections (the disconnect requests
# fail to send): after that even rping cannot connect there.  So the
# reconnect of path 1 is required only when rping still works on rxe1;
# otherwise the case says so and checks the rest.  The reconnect delay
# (8 s) outlasts the outage so that no attempt is made while it is down.
. "$VM_LIB"
use_build
IO=$RNBD_BUILD/tests/integration/rnbd-io
need_libs "$RNBD_BUILD/cli/rnbd-serve" "$IO"
PORT=1236

rdma_up 0
rdma_up 1
rnbd-serve -f -t rdma -m 64M -l "$RDMA_ADDR:$PORT" -l "$RDMA_ADDR1:$PORT" -s /tmp/serve.sock \
	2>/tmp/serve.log &
SERVE=$!
check "rnbd-serve listens on both devices" wait_for 20 grep -q "ready" /tmp/serve.log
URI="rnbd://mp@$RDMA_ADDR:$PORT,$RDMA_ADDR1:$PORT/memory?transport=rdma&policy=round-robin"

step "two paths, verified I/O, path 1 down for 4 s"
RNBD_LOG=info "$IO" --seconds 40 --depth 32 --region 0:$((32 << 20)) --reconnect-delay-ms 8000 \
	--io-timeout-ms 20000 stress "$URI" >/tmp/stress.log 2>&1 &
STRESS=$!
check "the session is up on both paths" wait_for 60 grep -q "ready" /tmp/stress.log
sleep 2
info "taking dummy1 (path 1) down"
ip link set dummy1 down
sleep 4
info "bringing dummy1 back"
ip link set dummy1 up
if wait_for 25 sh -c '[ "$(grep -c "path up" /tmp/serve.log)" -ge 3 ]'; then
	info "path 1 reconnected"
elif rxe_cm_works "$RDMA_ADDR1"; then
	cat /tmp/serve.log /tmp/stress.log
	fail "path 1 did not reconnect while I/O ran, though rping works on rxe1"
else
	info "path 1 did not reconnect: rxe1's connection manager is dead after the flap"
	info "(rping fails there too; a soft-RoCE limitation, see the top of this file)"
fi
wait $STRESS
rc=$?
cat /tmp/stress.log
check "stress finished without errors" test $rc = 0
check "no mismatches" grep -q "mismatches=0" /tmp/stress.log
check "no I/O errors" grep -q " errors=0 " /tmp/stress.log
check "path 1 failed while I/O ran" grep -q "closing a path" /tmp/serve.log
tail -20 /tmp/serve.log

kill $SERVE
check "rnbd-serve stops" wait_for 20 sh -c "! kill -0 $SERVE 2>/dev/null"
rdma_down
mod_unload rdma_rxe
echo "32-rdma-multipath: ok"
