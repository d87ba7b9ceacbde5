// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * RTRS over TCP (rtrs-tcp.md): one TCP connection per RTRS connection, every
 * message a 16-byte frame header plus payload.
 *
 * Sockets are driven with uv_poll_t and plain readv/sendmsg rather than
 * uv_tcp_t: payloads are read straight into permit and op buffers (a
 * scatter read that uv_tcp_t's one-buffer alloc_cb cannot express), several
 * frames go out in one sendmsg, and a connection moves from the handshake
 * loop to its worker loop by re-polling the same fd.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/rtrs-frame.h"
#include "proto/rtrs-imm.h"
#include "rtrs/transport.h"
#include "tcp-sock.h"
#include "util/err.h"
#include "util/log.h"

#define STAGING_SIZE	(64 * 1024)
/*
 * Behind a large payload, or at a frame boundary after a large frame, the
 * staging buffer only takes this much: what lands there is copied again,
 * and after a large frame the next one is likely large too, its payload
 * better read in place by the next readv.
 */
#define LARGE_PAYLOAD	(64 * 1024)
#define STAGING_BEHIND_LARGE	(4 * 1024)
#define READ_BURST	16
#define SEND_IOV_MAX	64
/*
 * Frames produced while a read burst is parsed wait for its end, so that
 * they leave in one sendmsg; but not more than this many bytes: a burst of
 * large reads would otherwise copy megabytes into permit buffers before
 * the first byte goes out, and the peer would idle meanwhile.
 */
#define SEND_BATCH_BYTES	(256 * 1024)

enum tc_state {
	TC_CONNECTING,	/* client: TCP connect in progress */
	TC_HANDSHAKE,	/* client: waiting CONN_RSP; server: waiting CONN_REQ */
	TC_PENDING,	/* server: CONN_REQ handed to the core, no answer yet */
	TC_OPEN,	/* accepted */
	TC_FAILED,	/* error reported; waiting for close() */
	TC_CLOSING,	/* close() called: flushing CLOSE, draining to EOF */
};

/* One frame on the send queue. */
struct tcp_item {
	struct list_head node;
	uint8_t hdr[RTRS_FRAME_HDR_LEN];
	const void *p1;			/* user message or handshake payload */
	const struct iovec *iov;	/* data */
	struct rtrs_lend *lend;		/* or data lent by the server's upper layer */
	uint32_t l1;
	uint32_t iovcnt;
	uint32_t total;			/* header + payload */
	uint32_t off;			/* bytes already sent */
};

_Static_assert(sizeof(struct tcp_item) <= sizeof(((struct rtrs_tr_req *)0)->tr_priv),
	       "tcp_item fits in a request's transport scratch");

struct tcp_listener {
	struct rtrs_tr_listener l;
	int fd;
	uv_poll_t *poll;
	struct rtrs_tr_listen_opts opts;
	struct list_head pending;	/* connections before their CONN_REQ */
	unsigned int npending;
};

struct tcp_conn {
	struct rtrs_tr_conn c;
	int fd;
	enum tc_state state;
	bool server;
	bool ready;		/* data phase */
	bool info_sent;		/* client: INFO_REQ queued */
	bool info_done;		/* INFO_REQ (server) / INFO_RSP (client) seen */
	bool told_core;		/* the core knows this connection */
	bool peer_gone;		/* EOF, socket error or CLOSE: no CLOSE back */
	bool shut_wr;
	uv_poll_t *poll;
	int poll_events;
	uv_timer_t *timer;
	uv_poll_t *next_poll;	/* preallocated for the next loop */
	uv_timer_t *next_timer;
	unsigned int handles;	/* open handles on the current loop */
	uint32_t user_timeout_ms;
	int err;		/* why it failed, reported by tc_report() */
	char why[200];
	bool in_read;		/* sends wait for the end of the read burst */
	uint32_t batch_bytes;	/* queued since the last flush */

	struct tcp_listener *listener;	/* server, until CONN_REQ */
	struct list_head lnode;

	/* receive */
	uint8_t *staging;
	uint8_t hdr[RTRS_FRAME_HDR_LEN];
	uint32_t hdr_got;
	bool in_payload;
	struct rtrs_frame cur;
	uint32_t pay_left;
	struct iovec dst2[2];
	const struct iovec *dst;
	unsigned int dst_cnt, dst_idx;
	size_t dst_off;
	struct rtrs_tr_req *cur_req;
	struct rtrs_tr_op *cur_op;
	uint8_t small[RTRS_INFO_REQ_LEN];

	/* send */
	struct list_head sendq;
	unsigned int corked;
	struct tcp_item hs_item, hb_item, ack_item, close_item;
	uint8_t hs_payload[RTRS_INFO_REQ_LEN];

	/* client */
	struct rtrs_tr_req **outstanding;
	uint32_t qd;
	/*
	 * server: one response frame per id.  They live in the connection,
	 * not in the op: the client may reuse an id on another connection as
	 * soon as the last byte is out, while this loop still walks its queue.
	 * A response sent from lent data keeps the lend beside its item.
	 */
	struct tcp_item *rsp_items;
	struct rtrs_lend *rsp_lends;
};

static void tc_poll_update(struct tcp_conn *tc);
static void tc_flush(struct tcp_conn *tc);
static void tc_teardown(struct tcp_conn *tc);
static void tc_on_timer(uv_timer_t *t);

static struct tcp_conn *to_tc(struct rtrs_tr_conn *c)
{
	return container_of(c, struct tcp_conn, c);
}

static const char *tc_name(const struct tcp_conn *tc)
{
	return tc->server ? "server" : "client";
}

/*
 * The connection failed: stop reading and sending at once, and tell the core
 * from the next loop iteration, never from inside one of its own calls.
 */
static void tc_fail(struct tcp_conn *tc, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tc_fail(struct tcp_conn *tc, int err, const char *fmt, ...)
{
	va_list ap;

	if (tc->state == TC_FAILED || tc->state == TC_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(tc->why, sizeof(tc->why), fmt, ap);
	va_end(ap);
	tc->err = err;
	tc->state = TC_FAILED;
	tc_poll_update(tc);
	uv_timer_start(tc->timer, tc_on_timer, 0, 0);
}

/* The deferred half of tc_fail().  A server connection the core has not
 * seen yet is just dropped. */
static void tc_report(struct tcp_conn *tc)
{
	if (!tc->told_core) {
		rnbd_log_debug("tcp %s: dropping connection: %s", tc_name(tc), tc->why);
		tc_teardown(tc);
		return;
	}
	tc->c.ev->error(&tc->c, tc->err, tc->why);
}

/* ---- handles ---- */

static void handle_free_cb(uv_handle_t *h)
{
	free(h);
}

static void tc_free(struct tcp_conn *tc)
{
	free(tc->rsp_items);
	free(tc->rsp_lends);
	free(tc->next_poll);
	free(tc->next_timer);
	free(tc->outstanding);
	free(tc->staging);
	free(tc);
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct tcp_conn *tc = h->data;

	free(h);
	if (--tc->handles)
		return;
	if (tc->told_core)
		tc->c.ev->closed(&tc->c);
	tc_free(tc);
}

static void tc_on_poll(uv_poll_t *h, int status, int events);

/* Handle memory for the next loop, allocated while failing is still
 * harmless (connect, accept, detach). */
static int tc_handles_alloc(struct tcp_conn *tc)
{
	tc->next_poll = calloc(1, sizeof(*tc->next_poll));
	tc->next_timer = calloc(1, sizeof(*tc->next_timer));
	if (!tc->next_poll || !tc->next_timer) {
		free(tc->next_poll);
		free(tc->next_timer);
		tc->next_poll = NULL;
		tc->next_timer = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Watch the connection from loop with the preallocated handles.  A socket
 * that epoll refuses (it cannot happen to a connected TCP socket) fails
 * the connection through its timer, which always initialises. */
static void tc_handles_init(struct tcp_conn *tc, struct rtrs_loop *loop)
{
	int ret;

	tc->timer = tc->next_timer;
	tc->poll = tc->next_poll;
	tc->next_timer = NULL;
	tc->next_poll = NULL;
	uv_timer_init(&loop->uv, tc->timer);
	tc->timer->data = tc;
	tc->handles = 1;
	tc->poll_events = 0;
	tc->c.loop = loop;
	ret = uv_poll_init(&loop->uv, tc->poll, tc->fd);
	if (ret) {
		free(tc->poll);
		tc->poll = NULL;
		tc_fail(tc, ret, "cannot poll the socket: %s", uv_strerror(ret));
		return;
	}
	tc->poll->data = tc;
	tc->handles = 2;
}

/* Release the handles on the current loop without touching tc later. */
static void tc_handles_drop(struct tcp_conn *tc)
{
	if (tc->poll)
		uv_close((uv_handle_t *)tc->poll, handle_free_cb);
	uv_close((uv_handle_t *)tc->timer, handle_free_cb);
	tc->poll = NULL;
	tc->timer = NULL;
	tc->handles = 0;
	tc->c.loop = NULL;
}

static bool tc_reading(const struct tcp_conn *tc)
{
	switch (tc->state) {
	case TC_HANDSHAKE:
	case TC_OPEN:
	case TC_CLOSING:
		return true;
	default:
		return false;
	}
}

static void tc_poll_update(struct tcp_conn *tc)
{
	int ev = 0;

	if (!tc->poll || uv_is_closing((uv_handle_t *)tc->poll))
		return;
	if (tc->state == TC_CONNECTING)
		ev = UV_WRITABLE;
	else if (tc_reading(tc))
		ev = UV_READABLE;
	if (tc->state != TC_FAILED && !tc->corked && !tc->in_read && !list_empty(&tc->sendq))
		ev |= UV_WRITABLE;
	if (ev == tc->poll_events)
		return;
	tc->poll_events = ev;
	if (ev)
		uv_poll_start(tc->poll, ev, tc_on_poll);
	else
		uv_poll_stop(tc->poll);
}

/* Close fd and handles; closed() follows from the last close callback. */
static void tc_teardown(struct tcp_conn *tc)
{
	if (tc->listener) {
		list_del(&tc->lnode);
		tc->listener->npending--;
		tc->listener = NULL;
	}
	if (tc->fd >= 0) {
		if (tc->poll)
			uv_close((uv_handle_t *)tc->poll, conn_handle_closed);
		uv_close((uv_handle_t *)tc->timer, conn_handle_closed);
		close(tc->fd);
		tc->fd = -1;
	}
}

static void tc_timer_start(struct tcp_conn *tc, uint32_t ms)
{
	uv_timer_start(tc->timer, tc_on_timer, ms, 0);
}

/* ---- sending ---- */

static void item_init(struct tcp_item *it, const struct rtrs_frame *f, const void *p1,
		      uint32_t l1, const struct iovec *iov, uint32_t iovcnt)
{
	rtrs_frame_encode(f, it->hdr);
	it->p1 = p1;
	it->l1 = l1;
	it->iov = iov;
	it->iovcnt = iovcnt;
	it->lend = NULL;
	it->total = RTRS_FRAME_HDR_LEN + f->len;
	it->off = 0;
}

static bool item_queued(const struct tcp_item *it)
{
	return it->node.next && it->node.next != &it->node;
}

/* The item leaves the connection for good: give back what it borrowed. */
static void item_unlend(struct tcp_item *it)
{
	if (it->lend) {
		rtrs_lend_put(it->lend);
		it->lend = NULL;
	}
}

static void tc_queue(struct tcp_conn *tc, struct tcp_item *it)
{
	list_add_tail(&it->node, &tc->sendq);
	tc->batch_bytes += it->total;
	if (!tc->corked && (!tc->in_read || tc->batch_bytes >= SEND_BATCH_BYTES))
		tc_flush(tc);
}

static void tc_queue_ctl(struct tcp_conn *tc, struct tcp_item *it, uint8_t type, uint32_t imm,
			 const void *payload, uint32_t len)
{
	struct rtrs_frame f = { .type = type, .len = len, .imm = imm };

	item_init(it, &f, payload, len, NULL, 0);
	tc_queue(tc, it);
}

/* Append the unsent part of it to iov[*n]; false when iov is full. */
static bool item_iov(const struct tcp_item *it, struct iovec *iov, int *n, int max)
{
	uint32_t skip = it->off;
	struct iovec seg[2] = {
		{ (void *)it->hdr, RTRS_FRAME_HDR_LEN },
		{ (void *)it->p1, it->l1 },
	};

	unsigned int nlent = it->lend ? it->lend->nseg : 0;

	for (unsigned int i = 0; i < 2 + it->iovcnt + nlent; i++) {
		struct iovec s;

		if (i < 2)
			s = seg[i];
		else if (i < 2 + it->iovcnt)
			s = it->iov[i - 2];
		else
			s = (struct iovec){ (void *)it->lend->seg[i - 2 - it->iovcnt].base,
					    it->lend->seg[i - 2 - it->iovcnt].len };
		if (skip >= s.iov_len) {
			skip -= s.iov_len;
			continue;
		}
		if (*n == max)
			return false;
		iov[*n].iov_base = (char *)s.iov_base + skip;
		iov[*n].iov_len = s.iov_len - skip;
		(*n)++;
		skip = 0;
	}
	return true;
}

static void tc_sent_all(struct tcp_conn *tc)
{
	if (tc->state == TC_CLOSING && !tc->shut_wr && !item_queued(&tc->close_item)) {
		shutdown(tc->fd, SHUT_WR);
		tc->shut_wr = true;
	}
}

static void tc_flush(struct tcp_conn *tc)
{
	tc->batch_bytes = 0;
	while (!list_empty(&tc->sendq)) {
		struct iovec iov[SEND_IOV_MAX];
		struct msghdr msg = { .msg_iov = iov };
		struct list_head *pos, *tmp;
		int n = 0;
		ssize_t sent;

		list_for_each_safe(pos, tmp, &tc->sendq) {
			if (!item_iov(list_entry(pos, struct tcp_item, node), iov, &n, SEND_IOV_MAX))
				break;
		}
		msg.msg_iovlen = n;
		sent = sendmsg(tc->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			tc->peer_gone = true;
			tc_fail(tc, -errno, "send: %s", strerror(errno));
			return;
		}
		list_for_each_safe(pos, tmp, &tc->sendq) {
			struct tcp_item *it = list_entry(pos, struct tcp_item, node);
			uint32_t left = it->total - it->off;

			if ((size_t)sent < left) {
				it->off += sent;
				break;
			}
			sent -= left;
			it->off = it->total;
			list_del(&it->node);
			item_unlend(it);
		}
	}
	if (list_empty(&tc->sendq))
		tc_sent_all(tc);
	tc_poll_update(tc);
}

/* Forget every request and op: after close() they belong to the core. */
static void tc_forget(struct tcp_conn *tc)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &tc->sendq) {
		struct tcp_item *it = list_entry(pos, struct tcp_item, node);

		/* A frame cut in the middle would desync the peer; it is
		 * closing anyway, so only whole control frames still go out. */
		if (it->off || (it != &tc->hb_item && it != &tc->ack_item && it != &tc->close_item)) {
			list_del(&it->node);
			item_unlend(it);
		}
	}
	if (tc->outstanding)
		memset(tc->outstanding, 0, tc->qd * sizeof(*tc->outstanding));
	tc->cur_req = NULL;
	tc->cur_op = NULL;
}

/* ---- receiving ---- */

static void dst_set(struct tcp_conn *tc, const struct iovec *iov, unsigned int cnt)
{
	tc->dst = iov;
	tc->dst_cnt = cnt;
	tc->dst_idx = 0;
	tc->dst_off = 0;
}

/* Copy up to len bytes into the destination; returns the bytes taken. */
static size_t dst_fill(struct tcp_conn *tc, const uint8_t *p, size_t len)
{
	size_t taken = 0;

	len = len < tc->pay_left ? len : tc->pay_left;
	while (taken < len && tc->dst_idx < tc->dst_cnt) {
		const struct iovec *d = &tc->dst[tc->dst_idx];
		size_t room = d->iov_len - tc->dst_off;
		size_t n = len - taken < room ? len - taken : room;

		memcpy((char *)d->iov_base + tc->dst_off, p + taken, n);
		taken += n;
		tc->dst_off += n;
		if (tc->dst_off == d->iov_len) {
			tc->dst_idx++;
			tc->dst_off = 0;
		}
	}
	tc->pay_left -= taken;
	return taken;
}

/* Account for n bytes readv() put straight into the destination. */
static void dst_advance(struct tcp_conn *tc, size_t n)
{
	tc->pay_left -= n;
	while (n) {
		size_t room = tc->dst[tc->dst_idx].iov_len - tc->dst_off;

		if (n < room) {
			tc->dst_off += n;
			return;
		}
		n -= room;
		tc->dst_idx++;
		tc->dst_off = 0;
	}
}

static bool type_allowed(const struct tcp_conn *tc, uint8_t type)
{
	if (type == RTRS_TCP_HB || type == RTRS_TCP_HB_ACK || type == RTRS_TCP_CLOSE)
		return tc->state == TC_OPEN;
	if (tc->state == TC_HANDSHAKE)
		return type == (tc->server ? RTRS_TCP_CONN_REQ : RTRS_TCP_CONN_RSP);
	if (tc->state != TC_OPEN)
		return false;
	if (tc->server) {
		if (type == RTRS_TCP_INFO_REQ)
			return tc->c.cid == 0 && !tc->info_done;
		return tc->ready && (type == RTRS_TCP_WRITE_REQ || type == RTRS_TCP_READ_REQ);
	}
	if (type == RTRS_TCP_INFO_RSP)
		return tc->c.cid == 0 && tc->info_sent && !tc->info_done;
	return tc->ready && type == RTRS_TCP_IO_RSP;
}

/* Set up the destination of a request payload in the op's buffer:
 * data at offset 0 (page aligned for O_DIRECT backends), user message
 * after the largest data. */
static int begin_request(struct tcp_conn *tc, const struct rtrs_frame *f)
{
	const struct rtrs_tr_limits *lim = &tc->c.lim;
	struct rtrs_tr_op *op;
	uint32_t cap = lim->max_io_size + lim->max_hdr_size;

	if (rtrs_frame_check_req(f, lim->max_hdr_size, lim->max_io_size, lim->queue_depth))
		return -EPROTO;
	op = tc->c.ev->get_op(&tc->c, f->id);
	if (!op)
		return rnbd_err_set(-EPROTO, "request id %u is already outstanding", f->id);
	if (!op->buf) {
		op->buf = aligned_alloc(4096, (cap + 4095) & ~4095u);
		if (!op->buf)
			return rnbd_err_set(-ENOMEM, "no memory for request id %u", f->id);
		op->buf_cap = cap;
		op->buf_owned = true;
	}
	op->id = f->id;
	op->read = f->type == RTRS_TCP_READ_REQ;
	op->usr = (uint8_t *)op->buf + lim->max_io_size;
	op->usr_len = f->usr_len;
	op->data = op->buf;
	op->data_len = op->read ? f->imm : f->len - f->usr_len;
	op->read_len = op->read ? f->imm : 0;
	tc->dst2[0] = (struct iovec){ op->usr, f->usr_len };
	tc->dst2[1] = (struct iovec){ op->data, op->read ? 0 : op->data_len };
	dst_set(tc, tc->dst2, 2);
	tc->cur_op = op;
	return 0;
}

static int begin_response(struct tcp_conn *tc, const struct rtrs_frame *f)
{
	struct rtrs_tr_req *req = f->id < tc->qd ? tc->outstanding[f->id] : NULL;

	if (!req)
		return rnbd_err_set(-EPROTO, "IO_RSP for id %u that is not outstanding", f->id);
	if (rtrs_frame_check_rsp(f, req->read, req->data_len))
		return -EPROTO;
	dst_set(tc, req->iov, f->len ? req->iovcnt : 0);
	tc->cur_req = req;
	return 0;
}

static int begin_frame(struct tcp_conn *tc)
{
	struct rtrs_frame *f = &tc->cur;
	int ret;

	ret = rtrs_frame_decode(tc->hdr, f);
	if (!ret && !type_allowed(tc, f->type))
		ret = rnbd_err_set(-EPROTO, "unexpected %s frame", rtrs_frame_type_str(f->type));
	if (ret) {
		if (tc->server && tc->state == TC_HANDSHAKE)
			rnbd_log_info("tcp server: not an RTRS peer, closing: %s", rnbd_errmsg());
		return ret;
	}
	tc->pay_left = f->len;
	tc->dst_cnt = 0;
	switch (f->type) {
	case RTRS_TCP_CONN_REQ:
	case RTRS_TCP_CONN_RSP:
	case RTRS_TCP_INFO_REQ:
	case RTRS_TCP_INFO_RSP:
		tc->dst2[0] = (struct iovec){ tc->small, f->len };
		dst_set(tc, tc->dst2, 1);
		return 0;
	case RTRS_TCP_WRITE_REQ:
	case RTRS_TCP_READ_REQ:
		return begin_request(tc, f);
	case RTRS_TCP_IO_RSP:
		return begin_response(tc, f);
	}
	return 0;
}

static void on_conn_req(struct tcp_conn *tc)
{
	struct tcp_listener *l = tc->listener;
	struct rtrs_conn_req req;

	if (tc->cur.imm != RTRS_TCP_VERSION) {
		rnbd_log_info("tcp server: framing version %u not supported", tc->cur.imm);
		tc->c.ops->reject(&tc->c, -EPROTONOSUPPORT);
		return;
	}
	if (rtrs_conn_req_decode(tc->small, tc->cur.len, &req)) {
		rnbd_log_info("tcp server: rejecting conn_req: %s", rnbd_errmsg());
		tc->c.ops->reject(&tc->c, -ECONNRESET);
		return;
	}
	list_del(&tc->lnode);
	l->npending--;
	tc->listener = NULL;
	uv_timer_stop(tc->timer);
	tc->c.cid = req.cid;
	tc->state = TC_PENDING;
	tc->told_core = true;
	tc_poll_update(tc);
	tc->c.ev->conn_req(&l->l, &tc->c, &req);
}

static void on_conn_rsp(struct tcp_conn *tc)
{
	struct rtrs_conn_rsp rsp;

	if (tc->cur.imm != RTRS_TCP_VERSION) {
		tc_fail(tc, -EPROTO, "server speaks framing version %u, not %d", tc->cur.imm,
			RTRS_TCP_VERSION);
		return;
	}
	if (rtrs_conn_rsp_decode(tc->small, tc->cur.len, &rsp)) {
		tc_fail(tc, -ECONNRESET, "malformed conn_rsp: %s", rnbd_errmsg());
		return;
	}
	uv_timer_stop(tc->timer);
	if (rsp.err) {
		tc->state = TC_FAILED;
		tc_poll_update(tc);
		tc->c.ev->established(&tc->c, &rsp);
		return;
	}
	tc->outstanding = calloc(rsp.queue_depth, sizeof(*tc->outstanding));
	if (!tc->outstanding) {
		tc_fail(tc, -ENOMEM, "no memory for %u outstanding requests", rsp.queue_depth);
		return;
	}
	tc->qd = rsp.queue_depth;
	tc->c.lim = (struct rtrs_tr_limits){
		.queue_depth = rsp.queue_depth,
		.max_io_size = rsp.max_io_size,
		.max_hdr_size = rsp.max_hdr_size,
	};
	tc->state = TC_OPEN;
	tc->c.ev->established(&tc->c, &rsp);
}

static void on_info_req(struct tcp_conn *tc)
{
	struct rtrs_info_req req;

	if (rtrs_info_req_decode(tc->small, tc->cur.len, &req)) {
		tc_fail(tc, -EINVAL, "bad INFO_REQ: %s", rnbd_errmsg());
		return;
	}
	tc->info_done = true;
	tc->c.ev->info_req(&tc->c, req.pathname);
}

static void on_info_rsp(struct tcp_conn *tc)
{
	uint16_t sg_cnt;

	if (rtrs_info_rsp_decode(tc->small, tc->cur.len, &sg_cnt) || sg_cnt) {
		tc_fail(tc, -EPROTO, "bad INFO_RSP: %s", sg_cnt ? "descriptors over TCP" : rnbd_errmsg());
		return;
	}
	tc->info_done = true;
	tc->c.ev->info_rsp(&tc->c);
}

static void queue_ack(struct tcp_conn *tc, uint32_t imm)
{
	if (item_queued(&tc->ack_item)) {
		/* Coalesce: any bytes prove liveness; only an unsent header can
		 * still carry the newer value. */
		if (!tc->ack_item.off)
			item_init(&tc->ack_item, &(struct rtrs_frame){ .type = RTRS_TCP_HB_ACK, .imm = imm },
				  NULL, 0, NULL, 0);
		return;
	}
	tc_queue_ctl(tc, &tc->ack_item, RTRS_TCP_HB_ACK, imm, NULL, 0);
}

static void end_frame(struct tcp_conn *tc)
{
	const struct rtrs_frame *f = &tc->cur;

	tc->in_payload = false;
	tc->hdr_got = 0;
	switch (f->type) {
	case RTRS_TCP_CONN_REQ:
		on_conn_req(tc);
		break;
	case RTRS_TCP_CONN_RSP:
		on_conn_rsp(tc);
		break;
	case RTRS_TCP_INFO_REQ:
		on_info_req(tc);
		break;
	case RTRS_TCP_INFO_RSP:
		on_info_rsp(tc);
		break;
	case RTRS_TCP_WRITE_REQ:
	case RTRS_TCP_READ_REQ: {
		struct rtrs_tr_op *op = tc->cur_op;

		tc->cur_op = NULL;
		tc->c.ev->request(&tc->c, op);
		break;
	}
	case RTRS_TCP_IO_RSP: {
		struct rtrs_tr_req *req = tc->cur_req;

		tc->cur_req = NULL;
		tc->outstanding[req->id] = NULL;
		tc->c.ev->response(&tc->c, req, rtrs_frame_status(f));
		break;
	}
	case RTRS_TCP_HB:
		queue_ack(tc, f->imm);
		break;
	case RTRS_TCP_HB_ACK:
		tc->c.ev->hb_ack(&tc->c, f->imm);
		break;
	case RTRS_TCP_CLOSE: {
		int reason = rtrs_frame_status(f);

		tc->peer_gone = true;
		tc_fail(tc, reason < 0 ? reason : -ECONNRESET, "peer closed the connection (%s)",
			reason ? strerror(-reason) : "orderly");
		break;
	}
	}
}

/* Parse len bytes of staging: headers, small payloads, payload heads. */
static void parse(struct tcp_conn *tc, const uint8_t *p, size_t len)
{
	while (len && tc->state != TC_FAILED && tc->state != TC_CLOSING &&
	       tc->state != TC_PENDING) {
		if (!tc->in_payload) {
			size_t n = RTRS_FRAME_HDR_LEN - tc->hdr_got;
			int ret;

			n = n < len ? n : len;
			memcpy(tc->hdr + tc->hdr_got, p, n);
			tc->hdr_got += n;
			p += n;
			len -= n;
			if (tc->hdr_got < RTRS_FRAME_HDR_LEN)
				return;
			ret = begin_frame(tc);
			if (ret) {
				tc_fail(tc, ret, "protocol error: %s", rnbd_errmsg());
				return;
			}
			tc->in_payload = true;
		} else {
			size_t n = dst_fill(tc, p, len);

			if (!n && tc->pay_left) {
				tc_fail(tc, -EIO, "payload larger than its destination");
				return;
			}
			p += n;
			len -= n;
		}
		if (tc->in_payload && !tc->pay_left)
			end_frame(tc);
	}
	if (len && tc->state == TC_PENDING)
		tc_fail(tc, -EPROTO, "data before the connection was accepted");
}

static void on_eof(struct tcp_conn *tc)
{
	if (tc->state == TC_CLOSING) {
		tc_teardown(tc);
		return;
	}
	tc->peer_gone = true;
	tc_fail(tc, -ECONNRESET, "peer hung up%s", tc->in_payload || tc->hdr_got ?
		" in the middle of a frame" : "");
}

/* Read what the socket holds, straight into the current destination
 * where there is one, and parse the rest from the staging buffer. */
static void tc_read(struct tcp_conn *tc)
{
	bool alive = false;

	for (int burst = 0; burst < READ_BURST && tc->fd >= 0 && tc_reading(tc); burst++) {
		struct iovec iov[8];
		size_t direct = 0, want = 0;
		int n = 0;
		ssize_t got;

		if (tc->state == TC_CLOSING) {
			iov[n++] = (struct iovec){ tc->staging, STAGING_SIZE };
		} else {
			if (tc->in_payload && tc->pay_left) {
				for (unsigned int i = tc->dst_idx; i < tc->dst_cnt && n < 7 &&
				     direct < tc->pay_left; i++) {
					size_t off = i == tc->dst_idx ? tc->dst_off : 0;
					size_t l = tc->dst[i].iov_len - off;

					if (l > tc->pay_left - direct)
						l = tc->pay_left - direct;
					iov[n++] = (struct iovec){ (char *)tc->dst[i].iov_base + off, l };
					direct += l;
				}
			}
			/* tc->cur is the frame being read, or the last one read */
			iov[n++] = (struct iovec){ tc->staging, tc->cur.len >= LARGE_PAYLOAD ?
						   STAGING_BEHIND_LARGE : STAGING_SIZE };
		}
		for (int i = 0; i < n; i++)
			want += iov[i].iov_len;
		got = readv(tc->fd, iov, n);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				tc->peer_gone = true;
				if (tc->state == TC_CLOSING)
					tc_teardown(tc);
				else
					tc_fail(tc, -errno, "receive: %s", strerror(errno));
			}
			break;
		}
		if (got == 0) {
			on_eof(tc);
			return;
		}
		if (tc->state == TC_CLOSING)
			continue;	/* discard: we sent CLOSE */
		alive = true;
		if (direct) {
			size_t d = (size_t)got < direct ? (size_t)got : direct;

			dst_advance(tc, d);
			got -= d;
			if (!tc->pay_left)
				end_frame(tc);
		}
		if (got)
			parse(tc, tc->staging, got);
		if ((size_t)got + direct < want)
			break;	/* socket drained */
	}
	if (alive && tc->told_core && tc->state == TC_OPEN)
		tc->c.ev->alive(&tc->c);
}

static void on_connected(struct tcp_conn *tc)
{
	int err = tcp_sock_error(tc->fd);

	if (err) {
		tc_fail(tc, err, "connect: %s", strerror(-err));
		return;
	}
	tcp_sock_tune(tc->fd, tc->user_timeout_ms);
	tc->state = TC_HANDSHAKE;
	tc_queue_ctl(tc, &tc->hs_item, RTRS_TCP_CONN_REQ, RTRS_TCP_VERSION, tc->hs_payload,
		     RTRS_CONN_REQ_LEN);
	tc_poll_update(tc);
}

static void tc_on_poll(uv_poll_t *h, int status, int events)
{
	struct tcp_conn *tc = h->data;

	if (status < 0) {
		/* libuv reports EPOLLERR as UV_EBADF: the socket knows the real error */
		int err = tcp_sock_error(tc->fd);

		if (tc->state == TC_CLOSING) {
			tc_teardown(tc);
			return;
		}
		err = err ? err : status;
		tc->peer_gone = true;
		tc_fail(tc, err, "%s: %s", tc->state == TC_CONNECTING ? "connect" : "socket",
			strerror(-err));
		return;
	}
	if (tc->state == TC_CONNECTING) {
		on_connected(tc);
		return;
	}
	/* responses produced while parsing a burst go out together */
	tc->in_read = true;
	if (events & UV_READABLE)
		tc_read(tc);
	tc->in_read = false;
	if (tc->fd >= 0 && tc->state != TC_FAILED && !tc->corked)
		tc_flush(tc);
}

static void tc_on_timer(uv_timer_t *t)
{
	struct tcp_conn *tc = t->data;

	if (tc->state == TC_CLOSING)
		tc_teardown(tc);
	else if (tc->state == TC_FAILED)
		tc_report(tc);
	else
		tc_fail(tc, -ETIMEDOUT, "handshake timed out");
}

/* ---- connection set-up ---- */

static struct tcp_conn *tc_new(int fd, bool server, const struct rtrs_tr_events *ev, void *ctx)
{
	struct tcp_conn *tc = calloc(1, sizeof(*tc));

	if (!tc)
		return NULL;
	tc->staging = malloc(STAGING_SIZE);
	if (!tc->staging) {
		free(tc);
		return NULL;
	}
	tc->c.ops = &rtrs_tcp_ops;
	tc->c.ev = ev;
	tc->c.ctx = ctx;
	tc->fd = fd;
	tc->server = server;
	list_init(&tc->sendq);
	list_init(&tc->lnode);
	list_init(&tc->hs_item.node);
	list_init(&tc->hb_item.node);
	list_init(&tc->ack_item.node);
	list_init(&tc->close_item.node);
	return tc;
}

static int tcp_connect(struct rtrs_loop *loop, const struct rtrs_tr_connect_opts *o,
		       const struct rtrs_conn_req *req, const struct rtrs_tr_events *ev, void *ctx,
		       struct rtrs_tr_conn **out)
{
	struct tcp_conn *tc;
	int fd, in_progress, ret;

	fd = tcp_sock_connect(o->src, o->dst, o->addrlen, o->sndbuf, o->rcvbuf, &in_progress);
	if (fd < 0)
		return fd;
	tc = tc_new(fd, false, ev, ctx);
	if (!tc) {
		close(fd);
		return rnbd_err_set(-ENOMEM, "no memory for a connection");
	}
	ret = rtrs_conn_req_encode(req, tc->hs_payload, sizeof(tc->hs_payload));
	if (ret > 0)
		ret = tc_handles_alloc(tc) ? rnbd_err_set(-ENOMEM, "no memory for a connection") : 0;
	if (ret) {
		close(fd);
		tc_free(tc);
		return ret;
	}
	tc_handles_init(tc, loop);
	tc->c.cid = req->cid;
	tc->told_core = true;
	tc->user_timeout_ms = o->user_timeout_ms;
	/* Even a connect that completed at once is handled from the loop:
	 * the socket is writable, so no event reaches the core inside this call. */
	(void)in_progress;
	tc->state = TC_CONNECTING;
	tc_timer_start(tc, o->timeout_ms);
	tc_poll_update(tc);
	*out = &tc->c;
	return 0;
}

static int tcp_send_info_req(struct rtrs_tr_conn *c, const char *sessname)
{
	struct tcp_conn *tc = to_tc(c);
	struct rtrs_info_req req;
	int ret;

	if (tc->state != TC_OPEN || c->cid != 0 || tc->info_sent)
		return rnbd_err_set(-EINVAL, "INFO_REQ not allowed now");
	snprintf(req.pathname, sizeof(req.pathname), "%s", sessname);
	ret = rtrs_info_req_encode(&req, tc->hs_payload, sizeof(tc->hs_payload));
	if (ret < 0)
		return ret;
	tc->info_sent = true;
	tc_queue_ctl(tc, &tc->hs_item, RTRS_TCP_INFO_REQ, 0, tc->hs_payload, ret);
	return 0;
}

static int tcp_send_req(struct rtrs_tr_conn *c, struct rtrs_tr_req *req)
{
	struct tcp_conn *tc = to_tc(c);
	struct tcp_item *it = (struct tcp_item *)req->tr_priv;
	struct rtrs_frame f = {
		.type = req->read ? RTRS_TCP_READ_REQ : RTRS_TCP_WRITE_REQ,
		.len = req->usr_len + (req->read ? 0 : req->data_len),
		.id = req->id,
		.usr_len = req->usr_len,
		.imm = req->read ? req->data_len : 0,
	};

	if (tc->state != TC_OPEN || !tc->ready)
		return rnbd_err_set(-ENOTCONN, "connection not ready");
	if (req->id >= tc->qd || tc->outstanding[req->id])
		return rnbd_err_set(-EBUSY, "id %u already outstanding", req->id);
	tc->outstanding[req->id] = req;
	item_init(it, &f, req->usr, req->usr_len, req->read ? NULL : req->iov,
		  req->read ? 0 : req->iovcnt);
	tc_queue(tc, it);
	return 0;
}

/* ---- server ---- */

static void tl_on_poll(uv_poll_t *h, int status, int events);

static void tl_accept_one(struct tcp_listener *tl, int fd)
{
	struct tcp_conn *tc;

	if (tl->npending >= tl->opts.max_pending) {
		rnbd_log_warn("tcp server: %u connections in handshake, refusing one more",
			      tl->npending);
		close(fd);
		return;
	}
	tc = tc_new(fd, true, tl->l.ev, NULL);
	if (!tc || tc_handles_alloc(tc)) {
		if (tc)
			tc_free(tc);
		close(fd);
		return;
	}
	tc_handles_init(tc, tl->l.loop);
	tcp_sock_tune(fd, tl->opts.user_timeout_ms);
	tc->user_timeout_ms = tl->opts.user_timeout_ms;
	tc->listener = tl;
	list_add_tail(&tc->lnode, &tl->pending);
	tl->npending++;
	tc->state = TC_HANDSHAKE;
	tc_timer_start(tc, tl->opts.handshake_timeout_ms);
	tc_poll_update(tc);
}

static void tl_on_poll(uv_poll_t *h, int status, int events)
{
	struct tcp_listener *tl = h->data;

	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(tl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				rnbd_log_warn("tcp server: accept: %s", strerror(errno));
			return;
		}
		tl_accept_one(tl, fd);
	}
}

