#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Boot the test VM (qemu-system-x86_64; KVM when /dev/kvm works, else TCG)
# and run test cases from tests/vm/cases inside it, one boot for all the
# cases given. Builds what is missing first (fetch-kernel.sh,
# build-modules.sh, build-initramfs.sh; cached in $RNBD_VM_CACHE).
#
# Usage: run-vm.sh [OPTIONS] [CASE...]      CASE: file name without .sh;
#                                           none or "all": every case
#   --build DIR         meson build dir, shared read-only as /host/build
#                       (default $RNBD_BUILD_DIR or <src>/build)
#   --results DIR       shared read-write as /host/results; a case's files go
#                       to DIR/CASE/, the console log to DIR/<label>.console.log
#                       (default <build>/tests/vm/results)
#   --timeout SECS      host-side hard limit for the whole VM (default
#                       90 + case-timeout x number of cases)
#   --case-timeout SECS in-VM limit for each case (default 300)
#   --prepare           only build the cached artifacts, do not boot
#   --shell             interactive shell in the VM (console on stdio)
#   --accel auto|kvm|tcg, --mem SIZE (2G), --smp N (2)
#   -- ARGS             extra kernel command line arguments
# Environment: see common.sh (RNBD_VM_CACHE, RNBD_VM_KVER, RNBD_VM_REQUIRE),
# RNBD_VM_ACCEL (same as --accel).
#
# Exit status: 0 every case passed (or some skipped), 77 every case skipped
# or a prerequisite (qemu, kernel packages, network) is missing, 1 otherwise.
set -uo pipefail
vm_t0=$(date +%s.%N)
. "$(dirname "$0")/common.sh"

RESULTS= TIMEOUT= CASE_TIMEOUT=300 PREPARE=0 SHELL_MODE=0
ACCEL=${RNBD_VM_ACCEL:-auto} MEM=2G SMP=2 EXTRA=()
cases=()
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD_DIR=$(cd "$2" && pwd) || exit 1; shift ;;
	--results) RESULTS=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--case-timeout) CASE_TIMEOUT=$2; shift ;;
	--prepare) PREPARE=1 ;;
	--shell) SHELL_MODE=1 ;;
	--accel) ACCEL=$2; shift ;;
	--mem) MEM=$2; shift ;;
	--smp) SMP=$2; shift ;;
	--) shift; EXTRA=("$@"); break ;;
	-h | --help) sed -n '3,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1 (--help)" ;;
	*) cases+=("$1") ;;
	esac
	shift
done
export RNBD_BUILD_DIR=$BUILD_DIR
VM_CACHE=${RNBD_VM_CACHE:-$BUILD_DIR/vm-cache}
export RNBD_VM_CACHE=$VM_CACHE vm_t0
RESULTS=${RESULTS:-$BUILD_DIR/tests/vm/results}

