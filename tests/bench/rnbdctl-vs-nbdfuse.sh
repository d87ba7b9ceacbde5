#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A device mapped by rnbdctl (rnbd-serve memory export, FUSE file, loop with
# direct I/O) against its peer, nbdkit's memory plugin through nbdfuse and a
# loop device with direct I/O, the same fio jobs on both in one run; and the
# same rnbd-serve export driven through librnbd directly (rnbd-fio-direct),
# for what the FUSE+loop layer costs.  Rounds alternate the sides and the
# medians are reported, with rnbd/nbdfuse and direct/rnbd ratios.
#
# nbdfuse 1.14 loses its connections now and then under load (an assertion
# on its in-flight count, or its handles shut down): its reads then fail
# with EIO.  When that happens the FUSE side of the peer is set up again on
# the same nbdkit (whose data survive) and the job is run again, up to
# NBD_RETRIES (3) times; the summary says how often.
#
# Usage: rnbdctl-vs-nbdfuse.sh RNBD_SERVE RNBDCTL RNBD_FIO_DIRECT [ROUNDS] [SECS]
# Environment: ROUNDS (3), SECS (10, per job and side), RAMP (1, seconds not
# counted), NBD_TRANSPORT (tcp: nbdkit on 127.0.0.1 as rnbd-serve is; unix),
# JOBS (all: a space-separated subset of the job names below), BACKEND (fuse:
# rnbdctl's FUSE+loop, the peer's layering; ublk to compare that instead).
# Needs root, /dev/fuse, loop devices, fio, nbdkit, nbdfuse and nbdcopy;
# skips otherwise.
. "$(dirname "$0")/../integration/lib.sh"
serve=$1
ctl=$2
direct=$3
rounds=${4:-${ROUNDS:-3}}
secs=${5:-${SECS:-10}}
ramp=${RAMP:-1}
transport=${NBD_TRANSPORT:-tcp}
backend=${BACKEND:-fuse}
size=1G
target_4k=1.5		# rnbd/nbdfuse the project wants at 4 KiB QD32 randread
nbd_retries=${NBD_RETRIES:-3}

# name rw bs iodepth direct(yes: also through librnbd directly)
ALL_JOBS='4k-randread randread 4k 32 yes
4k-randwrite randwrite 4k 32 no
1m-read read 1M 8 yes
1m-write write 1M 8 no'

requires_root "loop devices and FUSE mounts"
requires_cmd fio nbdkit nbdfuse nbdcopy losetup fusermount3 jq ss timeout numfmt
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -c /dev/loop-control ] || skip "no loop devices (/dev/loop-control)"
fio --enghelp=libaio >/dev/null 2>&1 || skip "fio has no libaio engine"
if [ "$backend" = ublk ] && [ ! -c /dev/ublk-control ]; then
	modprobe ublk_drv 2>/dev/null
	[ -c /dev/ublk-control ] || skip "BACKEND=ublk: the kernel has no ublk_drv"
fi
case $transport in tcp | unix) ;; *) fail "NBD_TRANSPORT is tcp or unix" ;; esac
[[ $rounds =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ && $ramp =~ ^[0-9]+$ &&
	$nbd_retries =~ ^[0-9]+$ ]] ||
	fail "ROUNDS and SECS are positive integers, RAMP and NBD_RETRIES integers"

export RNBD_RUN_DIR=$T/run
rdev="" ndev="" dpid="" nmnt=$T/nbdmnt
nbd_restarts=0

