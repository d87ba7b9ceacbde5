/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RTRS: sessions of paths of connections moving opaque user messages plus
 * data, with the Linux kernel's semantics (rtrs-wire.md), over any transport
 * of transport.h.  RNBD client and server are built on this API and only on
 * it; RTRS knows nothing of RNBD.
 *
 * Client: rtrs_clt_open() connects every path; rtrs_clt_request() sends a
 * request from any thread and calls its done() exactly once, on one of the
 * session's loop threads.  Server: rtrs_srv_open() listens; requests reach
 * the upper layer through the request callback on a loop thread, and
 * rtrs_srv_resp() answers from any thread.
 */
#ifndef RNBD_RTRS_RTRS_H
#define RNBD_RTRS_RTRS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "loop.h"
#include "transport.h"
#include "util/list.h"

/* Multipath policies, values as the kernel's enum rtrs_mp_policy. */
enum rtrs_mp_policy {
	RTRS_MP_POLICY_RR,
	RTRS_MP_POLICY_MIN_INFLIGHT,
	RTRS_MP_POLICY_MIN_LATENCY,
};

/* Client path states, values as the kernel's enum rtrs_clt_state. */
enum rtrs_clt_state {
	RTRS_CLT_CONNECTING,
	RTRS_CLT_CONNECTING_ERR,
	RTRS_CLT_RECONNECTING,
	RTRS_CLT_CONNECTED,
	RTRS_CLT_CLOSING,
	RTRS_CLT_CLOSED,
	RTRS_CLT_DEAD,
};

/* Server path states (enum rtrs_srv_state). */
enum rtrs_srv_state {
	RTRS_SRV_CONNECTING,
	RTRS_SRV_CONNECTED,
	RTRS_SRV_CLOSING,
	RTRS_SRV_CLOSED,
};

enum rtrs_clt_link_ev {
	RTRS_CLT_LINK_EV_RECONNECTED,	/* first path up again (not at open) */
	RTRS_CLT_LINK_EV_DISCONNECTED,	/* no path left up */
};

enum rtrs_srv_link_ev {
	RTRS_SRV_LINK_EV_CONNECTED,	/* first path of a session up */
	RTRS_SRV_LINK_EV_DISCONNECTED,	/* last path of a session gone */
};

bool rtrs_clt_state_change_ok(enum rtrs_clt_state from, enum rtrs_clt_state to);
bool rtrs_srv_state_change_ok(enum rtrs_srv_state from, enum rtrs_srv_state to);
const char *rtrs_clt_state_str(enum rtrs_clt_state s);
const char *rtrs_srv_state_str(enum rtrs_srv_state s);
const char *rtrs_mp_policy_str(enum rtrs_mp_policy p);
int rtrs_mp_policy_parse(const char *s, enum rtrs_mp_policy *out);

/* One path: where to connect, and optionally from where. */
struct rtrs_addr {
	struct sockaddr_storage dst;
	struct sockaddr_storage src;	/* ss_family 0: any */
};

/* Per-path (and, summed, per-session) counters. */
struct rtrs_stats {
	uint64_t reqs_read, reqs_write;		/* completed, by RTRS direction */
	uint64_t bytes_read, bytes_write;
	uint64_t inflight;
	uint64_t failovers;			/* requests re-sent on this path */
	uint64_t reconnects;			/* successful reconnects */
	uint64_t reconnect_fails;
	uint64_t lat_count, lat_sum_ns, lat_max_ns;
	uint64_t hb_rtt_ns;			/* last heartbeat round trip (cid 0) */
};

/* ------------------------------------------------------------------ */
/* Client */

struct rtrs_clt_sess;

