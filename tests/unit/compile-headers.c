// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The wire headers compile alone (linux/types.h only) in ISO C11 with libc's
 * errno macro already defined, and the public API header beside them.
 */
#include <errno.h>

#include "rnbd/rnbd-proto.h"
#include "rnbd/rtrs-proto.h"
#include "rnbd/rtrs-tcp-proto.h"
#include "rnbd/rnbd.h"

int main(void)
{
	struct rtrs_msg_conn_req req = { .first_conn = 1 };

	errno = 0; /* the macro survived the header */
	if (!rnbd_version()[0])
		return 1;
	return (int)(sizeof(struct rnbd_msg_open_rsp) + sizeof(struct rtrs_tcp_hdr) +
		     req.first_conn - 73 + errno);
}
