/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transport interface: what RTRS needs from TCP or RDMA.
 *
 * A transport moves bytes for one connection and knows nothing of sessions,
 * paths, permits or policies.  The core drives it through struct
 * rtrs_tr_ops and hears back through struct rtrs_tr_events.  Nothing here
 * assumes a byte stream: a request is (permit id, user message, data) and a
 * response is (permit id, errno [, read data]), which RDMA carries as
 * WRITE_WITH_IMM into server chunks and TCP as frames.
 *
 * Threading: a connection lives on one loop at a time and every call on it,
 * and every event from it, happens on that loop.  It starts on the loop that
 * created (client) or accepted (server) it; attach() moves it once, after
 * the handshake, to the loop that owns its cid.
 *
 * Life cycle: after an error event the transport stops reading and sending
 * and calls nothing but closed().  The core calls close() exactly once for
 * every connection it got (even one that failed); close() forgets every
 * request and op it held before returning, and the closed event, which
 * always comes later from the loop, is the last event of the connection.
 */
#ifndef RNBD_RTRS_TRANSPORT_H
#define RNBD_RTRS_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "loop.h"
#include "proto/rtrs-msg.h"
#include "util/list.h"

struct rtrs_tr_ops;
struct rtrs_tr_events;

/* Scratch space a transport keeps in each request/op (queue links, ...). */
#define RTRS_TR_PRIV_WORDS 12

/* A client request as the transport sees it; lives in the core's permit. */
struct rtrs_tr_req {
	uint16_t id;			/* permit */
	bool read;			/* RTRS direction */
	const void *usr;		/* user message, stable until completion */
	uint16_t usr_len;
	const struct iovec *iov;	/* write: data; read: where the data goes */
	unsigned int iovcnt;
	uint32_t data_len;		/* write: bytes in iov; read: read_len */
	uint64_t tr_priv[RTRS_TR_PRIV_WORDS];
};

/* A request the server received; lives in the core's per-path op table. */
struct rtrs_tr_op {
	uint16_t id;
	bool read;
	uint32_t read_len;		/* read: bytes the client wants back */
	void *usr;
	uint16_t usr_len;
	void *data;			/* write: received data; read: buffer to fill */
	uint32_t data_len;		/* write: received bytes; read: read_len */
	void *buf;			/* backing memory of usr + data */
	uint32_t buf_cap;
	bool buf_owned;			/* allocated with malloc, freed with the op */
};

/*
 * The data of a read, lent by the upper layer from its own memory instead
 * of copied into the op's buffer: the transport sends straight from it.
 * Every non-NULL ref is given back to put() exactly once, on a loop
 * thread, when the transport no longer needs its piece (sent, copied into
 * a registered buffer, or dropped with the connection), which may be after
 * the op was reused; the memory must stay valid until then.
 */
#define RTRS_LEND_SEGS	17	/* 1 MiB in 64 KiB pieces, not aligned */

struct rtrs_lend_seg {
	const void *base;
	uint32_t len;
	void *ref;
};

struct rtrs_lend {
	unsigned int nseg;
	void (*put)(void *ref);
	struct rtrs_lend_seg seg[RTRS_LEND_SEGS];
};

/* The description of src (its used pieces) into dst; the refs go with it. */
void rtrs_lend_move(struct rtrs_lend *dst, const struct rtrs_lend *src);
/* put() every ref of l. */
void rtrs_lend_put(const struct rtrs_lend *l);
/* The pieces of l one after the other into dst (a buffer of their total length). */
void rtrs_lend_copy(const struct rtrs_lend *l, void *dst);

/* Limits a server grants on accept, and the client learns. */
struct rtrs_tr_limits {
	uint32_t queue_depth;
	uint32_t max_io_size;
	uint32_t max_hdr_size;
};

/* What every transport's connection starts with. */
struct rtrs_tr_conn {
	const struct rtrs_tr_ops *ops;
	const struct rtrs_tr_events *ev;
	void *ctx;			/* the core's */
	struct rtrs_loop *loop;		/* where it lives now */
	struct rtrs_tr_limits lim;	/* valid once accepted */
	uint16_t cid;
};

struct rtrs_tr_listener {
	const struct rtrs_tr_ops *ops;
	const struct rtrs_tr_events *ev;
	void *ctx;
	struct rtrs_loop *loop;
};

struct rtrs_tr_events {
	/* client: the server accepted (rsp->err == 0) or rejected. */
	void (*established)(struct rtrs_tr_conn *c, const struct rtrs_conn_rsp *rsp);
	/* client, cid 0: the handshake finished. */
	void (*info_rsp)(struct rtrs_tr_conn *c);
	/* server: a new connection asks to join; answer with accept/reject. */
	void (*conn_req)(struct rtrs_tr_listener *l, struct rtrs_tr_conn *c,
			 const struct rtrs_conn_req *req);
	/* server, cid 0: the client named its session. */
	void (*info_req)(struct rtrs_tr_conn *c, const char *sessname);
	/*
	 * server: op id arrives with usr_len bytes of user message and
	 * data_len bytes of data (write) or wants read_len bytes (read).
	 * Returns the op to receive it into, or NULL when the id is already
	 * outstanding (a protocol error) or no memory is left.
	 */
	struct rtrs_tr_op *(*get_op)(struct rtrs_tr_conn *c, uint16_t id);
	/* server: the op is complete in memory. */
	void (*request)(struct rtrs_tr_conn *c, struct rtrs_tr_op *op);
	/* client: the response to req arrived (read data, if any, is in place). */
	void (*response)(struct rtrs_tr_conn *c, struct rtrs_tr_req *req, int err);
	/* either side: bytes arrived (liveness for heartbeats). */
	void (*alive)(struct rtrs_tr_conn *c);
	/* either side: a heartbeat ack with the value we sent. */
	void (*hb_ack)(struct rtrs_tr_conn *c, uint32_t val);
	/* the connection failed or the peer closed it; err is why. */
	void (*error)(struct rtrs_tr_conn *c, int err, const char *why);
	/* the connection is gone; the last event. */
	void (*closed)(struct rtrs_tr_conn *c);
};

