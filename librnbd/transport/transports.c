// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <string.h>

#include "rtrs/transport.h"
#include "util/err.h"

int rtrs_transport_find(const char *name, const struct rtrs_tr_ops **out)
{
	if (!name || !strcmp(name, "tcp")) {
		*out = &rtrs_tcp_ops;
		return 0;
	}
#ifdef RNBD_HAVE_RDMA
	if (!strcmp(name, "rdma")) {
		*out = &rtrs_rdma_ops;
		return 0;
	}
#endif
	return rnbd_err_set(-EPROTONOSUPPORT, "transport %s is not available%s", name,
			    strcmp(name, "rdma") ? "" : " (librnbd was built without RDMA)");
}
