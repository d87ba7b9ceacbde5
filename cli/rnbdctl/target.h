/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What `rnbdctl map` maps, from whichever form the user gave: an rnbd://
 * URI, the kernel's map_device option string, or flags and a device path.
 */
#ifndef RNBDCTL_TARGET_H
#define RNBDCTL_TARGET_H

#include <stdint.h>

#include "rnbd/rnbd.h"

#define TARGET_MAX_PATHS 6	/* the kernel's limit */

enum target_backend {
	BACKEND_AUTO,		/* ublk where ublk_drv is, FUSE + loop elsewhere */
	BACKEND_FUSE,
	BACKEND_UBLK,
	BACKEND_KERNEL,
};

struct target_path {
	char src[128];		/* "" or a host; "gid:..." only for the kernel */
	char dst[128];		/* a host without brackets, or "gid:..." */
	uint16_t port;		/* 0: the session's port */
};

struct target {
	char sessname[256];	/* "" until target_finish() */
	struct target_path paths[TARGET_MAX_PATHS];
	unsigned int npaths;
	uint16_t port;		/* 0: 1234 */
	char transport[8];	/* "" or tcp, rdma */
	char policy[16];	/* "" or a policy name */
	char device[RNBD_NAME_MAX];
	enum rnbd_access_mode mode;
	int nr_poll_queues;	/* kernel only */
	unsigned int reconnect_delay_s; /* 0: the library's 30 s; daemons only */
	unsigned int io_timeout_s;	/* 0: the library's 30 s; daemons only */
	enum target_backend backend;
};

void target_init(struct target *t);
int target_from_uri(struct target *t, const char *uri);
/* "sessname=S path=ip:SRC@ip:DST ... device_path=P [access_mode=M] ..." */
int target_from_kernel_opts(struct target *t, const char *opts);
/* "[SRC,|SRC@]DST[:PORT]", each address with an optional ip: prefix */
int target_add_path(struct target *t, const char *spec);
int target_backend_parse(const char *s, enum target_backend *out);
const char *target_backend_str(enum target_backend b);
/* Check what is there and name the session if the user did not. */
int target_finish(struct target *t);

/* A path as librnbd takes it: "[SRC,]DST[:PORT]" with IPv6 in brackets. */
void target_path_lib(const struct target_path *p, char *buf, size_t len);
/* The kernel's map_device line for t. */
int target_kernel_line(const struct target *t, char *buf, size_t len);

#endif
