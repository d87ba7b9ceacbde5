#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# kernel-offsets <include dir> <offsets-user binary>: compare every item of
# fields.def between the kernel's own 6.1 headers (kernel context), our
# headers in kernel context and our headers in userspace.
# RNBD_INC overrides the include dir, KSRC_TAR the kernel source tarball.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

inc=$(cd "${RNBD_INC:-${1:?usage: $0 include-dir offsets-user}}" && pwd) || die "no include dir"
user=${2:?usage: $0 include-dir offsets-user}
ksrc_tar=${KSRC_TAR:-/usr/src/linux-source-6.1.tar.xz}
find_kdir
[ -f "$ksrc_tar" ] || skip "no $ksrc_tar (install linux-source-6.1 or set KSRC_TAR)"
command -v xz >/dev/null || skip "no xz"
make_tmp kernel-offsets

# Only the three headers; the kernel's directory layout is kept because
# rtrs-pri.h includes "rtrs.h" from its own directory.
mkdir "$tmp/ksrc" "$tmp/mod" || die "mkdir"
timeout 120 tar -xJf "$ksrc_tar" -C "$tmp/ksrc" --strip-components=1 --wildcards \
	'*/drivers/block/rnbd/rnbd-proto.h' \
	'*/drivers/infiniband/ulp/rtrs/rtrs-pri.h' \
	'*/drivers/infiniband/ulp/rtrs/rtrs.h' || die "cannot extract headers from $ksrc_tar"

cp "$here"/kmod-offsets/* "$here/fields.def" "$here/offsets.h" "$tmp/mod/" || die "copy"
kmake "$tmp/mod" RNBD_INC="$inc" RNBD_KSRC="$tmp/ksrc" offsets-kernel.s offsets-ours.s ||
	die "kernel-context build failed"

# .ascii "->both offset rnbd_msg_io.prio $24"  ->  both offset rnbd_msg_io.prio 24
records() {
	sed -n 's/^[[:space:]]*\.ascii[[:space:]]*"->\([^"]*\)".*/\1/p' "$1" | sed 's/ \$/ /'
}
records "$tmp/mod/offsets-kernel.s" >"$tmp/kernel.txt"
records "$tmp/mod/offsets-ours.s" >"$tmp/ours-k.txt"
"$user" >"$tmp/ours-u.txt" || die "$user failed"

awk -v kf="$tmp/kernel.txt" -v okf="$tmp/ours-k.txt" -v ouf="$tmp/ours-u.txt" '
function load(file, val, tag,   n, line, w, key) {
	while ((getline line < file) > 0) {
		n++
		if (line !~ /^(both|ours) (size|offset|fsize|bits|const) [A-Za-z_][A-Za-z0-9_.@]* -?[0-9]+$/) {
			print "FAIL: malformed record in " file ": " line; bad = 1
			continue
		}
		split(line, w, " ")
		key = w[2] " " w[3]
		if (key in val) { print "FAIL: duplicate " key " in " file; bad = 1 }
		val[key] = w[4]; tag[key] = w[1]
		if (!(key in seen)) { seen[key] = 1; order[++nkeys] = key }
	}
	close(file)
	if (!n) { print "FAIL: no records in " file; bad = 1 }
}
function show(key, val) { return (key in val) ? val[key] : "-" }
BEGIN {
	load(ouf, U, UT); load(okf, O, OT); load(kf, K, KT)
	fmt = "%-6s %-44s %10s %10s %10s  %s\n"
	printf fmt, "kind", "name", "kernel", "ours-kmod", "ours-user", "result"
	for (i = 1; i <= nkeys; i++) {
		key = order[i]; split(key, w, " ")
		origin = (key in UT) ? UT[key] : OT[key]
		ok = (key in U) && (key in O) && U[key] == O[key] && UT[key] == OT[key]
		# An item missing on the kernel side must be one fields.def marks ours-only.
		if (origin == "ours") {
			ok = ok && !(key in K); ours++
		} else {
			ok = ok && (key in K) && KT[key] == "both" && K[key] == U[key]
			cmp++; kind[w[1]]++
		}
		if (!ok) diffs++
		printf fmt, w[1], w[2], show(key, K), show(key, O), show(key, U),
			ok ? (origin == "ours" ? "OK (ours only)" : "OK") : "DIFF"
	}
	printf "\n%d items compared with the kernel", cmp
	printf " (%d sizes, %d offsets, %d member sizes, %d bitfields, %d constants),\n",
		kind["size"], kind["offset"], kind["fsize"], kind["bits"], kind["const"]
	printf "%d ours-only items compared between our two builds; %d DIFF\n", ours, diffs
	if (bad || diffs || !cmp) { print "FAIL"; exit 1 }
	print "PASS"
}'
