/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Server internals shared by srv.c (server, loops, API), srv-path.c
 * (handshake and path life cycle, loop 0) and srv-io.c (ops, any loop).
 *
 * Ownership: loop 0 owns the listeners, the session table and every path's
 * state; loop i owns the connections handed to it and the ops that arrive
 * on them.  A path lives until its reference count drops to zero: one
 * reference for being open, one per connection not yet dropped, one per op
 * the upper layer holds.  The last put frees it on loop 0.
 */
#ifndef RNBD_RTRS_SRV_H
#define RNBD_RTRS_SRV_H

#include <stdatomic.h>

#include "completion.h"
#include "loop.h"
#include "rtrs.h"

struct srv_path;

struct srv_loop {
	struct rtrs_loop loop;
	struct rtrs_srv *srv;
	uv_timer_t hb_timer;
	struct list_head conns;		/* attached, for heartbeats */
	struct list_head zombies;	/* dropped, waiting for the transport */
	bool upper_ready;		/* ops->loop_init succeeded here */
};

struct srv_conn {
	struct rtrs_tr_conn *tr;
	struct srv_path *path;		/* NULL once dropped */
	struct srv_loop *wl;		/* owner */
	uint16_t cid;
	unsigned int hb_missed;
	uint32_t hb_seq;
	struct list_head link;		/* srv_loop.conns, then .zombies */
};

struct rtrs_srv_op {
	struct rtrs_tr_op tr;
	struct srv_path *path;
	struct srv_conn *conn;		/* NULL if dropped while the op was out */
	struct srv_loop *wl;		/* where the response is sent from */
	_Atomic bool busy;
	bool delivered;			/* handed to the upper layer */
	int err;
	bool lent;			/* answered with lend, not the op's buffer */
	struct rtrs_lend lend;
	void *priv;			/* upper layer's scratch */
	struct rtrs_loop_msg msg;	/* response posted from another thread */
};

struct srv_counters {
	_Atomic uint64_t reqs_read, reqs_write, bytes_read, bytes_write;
};

struct srv_path {
	struct rtrs_srv_sess *sess;
	struct list_head link;		/* sess->paths */
	uint8_t sess_uuid[16];
	_Atomic int state;		/* enum rtrs_srv_state */
	uint16_t cid_num;
	uint16_t recon_cnt;
	struct srv_conn **conns;	/* [cid_num] */
	struct rtrs_srv_op *ops;	/* [queue_depth] */
	void *ops_priv;			/* [queue_depth] * op_priv_size */
	_Atomic long refs;
	struct sockaddr_storage peer, local;
	uv_timer_t timer;		/* CONNECTING deadline (loop 0) */
	struct srv_counters ctr;
};

struct rtrs_srv_sess {
	struct rtrs_srv *srv;
	struct list_head link;		/* srv->sessions */
	uint8_t paths_uuid[16];
	char name[RTRS_NAME_MAX];
	struct list_head paths;
	unsigned int npaths;
	bool linked;			/* CONNECTED delivered to the upper layer */
	void *priv;
};

struct rtrs_srv {
	struct rtrs_srv_opts o;		/* with defaults filled in */
	const struct rtrs_tr_ops *tr;
	unsigned int nloops;
	struct srv_loop *loops;
	struct rtrs_tr_listener **listeners;
	unsigned int nlisteners;
	struct list_head sessions;	/* loop 0 only */
	unsigned int nsessions;
	_Atomic long nconns;		/* transport connections not yet closed */
	bool closing;
	struct rtrs_completion *all_gone;
};

static inline enum rtrs_srv_state srv_path_state(struct srv_path *p)
{
	return atomic_load_explicit(&p->state, memory_order_acquire);
}

static inline struct srv_loop *srv_loop0(struct rtrs_srv *srv)
{
	return &srv->loops[0];
}

/* srv-path.c */
extern const struct rtrs_tr_events srv_tr_events;
void srv_path_close(struct srv_path *p, int reason, const char *why);
void srv_path_post_close(struct srv_conn *conn, int reason, const char *why);
void srv_path_get(struct srv_path *p);
void srv_path_put(struct srv_path *p);
void srv_conn_drop(struct srv_conn *conn, int reason);

/* srv-io.c */
struct rtrs_tr_op *srv_io_get_op(struct rtrs_tr_conn *c, uint16_t id);
void srv_io_request(struct rtrs_tr_conn *c, struct rtrs_tr_op *top);
void srv_op_release(struct rtrs_srv_op *op);
void srv_loop_hb_tick(uv_timer_t *t);

/* Post fn(arg) to a loop; control plane only (allocates). */
int srv_post(struct srv_loop *wl, void (*fn)(struct srv_loop *wl, void *arg, int err,
					     const char *why),
	     void *arg, int err, const char *why);

#endif
