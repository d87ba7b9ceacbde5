#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's main job: build librnbd, start rnbd-serve with its built-in
# memory export on loopback, and run hello-client against it.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${RNBD_DEMO_PORT:-1234}

[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

log=$(mktemp)
build/cli/rnbd-serve -f -l "127.0.0.1:$port" -s "$(dirname "$log")/rnbd-demo.sock" \
	-m 256M 2>"$log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
	grep -q ready "$log" && break
	kill -0 $server 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.1
done
sed 's/^/  /' "$log"
build/examples/hello-client "rnbd://127.0.0.1:$port/memory"
