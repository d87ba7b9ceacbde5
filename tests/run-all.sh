#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The project's test command: builds and runs every suite CI runs.
#   build/        default build: unit, integration and kernel suites
#   build-asan/   AddressSanitizer + UndefinedBehaviorSanitizer: unit and
#                 integration suites (leaks fail the run)
#   build-fuzz/   clang libFuzzer harnesses, FUZZ_SECONDS each (default 30)
#   the vm suite in build/ (qemu, tests/vm/, ~10 min under TCG);
#                 RNBD_VM_TESTS=0 leaves it out
# The last line is the summary "N passed, N failed, N skipped"; the exit
# status is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds=${FUZZ_SECONDS:-30}
jobs=$(nproc)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
logs=()
broken=0

# setup DIR MESON-ARGS...: configure once, reconfigure if the options changed
setup() {
	local dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
	else
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
	fi || { cat "$dir.setup.log"; return 1; }
}

# run DIR MESON-TEST-ARGS...: build and test, keep the JSON log for the summary
run() {
	local dir=$1
	shift
	echo "=== $dir: meson test $*"
	if ! ninja -C "$dir" -j "$jobs" >"$dir.build.log" 2>&1; then
		tail -n 50 "$dir.build.log"
		echo "BUILD FAILED: $dir"
		broken=$((broken + 1))
		return
	fi
	meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@"
	logs+=("$dir/meson-logs/testlog.json")
}

setup build && run build --no-suite fuzz --no-suite vm --no-suite bench \
	|| broken=$((broken + 1))
# the VM suite (tests/vm/README.md); RNBD_VM_TESTS=0 leaves it out
if [ "${RNBD_VM_TESTS:-1}" = 1 ]; then
	echo "=== build: meson test --suite vm"
	meson test -C build --print-errorlogs --suite vm --logbase testlog-vm
	logs+=("build/meson-logs/testlog-vm.json")
fi
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false && \
	run build-asan --suite unit --suite integration || broken=$((broken + 1))
if command -v clang >/dev/null; then
	CC=clang setup build-fuzz -Dfuzz=true -Dfuzz_seconds="$fuzz_seconds" \
		-Db_sanitize=address,undefined -Db_lundef=false && \
		run build-fuzz --suite fuzz || broken=$((broken + 1))
else
	echo "clang not found: fuzz suite not built"
	broken=$((broken + 1))
fi

python3 - "$broken" "${logs[@]}" <<'PY'
import json, sys
broken = int(sys.argv[1])
count = {"passed": 0, "failed": broken, "skipped": 0}
for path in sys.argv[2:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        count["failed"] += 1
        continue
    for line in lines:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            count["passed"] += 1
        elif r == "SKIP":
            count["skipped"] += 1
        else:
            count["failed"] += 1
print("{passed} passed, {failed} failed, {skipped} skipped".format(**count))
sys.exit(1 if count["failed"] else 0)
PY