static int tcp_listen(struct rtrs_loop *loop, const struct rtrs_tr_listen_opts *o,
		      const struct rtrs_tr_events *ev, void *ctx, struct rtrs_tr_listener **out)
{
	struct tcp_listener *tl = calloc(1, sizeof(*tl));
	int ret;

	if (!tl)
		return rnbd_err_set(-ENOMEM, "no memory for a listener");
	tl->poll = calloc(1, sizeof(*tl->poll));
	if (!tl->poll) {
		free(tl);
		return rnbd_err_set(-ENOMEM, "no memory for a listener");
	}
	tl->fd = tcp_sock_listen(o->addr, o->addrlen, o->sndbuf, o->rcvbuf);
	if (tl->fd < 0) {
		ret = tl->fd;
		free(tl->poll);
		free(tl);
		return ret;
	}
	tl->l.ops = &rtrs_tcp_ops;
	tl->l.ev = ev;
	tl->l.ctx = ctx;
	tl->l.loop = loop;
	tl->opts = *o;
	tl->opts.addr = NULL;
	list_init(&tl->pending);
	uv_poll_init(&loop->uv, tl->poll, tl->fd);
	tl->poll->data = tl;
	uv_poll_start(tl->poll, UV_READABLE, tl_on_poll);
	*out = &tl->l;
	return 0;
}