struct rtrs_tr_listen_opts {
	const struct sockaddr *addr;
	socklen_t addrlen;
	unsigned int max_pending;	/* connections still in the handshake */
	uint32_t handshake_timeout_ms;
	uint32_t user_timeout_ms;	/* TCP_USER_TIMEOUT, 0: unset */
	int sndbuf, rcvbuf;		/* 0: kernel autotuning */
};

struct rtrs_tr_connect_opts {
	const struct sockaddr *src;	/* NULL: any */
	const struct sockaddr *dst;
	socklen_t addrlen;
	uint32_t timeout_ms;		/* connect + conn_rsp */
	uint32_t user_timeout_ms;
	int sndbuf, rcvbuf;
};

struct rtrs_tr_ops {
	const char *name;

	/* Server. */
	int (*listen)(struct rtrs_loop *loop, const struct rtrs_tr_listen_opts *o,
		      const struct rtrs_tr_events *ev, void *ctx, struct rtrs_tr_listener **out);
	void (*listener_close)(struct rtrs_tr_listener *l);
	int (*listener_addr)(struct rtrs_tr_listener *l, struct sockaddr_storage *out);
	int (*accept)(struct rtrs_tr_conn *c, const struct rtrs_tr_limits *lim);
	/* Answer with a reject and close: this counts as the close() call. */
	void (*reject)(struct rtrs_tr_conn *c, int err);
	int (*send_info_rsp)(struct rtrs_tr_conn *c);
	/*
	 * Answer request id: err, and for a successful read len bytes of data.
	 * The transport keeps nothing of the op: the core may hand the op to
	 * another request as soon as this returns, because the client can only
	 * reuse the id once it has the whole response, by which time data has
	 * been written.
	 */
	int (*send_rsp)(struct rtrs_tr_conn *c, uint16_t id, const void *data, uint32_t len,
			int err);
	/*
	 * Optional: answer read id with success and the lent data in l (struct
	 * rtrs_lend above), copied; the transport puts every ref, whatever it
	 * returns.
	 * Without it the core copies the data into the op's buffer.
	 */
	int (*send_rsp_lent)(struct rtrs_tr_conn *c, uint16_t id, const struct rtrs_lend *l);

	/* Client. */
	int (*connect)(struct rtrs_loop *loop, const struct rtrs_tr_connect_opts *o,
		       const struct rtrs_conn_req *req, const struct rtrs_tr_events *ev,
		       void *ctx, struct rtrs_tr_conn **out);
	int (*send_info_req)(struct rtrs_tr_conn *c, const char *sessname);
	/* The transport remembers req under its id until the response, or
	 * until close(); a second request with an outstanding id is -EBUSY. */
	int (*send_req)(struct rtrs_tr_conn *c, struct rtrs_tr_req *req);

	/* Both. */
	/*
	 * Moving a connection to another loop: detach() on the loop it is on
	 * (stops watching it; may fail only for lack of memory, leaving the
	 * connection where it was), then attach() on the new loop's thread,
	 * which cannot fail.  attach() to the loop it is already on needs no
	 * detach().  Either way attach() opens the data phase: requests
	 * (server) and responses (client) are accepted from then on.
	 */
	int (*detach)(struct rtrs_tr_conn *c);
	void (*attach)(struct rtrs_tr_conn *c, struct rtrs_loop *loop);
	int (*send_hb)(struct rtrs_tr_conn *c, bool ack, uint32_t val);
	/* Batch sends until uncork (a hint; may be no-ops). */
	void (*cork)(struct rtrs_tr_conn *c);
	void (*uncork)(struct rtrs_tr_conn *c);
	/*
	 * Orderly close: tell the peer why (0 or -errno), then wait up to
	 * linger_ms for it to hang up before letting go.  close_now() ends the
	 * wait of a connection that is already closing.
	 */
	void (*close)(struct rtrs_tr_conn *c, int reason, uint32_t linger_ms);
	void (*close_now)(struct rtrs_tr_conn *c);
	/* Peer and local addresses of the connection. */
	void (*addrs)(struct rtrs_tr_conn *c, struct sockaddr_storage *peer,
		      struct sockaddr_storage *local);

	/* Heartbeats run on every connection (TCP) or on cid 0 only (RDMA). */
	bool hb_every_conn;
};

extern const struct rtrs_tr_ops rtrs_tcp_ops;
#ifdef RNBD_HAVE_RDMA
extern const struct rtrs_tr_ops rtrs_rdma_ops;
#endif

/* The transport called name ("tcp", "rdma"; NULL: "tcp") in *out: 0, or
 * -EPROTONOSUPPORT with a message when it is not built in. */
int rtrs_transport_find(const char *name, const struct rtrs_tr_ops **out);

#endif
