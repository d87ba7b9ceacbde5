// SPDX-License-Identifier: LGPL-2.1-or-later
/* Layout records of our wire headers, in kernel context. */
#include <linux/stddef.h>
#include <linux/string.h>

#include <rnbd/rnbd-proto.h>
#include <rnbd/rtrs-proto.h>
#include <rnbd/rtrs-tcp-proto.h>

#include "offsets.h"