static void tcp_listener_close(struct rtrs_tr_listener *l)
{
	struct tcp_listener *tl = container_of(l, struct tcp_listener, l);
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &tl->pending)
		tc_teardown(list_entry(pos, struct tcp_conn, lnode));
	uv_close((uv_handle_t *)tl->poll, handle_free_cb);
	close(tl->fd);
	free(tl);
}

static int tcp_listener_addr(struct rtrs_tr_listener *l, struct sockaddr_storage *out)
{
	struct tcp_listener *tl = container_of(l, struct tcp_listener, l);
	socklen_t len = sizeof(*out);

	memset(out, 0, sizeof(*out));
	if (getsockname(tl->fd, (struct sockaddr *)out, &len) < 0)
		return rnbd_err_set(-errno, "getsockname: %s", strerror(errno));
	return 0;
}

static int tcp_accept(struct rtrs_tr_conn *c, const struct rtrs_tr_limits *lim)
{
	struct tcp_conn *tc = to_tc(c);
	struct rtrs_conn_rsp rsp = {
		.queue_depth = lim->queue_depth,
		.max_io_size = lim->max_io_size,
		.max_hdr_size = lim->max_hdr_size,
	};
	int ret;

	if (tc->state != TC_PENDING)
		return rnbd_err_set(-EINVAL, "accept: connection is not waiting for an answer");
	ret = rtrs_conn_rsp_encode(&rsp, tc->hs_payload, sizeof(tc->hs_payload));
	if (ret < 0)
		return ret;
	tc->rsp_items = calloc(lim->queue_depth, sizeof(*tc->rsp_items));
	tc->rsp_lends = calloc(lim->queue_depth, sizeof(*tc->rsp_lends));
	if (!tc->rsp_items || !tc->rsp_lends) {
		free(tc->rsp_items);
		free(tc->rsp_lends);
		tc->rsp_items = NULL;
		tc->rsp_lends = NULL;
		return rnbd_err_set(-ENOMEM, "no memory for %u responses", lim->queue_depth);
	}
	c->lim = *lim;
	tc->state = TC_OPEN;
	tc_queue_ctl(tc, &tc->hs_item, RTRS_TCP_CONN_RSP, RTRS_TCP_VERSION, tc->hs_payload, ret);
	tc_poll_update(tc);
	return 0;
}

