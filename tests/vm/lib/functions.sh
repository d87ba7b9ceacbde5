# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the test cases running inside the VM. /init sources this file
# too; in the image it is /usr/lib/rnbd-vm/functions.sh and every case starts
# with
#       . "$VM_LIB"
# POSIX sh (the cases run under dash).
#
# Environment set by /init for each case:
#   VM_CASE      case name (file name without .sh)
#   VM_RESULTS   per-case directory for artifacts, on the host in
#                <results>/<case>/ when the results share is mounted
#   RNBD_SRC     the source tree (read-only 9p share), /host/src
#   RNBD_BUILD   the meson build directory (read-only 9p share), /host/build
#   VM_LIB       this file
#
# RDMA topology (Debian 6.1, verified): soft-RoCE devices on dummy netdevs in
# the root network namespace; client and server use the same device and
# address (rxe loops the packets back internally). Path 0: dummy0
# 10.98.0.1/25 + rxe0; path 1 (rdma_up 1): dummy1 10.98.0.129/25 + rxe1.
# rxe on "lo" does not work with rdma_cm, nor do two rxe devices talking to
# each other, nor rxe across network namespaces.

VM_RUN=/run/vmtest
RDMA_ADDR0=10.98.0.1
RDMA_ADDR1=10.98.0.129
RDMA_PREFIX=25

step() { echo "---- $*"; }
info() { echo "  $*"; }
now() { cut -d' ' -f1 /proc/uptime; }

# fail MSG: print the message and the new kernel messages, end the case (1)
fail() {
	echo "FAIL: $*"
	echo "---- kernel log since the case started (last 40 lines):"
	kmsg_new | tail -n 40
	exit 1
}
# skip MSG: end the case as skipped (77)
skip() { echo "SKIP: $*"; exit 77; }

# check DESC CMD...: run CMD, print "ok: DESC" or fail
check() {
	_desc=$1
	shift
	if "$@"; then
		echo "ok: $_desc"
	else
		fail "$_desc (rc=$?: $*)"
	fi
}
# check_not DESC CMD...: CMD must fail
check_not() {
	_desc=$1
	shift
	if "$@"; then fail "$_desc (succeeded: $*)"; else echo "ok: $_desc"; fi
}
# wait_for SECS CMD...: poll CMD every 0.2 s until it succeeds; 1 on timeout
wait_for() {
	_n=$(($1 * 5))
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		_n=$((_n - 1))
	done
	"$@"
}
need_cmd() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || skip "$_c not in the VM image"
	done
}

# rate BYTES START END: "N.N MB/s" (START/END from now())
rate() { awk -v b="$1" -v s="$2" -v e="$3" 'BEGIN { d = e - s; if (d <= 0) d = 0.01; printf "%.2f s, %.1f MB/s", d, b / d / 1e6 }'; }

# ---------------------------------------------------------------- kernel log
# The kernel log is checked after every case by /init: a case fails when, in
# the log lines written while it ran, the kernel reported a warning/oops/BUG
# or any message at level err or worse (rtrs, rnbd, rxe, ublk errors...),
# unless the line matches KMSG_ALLOW_DEFAULT or a kmsg_allow pattern.
KMSG_ALLOW_DEFAULT='module verification failed|loading out-of-tree module taints kernel'
KMSG_BAD='WARNING:|BUG:|Oops|Call Trace|general protection fault|kernel BUG|UBSAN|KASAN|blocked for more than|soft lockup|hard LOCKUP|Kernel panic|refcount_t|list_add corruption|list_del corruption|stall on CPU|cut here'

# kmsg_mark NOTE: start a new window (used by /init before each case)
kmsg_mark() {
	mkdir -p "$VM_RUN"
	echo "<6>vmtest: $*" >/dev/kmsg 2>/dev/null
	dmesg -r 2>/dev/null | wc -l >"$VM_RUN/kmsg.mark"
	: >"$VM_RUN/kmsg.allow"
}
# kmsg_new: the kernel log lines (raw, "<level>[time] text") since the mark
kmsg_new() {
	_km=$(cat "$VM_RUN/kmsg.mark" 2>/dev/null || echo 0)
	dmesg -r 2>/dev/null | tail -n +$((_km + 1))
}
# kmsg_allow ERE: lines matching ERE are expected in this case (negative tests)
kmsg_allow() { echo "$1" >>"$VM_RUN/kmsg.allow"; }
# kmsg_bad: print the offending lines since the mark (nothing = clean)
kmsg_bad() {
	_allow=$KMSG_ALLOW_DEFAULT
	if [ -s "$VM_RUN/kmsg.allow" ]; then
		_allow="$_allow|$(tr '\n' '|' <"$VM_RUN/kmsg.allow" | sed 's/|$//')"
	fi
	kmsg_new | awk -v allow="$_allow" -v bad="$KMSG_BAD" '
		{ lvl = 7; if (match($0, /^<[0-9]+>/)) lvl = substr($0, 2, RLENGTH - 2) % 8 }
		$0 ~ allow { next }
		$0 ~ bad || lvl <= 3 { print }'
}
# kmsg_check [WHAT]: fail now if the kernel complained since the case started
kmsg_check() {
	_bad=$(kmsg_bad)
	[ -z "$_bad" ] && return 0
	echo "kernel log errors${1:+ after $1}:"
	echo "$_bad" | head -n 40
	fail "kernel logged errors${1:+ after $1}"
}

