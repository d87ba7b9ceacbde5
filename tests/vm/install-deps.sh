#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install (Debian 12, root) what the VM test suite needs on the host: qemu,
# the kernel headers and sources for the out-of-tree modules, and the tools
# and libraries copied into the VM image. .ci/install-deps.sh installs the
# same packages; this script is for running only the VM suite.
# linux-headers-amd64 pulls the headers of the current bookworm kernel ABI;
# fetch-kernel.sh downloads the matching linux-image package at test time.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	qemu-system-x86 busybox-static cpio kmod xz-utils gcc make \
	linux-headers-amd64 linux-source-6.1 \
	iproute2 rdma-core ibverbs-providers ibverbs-utils rdmacm-utils perftest \
	util-linux e2fsprogs dash coreutils diffutils fuse3 \
	libuv1 libconfig9 libjson-c5 liburing2 libfuse3-3 libibverbs1 librdmacm1 \
	libuuid1 libsubunit0 \
	>/dev/null
echo "VM test dependencies installed"