/* Only an attached connection can be closed: its loop finishes the linger. */
static void tc_start_close(struct tcp_conn *tc, uint32_t linger_ms)
{
	tc->state = TC_CLOSING;
	tc_timer_start(tc, linger_ms ? linger_ms : 1);
	if (list_empty(&tc->sendq))
		tc_sent_all(tc);
	tc_poll_update(tc);
}

static void tcp_reject(struct rtrs_tr_conn *c, int err)
{
	struct tcp_conn *tc = to_tc(c);
	struct rtrs_conn_rsp rsp = { .err = err < 0 && err >= INT16_MIN ? err : -ECONNRESET };
	int ret = rtrs_conn_rsp_encode(&rsp, tc->hs_payload, sizeof(tc->hs_payload));

	if (tc->listener) {
		list_del(&tc->lnode);
		tc->listener->npending--;
		tc->listener = NULL;
	}
	if (ret > 0)
		tc_queue_ctl(tc, &tc->hs_item, RTRS_TCP_CONN_RSP, RTRS_TCP_VERSION,
			     tc->hs_payload, ret);
	tc_start_close(tc, 1000);
}

static int tcp_send_info_rsp(struct rtrs_tr_conn *c)
{
	struct tcp_conn *tc = to_tc(c);
	int ret;

	if (tc->state != TC_OPEN)
		return rnbd_err_set(-ENOTCONN, "connection not open");
	ret = rtrs_info_rsp_encode(NULL, 0, tc->hs_payload, sizeof(tc->hs_payload));
	if (ret < 0)
		return ret;
	tc_queue_ctl(tc, &tc->hs_item, RTRS_TCP_INFO_RSP, 0, tc->hs_payload, ret);
	return 0;
}

