#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# ublk_drv (built out of tree, Debian's 6.1 lacks it) loads and offers
# /dev/ublk-control for the userspace ublk backend; no device is created yet.
. "$VM_LIB"
mod_load ublk_drv
check "/dev/ublk-control is a character device" test -c /dev/ublk-control
check "ublk misc device registered" grep -q ublk-control /proc/misc
check "ublk-control opens" sh -c 'exec 3</dev/ublk-control'
check "no ublk block devices yet" sh -c '! ls /dev/ublkb* >/dev/null 2>&1'
mod_unload ublk_drv
check "/dev/ublk-control gone" test ! -e /dev/ublk-control
echo "20-ublk-smoke: ok"
