/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Client internals shared by clt.c (session), clt-path.c (path state
 * machine, loop 0) and clt-io.c (requests, every loop).
 *
 * Ownership: loop 0 owns the session's path list and every path's state
 * machine; loop i owns cid i of every path (clt_loop.conns[slot]) and the
 * requests it sent on them.  Other threads only read atomics.
 */
#ifndef RNBD_RTRS_CLT_H
#define RNBD_RTRS_CLT_H

#include <stdatomic.h>

#include "completion.h"
#include "loop.h"
#include "permit.h"
#include "policy.h"
#include "rtrs.h"

struct rtrs_clt_sess;
struct clt_path;

struct clt_conn {
	struct rtrs_tr_conn *tr;
	struct rtrs_clt_sess *sess;
	struct clt_path *path;		/* NULL once the path let go of it */
	uint32_t gen;			/* path generation it was made for */
	uint16_t cid;
	bool corked;
	unsigned int hb_missed;
	uint32_t hb_seq;
	uint64_t hb_sent_ns;
	struct list_head link;		/* clt_loop.corked, then clt_loop.zombies */
};

/* Counters one loop keeps for one path; summed when read. */
struct clt_counters {
	_Atomic uint64_t reqs_read, reqs_write, bytes_read, bytes_write;
	_Atomic uint64_t failovers, lat_count, lat_sum_ns, lat_max_ns;
};

struct clt_loop {
	struct rtrs_loop loop;
	struct rtrs_clt_sess *sess;
	struct clt_conn *conns[MAX_PATHS_NUM];	/* cid == loop idx */
	struct list_head inflight[MAX_PATHS_NUM];
	struct list_head backlog;	/* rtrs_clt_io waiting for a permit */
	struct list_head nopath;	/* clt_req waiting for a path */
	struct list_head corked;	/* connections to uncork after a drain */
	struct list_head zombies;	/* closed, waiting for the transport */
	uv_timer_t nopath_timer;
	uv_timer_t hb_timer;
	unsigned int rr_cursor;
	bool in_drain;
	_Atomic bool has_backlog;
	_Atomic bool wake_pending;
	struct rtrs_loop_msg wake_msg;
	struct clt_counters ctr[MAX_PATHS_NUM];
};

/* One per permit. */
struct clt_req {
	struct rtrs_tr_req tr;
	struct rtrs_clt_io *io;
	struct clt_loop *wl;
	struct clt_path *path;
	struct list_head link;		/* clt_loop.inflight[slot] or .nopath */
	uint64_t start_ns;
	uint64_t sent_ns;		/* on its current path */
	uint64_t deadline_ns;		/* failing over or waiting for a path */
	struct rtrs_path_mask tried;
	bool failed_over;
};

struct clt_path {
	struct rtrs_clt_sess *sess;
	int id;
	unsigned int slot;
	struct rtrs_addr addr;
	socklen_t addrlen;
	uint8_t sess_uuid[16];
	_Atomic int state;		/* enum rtrs_clt_state */
	uint32_t gen;			/* bumped per connect attempt */
	uint16_t recon_cnt;
	int reconnect_attempts;
	unsigned int reset_retries;	/* of a requested reconnect, see path_down_done() */
	bool first_conn;
	bool connected_once;
	bool auto_reconnect;
	bool removing;
	bool reconnect_now;
	bool down_busy;			/* DOWN broadcast not yet acked */
	struct clt_conn **hs;		/* [cid_num] during the handshake */
	unsigned int hs_established;
	unsigned int pending_acks;
	int err;			/* why the last attempt failed */
	char why[256];
	enum { PT_NONE, PT_DELAY, PT_BACKOFF, PT_INFO } timer_phase;
	uv_timer_t timer;		/* reconnect delay, backoff, info_rsp wait */
	_Atomic uint64_t inflight;
	_Atomic uint64_t hb_rtt_ns;
	_Atomic unsigned int hb_missed;	/* transports with cid-0-only heartbeats */
	_Atomic uint64_t reconnects, reconnect_fails;
	struct rtrs_completion *waiter;	/* API call waiting for up/failed/gone */
};

struct rtrs_clt_sess {
	char sessname[RTRS_NAME_MAX];
	struct rtrs_clt_opts o;		/* with defaults filled in */
	const struct rtrs_tr_ops *tr;
	unsigned int nloops;		/* = cid_num */
	struct clt_loop *loops;
	uint8_t paths_uuid[16];
	_Atomic(struct clt_path *) paths[MAX_PATHS_NUM];
	_Atomic unsigned int nslots;	/* slots in use are below this */
	unsigned int npaths;
	int next_path_id;
	uint32_t queue_depth;		/* 0 until the first cid 0 accept */
	_Atomic uint32_t max_io_size;
	uint32_t max_hdr_size;
	struct rtrs_permits permits;
	struct clt_req *reqs;
	_Atomic int policy;
	_Atomic int paths_up;
	_Atomic bool closing;
	_Atomic unsigned int backlog_loops;
	_Atomic unsigned int next_loop;	/* round-robin for foreign submitters */
	_Atomic long nconns;		/* transport connections not yet closed */
	bool opening;			/* no link events during rtrs_clt_open */
	struct rtrs_completion *drained;
};

static inline enum rtrs_clt_state path_state(struct clt_path *p)
{
	return atomic_load_explicit(&p->state, memory_order_acquire);
}

/* clt-path.c, loop 0 */
extern const struct rtrs_tr_events clt_tr_events;
int clt_path_start(struct clt_path *p, struct rtrs_completion *waiter);
void clt_path_fail(struct clt_path *p, int err, const char *why);
void clt_path_post_fail(struct clt_conn *conn, int err, const char *why);
int clt_path_reconnect(struct clt_path *p, struct rtrs_completion *waiter);
void clt_path_remove(struct clt_path *p, struct rtrs_completion *waiter);

/* clt-io.c, every loop */
void clt_io_process(struct clt_loop *wl, struct rtrs_clt_io *io);
void clt_io_response(struct clt_conn *conn, struct rtrs_tr_req *treq, int err);
void clt_io_path_down(struct clt_loop *wl, struct clt_path *p);
struct clt_msg;
void clt_io_path_up_msg(struct clt_loop *wl, struct clt_msg *m);
void clt_io_forget_path(struct clt_loop *wl, struct clt_path *p);
void clt_io_fail_waiting(struct clt_loop *wl, int err);
void clt_io_wake_backlog(struct rtrs_clt_sess *s);
void clt_loop_hb_tick(uv_timer_t *t);
void clt_loop_nopath_tick(uv_timer_t *t);
void clt_loop_after_drain(struct rtrs_loop *loop);
void clt_loop_drain_msg(struct rtrs_loop *loop, struct rtrs_loop_msg *msg);
void clt_conn_drop(struct clt_loop *wl, struct clt_conn *conn, int reason, uint32_t linger_ms);

/* A control-plane message to a loop (allocated per post). */
struct clt_msg {
	struct rtrs_loop_msg base;
	void (*fn)(struct clt_loop *wl, struct clt_msg *m);
	void *arg;
	uint32_t gen;
	int err;
	char why[200];
};

int clt_post(struct clt_loop *wl, void (*fn)(struct clt_loop *wl, struct clt_msg *m), void *arg,
	     uint32_t gen, int err, const char *why);

#endif