struct rtrs_clt_opts {
	const char *sessname;
	const struct rtrs_addr *paths;
	unsigned int npaths;
	const struct rtrs_tr_ops *transport;
	unsigned int nr_workers;	/* I/O loops = cids 1..N; 0: one per online CPU */
	enum rtrs_mp_policy policy;
	uint32_t reconnect_delay_ms;	/* 0: the default, 30000 */
	uint32_t reconnect_backoff_ms;	/* pause before each attempt; default 1000 */
	int max_reconnect_attempts;	/* -1 (default when 0 is not asked): forever */
	bool no_reconnect;		/* max_reconnect_attempts = 0 */
	uint32_t hb_interval_ms;	/* 0: 5000 */
	uint32_t hb_missed_max;		/* 0: 5 */
	uint32_t connect_timeout_ms;	/* 0: 30000 */
	/*
	 * How long a request waits for a path when none is up; it fails with
	 * -EIO after that.  0: the default, 30000.  With kernel_nopath set,
	 * requests fail at once with -ECONNABORTED as in the kernel.
	 */
	uint32_t noconn_timeout_ms;
	bool kernel_nopath;
	/*
	 * A request without a response for this long means the path is broken
	 * although it answers heartbeats: it is reset and its requests fail
	 * over.  0: the default, 30000 (checked every heartbeat interval).
	 */
	uint32_t request_timeout_ms;
	int sndbuf, rcvbuf;
	void (*link_ev)(void *priv, enum rtrs_clt_link_ev ev);
	void *priv;
};

/*
 * A request, owned by the caller from rtrs_clt_request() until done().
 * usr and iov must stay valid until then.  For a read, iov receives
 * data_len bytes (0: no data wanted back, like FLUSH).
 */
struct rtrs_clt_io {
	bool read;
	bool admin;			/* send on cid 0, as RNBD's admin messages */
	bool spread;			/* one part of many: take the next loop in turn */
	const void *usr;
	uint16_t usr_len;
	const struct iovec *iov;
	unsigned int iovcnt;
	uint32_t data_len;
	void (*done)(struct rtrs_clt_io *io, int err);
	/*
	 * Optional, called on the loop before every (re)send: may rewrite the
	 * user message (a device id that changed across a reconnect, say).
	 * -EAGAIN parks the request until rtrs_clt_resume() (or it times out
	 * with -EIO after noconn_timeout_ms); another error completes it.
	 */
	int (*prep)(struct rtrs_clt_io *io);
	void *priv;
	/* private to RTRS */
	struct rtrs_loop_msg msg;
	struct list_head link;
};

struct rtrs_clt_attrs {
	uint32_t queue_depth;
	uint32_t max_io_size;		/* minimum over all paths ever connected */
	uint32_t max_usr_len;		/* largest user message on every transport */
	unsigned int nr_workers;
};

/* Connect all paths (one after another); fails if any fails. */
int rtrs_clt_open(const struct rtrs_clt_opts *o, struct rtrs_clt_sess **out);
/* Drain requests in flight (up to the connect timeout), close, join. */
void rtrs_clt_close(struct rtrs_clt_sess *s);

/*
 * Send io.  0: done() will be called exactly once.  Negative errno: it
 * will not (-EMSGSIZE too large, -EINVAL bad iov, -ESHUTDOWN closing).
 * Requests beyond queue_depth wait for a permit.
 */
int rtrs_clt_request(struct rtrs_clt_sess *s, struct rtrs_clt_io *io);

int rtrs_clt_query(struct rtrs_clt_sess *s, struct rtrs_clt_attrs *attrs);
/* Try the requests a prep hook parked again (any thread). */
void rtrs_clt_resume(struct rtrs_clt_sess *s);
int rtrs_clt_set_policy(struct rtrs_clt_sess *s, enum rtrs_mp_policy p);
enum rtrs_mp_policy rtrs_clt_get_policy(struct rtrs_clt_sess *s);

struct rtrs_clt_path_info {
	int id;				/* stable while the session lives */
	struct rtrs_addr addr;
	enum rtrs_clt_state state;
	uint16_t recon_cnt;
	int reconnect_attempts;
	struct rtrs_stats stats;
};

/* Add a path and connect it (waits for the result). Returns its id. */
int rtrs_clt_path_add(struct rtrs_clt_sess *s, const struct rtrs_addr *addr);
/* Close and forget a path; its requests fail over first. */
int rtrs_clt_path_remove(struct rtrs_clt_sess *s, int id);
/* Drop the path's connections and connect again now. */
int rtrs_clt_path_reconnect(struct rtrs_clt_sess *s, int id);
/* Up to max paths; returns how many there are. */
int rtrs_clt_paths(struct rtrs_clt_sess *s, struct rtrs_clt_path_info *info, unsigned int max);
void rtrs_clt_stats(struct rtrs_clt_sess *s, struct rtrs_stats *sum);

/* ------------------------------------------------------------------ */
/* Server */

struct rtrs_srv;
struct rtrs_srv_sess;
struct rtrs_srv_op;