# Everything this run set up, undone in the reverse order before lib.sh's
# cleanup stops the servers: the devices first, then what they sit on.
teardown() {
	local i
	if [ -n "$rdev" ]; then
		timeout 30 "$ctl" unmap --force "$rdev" >/dev/null 2>&1
		rdev=""
	fi
	# the session daemon leaves with its last device; make sure it did
	if [ -n "$dpid" ]; then
		for i in $(seq 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
		kill -TERM "$dpid" 2>/dev/null
		for i in $(seq 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$dpid" 2>/dev/null
		dpid=""
	fi
	nbd_detach
}
trap 'teardown; cleanup' EXIT

# The peer's loop device and nbdfuse gone (nbdkit stays, with its data).
nbd_detach() {
	if [ -n "$ndev" ]; then
		timeout 30 losetup -d "$ndev" 2>/dev/null
		ndev=""
	fi
	if mountpoint -q "$nmnt" 2>/dev/null; then
		timeout 30 fusermount3 -u "$nmnt" 2>/dev/null || timeout 30 umount -l "$nmnt" 2>/dev/null
	fi
	# nbdfuse leaves once unmounted, or has died already
	stop_bg nbdfuse >/dev/null 2>&1
	rm -f "$T/nbdfuse.pid"
}

wait_for_file() {
	local i
	for i in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# The loop device's direct I/O really on, and its queue, for the header.
loopinfo() {
	local n=${1#/dev/} q
	q=/sys/block/$n/queue
	[ "$(cat "/sys/block/$n/loop/dio" 2>/dev/null)" = 1 ] || return 1
	echo "dio=1 lbs=$(cat $q/logical_block_size) max_sectors_kb=$(cat $q/max_sectors_kb) nr_requests=$(cat $q/nr_requests)"
}

# --- (a) rnbd-serve and rnbdctl -------------------------------------------
start_bg srv "$serve" -f -l 127.0.0.1:0 -s "$T/serve.sock" -m "$size"
wait_for_line "$T/srv.err" 'rnbd-serve: info: ready' || fail "rnbd-serve did not start"
rport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/srv.err" | head -1)
[ -n "$rport" ] || fail "no rnbd-serve port in its log"
uri="rnbd://bench@127.0.0.1:$rport/memory"
# a session of its own, opening the export read-only next to the mapping
duri="rnbd://direct@127.0.0.1:$rport/memory?access_mode=ro"
rdev=$(timeout 60 "$ctl" map "$uri" --backend "$backend" 2>"$T/map.err") || {
	cat "$T/map.err"
	rdev=""
	fail "rnbdctl map $uri"
}
dpid=$(timeout 30 "$ctl" --json list sessions | jq -r '.[] | select(.name == "bench") | .pid')
if [ "$backend" = fuse ]; then
	rinfo=$(loopinfo "$rdev") || fail "$rdev: loop direct I/O is off"
else
	q=/sys/block/${rdev#/dev/}/queue
	rinfo="$backend lbs=$(cat $q/logical_block_size) max_sectors_kb=$(cat $q/max_sectors_kb) nr_requests=$(cat $q/nr_requests)"
fi

# --- (b) nbdkit, nbdfuse, a loop device on its file ------------------------
if [ "$transport" = tcp ]; then
	start_bg nbdkit nbdkit -f -i 127.0.0.1 -p 0 -P "$T/nbdkit.pid" memory "$size"
else
	start_bg nbdkit nbdkit -f -U "$T/nbd.sock" -P "$T/nbdkit.pid" memory "$size"
fi
wait_for_file "$T/nbdkit.pid" || { show_bg nbdkit; fail "nbdkit did not start"; }
if [ "$transport" = tcp ]; then
	nport=$(ss -Hltnp | awk -v p="pid=${BG_PID[nbdkit]}," 'index($0, p) {
		n = split($4, a, ":"); print a[n]; exit }')
	[ -n "$nport" ] || fail "no nbdkit port"
	nbdsrc=(--tcp 127.0.0.1 "$nport")
else
	nbdsrc=(--unix "$T/nbd.sock")
fi
nbduri="nbd+unix:///?socket=$T/nbd.sock"
[ "$transport" = tcp ] && nbduri="nbd://127.0.0.1:$nport"
# Filled here rather than through nbdfuse, which would risk losing it
# before the first job (the memory exports are sparse: a hole reads as
# zeroes without touching any data).
timeout 600 bash -c 'head -c "$1" /dev/urandom | nbdcopy - "$2"' fill "$(numfmt --from=iec $size)" \
	"$nbduri" 2>"$T/nbdcopy.err" ||
	{ cat "$T/nbdcopy.err"; fail "filling nbdkit with nbdcopy"; }

# nbdfuse on nbdkit and a loop device with direct I/O on its file: ndev
nbd_attach() {
	mkdir -p "$nmnt"
	start_bg nbdfuse nbdfuse -P "$T/nbdfuse.pid" "$nmnt/nbd" "${nbdsrc[@]}"
	wait_for_file "$T/nbdfuse.pid" || { show_bg nbdfuse; return 1; }
	ndev=$(timeout 30 losetup -f --show --direct-io=on "$nmnt/nbd") || { ndev=""; return 1; }
	ninfo=$(loopinfo "$ndev") || { echo "$ndev: loop direct I/O is off"; return 1; }
}
nbd_attach || fail "nbdfuse and a loop device on it"

echo "rnbd:    $uri -> $rdev ($rinfo), session daemon pid $dpid"
echo "nbdfuse: nbdkit memory $size over $transport -> $nmnt/nbd -> $ndev ($ninfo)"
echo "direct:  $direct against $duri"
echo "fio: libaio direct=1 numjobs=1, ${secs}s + ${ramp}s ramp per job and side, $rounds rounds"

# --- the jobs --------------------------------------------------------------
fio_common=(--ioengine=libaio --direct=1 --numjobs=1 --output-format=json)
fio_timeout=$((secs + ramp + 120))

# fio_run DEV NAME RW BS QD -> "iops MBps lat_avg_us"
fio_run() {
	local out
	out=$(timeout "$fio_timeout" fio --name="$2" --filename="$1" "${fio_common[@]}" \
		--rw="$3" --bs="$4" --iodepth="$5" --time_based --runtime="$secs" \
		--ramp_time="$ramp" --norandommap --randrepeat=0 2>"$T/fio.err") || {
		cat "$T/fio.err" >&2
		return 1
	}
	jq -r '.jobs[0] | (if .read.io_bytes > 0 then .read else .write end) |
		"\(.iops) \(.bw_bytes / 1e6) \(.lat_ns.mean / 1e3)"' <<<"$out"
}

# direct_run BS QD RW -> "iops MBps lat_avg_us"
direct_run() {
	local bytes
	bytes=$(numfmt --from=iec "${1^^}")
	timeout "$fio_timeout" "$direct" -r "$3" -b "$bytes" -d "$2" -t "$secs" -R "$ramp" \
		"$duri" 2>"$T/direct.err" |
		awk '{ print $2, $4, $6 }'
	[ "${PIPESTATUS[0]}" = 0 ] || { cat "$T/direct.err" >&2; return 1; }
}

# rnbd's export filled as nbdkit's was, so that reads hit written data
timeout 600 fio --name=fill --filename="$rdev" "${fio_common[@]}" --rw=write --bs=1M \
	--iodepth=8 >/dev/null 2>"$T/fio.err" || { cat "$T/fio.err"; fail "fill $rdev"; }

# nbd_fio_run NAME RW BS QD: fio_run on the peer, set up again when it broke
nbd_fio_run() {
	local try
	for try in $(seq 0 "$nbd_retries"); do
		if [ "$try" -gt 0 ]; then
			echo "nbdfuse failed ($(tail -1 "$T/nbdfuse.err" 2>/dev/null)); set up again" >&2
			nbd_restarts=$((nbd_restarts + 1))
			nbd_detach
			nbd_attach >&2 || return 1
		fi
		fio_run "$ndev" "$@" 2>/dev/null && return 0
	done
	return 1
}

jobs=$ALL_JOBS
if [ -n "${JOBS:-}" ]; then
	jobs=$(awk -v want=" $JOBS " 'index(want, " " $1 " ")' <<<"$ALL_JOBS")
	[ -n "$jobs" ] || fail "JOBS names none of: $(cut -d' ' -f1 <<<"$ALL_JOBS" | tr '\n' ' ')"
fi

declare -A R=()		# R[job,side] = "iops MBps lat" lines, one per round
for r in $(seq "$rounds"); do
	# odd rounds start with rnbd, even ones with nbdfuse: drift hits both
	if [ $((r % 2)) = 1 ]; then order="rnbd nbdfuse"; else order="nbdfuse rnbd"; fi
	while read -r name rw bs qd dir; do
		for side in $order; do
			if [ "$side" = nbdfuse ]; then
				# a subshell would lose ndev: the result goes through a file
				nbd_fio_run "$name" "$rw" "$bs" "$qd" >"$T/res" ||
					fail "fio $name on nbdfuse, $nbd_retries times set up again"
				res=$(cat "$T/res")
			else
				res=$(fio_run "$rdev" "$name" "$rw" "$bs" "$qd") || fail "fio $name on rnbd ($rdev)"
			fi
			R[$name,$side]+="$res"$'\n'
			echo "round $r $name $side: iops/MBps/lat_us $res"
		done
		if [ "$dir" = yes ]; then
			res=$(direct_run "$bs" "$qd" "$rw") || fail "rnbd-fio-direct $name"
			R[$name,direct]+="$res"$'\n'
			echo "round $r $name direct: iops/MBps/lat_us $res"
		fi
	done <<<"$jobs"
done

# median COLUMN of the lines on stdin
median() { awk -v c="$1" 'NF { print $c }' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { if (v == "") print "-"; else printf "%.*f", d, v }'; }

echo
echo "medians of $rounds rounds, ${secs}s each (IOPS, MB/s = 10^6 B/s, mean latency us)"
printf '%-13s %9s %8s %8s | %9s %8s %8s | %9s %8s | %8s %9s\n' job rnbd_iops rnbd_MBs \
	rnbd_lat nbd_iops nbd_MBs nbd_lat dir_iops dir_MBs rnbd/nbd dir/rnbd
summary=()
while read -r name rw bs qd dir; do
	ri=$(median 1 <<<"${R[$name,rnbd]}"); rm=$(median 2 <<<"${R[$name,rnbd]}")
	rl=$(median 3 <<<"${R[$name,rnbd]}")
	ni=$(median 1 <<<"${R[$name,nbdfuse]}"); nm=$(median 2 <<<"${R[$name,nbdfuse]}")
	nl=$(median 3 <<<"${R[$name,nbdfuse]}")
	di="" dm="" rd="-"
	if [ "$dir" = yes ]; then
		di=$(median 1 <<<"${R[$name,direct]}"); dm=$(median 2 <<<"${R[$name,direct]}")
		rd=$(ratio "$di" "$ri")
	fi
	rn=$(ratio "$ri" "$ni")
	printf '%-13s %9s %8s %8s | %9s %8s %8s | %9s %8s | %8s %9s\n' "$name" \
		"$(fmt "$ri" 0)" "$(fmt "$rm" 1)" "$(fmt "$rl" 0)" "$(fmt "$ni" 0)" "$(fmt "$nm" 1)" \
		"$(fmt "$nl" 0)" "$(fmt "$di" 0)" "$(fmt "$dm" 1)" "$rn" "$rd"
	line="$name: rnbd/nbdfuse $rn (IOPS $(fmt "$ri" 0) vs $(fmt "$ni" 0))"
	[ "$dir" = yes ] && line+=", direct/rnbd $rd (IOPS $(fmt "$di" 0) vs $(fmt "$ri" 0))"
	if [ "$name" = 4k-randread ]; then
		line+=", target rnbd/nbdfuse >= $target_4k: $(awk -v r="$rn" -v t="$target_4k" \
			'BEGIN { print (r + 0 >= t ? "ok" : "BELOW") }')"
	fi
	summary+=("$line")
done <<<"$jobs"
echo
for line in "${summary[@]}"; do echo "summary $line"; done
echo "summary nbdfuse set up again $nbd_restarts times after it failed"
