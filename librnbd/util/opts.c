// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "err.h"
#include "opts.h"

int rnbd_opts_take(void *dst, size_t dst_size, const void *src, size_t src_size,
		   size_t min_size, const char *what)
{
	if (src_size < min_size || src_size > dst_size)
		return rnbd_err_set(-EINVAL, "%s of %zu bytes: this librnbd takes %zu to %zu",
				    what, src_size, min_size, dst_size);
	memset(dst, 0, dst_size);
	memcpy(dst, src, src_size);
	return 0;
}

int rnbd_opts_sockbufs(uint32_t sndbuf, uint32_t rcvbuf, int *snd, int *rcv)
{
	if (sndbuf > INT_MAX || rcvbuf > INT_MAX)
		return rnbd_err_set(-EINVAL, "socket buffers of %u/%u bytes: at most %d", sndbuf,
				    rcvbuf, INT_MAX);
	*snd = (int)sndbuf;
	*rcv = (int)rcvbuf;
	return 0;
}
