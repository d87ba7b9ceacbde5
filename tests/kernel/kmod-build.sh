#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# kmod-build <include dir>: build kmod/ against the kernel headers; it only
# compiles if our wire headers build in kernel context and every layout
# assertion from fields.def holds.  RNBD_INC overrides the include dir.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

inc=$(cd "${RNBD_INC:-${1:?usage: $0 include-dir}}" && pwd) || die "no include dir"
find_kdir
make_tmp kmod-build

cp "$here/kmod/Kbuild" "$here/kmod/rnbd_hdr_check.c" "$here/fields.def" "$tmp/" || die "copy"
kmake "$tmp" RNBD_INC="$inc" modules || die "module build failed (headers: $inc)"
[ -f "$tmp/rnbd_hdr_check.ko" ] || die "no rnbd_hdr_check.ko"
echo "PASS: rnbd_hdr_check.ko built against $KDIR with $inc"