/* The response frame of id, free to take a new response. */
static int rsp_item(struct tcp_conn *tc, uint16_t id, struct tcp_item **out)
{
	if (tc->state != TC_OPEN)
		return rnbd_err_set(-ENOTCONN, "connection not open");
	*out = &tc->rsp_items[id];
	if (item_queued(*out)) {
		tc_fail(tc, -EPROTO, "client reused id %u before reading its response", id);
		return rnbd_err_set(-EPROTO, "id %u reused early", id);
	}
	return 0;
}

static int tcp_send_rsp(struct rtrs_tr_conn *c, uint16_t id, const void *data, uint32_t len,
			int err)
{
	struct tcp_conn *tc = to_tc(c);
	struct tcp_item *it;
	int status = rtrs_errno_clamp(err);
	struct rtrs_frame f = {
		.type = RTRS_TCP_IO_RSP,
		.id = id,
		.len = status ? 0 : len,
		.imm = (uint32_t)status,
	};
	int ret = rsp_item(tc, id, &it);

	if (ret)
		return ret;
	item_init(it, &f, data, f.len, NULL, 0);
	tc_queue(tc, it);
	return 0;
}

static int tcp_send_rsp_lent(struct rtrs_tr_conn *c, uint16_t id, const struct rtrs_lend *l)
{
	struct tcp_conn *tc = to_tc(c);
	struct rtrs_lend *kept;
	struct tcp_item *it;
	struct rtrs_frame f = { .type = RTRS_TCP_IO_RSP, .id = id };
	int ret = rsp_item(tc, id, &it);

	if (ret) {
		rtrs_lend_put(l);
		return ret;
	}
	kept = &tc->rsp_lends[id];
	rtrs_lend_move(kept, l);
	for (unsigned int i = 0; i < kept->nseg; i++)
		f.len += kept->seg[i].len;
	item_init(it, &f, NULL, 0, NULL, 0);
	it->lend = kept;
	tc_queue(tc, it);
	return 0;
}

