/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RNBD client internals: sess.c (session, reconnect, paths), dev.c (OPEN,
 * CLOSE, admin messages), io.c (requests, splitting, sync wrappers).
 *
 * A device's id is the server's and changes when the session comes back
 * after losing every path (the server drops its session then).  Requests
 * hold a device pointer, not an id: RTRS asks io_prep() before each (re)send,
 * which writes the current id, or parks the request while the device is
 * being re-opened.
 */
#ifndef RNBD_CLIENT_CLIENT_H
#define RNBD_CLIENT_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>

#include "proto/rnbd-msg.h"
#include "rnbd/rnbd.h"
#include "rtrs/rtrs.h"

enum dev_state {
	DEV_OPEN,
	DEV_REOPENING,		/* the session lost every path; OPEN again pending */
	DEV_FAILED,		/* the server refused the re-OPEN: I/O fails */
	DEV_CLOSING,
};

/* An admin message (SESS_INFO, OPEN, CLOSE) and its reply buffer. */
struct admin_req {
	struct rtrs_clt_io io;
	struct iovec iov;
	uint8_t usr[RNBD_OPEN_LEN];
	uint8_t rsp[RNBD_OPEN_RSP_LEN];
	int err;
	void (*cb)(struct admin_req *ar, int err);
	struct rnbd_dev *dev;
	/* synchronous callers wait here */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

struct rnbd_dev {
	struct rnbd_sess *sess;
	struct list_head link;		/* sess->devs */
	char path[RNBD_NAME_MAX];
	uint8_t mode;
	_Atomic uint32_t id;
	_Atomic int state;
	_Atomic long inflight;
	pthread_mutex_t lock;		/* info, and waiting for inflight to drain */
	pthread_cond_t drained;
	struct rnbd_dev_info info;
	struct admin_req reopen;
	bool reopen_busy;		/* loop 0 only */
};

struct rnbd_sess {
	struct rtrs_clt_sess *rtrs;
	char name[RTRS_NAME_MAX];
	void (*event)(void *opaque, enum rnbd_sess_event ev);
	void *opaque;
	uint32_t max_io_size;
	uint16_t port;			/* default for paths added later */
	_Atomic int ver;
	pthread_mutex_t lock;		/* devs */
	struct list_head devs;
	_Atomic int reopen_pending;
	struct admin_req sess_info;	/* re-sent on reconnect */
	bool sess_info_busy;
};

/* dev.c */
int admin_send(struct rnbd_sess *s, struct admin_req *ar, bool wait);
void admin_init(struct admin_req *ar);
void admin_fini(struct admin_req *ar);
int admin_sess_info_prepare(struct admin_req *ar);
void dev_reopen(struct rnbd_dev *d);
int dev_apply_open_rsp(struct rnbd_dev *d, const struct admin_req *ar);

/* io.c */
int io_prep(struct rtrs_clt_io *rio);

#endif
