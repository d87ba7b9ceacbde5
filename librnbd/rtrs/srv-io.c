// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Server ops: a request arrives on a connection's loop, goes to the upper
 * layer, and its response goes back out on the same connection from the
 * same loop, whichever thread answered.
 */
#include <errno.h>

#include "srv.h"
#include "util/err.h"
#include "util/log.h"

struct rtrs_tr_op *srv_io_get_op(struct rtrs_tr_conn *c, uint16_t id)
{
	struct srv_conn *conn = c->ctx;
	struct srv_path *p = conn->path;
	struct rtrs_srv_op *op;

	if (!p || srv_path_state(p) != RTRS_SRV_CONNECTED)
		return NULL;
	op = &p->ops[id];
	/* An id may be outstanding once per path (rtrs-tcp.md 6.4). */
	if (atomic_exchange_explicit(&op->busy, true, memory_order_acquire))
		return NULL;
	op->conn = conn;
	op->wl = conn->wl;
	srv_path_get(p);
	return &op->tr;
}

void srv_op_release(struct rtrs_srv_op *op)
{
	struct srv_path *p = op->path;

	op->conn = NULL;
	op->delivered = false;
	atomic_store_explicit(&op->busy, false, memory_order_release);
	srv_path_put(p);
}

void srv_io_request(struct rtrs_tr_conn *c, struct rtrs_tr_op *top)
{
	struct rtrs_srv_op *op = container_of(top, struct rtrs_srv_op, tr);
	struct srv_path *p = op->path;
	struct rtrs_srv *srv = p->sess->srv;
	int ret;

	(void)c;
	op->delivered = true;
	if (top->read) {
		atomic_fetch_add_explicit(&p->ctr.reqs_read, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->ctr.bytes_read, top->data_len, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&p->ctr.reqs_write, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->ctr.bytes_write, top->data_len, memory_order_relaxed);
	}
	ret = srv->o.ops->request(srv->o.priv, p->sess, op, top->read, top->data, top->data_len,
				  top->usr, top->usr_len);
	if (ret)
		rtrs_srv_resp(op, ret);
}

/* A transport without send_rsp_lent gets the lent data in the op's buffer. */
static void lend_copy(struct rtrs_srv_op *op)
{
	rtrs_lend_copy(&op->lend, op->tr.data);
	rtrs_lend_put(&op->lend);
	op->lent = false;
}

static void resp_on_loop(struct rtrs_srv_op *op)
{
	struct srv_conn *conn = op->conn;
	const struct rtrs_tr_ops *tr = conn ? conn->tr->ops : NULL;
	uint16_t id = op->tr.id;
	const void *data = op->tr.data;
	uint32_t len = op->tr.read ? op->tr.read_len : 0;
	int err = op->err, ret;
	bool lent = op->lent;
	struct rtrs_lend lend;

	if (lent && tr && !tr->send_rsp_lent) {
		lend_copy(op);
		lent = false;
	}
	if (lent) {
		rtrs_lend_move(&lend, &op->lend);
		op->lent = false;
	}
	/*
	 * Release first: once the response is out the client may send this id
	 * again, on any connection of the path, and that must find the op
	 * free.  The data stays in place until then.  A response for a
	 * connection that is gone is dropped, as the kernel's
	 * rtrs_srv_resp_rdma() does; the client fails over.
	 */
	srv_op_release(op);
	if (!conn || !conn->path) {
		if (lent)
			rtrs_lend_put(&lend);
		return;
	}
	ret = lent ? tr->send_rsp_lent(conn->tr, id, &lend) :
		     tr->send_rsp(conn->tr, id, data, len, err);
	if (ret)
		rnbd_log_debug("rtrs server: response for id %u dropped: %s", id, rnbd_errmsg());
}

static void resp_msg(struct rtrs_loop *loop, struct rtrs_loop_msg *m)
{
	(void)loop;
	resp_on_loop(container_of(m, struct rtrs_srv_op, msg));
}

void rtrs_srv_resp(struct rtrs_srv_op *op, int err)
{
	op->err = err;
	if (rtrs_loop_is_current(&op->wl->loop)) {
		resp_on_loop(op);
		return;
	}
	op->msg.fn = resp_msg;
	rtrs_loop_post(&op->wl->loop, &op->msg);
}

void rtrs_srv_resp_lent(struct rtrs_srv_op *op, const struct rtrs_lend *l)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < l->nseg && i < RTRS_LEND_SEGS; i++)
		total += l->seg[i].len;
	if (!op->tr.read || l->nseg > RTRS_LEND_SEGS || total != op->tr.read_len) {
		rnbd_log_err("rtrs server: lent %llu bytes in %u pieces for a %s of %u: failing it",
			       (unsigned long long)total, l->nseg, op->tr.read ? "read" : "write",
			       op->tr.read_len);
		rtrs_lend_put(l);
		rtrs_srv_resp(op, -EIO);
		return;
	}
	rtrs_lend_move(&op->lend, l);
	op->lent = true;
	rtrs_srv_resp(op, 0);
}

struct rtrs_srv_sess *rtrs_srv_op_sess(struct rtrs_srv_op *op)
{
	return op->path->sess;
}

void *rtrs_srv_op_priv(struct rtrs_srv_op *op)
{
	return op->priv;
}

void srv_loop_hb_tick(uv_timer_t *t)
{
	struct srv_loop *wl = t->data;
	struct rtrs_srv *srv = wl->srv;
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &wl->conns) {
		struct srv_conn *conn = list_entry(pos, struct srv_conn, link);
		struct srv_path *p = conn->path;

		if (!p || srv_path_state(p) != RTRS_SRV_CONNECTED)
			continue;
		if (!srv->tr->hb_every_conn && conn->cid)
			continue;
		if (conn->hb_missed > srv->o.hb_missed_max) {
			srv_path_post_close(conn, -ETIMEDOUT, "heartbeat lost");
			continue;
		}
		if (conn->hb_missed++)
			continue;
		conn->tr->ops->send_hb(conn->tr, false, ++conn->hb_seq);
	}
}