if [ ${#cases[@]} = 0 ] || [ "${cases[*]}" = all ]; then
	cases=()
	for f in "$VM_DIR"/cases/*.sh; do
		cases+=("$(basename "$f" .sh)")
	done
fi
for c in "${cases[@]}"; do
	[ -f "$VM_DIR/cases/$c.sh" ] || die "no case $VM_DIR/cases/$c.sh"
done

# ---------------------------------------------------------------- prerequisites
command -v qemu-system-x86_64 >/dev/null ||
	skip "qemu-system-x86_64 not installed (tests/vm/install-deps.sh)"
command -v busybox >/dev/null || skip "busybox-static not installed (tests/vm/install-deps.sh)"
for s in fetch-kernel build-modules build-initramfs; do
	"$VM_DIR/$s.sh"
	rc=$?
	[ $rc = 0 ] || exit $rc
done
vm_paths
INITRD=$VM_CACHE/initramfs-$(initramfs_key).cpio
[ -f "$INITRD" ] || die "no $INITRD"
touch "$INITRD" # in use: build-initramfs.sh prunes images unused for an hour
say "ready: kernel $KVER ($(cat "$KERNEL_DIR/version")), $(basename "$INITRD")"
[ "$PREPARE" = 1 ] && exit 0

# ---------------------------------------------------------------- qemu
# KVM only when a vCPU of the model we use can be reset: on some nested
# hosts /dev/kvm opens but qemu aborts setting MSRs ("kvm_buf_set_msrs")
kvm_works() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	(echo quit | timeout 20 qemu-system-x86_64 -accel kvm -cpu max -M pc -nodefaults \
		-display none -S -monitor stdio) >/dev/null 2>&1
}
case $ACCEL in
auto) if kvm_works; then ACCEL=kvm; else ACCEL=tcg; fi ;;
kvm | tcg) ;;
*) die "--accel auto|kvm|tcg" ;;
esac

KERNEL=$KERNEL_DIR/vmlinux
[ -f "$KERNEL" ] || KERNEL=$KERNEL_DIR/vmlinuz
mkdir -p "$RESULTS"
args=(-accel "$ACCEL" -cpu max -m "$MEM" -smp "$SMP" -nographic -no-reboot
	-nodefaults -serial stdio -display none -nic none
	-device isa-debug-exit,iobase=0xf4,iosize=0x01
	-kernel "$KERNEL" -initrd "$INITRD"
	-virtfs "local,path=$SRC_DIR,mount_tag=src,security_model=none,readonly=on"
	-virtfs "local,path=$RESULTS,mount_tag=results,security_model=none")
if [ -d "$BUILD_DIR" ]; then
	args+=(-virtfs "local,path=$BUILD_DIR,mount_tag=build,security_model=none,readonly=on")
fi
# oops=panic panic=-1: an oops ends the VM at once instead of hanging a case
cmdline="console=ttyS0 quiet panic=-1 oops=panic log_buf_len=8M vm.timeout=$CASE_TIMEOUT"

if [ "$SHELL_MODE" = 1 ]; then
	say "shell ($ACCEL); exit the shell to power off"
	qemu-system-x86_64 "${args[@]}" -append "$cmdline vm.shell=1 ${EXTRA[*]}"
	rc=$?
	[ $rc = 1 ] && rc=0 # isa-debug-exit 0
	exit $rc
fi

label=${cases[0]}
[ ${#cases[@]} = 1 ] || label=all
LOG=$RESULTS/$label.console.log
TIMEOUT=${TIMEOUT:-$((90 + CASE_TIMEOUT * ${#cases[@]}))}
for c in "${cases[@]}"; do rm -rf "${RESULTS:?}/$c"; done
say "booting ($ACCEL, -smp $SMP, -m $MEM, limit ${TIMEOUT}s): ${cases[*]}"
t_boot=$(date +%s.%N)
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 "${args[@]}" \
	-append "$cmdline vm.cases=$(IFS=,; echo "${cases[*]}") ${EXTRA[*]}" \
	</dev/null 2>&1 | tee "$LOG"
qrc=${PIPESTATUS[0]}
t_end=$(date +%s.%N)
secs=$(awk -v a="$t_boot" -v b="$t_end" 'BEGIN{printf "%.1f", b - a}')

# ---------------------------------------------------------------- result
echo
echo "==== VM $label: qemu exit $qrc after ${secs}s, console log $LOG"
[ "$qrc" = 124 ] || [ "$qrc" = 137 ] && echo "==== VM hit the host-side limit of ${TIMEOUT}s"
fails=0 passes=0 skips=0 case_secs=0
for c in "${cases[@]}"; do
	line=$(tr -d '\r' <"$LOG" | grep -a "^VMTEST-CASE-END: $c " | tail -n 1)
	if [ -z "$line" ]; then
		if tr -d '\r' <"$LOG" | grep -aq "^VMTEST-CASE-START: $c\$"; then
			echo "  $c: FAIL (did not finish: timeout, kernel panic or qemu error)"
		else
			echo "  $c: FAIL (not started)"
		fi
		fails=$((fails + 1))
		continue
	fi
	rc=$(echo "$line" | sed 's/.* rc=\([0-9]*\).*/\1/')
	t=$(echo "$line" | sed 's/.* secs=//')
	case_secs=$(awk -v a="$case_secs" -v b="$t" 'BEGIN{print a + b}')
	case $rc in
	0) echo "  $c: pass (${t}s)"; passes=$((passes + 1)) ;;
	77) echo "  $c: skip (${t}s)"; skips=$((skips + 1)) ;;
	*) echo "  $c: FAIL rc=$rc (${t}s)"; fails=$((fails + 1)) ;;
	esac
done
echo "  boot + power-off overhead: $(awk -v a="$secs" -v b="$case_secs" 'BEGIN{printf "%.1f", a - b}')s"
[ $fails = 0 ] || exit 1
[ $passes = 0 ] && exit 77
exit 0
