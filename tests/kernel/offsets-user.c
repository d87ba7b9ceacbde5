// SPDX-License-Identifier: LGPL-2.1-or-later
/* Layout records of our wire headers, in userspace; see offsets.h. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "rnbd/rnbd-proto.h"
#include "rnbd/rtrs-proto.h"
#include "rnbd/rtrs-tcp-proto.h"

/* fields.def names the member errno: no libc macro may rewrite it. */
#undef errno

#include "offsets.h"

int main(void)
{
	rnbd_offsets();
	return fflush(stdout) || ferror(stdout);
}
