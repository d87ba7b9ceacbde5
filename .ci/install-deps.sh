#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install everything librnbd needs to build and test on Debian 12 (root).
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential clang llvm pkg-config meson ninja-build python3 \
	libuv1-dev libconfig-dev check liburing-dev uuid-dev libjson-c-dev \
	libibverbs-dev librdmacm-dev rdma-core \
	libfuse3-dev fuse3 scdoc jq iproute2 kmod util-linux e2fsprogs \
	linux-headers-amd64 linux-source-6.1 xz-utils \
	fio nbdkit libnbd-bin libnbd-dev \
	qemu-system-x86 busybox-static cpio ibverbs-providers ibverbs-utils \
	rdmacm-utils perftest \
	>/dev/null
echo "dependencies installed"
