#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# rnbd against NBD on loopback, by the same load generator in the same run:
# rnbd-serve's memory export and nbdkit's memory plugin of the same size,
# both driven by rnbd-bench (librnbd / libnbd, asynchronous, one job).  fio's
# nbd engine runs two of the jobs too, to show that rnbd-bench does not
# handicap NBD; tcp-ceiling gives what raw TCP request/response can do with
# the same requests.  Each job runs ROUNDS times, the targets alternating
# their order every round; the table has the medians.  See doc/performance.md.
#
# Usage: compare.sh RNBD_SERVE RNBD_BENCH TCP_CEILING
# Environment: ROUNDS (3), SECS (5, measured per run), RAMP (1, not counted),
#   SIZE (1G, both devices), ONLY (job names to run, space-separated).
. "$(dirname "$0")/../integration/lib.sh"
serve=$1
bench=$2
ceiling=$3
rounds=${ROUNDS:-3}
secs=${SECS:-5}
ramp=${RAMP:-1}
size=${SIZE:-1G}
only=${ONLY:-}
IONOS=512/20:1k/16:2k/9:4k/12:8k/19:16k/10:32k/8:64k/4

requires_cmd nbdkit fio jq ss
fio --enghelp=nbd >/dev/null 2>&1 || skip "fio has no nbd engine"

start_bg serve "$serve" -f -l 127.0.0.1:0 -s "$T/serve.sock" -m "$size"
start_bg nbdkit nbdkit -f -i 127.0.0.1 -p 0 memory "$size"
start_bg tcp "$ceiling" server -l 127.0.0.1:0
wait_for_line "$T/serve.err" 'info: ready' || fail "rnbd-serve did not start"
wait_for_line "$T/tcp.out" '^listening on' || fail "tcp-ceiling server did not start"
rport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/serve.err")
tport=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/tcp.out")
# nbdkit does not say which port it got: ask the kernel for its socket
nport=
for _ in $(seq 100); do
	nport=$(ss -Hltnp | awk -v p="pid=${BG_PID[nbdkit]}," \
		'index($0, p) { n = split($4, a, ":"); print a[n]; exit }')
	[ -n "$nport" ] && break
	sleep 0.1
done
[ -n "$nport" ] || { show_bg nbdkit; fail "nbdkit did not start"; }
RNBD=rnbd://127.0.0.1:$rport/memory
NBD=nbd://127.0.0.1:$nport

# IOPS of one measurement, on stdout; the tool's output in $T/last on failure
run_bench() {
	"$bench" --json --runtime "$secs" --ramp "$ramp" "$@" >"$T/last" 2>&1 &&
		jq -er '.total.iops' "$T/last" 2>/dev/null ||
		{ echo "rnbd-bench $* failed:" >&2; cat "$T/last" >&2; return 1; }
}
run_fio() {
	# --output: fio prints a line of its own on stdout with the nbd engine
	fio --name=cmp --ioengine=nbd --uri="$NBD" --numjobs=1 --time_based \
		--runtime="$secs" --ramp_time="$ramp" --norandommap --randrepeat=0 \
		--output-format=json --output="$T/fio.json" "$@" >"$T/last" 2>&1 &&
		jq -er '.jobs[0].read.iops + .jobs[0].write.iops' "$T/fio.json" ||
		{ echo "fio $* failed:" >&2; cat "$T/last" >&2; return 1; }
}
run_ceiling() {
	"$ceiling" client -p "127.0.0.1:$tport" -t "$secs" -R "$ramp" "$@" 2>"$T/last" |
		sed -n 's/^iops \([0-9.]*\) .*/\1/p' | grep . ||
		{ echo "tcp-ceiling $* failed:" >&2; cat "$T/last" >&2; return 1; }
}
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo "# rnbd vs nbd, $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), $(uname -sr)"
echo "# ${rounds} rounds x ${secs} s (+${ramp} s ramp) per target and job; devices ${size}," \
	"memory-backed; medians"

