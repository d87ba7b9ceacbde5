// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "rtrs/transport.h"

const struct rtrs_tr_ops *rtrs_transport_find(const char *name)
{
	if (!strcmp(name, "tcp"))
		return &rtrs_tcp_ops;
#ifdef RNBD_HAVE_RDMA
	if (!strcmp(name, "rdma"))
		return &rtrs_rdma_ops;
#endif
	return NULL;
}
