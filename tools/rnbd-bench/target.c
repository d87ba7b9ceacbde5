// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "target.h"

const struct target_ops *target_for_uri(const char *uri)
{
	if (!strncmp(uri, "rnbd://", 7))
		return &target_rnbd;
#ifdef RNBD_BENCH_HAVE_NBD
	/* nbd://, nbds://, nbd+unix://, nbds+unix://, nbd+vsock://: libnbd's */
	if (!strncmp(uri, "nbd", 3) && strstr(uri, "://"))
		return &target_nbd;
#endif
	return NULL;
}