# Both devices start sparse: write them through once, so that reads move
# data on both sides rather than the zeroes of a hole.
for uri in "$RNBD" "$NBD"; do
	"$bench" --rw write --bs 1M --iodepth 8 --once --runtime 600 "$uri" >"$T/last" 2>&1 ||
		{ cat "$T/last"; fail "prefilling $uri"; }
done

# name | rnbd-bench options | fio options (- for none) | tcp-ceiling options
jobs=$(cat <<EOT
4k-randread-qd1|--rw randread --bs 4k --iodepth 1|-|-b 4k -r 100 -d 1
4k-randread-qd32|--rw randread --bs 4k --iodepth 32|--rw=randread --bs=4k --iodepth=32|-b 4k -r 100 -d 32
4k-randwrite-qd32|--rw randwrite --bs 4k --iodepth 32|-|-b 4k -r 0 -d 32
1m-read-qd8|--rw read --bs 1M --iodepth 8|--rw=read --bs=1M --iodepth=8|-b 1M -r 100 -d 8
1m-write-qd8|--rw write --bs 1M --iodepth 8|-|-b 1M -r 0 -d 8
ionos-randrw-qd128|--rw randrw:50 --bssplit $IONOS --iodepth 128|-|-B $IONOS -r 50 -d 128
EOT
)

table=()
details=()
while IFS='|' read -r name bopts fopts copts; do
	[ -z "$only" ] || [[ " $only " == *" $name "* ]] || continue
	r_rnbd=() r_nbd=() r_fio=() r_tcp=()
	for round in $(seq "$rounds"); do
		# alternate the order, so that neither target always runs on a
		# machine warmed (or disturbed) by the other
		order="rnbd nbd fio tcp"
		[ $((round % 2)) = 0 ] && order="tcp fio nbd rnbd"
		for what in $order; do
			case $what in
			rnbd) v=$(run_bench $bopts "$RNBD") || fail "$name" ; r_rnbd+=("$v") ;;
			nbd) v=$(run_bench $bopts "$NBD") || fail "$name" ; r_nbd+=("$v") ;;
			fio) [ "$fopts" = - ] && continue
			     v=$(run_fio $fopts) || fail "$name"; r_fio+=("$v") ;;
			tcp) v=$(run_ceiling $copts) || fail "$name"; r_tcp+=("$v") ;;
			esac
		done
	done
	m_rnbd=$(printf '%s\n' "${r_rnbd[@]}" | median)
	m_nbd=$(printf '%s\n' "${r_nbd[@]}" | median)
	m_tcp=$(printf '%s\n' "${r_tcp[@]}" | median)
	fio_cols="- -"
	if [ "${#r_fio[@]}" -gt 0 ]; then
		m_fio=$(printf '%s\n' "${r_fio[@]}" | median)
		fio_cols="$(printf '%.0f' "$m_fio") $(ratio "$m_nbd" "$m_fio")"
	fi
	table+=("$(printf '%s %.0f %.0f %s %.0f %s %s %s' "$name" "$m_rnbd" "$m_nbd" \
		"$(ratio "$m_rnbd" "$m_nbd")" "$m_tcp" "$(ratio "$m_rnbd" "$m_tcp")" \
		"$(ratio "$m_nbd" "$m_tcp")" "$fio_cols")")
	details+=("$name: rnbd ${r_rnbd[*]} | nbd ${r_nbd[*]} | fio-nbd ${r_fio[*]:--} | tcp ${r_tcp[*]}")
done <<<"$jobs"

printf '\n%-20s %10s %10s %9s %10s %10s %9s %10s %9s\n' job rnbd_iops nbd_iops rnbd/nbd \
	tcp_iops rnbd/tcp nbd/tcp fio_nbd bench/fio
for row in "${table[@]}"; do
	# shellcheck disable=SC2086
	printf '%-20s %10s %10s %9s %10s %10s %9s %10s %9s\n' $row
done
printf '\nper round (IOPS):\n'
printf '  %s\n' "${details[@]}"