struct rtrs_srv_ops {
	/*
	 * CONNECTED: a session's first path is up; non-zero refuses it and
	 * closes the path.  DISCONNECTED: its last path is gone and every op
	 * answered; the session is freed after this returns.
	 */
	int (*link_ev)(void *priv, struct rtrs_srv_sess *sess, enum rtrs_srv_link_ev ev);
	/*
	 * A request.  data holds data_len received bytes (write) or is the
	 * buffer for the reply data (read, data_len = bytes wanted).  Return
	 * 0 and answer later with rtrs_srv_resp(), or a negative errno to
	 * answer with it at once.
	 */
	int (*request)(void *priv, struct rtrs_srv_sess *sess, struct rtrs_srv_op *op, bool read,
		       void *data, uint32_t data_len, const void *usr, uint16_t usr_len);
	/*
	 * Optional: run on each loop thread when the server starts and after
	 * its last session is gone at close, for per-loop resources of the
	 * upper layer (an io_uring, say) that requests on that loop use.
	 */
	int (*loop_init)(void *priv, struct rtrs_loop *loop);
	void (*loop_fini)(void *priv, struct rtrs_loop *loop);
};

struct rtrs_srv_opts {
	const struct rtrs_tr_ops *transport;
	const struct sockaddr_storage *listen;	/* addresses to listen on */
	unsigned int nlisten;
	unsigned int nr_workers;	/* 0: one per online CPU */
	uint32_t queue_depth;		/* 0: 512 */
	uint32_t max_io_size;		/* 0: 126976 */
	uint32_t max_hdr_size;		/* 0: 4096 */
	uint32_t hb_interval_ms;	/* 0: 5000 */
	uint32_t hb_missed_max;		/* 0: 5 */
	uint32_t handshake_timeout_ms;	/* 0: 30000 */
	unsigned int max_sessions;	/* 0: 1024 */
	unsigned int max_paths;		/* per session; 0: 128 */
	unsigned int max_pending;	/* connections in handshake; 0: 256 */
	int sndbuf, rcvbuf;
	size_t op_priv_size;		/* scratch per op for the upper layer */
	const struct rtrs_srv_ops *ops;
	void *priv;
};

int rtrs_srv_open(const struct rtrs_srv_opts *o, struct rtrs_srv **out);
/* Stop listening; close every session (ops in flight are waited for). */
void rtrs_srv_close(struct rtrs_srv *srv);
/* Where listener idx (in the order of rtrs_srv_opts.listen) listens:
 * port 0 in the options becomes the port the system chose. */
int rtrs_srv_listen_addr(struct rtrs_srv *srv, unsigned int idx, struct sockaddr_storage *out);
/* Stop accepting new connections; sessions stay. */
void rtrs_srv_stop_listening(struct rtrs_srv *srv);

/* Answer op with 0 or a negative errno, from any thread, exactly once. */
void rtrs_srv_resp(struct rtrs_srv_op *op, int err);

/* Answer a read with success and l's data (l is copied; its lengths must
 * add up to the bytes wanted, or the read fails with -EIO), as
 * rtrs_srv_resp() does. */
void rtrs_srv_resp_lent(struct rtrs_srv_op *op, const struct rtrs_lend *l);
struct rtrs_srv_sess *rtrs_srv_op_sess(struct rtrs_srv_op *op);
/* op_priv_size bytes of zeroed-once scratch, stable for the op's life. */
void *rtrs_srv_op_priv(struct rtrs_srv_op *op);

const char *rtrs_srv_sess_name(struct rtrs_srv_sess *sess);
void rtrs_srv_sess_set_priv(struct rtrs_srv_sess *sess, void *priv);
void *rtrs_srv_sess_get_priv(struct rtrs_srv_sess *sess);

struct rtrs_srv_path_info {
	char sessname[RTRS_NAME_MAX];
	struct sockaddr_storage peer, local;
	enum rtrs_srv_state state;
	unsigned int cid_num;
	struct rtrs_stats stats;
};

/* Up to max paths of all sessions; returns how many there are. */
int rtrs_srv_paths(struct rtrs_srv *srv, struct rtrs_srv_path_info *info, unsigned int max);
/* Close every path of the named session (-ENOENT if none). */
int rtrs_srv_sess_close(struct rtrs_srv *srv, const char *sessname);

#endif
