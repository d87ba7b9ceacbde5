# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers of the rnbdctl tests, sourced after tests/integration/lib.sh
# with CTL set to the rnbdctl binary.
#   ctl_ok ARGS...               rnbdctl must succeed; its stdout is in $OUT
#   ctl_fails CODE REGEX ARGS... rnbdctl must exit CODE saying REGEX on stderr
#   jcheck JSON EXPR             EXPR over j (the parsed JSON) must be true

ctl_ok() {
	OUT=$("$CTL" "$@" 2>"$T/ctl.err") || { cat "$T/ctl.err"; fail "rnbdctl $*: exit $?"; }
}

ctl_fails() {
	local code=$1 re=$2 rc
	shift 2
	"$CTL" "$@" >"$T/ctl.out" 2>"$T/ctl.err"
	rc=$?
	[ "$rc" = "$code" ] || { cat "$T/ctl.out" "$T/ctl.err"; fail "rnbdctl $*: exit $rc, not $code"; }
	grep -qE "$re" "$T/ctl.err" || { cat "$T/ctl.err"; fail "rnbdctl $*: no '$re' on stderr"; }
}

jcheck() {
	python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if eval(" ".join(sys.argv[2].split())) else 1)' \
		"$1" "$2" || { echo "$1"; fail "JSON check failed: $2"; }
}
