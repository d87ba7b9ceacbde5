#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The VM works: the modules load (rdma_rxe, rtrs, rnbd, ublk_drv, brd),
# soft-RoCE comes up (rdma link, ibv_devices), the shares are mounted.
. "$VM_LIB"
echo "kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ { print $2 / 1024 " MiB" }' /proc/meminfo)"

step "shares"
check "source tree on /host/src" test -f "$RNBD_SRC/tests/vm/cases/$VM_CASE.sh"
if [ -d "$RNBD_BUILD/librnbd" ]; then
	echo "ok: build directory on /host/build"
	# every executable of the build finds its shared libraries in the image
	n=0
	for f in $(find "$RNBD_BUILD" -path "$RNBD_BUILD/vm-cache" -prune -o \
		-name '*.p' -prune -o -type f -perm -u+x -print); do
		[ "$(head -c 4 "$f" | tr -d '\177')" = ELF ] || continue
		missing=$(/lib64/ld-linux-x86-64.so.2 --list "$f" 2>&1 | grep 'not found')
		[ -z "$missing" ] || fail "${f#"$RNBD_BUILD"/}: $missing (add it to build-initramfs.sh)"
		n=$((n + 1))
	done
	echo "ok: the libraries of $n executables in the build directory resolve"
	if [ -x "$RNBD_BUILD/cli/rnbdctl" ]; then
		check "rnbdctl runs: $(rnbdctl --version)" rnbdctl --version
	fi
else
	echo "note: no build directory shared"
fi
check "results share writable" sh -c "echo ok >'$VM_RESULTS/write-test'"

step "harness: the kernel log check catches errors"
echo "<3>rnbd_client: vmtest injected error" >/dev/kmsg
injected() { kmsg_bad | grep -q 'vmtest injected error'; }
check "an injected err-level line is reported" injected
kmsg_allow 'vmtest injected error'
check_not "and not once allowed with kmsg_allow" injected

step "modules"
for m in rdma_rxe rtrs-core rtrs-client rtrs-server rnbd-client rnbd-server ublk_drv; do
	mod_load "$m"
done
mod_load brd rd_nr=1 rd_size=4096
check "/dev/ram0" test -b /dev/ram0
check "/dev/ublk-control" test -c /dev/ublk-control
check "rnbd-client control file" test -e /sys/devices/virtual/rnbd-client/ctl/map_device

step "soft-RoCE"
rdma_up 0
rdma link show
check "ibv_devices lists rxe0" sh -c 'ibv_devices | grep -q rxe0'
ibv_devinfo -d rxe0 | grep -E 'state|active_mtu|link_layer'
check "rxe0 GID has $RDMA_ADDR" sh -c "grep -qs \"ffff:$(printf '%02x%02x:%02x%02x' $(echo "$RDMA_ADDR" | tr . ' '))\" /sys/class/infiniband/rxe0/ports/1/gids/*"

step "unload"
rdma_down
mod_unload rnbd-client rnbd-server rtrs-client rtrs-server rtrs-core ublk_drv brd rdma_rxe
echo "00-boot: ok"
