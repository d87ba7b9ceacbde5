/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rnbd-serve's control socket: a Unix socket, one JSON request per
 * connection and one JSON reply, for `rnbdctl server ...`.  Only root (or
 * the user the server runs as) may connect.
 */
#ifndef RNBD_SERVE_CTL_H
#define RNBD_SERVE_CTL_H

#include "config.h"

struct ctl;

/*
 * Answer one request on the listening fd: accept, read, act, reply.
 * reload() is what {"command":"reload"} does.
 */
void ctl_serve_one(int lfd, struct rnbd_srv *srv, const struct serve_config *conf,
		   int (*reload)(void *opaque, char *err, size_t errlen), void *opaque);

#endif
