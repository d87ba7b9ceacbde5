// SPDX-License-Identifier: LGPL-2.1-or-later
/* Layout records of the kernel's own RNBD/RTRS headers, in kernel context. */
#define OFFSETS_KERNEL_SIDE
#include <linux/stddef.h>
#include <linux/string.h>
#include <asm/page.h>

#include <drivers/block/rnbd/rnbd-proto.h>
#include <drivers/infiniband/ulp/rtrs/rtrs-pri.h>

#include "offsets.h"
