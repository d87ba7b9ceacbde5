#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# rnbd against NBD on loopback, by the same load generator in the same run:
# rnbd-serve's memory export and nbdkit's memory plugin of the same size,
# both driven by rnbd-bench (librnbd / libnbd, asynchronous, one job).  fio's
# nbd engine runs every job against nbdkit too, to show that rnbd-bench does
# not handicap NBD; tcp-ceiling gives what a minimal blocking TCP
# request/response pair does with the same requests.  The 1 MiB jobs run
# again against a second rnbd-serve with max_io_size 1 MiB (the default,
# 124 KiB as the kernel's, splits each request in 9).  A job runs rnbd over
# two paths (127.0.0.1 and 127.0.0.2) against the same job over one; as
# root, a last one does the same over two links of LINK_RATE each (two veth
# pairs between network namespaces, shaped with tbf), where the paths are
# separate bottlenecks as two NICs would be.
# Each job runs ROUNDS times, the targets alternating their order every
# round; the tables have the medians, and every figure in them is a ratio
# of two measurements of the same run.  See doc/performance.md.
#
# Usage: compare.sh RNBD_SERVE RNBD_BENCH TCP_CEILING
# Environment: ROUNDS (3), SECS (5, measured per run), RAMP (1, not counted),
#   SIZE (1G, both devices), ONLY (job names to run, space-separated),
#   MARKDOWN (1: print the tables as markdown, for doc/performance.md),
#   LINK_RATE (1gbit: the rate of each link of the two-links job).
. "$(dirname "$0")/../integration/lib.sh"
serve=${1:?usage: $0 RNBD_SERVE RNBD_BENCH TCP_CEILING}
bench=${2:?usage: $0 RNBD_SERVE RNBD_BENCH TCP_CEILING}
ceiling=${3:?usage: $0 RNBD_SERVE RNBD_BENCH TCP_CEILING}
rounds=${ROUNDS:-3}
secs=${SECS:-5}
ramp=${RAMP:-1}
size=${SIZE:-1G}
only=${ONLY:-}
md=${MARKDOWN:-0}
link_rate=${LINK_RATE:-1gbit}
IONOS=512/20:1k/16:2k/9:4k/12:8k/19:16k/10:32k/8:64k/4
# one run may take its time plus a connection, never more than this
limit=$(awk -v s="$secs" -v r="$ramp" 'BEGIN { printf "%d", s + r + 60 }')

requires_cmd nbdkit fio jq ss timeout awk
fio --enghelp=nbd >/dev/null 2>&1 || skip "fio has no nbd engine"
"$bench" --help | grep -q 'nbd://' || skip "rnbd-bench was built without libnbd"

cat >"$T/serve.conf" <<EOF
dev_search_path = "";
exports = ( { name = "memory"; type = "memory"; size = "$size"; } );
EOF
{ echo "max_io_size = 1048576;"; cat "$T/serve.conf"; } >"$T/serve-io1m.conf"
start_bg serve "$serve" -f -c "$T/serve.conf" -l 127.0.0.1:0 -l 127.0.0.2:0 -s "$T/serve.sock"
start_bg serve1m "$serve" -f -c "$T/serve-io1m.conf" -l 127.0.0.1:0 -s "$T/serve-io1m.sock"
start_bg nbdkit nbdkit -f -i 127.0.0.1 -p 0 memory "$size"
start_bg tcp "$ceiling" server -l 127.0.0.1:0
wait_for_line "$T/serve.err" 'info: ready' || { show_bg serve; fail "rnbd-serve did not start"; }
wait_for_line "$T/serve1m.err" 'info: ready' || { show_bg serve1m; fail "rnbd-serve did not start"; }
wait_for_line "$T/tcp.out" '^listening on' || { show_bg tcp; fail "tcp-ceiling did not start"; }
rport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/serve.err")
rport1m=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/serve1m.err")
rport2=$(sed -n 's/.*listening on 127\.0\.0\.2:\([0-9]*\)$/\1/p' "$T/serve.err")
tport=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/tcp.out")
[ -n "$rport" ] && [ -n "$rport2" ] && [ -n "$rport1m" ] ||
	{ show_bg serve; show_bg serve1m; fail "no ports in rnbd-serve's log"; }
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
RNBD2=rnbd://127.0.0.1:$rport,127.0.0.2:$rport2/memory
RNBD1M=rnbd://127.0.0.1:$rport1m/memory
NBD=nbd://127.0.0.1:$nport

