#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's main job: build librnbd and exercise it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
meson test -C build --suite unit --print-errorlogs