/* ---- both ---- */

static int tcp_detach(struct rtrs_tr_conn *c)
{
	struct tcp_conn *tc = to_tc(c);

	if (tc_handles_alloc(tc))
		return rnbd_err_set(-ENOMEM, "no memory to move a connection");
	uv_timer_stop(tc->timer);
	tc_handles_drop(tc);
	return 0;
}

static void tcp_attach(struct rtrs_tr_conn *c, struct rtrs_loop *loop)
{
	struct tcp_conn *tc = to_tc(c);

	if (c->loop != loop)
		tc_handles_init(tc, loop);
	tc->ready = true;
	tc_poll_update(tc);
	if (tc->state == TC_OPEN && !list_empty(&tc->sendq))
		tc_flush(tc);
}

static int tcp_send_hb(struct rtrs_tr_conn *c, bool ack, uint32_t val)
{
	struct tcp_conn *tc = to_tc(c);

	if (tc->state != TC_OPEN)
		return rnbd_err_set(-ENOTCONN, "connection not open");
	if (ack) {
		queue_ack(tc, val);
		return 0;
	}
	if (item_queued(&tc->hb_item))
		return 0;	/* the previous one is still stuck: no point stacking */
	tc_queue_ctl(tc, &tc->hb_item, RTRS_TCP_HB, val, NULL, 0);
	return 0;
}