# Two links: the server in one namespace, rnbd-bench in another, a veth
# pair per path, each shaped in the direction read data flows.
links=
if [ "$(id -u)" = 0 ] && command -v tc >/dev/null &&
	{ [ -z "$only" ] || [[ " $only " == *" 4k-randread-qd32-2links "* ]]; }; then
	. "$(dirname "$0")/../integration/netns.sh"
	netns_setup
	for v in "$VS1" "$VS2"; do
		ip netns exec "$NS_S" tc qdisc add dev "$v" root tbf rate "$link_rate" \
			burst 256kb latency 20ms || fail "shaping $v"
	done
	start_bg servens ip netns exec "$NS_S" "$serve" -f -c "$T/serve.conf" \
		-l "$SRV_IP1:0" -l "$SRV_IP2:0" -s "$T/servens.sock"
	wait_for_line "$T/servens.err" 'info: ready' ||
		{ show_bg servens; fail "rnbd-serve in $NS_S did not start"; }
	lport1=$(sed -n "s/.*listening on $SRV_IP1:\([0-9]*\)\$/\1/p" "$T/servens.err")
	lport2=$(sed -n "s/.*listening on $SRV_IP2:\([0-9]*\)\$/\1/p" "$T/servens.err")
	[ -n "$lport1" ] && [ -n "$lport2" ] || { show_bg servens; fail "no ports in its log"; }
	LINK1=rnbd://$SRV_IP1:$lport1/memory
	LINKS2=rnbd://$SRV_IP1:$lport1,$SRV_IP2:$lport2/memory
	links=1
fi

