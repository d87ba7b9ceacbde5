// SPDX-License-Identifier: LGPL-2.1-or-later
// The wire and API headers are usable from C++.
#include <cerrno>

#include "rnbd/rnbd-proto.h"
#include "rnbd/rtrs-proto.h"
#include "rnbd/rtrs-tcp-proto.h"
#include "rnbd/rnbd.h"

static_assert(sizeof(rtrs_msg_conn_rsp) == 56, "conn_rsp");

int main()
{
	errno = 0;
	return rnbd_version() && sizeof(rnbd_msg_io) >= 28 ? errno : 1;
}