static void tcp_cork(struct rtrs_tr_conn *c)
{
	to_tc(c)->corked++;
}

static void tcp_uncork(struct rtrs_tr_conn *c)
{
	struct tcp_conn *tc = to_tc(c);

	if (tc->corked && !--tc->corked && tc->fd >= 0 && tc->state != TC_FAILED)
		tc_flush(tc);
}

static void tcp_close(struct rtrs_tr_conn *c, int reason, uint32_t linger_ms)
{
	struct tcp_conn *tc = to_tc(c);
	/* rtrs-tcp.md 8, 9: tell an accepted peer why, unless it is gone */
	bool say_close = (tc->state == TC_OPEN || tc->state == TC_FAILED) && tc->c.lim.queue_depth &&
			 !tc->peer_gone;

	if (tc->state == TC_CLOSING)
		return;
	tc_forget(tc);
	if (tc->listener) {
		list_del(&tc->lnode);
		tc->listener->npending--;
		tc->listener = NULL;
	}
	if (say_close && tc->poll)
		tc_queue_ctl(tc, &tc->close_item, RTRS_TCP_CLOSE, (uint32_t)reason, NULL, 0);
	tc_start_close(tc, linger_ms);
}

static void tcp_close_now(struct rtrs_tr_conn *c)
{
	struct tcp_conn *tc = to_tc(c);

	if (tc->state == TC_CLOSING && tc->fd >= 0)
		tc_teardown(tc);
}