# IOPS of one measurement, on stdout; the tool's output in $T/last
bench_ns=
run_bench() {
	$bench_ns timeout -k 5 "$limit" "$bench" --json --runtime "$secs" --ramp "$ramp" "$@" \
		>"$T/last" 2>&1 && jq -er '.total.iops' "$T/last" 2>/dev/null ||
		{ echo "rnbd-bench $* failed:" >&2; cat "$T/last" >&2; return 1; }
}
run_fio() {
	# --output: fio prints a line of its own on stdout with the nbd engine
	timeout -k 5 "$limit" fio --name=cmp --ioengine=nbd --uri="$NBD" --numjobs=1 \
		--time_based --runtime="$secs" --ramp_time="$ramp" --norandommap \
		--randrepeat=0 --output-format=json --output="$T/fio.json" "$@" >"$T/last" 2>&1 &&
		jq -er '.jobs[0].read.iops + .jobs[0].write.iops' "$T/fio.json" ||
		{ echo "fio $* failed:" >&2; cat "$T/last" >&2; return 1; }
}
run_ceiling() {
	timeout -k 5 "$limit" "$ceiling" client -p "127.0.0.1:$tport" -t "$secs" -R "$ramp" "$@" \
		2>"$T/last" | sed -n 's/^iops \([0-9.]*\) .*/\1/p' | grep . ||
		{ echo "tcp-ceiling $* failed:" >&2; cat "$T/last" >&2; return 1; }
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Both devices start sparse: write them through once, so that reads move
# data on both sides rather than the zeroes of a hole.
for uri in "$RNBD" "$RNBD1M" "$NBD"; do
	timeout -k 5 600 "$bench" --rw write --bs 1M --iodepth 8 --once --runtime 600 "$uri" \
		>"$T/last" 2>&1 || { cat "$T/last"; fail "prefilling $uri"; }
done
if [ -n "$links" ]; then
	ip netns exec "$NS_C" timeout -k 5 600 "$bench" --rw write --bs 1M --iodepth 8 --once \
		--runtime 600 "$LINKS2" >"$T/last" 2>&1 || { cat "$T/last"; fail "prefilling $LINKS2"; }
fi

# name | rnbd-bench options | fio options | tcp-ceiling options
# (2paths: rnbd over both addresses, against rnbd over one; 2links: the
# same over the two shaped links; *-io1m: rnbd against the server with
# max_io_size 1 MiB)
jobs=$(cat <<EOT
4k-randread-qd1|--rw randread --bs 4k --iodepth 1|--rw=randread --bs=4k --iodepth=1|-b 4k -r 100 -d 1
4k-randread-qd32|--rw randread --bs 4k --iodepth 32|--rw=randread --bs=4k --iodepth=32|-b 4k -r 100 -d 32
4k-randwrite-qd32|--rw randwrite --bs 4k --iodepth 32|--rw=randwrite --bs=4k --iodepth=32|-b 4k -r 0 -d 32
1m-read-qd8|--rw read --bs 1M --iodepth 8|--rw=read --bs=1M --iodepth=8|-b 1M -r 100 -d 8
1m-write-qd8|--rw write --bs 1M --iodepth 8|--rw=write --bs=1M --iodepth=8|-b 1M -r 0 -d 8
1m-read-qd8-io1m|--rw read --bs 1M --iodepth 8|--rw=read --bs=1M --iodepth=8|-b 1M -r 100 -d 8
1m-write-qd8-io1m|--rw write --bs 1M --iodepth 8|--rw=write --bs=1M --iodepth=8|-b 1M -r 0 -d 8
ionos-randrw-qd128|--rw randrw:50 --bs $IONOS --iodepth 128|--rw=randrw --rwmixread=50 --bssplit=$IONOS --iodepth=128|-B $IONOS -r 50 -d 128
4k-randread-qd32-2paths|--rw randread --bs 4k --iodepth 32|2paths|-
4k-randread-qd32-2links|--rw randread --bs 4k --iodepth 32|2links|-
EOT
)

rows=()
two_rows=()
details=()
mem=
while IFS='|' read -r name bopts fopts copts; do
	[ -z "$only" ] || [[ " $only " == *" $name "* ]] || continue
	if [ "$fopts" = 2links ] && [ -z "$links" ]; then
		echo "skipping $name: needs root and tc" >&2
		continue
	fi
	echo "running $name ($rounds rounds)" >&2
	r_rnbd=() r_nbd=() r_fio=() r_tcp=() r_two=()
	uri=$RNBD
	[[ "$name" == *-io1m ]] && uri=$RNBD1M
	order_odd="rnbd nbd fio tcp" order_even="tcp fio nbd rnbd"
	[ "$fopts" = 2paths ] && order_odd="rnbd two" order_even="two rnbd"
	[ "$fopts" = 2links ] && order_odd="one twol" order_even="twol one"
	for round in $(seq "$rounds"); do
		# alternate the order, so that neither target always runs on a
		# machine warmed (or disturbed) by the other
		order=$order_odd
		[ $((round % 2)) = 0 ] && order=$order_even
		for what in $order; do
			case $what in
			rnbd)
				if [ "$name" = ionos-randrw-qd128 ] && [ -z "$mem" ]; then
					# resident memory of the server and the client at QD128
					base=$(rss_kib "${BG_PID[serve]}")
					run_bench $bopts "$uri" >"$T/v" &
					sleep "$(awk -v s="$secs" -v r="$ramp" 'BEGIN { print r + s / 2 }')"
					peak=$(rss_kib "${BG_PID[serve]}")
					wait $! || fail "$name"
					v=$(cat "$T/v")
					mem="$base $peak $(jq -r '"\(.memory.max_rss) \(.memory.buffers)"' "$T/last")"
				else
					v=$(run_bench $bopts "$uri") || fail "$name"
				fi
				r_rnbd+=("$v") ;;
			two) v=$(run_bench $bopts "$RNBD2") || fail "$name"; r_two+=("$v") ;;
			one) v=$(bench_ns="ip netns exec $NS_C" run_bench $bopts "$LINK1") ||
				fail "$name"; r_rnbd+=("$v") ;;
			twol) v=$(bench_ns="ip netns exec $NS_C" run_bench $bopts "$LINKS2") ||
				fail "$name"; r_two+=("$v") ;;
			nbd) v=$(run_bench $bopts "$NBD") || fail "$name"; r_nbd+=("$v") ;;
			fio) v=$(run_fio $fopts) || fail "$name"; r_fio+=("$v") ;;
			tcp) v=$(run_ceiling $copts) || fail "$name"; r_tcp+=("$v") ;;
			esac
		done
	done
	m_rnbd=$(printf '%s\n' "${r_rnbd[@]}" | median)
	if [ "$fopts" = 2paths ] || [ "$fopts" = 2links ]; then
		m_two=$(printf '%s\n' "${r_two[@]}" | median)
		two_rows+=("$name $(printf '%.0f %.0f' "$m_two" "$m_rnbd") $(ratio "$m_two" "$m_rnbd")")
		details+=("$name: 2 paths ${r_two[*]} | 1 path ${r_rnbd[*]}")
		continue
	fi
	m_nbd=$(printf '%s\n' "${r_nbd[@]}" | median)
	m_fio=$(printf '%s\n' "${r_fio[@]}" | median)
	m_tcp=$(printf '%s\n' "${r_tcp[@]}" | median)
	row="$name $(printf '%.0f %.0f %.0f %.0f' "$m_rnbd" "$m_nbd" "$m_fio" "$m_tcp")"
	row+=" $(ratio "$m_rnbd" "$m_nbd") $(ratio "$m_nbd" "$m_fio")"
	row+=" $(ratio "$m_rnbd" "$m_tcp") $(ratio "$m_nbd" "$m_tcp")"
	rows+=("$row")
	details+=("$name: rnbd ${r_rnbd[*]} | nbd ${r_nbd[*]} | fio-nbd ${r_fio[*]} | tcp ${r_tcp[*]}")
