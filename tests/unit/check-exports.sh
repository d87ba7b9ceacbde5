#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every dynamic symbol librnbd defines is listed in the version script, and
# every name listed there starts with rnbd_.
set -eu
lib=$1
sym=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDB]$/ { sub(/@.*/, "", $3); print $3 }' | sort -u)
names=$(sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);$/\1/p' "$sym" | sort -u)
bad=$(printf '%s\n' "$names" | grep -v '^rnbd_' || true)
if [ -n "$bad" ]; then
	echo "names without the rnbd_ prefix in $sym:"; echo "$bad"; exit 1
fi
if [ "$exported" != "$names" ]; then
	echo "exported (<) and listed (>) symbols differ:"
	diff -u "$(printf '%s\n' "$exported" > "${TMPDIR:-/tmp}/exp.$$"; echo "${TMPDIR:-/tmp}/exp.$$")" \
		"$(printf '%s\n' "$names" > "${TMPDIR:-/tmp}/lst.$$"; echo "${TMPDIR:-/tmp}/lst.$$")" || true
	rm -f "${TMPDIR:-/tmp}/exp.$$" "${TMPDIR:-/tmp}/lst.$$"
	exit 1
fi
echo "$(printf '%s\n' "$exported" | wc -l) symbols exported, all listed, all rnbd_*"