static void tcp_addrs(struct rtrs_tr_conn *c, struct sockaddr_storage *peer,
		      struct sockaddr_storage *local)
{
	struct tcp_conn *tc = to_tc(c);
	socklen_t len = sizeof(*peer);

	memset(peer, 0, sizeof(*peer));
	memset(local, 0, sizeof(*local));
	getpeername(tc->fd, (struct sockaddr *)peer, &len);
	len = sizeof(*local);
	getsockname(tc->fd, (struct sockaddr *)local, &len);
}

const struct rtrs_tr_ops rtrs_tcp_ops = {
	.name = "tcp",
	.listen = tcp_listen,
	.listener_close = tcp_listener_close,
	.listener_addr = tcp_listener_addr,
	.accept = tcp_accept,
	.reject = tcp_reject,
	.send_info_rsp = tcp_send_info_rsp,
	.send_rsp = tcp_send_rsp,
	.send_rsp_lent = tcp_send_rsp_lent,
	.connect = tcp_connect,
	.send_info_req = tcp_send_info_req,
	.send_req = tcp_send_req,
	.detach = tcp_detach,
	.attach = tcp_attach,
	.send_hb = tcp_send_hb,
	.cork = tcp_cork,
	.uncork = tcp_uncork,
	.close = tcp_close,
	.close_now = tcp_close_now,
	.addrs = tcp_addrs,
	.hb_every_conn = true,
};