# ---------------------------------------------------------------- modules
mod_loaded() { [ -d "/sys/module/$(echo "$1" | tr - _)" ]; }
# mod_load NAME [PARAM=VALUE...]: modprobe (with dependencies), fail with the
# kernel log on error, then check the kernel log
mod_load() {
	_m=$1
	if ! _out=$(modprobe "$@" 2>&1); then
		echo "$_out"
		fail "modprobe $*"
	fi
	mod_loaded "$_m" || fail "modprobe $_m: not in /sys/module"
	echo "ok: loaded $_m"
	kmsg_check "loading $_m"
}
# mod_unload NAME...: rmmod in the given order (retrying 5 s while in use),
# fail if one stays loaded
mod_unload() {
	for _m in "$@"; do
		mod_loaded "$_m" || continue
		wait_for 5 rmmod "$_m" 2>/dev/null
		mod_loaded "$_m" && fail "rmmod $_m: $(rmmod "$_m" 2>&1)"
		echo "ok: unloaded $_m"
	done
	kmsg_check "unloading $*"
}

# ---------------------------------------------------------------- RDMA
# rdma_up [PATH]: soft-RoCE path PATH (0 default, or 1): dummyPATH with
# its address and rxePATH on it. Idempotent. Sets RDMA_DEV/RDMA_ADDR for
# path 0, RDMA_DEV1/RDMA_ADDR1 for path 1.
rdma_up() {
	_p=${1:-0}
	case $_p in
	0) _addr=$RDMA_ADDR0 ;;
	1) _addr=$RDMA_ADDR1 ;;
	*) fail "rdma_up: path $_p (0 or 1)" ;;
	esac
	for _m in ib_uverbs rdma_ucm rdma_rxe; do
		mod_loaded "$_m" || mod_load "$_m"
	done
	mod_loaded dummy || mod_load dummy numdummies=0
	if ! ip link show "dummy$_p" >/dev/null 2>&1; then
		ip link add "dummy$_p" type dummy || fail "ip link add dummy$_p"
	fi
	if ! ip -4 addr show dev "dummy$_p" | grep -q "inet $_addr/"; then
		ip addr add "$_addr/$RDMA_PREFIX" dev "dummy$_p" || fail "ip addr add $_addr"
	fi
	ip link set "dummy$_p" up || fail "ip link set dummy$_p up"
	if [ ! -e "/sys/class/infiniband/rxe$_p" ]; then
		rdma link add "rxe$_p" type rxe netdev "dummy$_p" || fail "rdma link add rxe$_p"
	fi
	wait_for 5 grep -q ACTIVE "/sys/class/infiniband/rxe$_p/ports/1/state" ||
		fail "rxe$_p port not ACTIVE: $(cat "/sys/class/infiniband/rxe$_p/ports/1/state")"
	if [ "$_p" = 0 ]; then
		RDMA_DEV=rxe0 RDMA_ADDR=$_addr
		export RDMA_DEV RDMA_ADDR
	else
		RDMA_DEV1=rxe1 RDMA_ADDR1=$_addr
		export RDMA_DEV1 RDMA_ADDR1
	fi
	echo "ok: rxe$_p on dummy$_p $_addr/$RDMA_PREFIX"
}
# rdma_down: remove the rxe devices and dummy netdevs rdma_up made
rdma_down() {
	for _p in 0 1; do
		[ -e "/sys/class/infiniband/rxe$_p" ] && rdma link delete "rxe$_p"
		ip link show "dummy$_p" >/dev/null 2>&1 && ip link delete "dummy$_p"
	done
	return 0
}

# rxe_cm_works ADDR: an rping connects to itself on ADDR (false when rping
# is missing): tells a dead soft-RoCE connection manager from our bugs
rxe_cm_works() {
	command -v rping >/dev/null 2>&1 || return 1
	rping -s -a "$1" -p 7999 -C 1 >/dev/null 2>&1 &
	_srv=$!
	sleep 1
	timeout 10 rping -c -a "$1" -p 7999 -C 1 >/dev/null 2>&1
	_rc=$?
	kill "$_srv" 2>/dev/null
	wait "$_srv" 2>/dev/null
	return $_rc
}

# ---------------------------------------------------------------- our binaries
# use_build: the meson build directory must be shared; puts cli/ on PATH and
# librnbd/ on LD_LIBRARY_PATH (/init already does; this checks and skips)
use_build() {
	[ -d "${RNBD_BUILD:-}/librnbd" ] || skip "no build directory shared on /host/build"
	PATH=$RNBD_BUILD/cli:$PATH
	LD_LIBRARY_PATH=$RNBD_BUILD/librnbd${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export PATH LD_LIBRARY_PATH
}
# need_libs BINARY...: skip when a shared library of BINARY is not in the image
need_libs() {
	for _b in "$@"; do
		[ -x "$_b" ] || skip "$_b not built"
		_missing=$(/lib64/ld-linux-x86-64.so.2 --list "$_b" 2>&1 | grep 'not found')
		[ -z "$_missing" ] || skip "$_b: $_missing (add the library to build-initramfs.sh)"
	done
}
