// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * RTRS over RDMA (rtrs-wire.md), byte-compatible with the kernel's
 * rtrs-client and rtrs-server.
 *
 * Each connection is an RC queue pair made with rdma_cm, with its own CM
 * event channel and CQ completion channel, both polled by the loop the
 * connection lives on; moving to a worker loop re-polls the two fds.
 *
 * Requests are one RDMA WRITE WITH IMM of [data][user message][trailer]
 * into the server chunk of the permit.  The client builds that image in its
 * own registered slot for the permit and writes it in one piece; read data
 * comes back into the same slot and is copied out to the caller.  The
 * server advertises neither NEW_RKEY nor several MRs: one region, one
 * descriptor, responses as zero-length WRITE WITH IMM, and the SEND WITH
 * INV pairing for kernel clients that ask for invalidation.  As a client,
 * both kinds of kernel server are served: RKEY_RSP updates the rkey of a
 * chunk before its permit can be used again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rtrs-imm.h"
#include "rdma.h"
#include "rtrs/transport.h"
#include "util/err.h"
#include "util/log.h"

#define CON0_QUEUE	1026		/* the kernel's cid 0 send/recv depth */
#define CON0_CLT_RECVS	1024		/* what a kernel client posts on cid 0 */
#define CON0_SRV_RECVS	512		/* SERVICE_CON_QUEUE_DEPTH */
#define SMALL_BUF	8		/* an RKEY_RSP */
#define CQ_BATCH	32
#define LISTEN_BACKLOG	64

/* wr_id: kind in the top byte, an index or a WR count below. */
enum {
	WR_RECV_CTL = 1,	/* info_req / info_rsp */
	WR_RECV_SMALL,		/* client: 8-byte buffer n */
	WR_RECV_EMPTY,		/* server */
	WR_SEND_CTL,
	WR_SEND,		/* signalled; low bits: WRs it completes */
};
#define WR_ID(kind, n)	((uint64_t)(kind) << 56 | (uint64_t)(n))
#define WR_KIND(id)	((unsigned int)((id) >> 56))
#define WR_N(id)	((uint32_t)(id))

enum rc_state {
	RC_RESOLVING,	/* client: address and route */
	RC_CONNECTING,	/* client: rdma_connect sent */
	RC_PENDING,	/* server: conn_req with the core */
	RC_OPEN,	/* accepted / established */
	RC_FAILED,	/* error reported; waiting for close() */
	RC_CLOSING,	/* close(): disconnecting, then teardown */
};

/* A response the send queue had no room for (server), per id. */
struct rdma_rsp {
	struct list_head node;
	bool read;
	bool inval;		/* client asked for SEND_WITH_INV */
	uint16_t sg_cnt;
	struct rtrs_sg desc;
	const void *data;
	uint32_t len;
	int err;
	bool queued;
};

/* A request waiting for send queue room is on pendq by its tr_priv. */
_Static_assert(sizeof(struct list_head) <= sizeof(((struct rtrs_tr_req *)0)->tr_priv),
	       "a list node fits in a request's transport scratch");

static struct list_head *req_node(struct rtrs_tr_req *req)
{
	void *priv = req->tr_priv;

	return priv;
}

struct rdma_listener {
	struct rtrs_tr_listener l;
	struct rdma_event_channel *ech;
	struct rdma_cm_id *id;
	uv_poll_t *poll;
	struct rtrs_tr_listen_opts opts;
	unsigned int npending;
};

struct rdma_conn {
	struct rtrs_tr_conn c;
	bool server;
	enum rc_state state;
	bool told_core;
	bool ready;		/* data phase */
	bool info_sent, info_done;
	bool disconnected;	/* the CM said so: no rdma_disconnect needed */
	int err;
	char why[200];

	struct rdma_event_channel *ech;
	struct rdma_cm_id *id;
	struct ibv_comp_channel *cch;
	struct ibv_cq *cq;
	unsigned int cq_unacked;
	struct rdma_dev *dev;
	struct rdma_path *path;
	struct rdma_listener *listener;	/* server, while pending */

	uv_poll_t *cm_poll, *cq_poll;
	uv_timer_t *timer;
	uv_poll_t *next_cm_poll, *next_cq_poll;
	uv_timer_t *next_timer;
	unsigned int handles;

	uint32_t sq_size, sq_used;
	struct list_head pendq;		/* client requests / server responses waiting */

	/* registered control memory: info messages and 8-byte receives */
	uint8_t *ctl;
	size_t ctl_len;
	struct ibv_mr *ctl_mr;
	uint32_t ctl_recv_off;		/* info_req (server) / info_rsp (client) buffer */
	uint32_t ctl_send_off;
	uint32_t small_off;		/* client: nsmall 8-byte receive buffers */
	uint32_t nsmall;

	uint8_t conn_req[RTRS_CONN_REQ_LEN];
	uint32_t hb_val;		/* value of the last heartbeat sent */
	bool hb_owed, ack_owed;		/* a heartbeat / ack waiting for room */

	/* client */
	struct rtrs_tr_req **outstanding;
	/* server */
	struct rdma_rsp *rsps;
	struct rtrs_tr_op **ops;	/* the op of each id being answered */
};

static void rc_teardown(struct rdma_conn *rc);
static void rc_on_timer(uv_timer_t *t);
static void rc_on_cm(uv_poll_t *h, int status, int events);
static void rc_on_cq(uv_poll_t *h, int status, int events);
static void rc_kick(struct rdma_conn *rc);

static struct rdma_conn *to_rc(struct rtrs_tr_conn *c)
{
	return container_of(c, struct rdma_conn, c);
}

static const char *rc_name(const struct rdma_conn *rc)
{
	return rc->server ? "server" : "client";
}

/* As tcp.c: stop at once, tell the core from the loop, never from inside
 * one of its calls. */