done <<<"$jobs"

# ---- output ----
cols=(job rnbd_iops nbd_iops fio_nbd_iops tcp_iops rnbd/nbd bench/fio rnbd/tcp nbd/tcp)
table() {	# table COLUMN... then rows on stdin, one per line
	if [ "$md" = 1 ]; then
		awk -v h="$*" 'BEGIN { n = split(h, c, " "); s = "|"; t = "|";
			for (i = 1; i <= n; i++) { s = s " " c[i] " |"; t = t (i == 1 ? " --- |" : " ---: |") }
			print s; print t }
			{ s = "|"; for (i = 1; i <= NF; i++) s = s " " $i " |"; print s }'
	else
		awk -v h="$*" 'BEGIN { n = split(h, c, " "); s = sprintf("%-24s", c[1]);
			for (i = 2; i <= n; i++) s = s sprintf(" %12s", c[i]); print s }
			{ s = sprintf("%-24s", $1); for (i = 2; i <= NF; i++) s = s sprintf(" %12s", $i); print s }'
	fi
}
head=$([ "$md" = 1 ] && echo '###' || echo '#')

echo "$head rnbd vs nbd on loopback: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "nproc $(nproc), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
	"$(uname -sr), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "${rounds} rounds x ${secs} s (+${ramp} s ramp) per target and job; devices ${size}," \
	"memory-backed, written through before the jobs; medians."
echo
if [ "${#rows[@]}" -gt 0 ]; then
	printf '%s\n' "${rows[@]}" | table "${cols[@]}"
	echo
fi
if [ "${#two_rows[@]}" -gt 0 ]; then
	printf '%s\n' "${two_rows[@]}" | table job two_paths_iops one_path_iops two/one
	echo
	[ -z "$links" ] || echo "2links: each path over its own veth pair, shaped to $link_rate" \
		"(tbf) in the direction of the read data."
	echo
fi
if [ -n "$mem" ]; then
	read -r base peak crss cbuf <<<"$mem"
	# what the server's session may hold: queue depth x (max I/O + header)
	qd=128 io=126976
	{
		echo "rnbd-serve $(mib "$base") $(mib "$peak") $(mib $((peak - base)))" \
			"$(mib $((qd * io / 1024))) $(ratio $(((peak - base) * 1024)) $((qd * io)))"
		echo "rnbd-bench $(mib 0) $(mib $((crss / 1024))) $(mib $(((crss - cbuf) / 1024)))" \
			"$(mib $((qd * io / 1024))) $(ratio $((crss - cbuf)) $((qd * io)))"
	} | table process_ionos_qd128 rss_before_MiB rss_at_qd128_MiB session_MiB \
		qd_x_max_io_MiB session/qd_x_max_io
	echo
	echo "session_MiB: rnbd-serve's growth during the run (its export's data is resident" \
		"before); rnbd-bench's peak minus its own request buffers."
	echo
fi
echo "per round (IOPS):"
printf '    %s\n' "${details[@]}"