static void rc_fail(struct rdma_conn *rc, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rc_fail(struct rdma_conn *rc, int err, const char *fmt, ...)
{
	va_list ap;

	if (rc->state == RC_FAILED || rc->state == RC_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(rc->why, sizeof(rc->why), fmt, ap);
	va_end(ap);
	rc->err = err;
	rc->state = RC_FAILED;
	if (rc->timer)
		uv_timer_start(rc->timer, rc_on_timer, 0, 0);
}

/* ---- handles ---- */

static void handle_free_cb(uv_handle_t *h)
{
	free(h);
}

static int handles_alloc(struct rdma_conn *rc)
{
	rc->next_cm_poll = calloc(1, sizeof(uv_poll_t));
	rc->next_cq_poll = calloc(1, sizeof(uv_poll_t));
	rc->next_timer = calloc(1, sizeof(uv_timer_t));
	if (rc->next_cm_poll && rc->next_cq_poll && rc->next_timer)
		return 0;
	free(rc->next_cm_poll);
	free(rc->next_cq_poll);
	free(rc->next_timer);
	rc->next_cm_poll = NULL;
	rc->next_cq_poll = NULL;
	rc->next_timer = NULL;
	return -ENOMEM;
}

static void poll_start(struct rdma_conn *rc, uv_poll_t *p, int fd, uv_poll_cb cb)
{
	if (uv_poll_init(&rc->c.loop->uv, p, fd)) {
		free(p);
		rc_fail(rc, -EIO, "cannot poll an RDMA channel");
		return;
	}
	p->data = rc;
	rc->handles++;
	uv_poll_start(p, UV_READABLE, cb);
}

/* Watch the connection's fds from loop with the preallocated handles. */
static void handles_init(struct rdma_conn *rc, struct rtrs_loop *loop)
{
	rc->c.loop = loop;
	rc->timer = rc->next_timer;
	uv_timer_init(&loop->uv, rc->timer);
	rc->timer->data = rc;
	rc->handles = 1;
	rc->cm_poll = rc->next_cm_poll;
	poll_start(rc, rc->cm_poll, rc->ech->fd, rc_on_cm);
	if (rc->cch) {
		rc->cq_poll = rc->next_cq_poll;
		poll_start(rc, rc->cq_poll, rc->cch->fd, rc_on_cq);
	} else {
		free(rc->next_cq_poll);
		rc->cq_poll = NULL;
	}
	rc->next_timer = NULL;
	rc->next_cm_poll = NULL;
	rc->next_cq_poll = NULL;
	if (rc->state == RC_FAILED)
		uv_timer_start(rc->timer, rc_on_timer, 0, 0);
}

/* The CQ came later than the handles (server accept, client address). */
static void cq_poll_start(struct rdma_conn *rc)
{
	rc->cq_poll = calloc(1, sizeof(*rc->cq_poll));
	if (!rc->cq_poll) {
		rc_fail(rc, -ENOMEM, "no memory to poll a CQ");
		return;
	}
	poll_start(rc, rc->cq_poll, rc->cch->fd, rc_on_cq);
}

static void handles_drop(struct rdma_conn *rc)
{
	uv_close((uv_handle_t *)rc->timer, handle_free_cb);
	if (rc->cm_poll)
		uv_close((uv_handle_t *)rc->cm_poll, handle_free_cb);
	if (rc->cq_poll)
		uv_close((uv_handle_t *)rc->cq_poll, handle_free_cb);
	rc->timer = NULL;
	rc->cm_poll = NULL;
	rc->cq_poll = NULL;
	rc->handles = 0;
	rc->c.loop = NULL;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* ---- resources ---- */

static void rc_free(struct rdma_conn *rc)
{
	free(rc->next_cm_poll);
	free(rc->next_cq_poll);
	free(rc->next_timer);
	free(rc->outstanding);
	free(rc->rsps);
	free(rc->ops);
	free(rc);
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct rdma_conn *rc = h->data;

	free(h);
	if (--rc->handles)
		return;
	if (rc->told_core)
		rc->c.ev->closed(&rc->c);
	rc_free(rc);
}

/* Verbs objects in the order they depend on each other. */
static void rc_destroy_verbs(struct rdma_conn *rc)
{
	if (rc->id && rc->id->qp)
		rdma_destroy_qp(rc->id);
	if (rc->cq) {
		ibv_ack_cq_events(rc->cq, rc->cq_unacked);
		ibv_destroy_cq(rc->cq);
		rc->cq = NULL;
	}
	if (rc->cch) {
		ibv_destroy_comp_channel(rc->cch);
		rc->cch = NULL;
	}
	if (rc->ctl_mr) {
		ibv_dereg_mr(rc->ctl_mr);
		rc->ctl_mr = NULL;
	}
	free(rc->ctl);
	rc->ctl = NULL;
	if (rc->id) {
		rdma_destroy_id(rc->id);
		rc->id = NULL;
	}
	if (rc->ech) {
		rdma_destroy_event_channel(rc->ech);
		rc->ech = NULL;
	}
	if (rc->path) {
		rdma_path_put(rc->path);
		rc->path = NULL;
	}
	if (rc->dev) {
		rdma_dev_put(rc->dev);
		rc->dev = NULL;
	}
}

/* A server connection leaves its listener's count of handshakes. */
static void rc_unpend(struct rdma_conn *rc)
{
	if (rc->listener) {
		rc->listener->npending--;
		rc->listener = NULL;
	}
}

/* Release everything; closed() follows from the last handle's callback. */
static void rc_teardown(struct rdma_conn *rc)
{
	rc_unpend(rc);
	if (!rc->handles) {
		/* never watched from a loop: nothing will call back */
		rc_destroy_verbs(rc);
		if (rc->told_core)
			rc->c.ev->closed(&rc->c);
		rc_free(rc);
		return;
	}
	if (rc->cm_poll)
		uv_close((uv_handle_t *)rc->cm_poll, conn_handle_closed);
	if (rc->cq_poll)
		uv_close((uv_handle_t *)rc->cq_poll, conn_handle_closed);
	uv_close((uv_handle_t *)rc->timer, conn_handle_closed);
	rc->cm_poll = NULL;
	rc->cq_poll = NULL;
	rc_destroy_verbs(rc);
}

static struct rdma_conn *rc_new(bool server, const struct rtrs_tr_events *ev, void *ctx)
{
	struct rdma_conn *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->c.ops = &rtrs_rdma_ops;
	rc->c.ev = ev;
	rc->c.ctx = ctx;
	rc->server = server;
	list_init(&rc->pendq);
	return rc;
}

static uint32_t clamp_wr(const struct rdma_dev *d, uint32_t n)
{
	uint32_t max = (uint32_t)d->attr.max_qp_wr;

	return n < max ? n : max;
}

/*
 * CQ, QP and control memory, sized as a kernel peer expects (rtrs-wire.md
 * 13): cid 0 1026 deep both ways; I/O cids qd + a little to send (one WR
 * per request) and 2 qd to receive (client), or 3 qd + 1 to send and qd + 1
 * to receive (server).
 */
static int rc_setup_qp(struct rdma_conn *rc, uint32_t qd)
{
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC, .sq_sig_all = 0 };
	uint32_t sq, rq;
	int ret;

	if (rc->c.cid == 0) {
		sq = CON0_QUEUE;
		rq = CON0_QUEUE;
	} else if (rc->server) {
		sq = 3 * qd + 1;
		rq = qd + 1;
	} else {
		sq = qd + 16;
		rq = 2 * qd + 1;
	}
	sq = clamp_wr(rc->dev, sq);
	rq = clamp_wr(rc->dev, rq);
	if (sq + rq > (uint32_t)rc->dev->attr.max_cqe)
		return rnbd_err_set(-EINVAL, "%s: a CQ of %u entries is more than the device's %d",
				    ibv_get_device_name(rc->id->verbs->device), sq + rq,
				    rc->dev->attr.max_cqe);
	rc->cch = ibv_create_comp_channel(rc->id->verbs);
	if (!rc->cch)
		return rnbd_err_set(-errno, "ibv_create_comp_channel: %s", strerror(errno));
	ret = set_nonblock(rc->cch->fd);
	if (ret)
		return rnbd_err_set(ret, "completion channel: %s", strerror(-ret));
	rc->cq = ibv_create_cq(rc->id->verbs, (int)(sq + rq), rc, rc->cch, 0);
	if (!rc->cq)
		return rnbd_err_set(-errno, "ibv_create_cq(%u): %s", sq + rq, strerror(errno));
	if (ibv_req_notify_cq(rc->cq, 0))
		return rnbd_err_set(-EIO, "ibv_req_notify_cq failed");
	qa.send_cq = rc->cq;
	qa.recv_cq = rc->cq;
	qa.cap.max_send_wr = sq;
	qa.cap.max_recv_wr = rq;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	if (rdma_create_qp(rc->id, rc->dev->pd, &qa))
		return rnbd_err_set(-errno, "rdma_create_qp(%u/%u): %s", sq, rq, strerror(errno));
	rc->sq_size = sq;
	return 0;
}

/* Control memory: an info message each way and, on a client, 8-byte
 * receives for responses and heartbeats. */
static int rc_setup_ctl(struct rdma_conn *rc, uint32_t qd, uint32_t nsmall)
{
	uint32_t info_rsp = RTRS_INFO_RSP_HDR_LEN + RTRS_SG_DESC_LEN * (rc->server ? 1 : qd);
	uint32_t recv = rc->server ? RTRS_INFO_REQ_LEN : info_rsp;
	uint32_t send = rc->server ? info_rsp : RTRS_INFO_REQ_LEN;

	rc->ctl_recv_off = 0;
	rc->ctl_send_off = (recv + 63) & ~63u;
	rc->small_off = (rc->ctl_send_off + send + 63) & ~63u;
	rc->nsmall = nsmall;
	rc->ctl_len = rc->small_off + (size_t)nsmall * SMALL_BUF;
	rc->ctl = calloc(1, rc->ctl_len);
	if (!rc->ctl)
		return rnbd_err_set(-ENOMEM, "no memory for control buffers");
	rc->ctl_mr = ibv_reg_mr(rc->dev->pd, rc->ctl, rc->ctl_len, IBV_ACCESS_LOCAL_WRITE);
	if (!rc->ctl_mr)
		return rnbd_err_set(-errno, "ibv_reg_mr (control): %s", strerror(errno));
	return 0;
}

/* ---- posting ---- */

static int post_recv(struct rdma_conn *rc, uint64_t wr_id, void *buf, uint32_t len)
{
	struct ibv_sge sge = { (uintptr_t)buf, len, rc->ctl_mr ? rc->ctl_mr->lkey : 0 };
	struct ibv_recv_wr wr = { .wr_id = wr_id, .sg_list = len ? &sge : NULL, .num_sge = len ? 1 : 0 };
	struct ibv_recv_wr *bad;
	int ret = ibv_post_recv(rc->id->qp, &wr, &bad);

	return ret ? rnbd_err_set(-ret, "ibv_post_recv: %s", strerror(ret)) : 0;
}

static int post_small(struct rdma_conn *rc, uint32_t idx)
{
	return post_recv(rc, WR_ID(WR_RECV_SMALL, idx), rc->ctl + rc->small_off + idx * SMALL_BUF,
			 SMALL_BUF);
}

static int post_recvs(struct rdma_conn *rc, uint32_t n)
{
	int ret = 0;

	for (uint32_t i = 0; i < n && !ret; i++)
		ret = rc->server ? post_recv(rc, WR_ID(WR_RECV_EMPTY, 0), NULL, 0) : post_small(rc, i);
	return ret;
}

/* Post a chain of n WRs whose last is signalled and completes all n. */
static int post_chain(struct rdma_conn *rc, struct ibv_send_wr *wr, uint32_t n)
{
	struct ibv_send_wr *bad, *last = wr;
	int ret;

	/* an unsignalled WR completes only in error: its wr_id names it a send,
	 * which completes no WR of the count (a response's RDMA WRITE that the
	 * client's rkey bounds refuse is logged as a send failure) */
	while (last->next) {
		last->wr_id = WR_ID(WR_SEND, 0);
		last = last->next;
	}
	last->send_flags |= IBV_SEND_SIGNALED;
	last->wr_id = WR_ID(WR_SEND, n);
	ret = ibv_post_send(rc->id->qp, wr, &bad);
	if (ret)
		return rnbd_err_set(-ret, "ibv_post_send: %s", strerror(ret));
	rc->sq_used += n;
	return 0;
}

static bool sq_room(const struct rdma_conn *rc, uint32_t n)
{
	return rc->sq_used + n <= rc->sq_size;
}

/* A zero-length WRITE WITH IMM: heartbeats, acks, server responses. */
static void imm_wr(struct ibv_send_wr *wr, uint32_t imm)
{
	memset(wr, 0, sizeof(*wr));
	wr->opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
	wr->imm_data = htonl(imm);
}

static int send_imm(struct rdma_conn *rc, uint32_t imm)
{
	struct ibv_send_wr wr;

	imm_wr(&wr, imm);
	return post_chain(rc, &wr, 1);
}

/* ---- client requests ---- */

/* Build the request's image in its slot and write it into chunk id. */
static int post_req(struct rdma_conn *rc, struct rtrs_tr_req *req)
{
	struct rdma_path *p = rc->path;
	uint8_t *slot = rdma_path_slot(p, req->id);
	uint32_t off = req->data_len + req->usr_len, imm, tlen, start = 0;
	struct ibv_sge sge;
	struct ibv_send_wr wr = { .opcode = IBV_WR_RDMA_WRITE_WITH_IMM, .sg_list = &sge, .num_sge = 1 };
	int ret;

	if (req->read) {
		struct rtrs_sg d = {
			.addr = (uintptr_t)slot,
			.key = p->mr->rkey,
			.len = req->data_len,
		};

		/* a plain MR cannot be invalidated remotely: no NEED_INVAL */
		ret = rtrs_read_trailer_encode(req->usr_len, 0, req->data_len ? &d : NULL,
					       slot + off, p->chunk_size - off);
		start = req->data_len;
	} else {
		size_t at = 0;

		for (unsigned int i = 0; i < req->iovcnt; i++) {
			memcpy(slot + at, req->iov[i].iov_base, req->iov[i].iov_len);
			at += req->iov[i].iov_len;
		}
		ret = rtrs_write_trailer_encode(req->usr_len, slot + off, p->chunk_size - off);
	}
	if (ret < 0)
		return ret;
	tlen = (uint32_t)ret;
	memcpy(slot + req->data_len, req->usr, req->usr_len);
	ret = rtrs_io_req_imm(req->id, off, p->queue_depth, &imm);
	if (ret)
		return ret;
	sge = (struct ibv_sge){ (uintptr_t)slot + start, off + tlen - start, p->mr->lkey };
	wr.imm_data = htonl(rtrs_imm_make(RTRS_IO_REQ_IMM, imm));
	wr.wr.rdma.remote_addr = p->raddr[req->id] + start;
	wr.wr.rdma.rkey = atomic_load_explicit(&p->rkey[req->id], memory_order_acquire);
	return post_chain(rc, &wr, 1);
}

/* ---- server responses ---- */

static int post_rsp(struct rdma_conn *rc, uint16_t id, struct rdma_rsp *r)
{
	struct rdma_path *p = rc->path;
	uint8_t *chunk = rdma_path_slot(p, id);
	int status = rtrs_errno_clamp(r->err);
	bool inval = r->inval && r->sg_cnt;
	struct ibv_send_wr wr[3], *w = wr;
	struct ibv_sge sge;
	uint32_t n = 0;

	memset(wr, 0, sizeof(wr));
	if (!status && r->read && r->sg_cnt) {
		/* the client gets desc.len bytes: never old chunk contents */
		uint32_t len = r->desc.len;

		if (r->data != chunk)
			memcpy(chunk, r->data, r->len < len ? r->len : len);
		if (r->len < len)
			memset(chunk + r->len, 0, len - r->len);
		sge = (struct ibv_sge){ (uintptr_t)chunk, len, p->mr->lkey };
		w->opcode = IBV_WR_RDMA_WRITE;
		w->sg_list = &sge;
		w->num_sge = 1;
		w->wr.rdma.remote_addr = r->desc.addr;
		w->wr.rdma.rkey = r->desc.key;
		w->next = w + 1;
		w++;
		n++;
	}
	if (inval) {
		w->opcode = IBV_WR_SEND_WITH_INV;
		w->invalidate_rkey = r->desc.key;
		w->next = w + 1;
		w++;
		n++;
	}
	imm_wr(w, rtrs_imm_make(inval ? RTRS_IO_RSP_W_INV_IMM : RTRS_IO_RSP_IMM,
				rtrs_io_rsp_imm(id, status, inval)));
	n++;
	return post_chain(rc, wr, n);
}

static uint32_t rsp_wrs(const struct rdma_rsp *r)
{
	return 1 + (r->read && r->sg_cnt && !rtrs_errno_clamp(r->err)) + (r->inval && r->sg_cnt);
}

/* Whatever waited for send queue room, in order. */
static void rc_kick(struct rdma_conn *rc)
{
	while (rc->state == RC_OPEN) {
		int ret = 0;

		if (rc->ack_owed && sq_room(rc, 1)) {
			rc->ack_owed = false;
			ret = send_imm(rc, rtrs_imm_make(RTRS_HB_ACK_IMM, 0));
		} else if (rc->hb_owed && sq_room(rc, 1)) {
			rc->hb_owed = false;
			ret = send_imm(rc, rtrs_imm_make(RTRS_HB_MSG_IMM, 0));
		} else if (!list_empty(&rc->pendq)) {
			struct list_head *n = rc->pendq.next;

			if (rc->server) {
				struct rdma_rsp *r = list_entry(n, struct rdma_rsp, node);

				if (!sq_room(rc, rsp_wrs(r)))
					return;
				list_del(n);
				r->queued = false;
				ret = post_rsp(rc, (uint16_t)(r - rc->rsps), r);
			} else {
				struct rtrs_tr_req *req = container_of((void *)n, struct rtrs_tr_req,
								       tr_priv);

				if (!sq_room(rc, 1))
					return;
				list_del(n);
				ret = post_req(rc, req);
			}
		} else {
			return;
		}
		if (ret) {
			rc_fail(rc, ret, "%s", rnbd_errmsg());
			return;
		}
	}
}

/* ---- completions ---- */

static void on_info_rsp(struct rdma_conn *rc, uint32_t len)
{
	struct rdma_path *p = rc->path;
	struct rtrs_rbuf *rbuf;
	uint16_t sg_cnt;
	int ret;

	ret = rtrs_info_rsp_decode(rc->ctl + rc->ctl_recv_off, len, &sg_cnt);
	if (ret) {
		rc_fail(rc, ret, "bad info_rsp: %s", rnbd_errmsg());
		return;
	}
	rbuf = calloc(p->queue_depth, sizeof(*rbuf));
	if (!rbuf) {
		rc_fail(rc, -ENOMEM, "no memory for %u remote chunks", p->queue_depth);
		return;
	}
	ret = rtrs_info_rsp_map_chunks(rc->ctl + rc->ctl_recv_off, len, p->queue_depth,
				       p->chunk_size, rbuf);
	for (uint32_t k = 0; !ret && k < p->queue_depth; k++) {
		p->raddr[k] = rbuf[k].addr;
		atomic_store_explicit(&p->rkey[k], rbuf[k].rkey, memory_order_relaxed);
	}
	free(rbuf);
	if (ret) {
		rc_fail(rc, ret, "bad info_rsp: %s", rnbd_errmsg());
		return;
	}
	p->have_chunks = true;
	/* the receives of the data phase (rtrs-wire.md 7.2) */
	ret = post_recvs(rc, rc->nsmall);
	if (ret) {
		rc_fail(rc, ret, "%s", rnbd_errmsg());
		return;
	}
	rc->info_done = true;
	rc->c.ev->info_rsp(&rc->c);
}

static void on_info_req(struct rdma_conn *rc, uint32_t len)
{
	struct rtrs_info_req req;
	int ret = rtrs_info_req_decode(rc->ctl + rc->ctl_recv_off, len, &req);

	if (!ret)
		ret = post_recvs(rc, CON0_SRV_RECVS);
	if (ret) {
		rc_fail(rc, ret, "bad info_req: %s", rnbd_errmsg());
		return;
	}
	rc->info_done = true;
	rc->c.ev->info_req(&rc->c, req.pathname);
}

static void clt_on_rsp(struct rdma_conn *rc, const struct ibv_wc *wc, uint32_t payload)
{
	struct rdma_path *p = rc->path;
	struct rtrs_tr_req *req;
	uint32_t msg_id;
	int err;

	rtrs_io_rsp_imm_parse(payload, &msg_id, &err);
	req = msg_id < p->queue_depth ? rc->outstanding[msg_id] : NULL;
	if (!req || !rc->ready) {
		rc_fail(rc, -EPROTO, "response to id %u that is not outstanding", msg_id);
		return;
	}
	if (p->new_rkey) {
		struct rtrs_rkey_rsp rk;
		uint32_t idx = WR_N(wc->wr_id);

		if (wc->opcode != IBV_WC_RECV ||
		    rtrs_rkey_rsp_decode(rc->ctl + rc->small_off + idx * SMALL_BUF, wc->byte_len,
					 p->queue_depth, msg_id, &rk)) {
			rc_fail(rc, -EPROTO, "NEW_RKEY server answered id %u without a valid rkey_rsp",
				msg_id);
			return;
		}
		atomic_store_explicit(&p->rkey[msg_id], rk.rkey, memory_order_release);
	}
	rc->outstanding[msg_id] = NULL;
	if (req->read && !err) {
		const uint8_t *src = rdma_path_slot(p, msg_id);

		for (unsigned int i = 0; i < req->iovcnt; i++) {
			memcpy(req->iov[i].iov_base, src, req->iov[i].iov_len);
			src += req->iov[i].iov_len;
		}
	}
	rc->c.ev->response(&rc->c, req, err);
}

static void srv_on_req(struct rdma_conn *rc, uint32_t payload)
{
	struct rdma_path *p = rc->path;
	struct rtrs_chunk_req cr;
	struct rtrs_tr_op *op;
	struct rdma_rsp *r;
	uint32_t id, off;
	uint8_t *chunk;
	int ret;

	ret = rtrs_io_req_imm_parse(payload, p->queue_depth, &id, &off);
	if (!ret) {
		chunk = rdma_path_slot(p, id);
		ret = rtrs_chunk_req_parse(chunk, p->chunk_size, off, &cr);
	}
	if (ret || !rc->ready) {
		rc_fail(rc, -EPROTO, "bad request: %s", ret ? rnbd_errmsg() : "before the data phase");
		return;
	}
	r = &rc->rsps[id];
	if (r->queued) {
		rc_fail(rc, -EPROTO, "client reused id %u before its response went out", id);
		return;
	}
	op = rc->c.ev->get_op(&rc->c, (uint16_t)id);
	if (!op) {
		rc_fail(rc, -EPROTO, "request id %u is already outstanding", id);
		return;
	}
	*r = (struct rdma_rsp){
		.read = cr.type == RTRS_MSG_READ,
		.inval = cr.flags & RTRS_MSG_NEED_INVAL_F,
		.sg_cnt = cr.sg_cnt,
		.desc = cr.desc,
	};
	op->id = (uint16_t)id;
	op->read = r->read;
	op->buf = chunk;
	op->buf_cap = p->chunk_size;
	op->buf_owned = false;
	op->usr = chunk + cr.usr_off;
	op->usr_len = cr.usr_len;
	op->data = chunk;
	op->read_len = r->read && cr.sg_cnt ? cr.desc.len : 0;
	op->data_len = r->read ? op->read_len : cr.data_len;
	rc->c.ev->request(&rc->c, op);
}

static void on_imm(struct rdma_conn *rc, const struct ibv_wc *wc)
{
	uint32_t type, payload;

	rtrs_imm_split(ntohl(wc->imm_data), &type, &payload);
	if (rc->told_core && rc->state == RC_OPEN)
		rc->c.ev->alive(&rc->c);
	switch (type) {
	case RTRS_HB_MSG_IMM:
		if (sq_room(rc, 1) && list_empty(&rc->pendq)) {
			int ret = send_imm(rc, rtrs_imm_make(RTRS_HB_ACK_IMM, 0));

			if (ret)
				rc_fail(rc, ret, "%s", rnbd_errmsg());
		} else {
			rc->ack_owed = true;
		}
		return;
	case RTRS_HB_ACK_IMM:
		rc->c.ev->hb_ack(&rc->c, rc->hb_val);
		return;
	case RTRS_IO_REQ_IMM:
		if (rc->server) {
			srv_on_req(rc, payload);
			return;
		}
		break;
	case RTRS_IO_RSP_IMM:
	case RTRS_IO_RSP_W_INV_IMM:
		if (!rc->server) {
			clt_on_rsp(rc, wc, payload);
			return;
		}
		break;
	}
	rc_fail(rc, -EPROTO, "immediate of type %u not expected by a %s", type, rc_name(rc));
}

static void on_recv(struct rdma_conn *rc, const struct ibv_wc *wc)
{
	unsigned int kind = WR_KIND(wc->wr_id);
	int ret = 0;

	if (kind == WR_RECV_CTL) {
		if (rc->server)
			on_info_req(rc, wc->byte_len);
		else
			on_info_rsp(rc, wc->byte_len);
		return;
	}
	/* a bare SEND would be a SEND_WITH_INV, which neither side asks for here */
	if (!(wc->wc_flags & IBV_WC_WITH_IMM)) {
		rc_fail(rc, -EPROTO, "SEND without immediate after the handshake");
		return;
	}
	on_imm(rc, wc);
	if (rc->state != RC_OPEN)
		return;
	/* give the buffer back (rtrs-wire.md 7.2, 7.3) */
	if (kind == WR_RECV_SMALL)
		ret = post_small(rc, WR_N(wc->wr_id));
	else
		ret = post_recv(rc, WR_ID(WR_RECV_EMPTY, 0), NULL, 0);
	if (ret)
		rc_fail(rc, ret, "%s", rnbd_errmsg());
}

static void on_wc(struct rdma_conn *rc, const struct ibv_wc *wc)
{
	unsigned int kind = WR_KIND(wc->wr_id);

	if (kind == WR_SEND)
		rc->sq_used -= WR_N(wc->wr_id);
	if (wc->status != IBV_WC_SUCCESS) {
		if (wc->status != IBV_WC_WR_FLUSH_ERR)
			rc_fail(rc, -EIO, "%s completion: %s", kind >= WR_SEND_CTL ? "send" : "receive",
				ibv_wc_status_str(wc->status));
		else
			rc_fail(rc, -ECONNRESET, "queue pair flushed");
		return;
	}
	if (rc->state != RC_OPEN)
		return;
	if (kind <= WR_RECV_EMPTY)
		on_recv(rc, wc);
}

static void rc_on_cq(uv_poll_t *h, int status, int events)
{
	struct rdma_conn *rc = h->data;
	struct ibv_cq *cq;
	void *ctx;

	(void)status;
	(void)events;
	while (!ibv_get_cq_event(rc->cch, &cq, &ctx))
		rc->cq_unacked++;
	if (rc->cq_unacked >= 64) {
		ibv_ack_cq_events(rc->cq, rc->cq_unacked);
		rc->cq_unacked = 0;
	}
	if (ibv_req_notify_cq(rc->cq, 0)) {
		rc_fail(rc, -EIO, "ibv_req_notify_cq failed");
		return;
	}
	for (;;) {
		struct ibv_wc wc[CQ_BATCH];
		int n = ibv_poll_cq(rc->cq, CQ_BATCH, wc);

		if (n <= 0) {
			if (n < 0)
				rc_fail(rc, -EIO, "ibv_poll_cq failed");
			break;
		}
		for (int i = 0; i < n && rc->cq; i++)
			on_wc(rc, &wc[i]);
		if (!rc->cq)
			return;		/* torn down by a callback */
	}
	rc_kick(rc);
}

/* ---- CM events ---- */

static int rsp_from_event(const struct rdma_cm_event *e, struct rtrs_conn_rsp *rsp)
{
	memset(rsp, 0, sizeof(*rsp));
	if (e->param.conn.private_data_len < RTRS_CONN_RSP_LEN ||
	    rtrs_conn_rsp_decode(e->param.conn.private_data, e->param.conn.private_data_len, rsp)) {
		rsp->err = -ECONNRESET;
		return -1;
	}
	return 0;
}

static void clt_addr_resolved(struct rdma_conn *rc)
{
	struct rdma_path *p = rc->path;
	uint16_t cid = rc->c.cid;
	int ret;

	ret = rdma_dev_get(rc->id->verbs, &rc->dev);
	if (!ret && cid && p->dev != rc->dev)
		ret = rnbd_err_set(-EINVAL, "cid %u resolved to another RDMA device than cid 0", cid);
	if (!ret)
		ret = rc_setup_qp(rc, cid ? p->queue_depth : 0);
	/* I/O cids: their receives go up now; cid 0's once its conn_rsp came */
	if (!ret && cid)
		ret = rc_setup_ctl(rc, p->queue_depth, 2 * p->queue_depth);
	if (!ret) {
		cq_poll_start(rc);
		if (cid)
			ret = post_recvs(rc, rc->nsmall);
	}
	if (!ret && rdma_resolve_route(rc->id, 30000))
		ret = rnbd_err_set(-errno, "rdma_resolve_route: %s", strerror(errno));
	if (ret)
		rc_fail(rc, ret, "%s", rnbd_errmsg());
}

static void clt_route_resolved(struct rdma_conn *rc)
{
	struct rdma_conn_param cp = {
		.private_data = rc->conn_req,
		.private_data_len = sizeof(rc->conn_req),
		.retry_count = 7,
		.rnr_retry_count = 7,
	};

	if (rdma_connect(rc->id, &cp)) {
		rc_fail(rc, -errno, "rdma_connect: %s", strerror(errno));
		return;
	}
	rc->state = RC_CONNECTING;
}

static void clt_established(struct rdma_conn *rc, const struct rdma_cm_event *e)
{
	struct rdma_path *p = rc->path;
	struct rtrs_conn_rsp rsp;
	int ret = 0;

	uv_timer_stop(rc->timer);
	if (rsp_from_event(e, &rsp) || rsp.err) {
		rc_fail(rc, -ECONNRESET, "malformed conn_rsp");
		return;
	}
	if (rc->c.cid == 0) {
		/* cid 0's answer sizes the path; the others must agree */
		ret = rdma_path_setup(p, rc->dev, rsp.queue_depth,
				      rsp.max_io_size + rsp.max_hdr_size);
		if (!ret) {
			p->new_rkey = rsp.flags & RTRS_MSG_NEW_RKEY_F;
			ret = rc_setup_ctl(rc, rsp.queue_depth, CON0_CLT_RECVS);
		}
		/* the info_rsp lands here, first in the receive queue */
		if (!ret)
			ret = post_recv(rc, WR_ID(WR_RECV_CTL, 0), rc->ctl + rc->ctl_recv_off,
					RTRS_INFO_RSP_HDR_LEN + RTRS_SG_DESC_LEN * rsp.queue_depth);
	} else if (rsp.queue_depth != p->queue_depth ||
		   rsp.max_io_size + rsp.max_hdr_size != p->chunk_size) {
		ret = rnbd_err_set(-EINVAL, "cid %u got other limits than cid 0", rc->c.cid);
	}
	if (!ret) {
		rc->outstanding = calloc(rsp.queue_depth, sizeof(*rc->outstanding));
		if (!rc->outstanding)
			ret = rnbd_err_set(-ENOMEM, "no memory for %u requests", rsp.queue_depth);
	}
	if (ret) {
		rc_fail(rc, ret, "%s", rnbd_errmsg());
		return;
	}
	rc->c.lim = (struct rtrs_tr_limits){
		.queue_depth = rsp.queue_depth,
		.max_io_size = rsp.max_io_size,
		.max_hdr_size = rsp.max_hdr_size,
	};
	rc->state = RC_OPEN;
	rc->c.ev->established(&rc->c, &rsp);
}

static int cm_errno(const struct rdma_cm_event *e, int dflt)
{
	return e->status < 0 ? e->status : dflt;
}

static void clt_cm_event(struct rdma_conn *rc, const struct rdma_cm_event *e)
{
	struct rtrs_conn_rsp rsp;

	switch (e->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		clt_addr_resolved(rc);
		return;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		clt_route_resolved(rc);
		return;
	case RDMA_CM_EVENT_ESTABLISHED:
		clt_established(rc, e);
		return;
	case RDMA_CM_EVENT_REJECTED:
		uv_timer_stop(rc->timer);
		rsp_from_event(e, &rsp);
		if (!rsp.err)
			rsp.err = -ECONNRESET;
		rc->state = RC_FAILED;
		rc->disconnected = true;
		rc->c.ev->established(&rc->c, &rsp);
		return;
	case RDMA_CM_EVENT_ADDR_ERROR:
		rc_fail(rc, cm_errno(e, -EHOSTUNREACH), "address resolution failed");
		return;
	case RDMA_CM_EVENT_ROUTE_ERROR:
		rc_fail(rc, cm_errno(e, -EHOSTUNREACH), "route resolution failed");
		return;
	case RDMA_CM_EVENT_UNREACHABLE:
		rc_fail(rc, cm_errno(e, -EHOSTUNREACH), "server unreachable");
		return;
	case RDMA_CM_EVENT_CONNECT_ERROR:
		rc_fail(rc, cm_errno(e, -ECONNREFUSED), "connect error");
		return;
	default:
		break;
	}
}

static void rc_cm_event(struct rdma_conn *rc, struct rdma_cm_event *e)
{
	switch (e->event) {
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
	case RDMA_CM_EVENT_ADDR_CHANGE:
		rc->disconnected = true;
		if (rc->state == RC_CLOSING)
			rc_teardown(rc);
		else
			rc_fail(rc, -ECONNRESET, "%s", rdma_event_str(e->event));
		return;
	case RDMA_CM_EVENT_ESTABLISHED:
		if (rc->server)
			return;		/* accepted already; nothing new */
		break;
	default:
		break;
	}
	if (rc->state == RC_CLOSING || rc->state == RC_FAILED)
		return;
	if (!rc->server)
		clt_cm_event(rc, e);
	else
		rnbd_log_debug("rdma server: %s ignored", rdma_event_str(e->event));
}

static void rc_on_cm(uv_poll_t *h, int status, int events)
{
	struct rdma_conn *rc = h->data;
	struct rdma_cm_event *e;

	(void)status;
	(void)events;
	/* one at a time: an event may end the connection */
	while (rc->ech && !rdma_get_cm_event(rc->ech, &e)) {
		struct rdma_cm_event copy = *e;
		uint8_t pd[RTRS_CONN_RSP_LEN];

		if (e->param.conn.private_data && e->param.conn.private_data_len >= sizeof(pd)) {
			memcpy(pd, e->param.conn.private_data, sizeof(pd));
			copy.param.conn.private_data = pd;
			copy.param.conn.private_data_len = sizeof(pd);
		} else {
			copy.param.conn.private_data = NULL;
			copy.param.conn.private_data_len = 0;
		}
		rdma_ack_cm_event(e);
		rc_cm_event(rc, &copy);
		if (!rc->cm_poll)
			return;
	}
}

static void rc_on_timer(uv_timer_t *t)
{
	struct rdma_conn *rc = t->data;

	if (rc->state == RC_CLOSING) {
		rc_teardown(rc);
	} else if (rc->state == RC_FAILED) {
		if (!rc->told_core) {
			rnbd_log_debug("rdma %s: dropping connection: %s", rc_name(rc), rc->why);
			rc_teardown(rc);
			return;
		}
		rc->c.ev->error(&rc->c, rc->err, rc->why);
	} else {
		rc_fail(rc, -ETIMEDOUT, "handshake timed out %s",
			rc->state == RC_RESOLVING ? "resolving the address and route" :
			rc->state == RC_CONNECTING ? "waiting for the server's answer" :
			"waiting for the client's first message");
	}
}

/* ---- client ops ---- */

static int rdma_connect_op(struct rtrs_loop *loop, const struct rtrs_tr_connect_opts *o,
			   const struct rtrs_conn_req *req, const struct rtrs_tr_events *ev,
			   void *ctx, struct rtrs_tr_conn **out)
{
	struct rdma_conn *rc = rc_new(false, ev, ctx);
	int ret;

	if (!rc)
		return rnbd_err_set(-ENOMEM, "no memory for a connection");
	ret = rtrs_conn_req_encode(req, rc->conn_req, sizeof(rc->conn_req));
	if (ret > 0)
		ret = rdma_path_get(false, req->sess_uuid, req->recon_cnt, &rc->path);
	if (!ret && handles_alloc(rc))
		ret = rnbd_err_set(-ENOMEM, "no memory for a connection");
	if (!ret) {
		rc->ech = rdma_create_event_channel();
		if (!rc->ech)
			ret = rnbd_err_set(-errno, "rdma_create_event_channel: %s (is an RDMA device up?)",
					   strerror(errno));
	}
	if (!ret)
		ret = set_nonblock(rc->ech->fd);
	if (!ret && rdma_create_id(rc->ech, &rc->id, rc, RDMA_PS_TCP))
		ret = rnbd_err_set(-errno, "rdma_create_id: %s", strerror(errno));
	if (!ret && rdma_resolve_addr(rc->id, (struct sockaddr *)o->src, (struct sockaddr *)o->dst,
				      (int)o->timeout_ms))
		ret = rnbd_err_set(-errno, "rdma_resolve_addr: %s", strerror(errno));
	if (ret) {
		rc_destroy_verbs(rc);
		rc_free(rc);
		return ret;
	}
	rc->c.cid = req->cid;
	rc->told_core = true;
	rc->state = RC_RESOLVING;
	handles_init(rc, loop);
	uv_timer_start(rc->timer, rc_on_timer, o->timeout_ms, 0);
	*out = &rc->c;
	return 0;
}

static int rdma_send_info_req(struct rtrs_tr_conn *c, const char *sessname)
{
	struct rdma_conn *rc = to_rc(c);
	struct rtrs_info_req req;
	struct ibv_sge sge;
	struct ibv_send_wr wr = { .opcode = IBV_WR_SEND, .sg_list = &sge, .num_sge = 1 };
	struct ibv_send_wr *bad;
	int ret;

	if (rc->state != RC_OPEN || c->cid != 0 || rc->info_sent)
		return rnbd_err_set(-EINVAL, "INFO_REQ not allowed now");
	snprintf(req.pathname, sizeof(req.pathname), "%s", sessname);
	ret = rtrs_info_req_encode(&req, rc->ctl + rc->ctl_send_off, RTRS_INFO_REQ_LEN);
	if (ret < 0)
		return ret;
	sge = (struct ibv_sge){ (uintptr_t)(rc->ctl + rc->ctl_send_off), (uint32_t)ret,
				rc->ctl_mr->lkey };
	wr.wr_id = WR_ID(WR_SEND_CTL, 0);
	wr.send_flags = IBV_SEND_SIGNALED;
	ret = ibv_post_send(rc->id->qp, &wr, &bad);
	if (ret)
		return rnbd_err_set(-ret, "ibv_post_send (info_req): %s", strerror(ret));
	rc->info_sent = true;
	return 0;
}

static int rdma_send_req(struct rtrs_tr_conn *c, struct rtrs_tr_req *req)
{
	struct rdma_conn *rc = to_rc(c);
	struct rdma_path *p = rc->path;
	uint32_t tlen = req->read ? RTRS_READ_TRAILER_LEN + (req->data_len ? RTRS_SG_DESC_LEN : 0) :
				    RTRS_WRITE_TRAILER_LEN;
	int ret;

	if (rc->state != RC_OPEN || !rc->ready || !p->have_chunks)
		return rnbd_err_set(-ENOTCONN, "connection not ready");
	if (req->id >= p->queue_depth || rc->outstanding[req->id])
		return rnbd_err_set(-EBUSY, "id %u already outstanding", req->id);
	if ((uint64_t)req->data_len + req->usr_len + tlen > p->chunk_size)
		return rnbd_err_set(-EMSGSIZE, "request of %u + %u bytes does not fit a chunk of %u",
				    req->data_len, req->usr_len, p->chunk_size);
	rc->outstanding[req->id] = req;
	if (!sq_room(rc, 1) || !list_empty(&rc->pendq)) {
		list_add_tail(req_node(req), &rc->pendq);
		return 0;
	}
	ret = post_req(rc, req);
	if (ret)
		rc->outstanding[req->id] = NULL;
	return ret;
}

/* ---- server ops ---- */

static void rl_accept(struct rdma_listener *rl, struct rdma_cm_id *id, const void *pdata,
		      uint8_t pdata_len)
{
	struct rtrs_conn_rsp rej = { .err = -ECONNRESET };
	uint8_t rsp[RTRS_CONN_RSP_LEN];
	struct rtrs_conn_req req;
	struct rdma_conn *rc;
	int ret;

	if (pdata_len < RTRS_CONN_REQ_LEN || rtrs_conn_req_decode(pdata, pdata_len, &req)) {
		rnbd_log_info("rdma server: rejecting a connection: %s",
			      pdata_len < RTRS_CONN_REQ_LEN ? "short private data" : rnbd_errmsg());
		goto reject;
	}
	if (rl->npending >= rl->opts.max_pending) {
		rnbd_log_warn("rdma server: %u connections in handshake, refusing one more",
			      rl->npending);
		goto reject;
	}
	rc = rc_new(true, rl->l.ev, NULL);
	if (!rc)
		goto reject;
	rc->id = id;
	id->context = rc;
	ret = handles_alloc(rc);
	if (!ret)
		ret = rdma_path_get(true, req.sess_uuid, req.recon_cnt, &rc->path);
	if (!ret)
		ret = rdma_dev_get(id->verbs, &rc->dev);
	if (!ret) {
		rc->ech = rdma_create_event_channel();
		ret = rc->ech ? set_nonblock(rc->ech->fd) : -errno;
	}
	if (!ret && rdma_migrate_id(id, rc->ech))
		ret = -errno;
	if (ret) {
		rnbd_log_warn("rdma server: cannot take a connection: %s", strerror(-ret));
		rc->id = NULL;
		rc_destroy_verbs(rc);
		rc_free(rc);
		goto reject;
	}
	rc->c.cid = req.cid;
	rc->listener = rl;
	rl->npending++;
	rc->state = RC_PENDING;
	rc->told_core = true;
	handles_init(rc, rl->l.loop);
	uv_timer_start(rc->timer, rc_on_timer, rl->opts.handshake_timeout_ms, 0);
	rc->c.ev->conn_req(&rl->l, &rc->c, &req);
	return;
reject:
	if (rtrs_conn_rsp_encode(&rej, rsp, sizeof(rsp)) > 0)
		rdma_reject(id, rsp, sizeof(rsp));
	else
		rdma_reject(id, NULL, 0);
	rdma_destroy_id(id);
}

static void rl_on_poll(uv_poll_t *h, int status, int events)
{
	struct rdma_listener *rl = h->data;
	struct rdma_cm_event *e;

	(void)status;
	(void)events;
	for (int i = 0; i < 64 && !rdma_get_cm_event(rl->ech, &e); i++) {
		struct rdma_cm_id *id = e->id;
		uint8_t pd[RTRS_CONN_REQ_LEN];
		uint8_t len = e->param.conn.private_data_len;

		if (e->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
			rnbd_log_debug("rdma server: listener: %s", rdma_event_str(e->event));
			rdma_ack_cm_event(e);
			continue;
		}
		if (len > sizeof(pd))
			len = sizeof(pd);
		if (e->param.conn.private_data)
			memcpy(pd, e->param.conn.private_data, len);
		else
			len = 0;
		/* acked before migrating: rdma_migrate_id waits for it */
		rdma_ack_cm_event(e);
		rl_accept(rl, id, pd, len);
	}
}

static int rdma_listen_op(struct rtrs_loop *loop, const struct rtrs_tr_listen_opts *o,
			  const struct rtrs_tr_events *ev, void *ctx, struct rtrs_tr_listener **out)
{
	struct rdma_listener *rl = calloc(1, sizeof(*rl));
	int ret = 0;

	if (!rl)
		return rnbd_err_set(-ENOMEM, "no memory for a listener");
	rl->poll = calloc(1, sizeof(*rl->poll));
	rl->ech = rdma_create_event_channel();
	if (!rl->poll || !rl->ech)
		ret = rnbd_err_set(rl->poll ? -errno : -ENOMEM,
				   "rdma_create_event_channel: %s (is an RDMA device up?)",
				   strerror(rl->poll ? errno : ENOMEM));
	if (!ret)
		ret = set_nonblock(rl->ech->fd);
	if (!ret && rdma_create_id(rl->ech, &rl->id, rl, RDMA_PS_TCP))
		ret = rnbd_err_set(-errno, "rdma_create_id: %s", strerror(errno));
	if (!ret && rdma_bind_addr(rl->id, (struct sockaddr *)o->addr))
		ret = rnbd_err_set(-errno, "rdma_bind_addr: %s", strerror(errno));
	if (!ret && rdma_listen(rl->id, LISTEN_BACKLOG))
		ret = rnbd_err_set(-errno, "rdma_listen: %s", strerror(errno));
	if (ret) {
		if (rl->id)
			rdma_destroy_id(rl->id);
		if (rl->ech)
			rdma_destroy_event_channel(rl->ech);
		free(rl->poll);
		free(rl);
		return ret;
	}
	rl->l.ops = &rtrs_rdma_ops;
	rl->l.ev = ev;
	rl->l.ctx = ctx;
	rl->l.loop = loop;
	rl->opts = *o;
	rl->opts.addr = NULL;
	uv_poll_init(&loop->uv, rl->poll, rl->ech->fd);
	rl->poll->data = rl;
	uv_poll_start(rl->poll, UV_READABLE, rl_on_poll);
	*out = &rl->l;
	return 0;
}

static void rl_poll_closed(uv_handle_t *h)
{
	struct rdma_listener *rl = h->data;

	rdma_destroy_id(rl->id);
	rdma_destroy_event_channel(rl->ech);
	free(h);
	free(rl);
}

static void rdma_listener_close(struct rtrs_tr_listener *l)
{
	struct rdma_listener *rl = container_of(l, struct rdma_listener, l);

	uv_close((uv_handle_t *)rl->poll, rl_poll_closed);
}

static int rdma_listener_addr(struct rtrs_tr_listener *l, struct sockaddr_storage *out)
{
	struct rdma_listener *rl = container_of(l, struct rdma_listener, l);
	struct sockaddr *sa = rdma_get_local_addr(rl->id);

	memset(out, 0, sizeof(*out));
	memcpy(out, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						    sizeof(struct sockaddr_in));
	return 0;
}

static int rdma_accept_op(struct rtrs_tr_conn *c, const struct rtrs_tr_limits *lim)
{
	struct rdma_conn *rc = to_rc(c);
	struct rtrs_conn_rsp rsp = {
		.queue_depth = lim->queue_depth,
		.max_io_size = lim->max_io_size,
		.max_hdr_size = lim->max_hdr_size,
	};
	uint8_t pd[RTRS_CONN_RSP_LEN];
	struct rdma_conn_param cp = { .private_data = pd, .private_data_len = sizeof(pd),
				      .rnr_retry_count = 7 };
	uint32_t qd = lim->queue_depth;
	int ret;

	if (rc->state != RC_PENDING)
		return rnbd_err_set(-EINVAL, "accept: connection is not waiting for an answer");
	ret = rtrs_conn_rsp_encode(&rsp, pd, sizeof(pd));
	if (ret > 0)
		ret = rdma_path_setup(rc->path, rc->dev, qd, lim->max_io_size + lim->max_hdr_size);
	if (!ret)
		ret = rc_setup_qp(rc, qd);
	if (!ret)
		ret = rc_setup_ctl(rc, qd, 0);
	if (!ret) {
		rc->rsps = calloc(qd, sizeof(*rc->rsps));
		if (!rc->rsps)
			ret = rnbd_err_set(-ENOMEM, "no memory for %u responses", qd);
	}
	/* cid 0: the info_req first, the 512 empty receives once it came */
	if (!ret)
		ret = c->cid ? post_recvs(rc, qd) :
			       post_recv(rc, WR_ID(WR_RECV_CTL, 0), rc->ctl + rc->ctl_recv_off,
					 RTRS_INFO_REQ_LEN);
	if (!ret && rdma_accept(rc->id, &cp))
		ret = rnbd_err_set(-errno, "rdma_accept: %s", strerror(errno));
	if (ret)
		return ret;
	rc_unpend(rc);
	uv_timer_stop(rc->timer);
	cq_poll_start(rc);
	c->lim = *lim;
	rc->state = RC_OPEN;
	return 0;
}

static void rdma_reject_op(struct rtrs_tr_conn *c, int err)
{
	struct rdma_conn *rc = to_rc(c);
	struct rtrs_conn_rsp rsp = { .err = err < 0 && err >= INT16_MIN ? err : -ECONNRESET };
	uint8_t pd[RTRS_CONN_RSP_LEN];

	if (rtrs_conn_rsp_encode(&rsp, pd, sizeof(pd)) > 0)
		rdma_reject(rc->id, pd, sizeof(pd));
	rc->state = RC_CLOSING;
	rc_teardown(rc);
}

static int rdma_send_info_rsp(struct rtrs_tr_conn *c)
{
	struct rdma_conn *rc = to_rc(c);
	struct rdma_path *p = rc->path;
	struct rtrs_sg d = { .addr = (uintptr_t)p->region, .key = p->mr->rkey,
			     .len = (uint32_t)p->region_len };
	struct ibv_sge sge;
	struct ibv_send_wr wr = { .opcode = IBV_WR_SEND, .sg_list = &sge, .num_sge = 1 };
	struct ibv_send_wr *bad;
	int ret;

	if (rc->state != RC_OPEN)
		return rnbd_err_set(-ENOTCONN, "connection not open");
	ret = rtrs_info_rsp_encode(&d, 1, rc->ctl + rc->ctl_send_off,
				   RTRS_INFO_RSP_HDR_LEN + RTRS_SG_DESC_LEN);
	if (ret < 0)
		return ret;
	sge = (struct ibv_sge){ (uintptr_t)(rc->ctl + rc->ctl_send_off), (uint32_t)ret,
				rc->ctl_mr->lkey };
	wr.wr_id = WR_ID(WR_SEND_CTL, 0);
	wr.send_flags = IBV_SEND_SIGNALED;
	ret = ibv_post_send(rc->id->qp, &wr, &bad);
	return ret ? rnbd_err_set(-ret, "ibv_post_send (info_rsp): %s", strerror(ret)) : 0;
}

static int rdma_send_rsp(struct rtrs_tr_conn *c, uint16_t id, const void *data, uint32_t len,
			 int err)
{
	struct rdma_conn *rc = to_rc(c);
	struct rdma_rsp *r;

	if (rc->state != RC_OPEN)
		return rnbd_err_set(-ENOTCONN, "connection not open");
	if (id >= rc->path->queue_depth)
		return rnbd_err_set(-EINVAL, "response id %u out of range", id);
	r = &rc->rsps[id];
	r->data = data;
	r->len = len;
	r->err = err;
	if (!sq_room(rc, rsp_wrs(r)) || !list_empty(&rc->pendq)) {
		r->queued = true;
		list_add_tail(&r->node, &rc->pendq);
		return 0;
	}
	return post_rsp(rc, id, r);
}

/* ---- both ---- */

static int rdma_detach(struct rtrs_tr_conn *c)
{
	struct rdma_conn *rc = to_rc(c);

	if (handles_alloc(rc))
		return rnbd_err_set(-ENOMEM, "no memory to move a connection");
	uv_timer_stop(rc->timer);
	handles_drop(rc);
	return 0;
}

static void rdma_attach(struct rtrs_tr_conn *c, struct rtrs_loop *loop)
{
	struct rdma_conn *rc = to_rc(c);

	if (c->loop != loop)
		handles_init(rc, loop);
	rc->ready = true;
	/* completions that came while no loop watched the channel */
	if (rc->cq_poll)
		rc_on_cq(rc->cq_poll, 0, UV_READABLE);
}

static int rdma_send_hb(struct rtrs_tr_conn *c, bool ack, uint32_t val)
{
	struct rdma_conn *rc = to_rc(c);

	if (rc->state != RC_OPEN)
		return rnbd_err_set(-ENOTCONN, "connection not open");
	if (!ack)
		rc->hb_val = val;
	if (ack)
		rc->ack_owed = true;
	else
		rc->hb_owed = true;
	rc_kick(rc);
	return 0;
}

static void rdma_cork(struct rtrs_tr_conn *c)
{
	(void)c;
}

static void rdma_uncork(struct rtrs_tr_conn *c)
{
	(void)c;
}

static void rdma_close(struct rtrs_tr_conn *c, int reason, uint32_t linger_ms)
{
	struct rdma_conn *rc = to_rc(c);

	(void)reason;	/* RDMA has no goodbye message (rtrs-wire.md 16) */
	if (rc->state == RC_CLOSING)
		return;
	if (rc->outstanding)
		memset(rc->outstanding, 0, rc->c.lim.queue_depth * sizeof(*rc->outstanding));
	list_init(&rc->pendq);
	rc->state = RC_CLOSING;
	if (!rc->timer) {
		rc_teardown(rc);
		return;
	}
	if (!rc->disconnected && rc->id && !rdma_disconnect(rc->id)) {
		uv_timer_start(rc->timer, rc_on_timer, linger_ms ? linger_ms : 1, 0);
		return;
	}
	rc_teardown(rc);
}

static void rdma_close_now(struct rtrs_tr_conn *c)
{
	struct rdma_conn *rc = to_rc(c);

	if (rc->state == RC_CLOSING && rc->timer)
		rc_teardown(rc);
}

static void rdma_addrs(struct rtrs_tr_conn *c, struct sockaddr_storage *peer,
		       struct sockaddr_storage *local)
{
	struct rdma_conn *rc = to_rc(c);

	memset(peer, 0, sizeof(*peer));
	memset(local, 0, sizeof(*local));
	if (!rc->id)
		return;
	memcpy(peer, rdma_get_peer_addr(rc->id), sizeof(struct sockaddr_in6));
	memcpy(local, rdma_get_local_addr(rc->id), sizeof(struct sockaddr_in6));
}

const struct rtrs_tr_ops rtrs_rdma_ops = {
	.name = "rdma",
	.listen = rdma_listen_op,
	.listener_close = rdma_listener_close,
	.listener_addr = rdma_listener_addr,
	.accept = rdma_accept_op,
	.reject = rdma_reject_op,
	.send_info_rsp = rdma_send_info_rsp,
	.send_rsp = rdma_send_rsp,
	.connect = rdma_connect_op,
	.send_info_req = rdma_send_info_req,
	.send_req = rdma_send_req,
	.detach = rdma_detach,
	.attach = rdma_attach,
	.send_hb = rdma_send_hb,
	.cork = rdma_cork,
	.uncork = rdma_uncork,
	.close = rdma_close,
	.close_now = rdma_close_now,
	.addrs = rdma_addrs,
	.hb_every_conn = false,
};
