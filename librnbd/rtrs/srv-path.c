// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Server sessions and paths (rtrs-wire.md 3.5, 3.6, 14, 16; rtrs-tcp.md 5.3,
 * 5.4, 8), run on loop 0: accepting connections into sessions and paths,
 * INFO_REQ, closing, and freeing a path once nothing refers to it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"
#include "util/err.h"
#include "util/log.h"

struct srv_msg {
	struct rtrs_loop_msg base;
	void (*fn)(struct srv_loop *wl, void *arg, int err, const char *why);
	void *arg;
	int err;
	char why[200];
};

static void srv_msg_run(struct rtrs_loop *loop, struct rtrs_loop_msg *msg)
{
	struct srv_msg *m = (struct srv_msg *)msg;

	m->fn(loop->owner, m->arg, m->err, m->why);
	free(m);
}

int srv_post(struct srv_loop *wl, void (*fn)(struct srv_loop *wl, void *arg, int err,
					     const char *why),
	     void *arg, int err, const char *why)
{
	struct srv_msg *m = calloc(1, sizeof(*m));

	if (!m) {
		rnbd_log_err("rtrs server: no memory for a control message");
		return -ENOMEM;
	}
	m->base.fn = srv_msg_run;
	m->fn = fn;
	m->arg = arg;
	m->err = err;
	if (why)
		snprintf(m->why, sizeof(m->why), "%s", why);
	rtrs_loop_post(&wl->loop, &m->base);
	return 0;
}

static struct srv_loop *loop_of_cid(struct rtrs_srv *srv, uint16_t cid)
{
	unsigned int nw = srv->nloops - 1;

	return cid && nw ? &srv->loops[1 + (cid - 1) % nw] : srv_loop0(srv);
}

static const char *sess_label(struct rtrs_srv_sess *sess)
{
	return sess->name[0] ? sess->name : "(unnamed)";
}

static bool set_state(struct srv_path *p, enum rtrs_srv_state to)
{
	enum rtrs_srv_state from = srv_path_state(p);

	if (!rtrs_srv_state_change_ok(from, to))
		return false;
	atomic_store_explicit(&p->state, to, memory_order_release);
	return true;
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			       &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr));
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
}

static struct rtrs_srv_sess *sess_find(struct rtrs_srv *srv, const uint8_t *uuid)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->sessions) {
		struct rtrs_srv_sess *sess = list_entry(pos, struct rtrs_srv_sess, link);

		if (!memcmp(sess->paths_uuid, uuid, 16))
			return sess;
	}
	return NULL;
}

static struct srv_path *path_find(struct rtrs_srv_sess *sess, const uint8_t *uuid)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &sess->paths) {
		struct srv_path *p = list_entry(pos, struct srv_path, link);

		if (!memcmp(p->sess_uuid, uuid, 16))
			return p;
	}
	return NULL;
}

static void sess_free_if_empty(struct rtrs_srv_sess *sess)
{
	struct rtrs_srv *srv = sess->srv;

	if (sess->npaths)
		return;
	if (sess->linked && srv->o.ops->link_ev)
		srv->o.ops->link_ev(srv->o.priv, sess, RTRS_SRV_LINK_EV_DISCONNECTED);
	list_del(&sess->link);
	srv->nsessions--;
	free(sess);
	if (srv->closing && !srv->nsessions && srv->all_gone)
		rtrs_completion_done(srv->all_gone, 0);
}

static void path_timer_closed(uv_handle_t *h)
{
	struct srv_path *p = h->data;
	struct rtrs_srv_sess *sess = p->sess;
	uint32_t qd = sess->srv->o.queue_depth;

	for (uint32_t i = 0; i < qd; i++)
		if (p->ops[i].tr.buf_owned)
			free(p->ops[i].tr.buf);
	free(p->ops);
	free(p->ops_priv);
	free(p->conns);
	/* only now: the session goes with its last path, not before */
	list_del(&p->link);
	sess->npaths--;
	free(p);
	sess_free_if_empty(sess);
}

static void path_free_on_loop0(struct srv_loop *wl, void *arg, int err, const char *why)
{
	struct srv_path *p = arg;

	(void)wl;
	(void)err;
	(void)why;
	set_state(p, RTRS_SRV_CLOSED);
	uv_close((uv_handle_t *)&p->timer, path_timer_closed);
}

void srv_path_get(struct srv_path *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void srv_path_put(struct srv_path *p)
{
	struct rtrs_srv *srv = p->sess->srv;

	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (rtrs_loop_is_current(&srv_loop0(srv)->loop))
		path_free_on_loop0(srv_loop0(srv), p, 0, NULL);
	else
		srv_post(srv_loop0(srv), path_free_on_loop0, p, 0, NULL);
}

/* On the connection's loop: let go of it; ops still out answer to no one. */
void srv_conn_drop(struct srv_conn *conn, int reason)
{
	struct srv_path *p = conn->path;
	uint32_t qd;

	if (!p)
		return;
	qd = p->sess->srv->o.queue_depth;
	/* Ops the transport was still receiving never reach the upper layer:
	 * release them; those the upper layer holds will answer to no one. */
	for (uint32_t i = 0; i < qd; i++) {
		struct rtrs_srv_op *op = &p->ops[i];

		if (op->conn != conn)
			continue;
		if (op->delivered)
			op->conn = NULL;
		else
			srv_op_release(op);
	}
	p->conns[conn->cid] = NULL;
	conn->path = NULL;
	list_del(&conn->link);
	list_add_tail(&conn->link, &conn->wl->zombies);
	/* an orderly close lingers for the peer's FIN; a failed one briefly */
	conn->tr->ops->close(conn->tr, reason, reason ? 1000 : RTRS_CONNECT_TIMEOUT_MS);
	srv_path_put(p);
}

static void drop_on_loop(struct srv_loop *wl, void *arg, int err, const char *why)
{
	(void)wl;
	(void)why;
	srv_conn_drop(arg, err);
}

void srv_path_close(struct srv_path *p, int reason, const char *why)
{
	struct rtrs_srv *srv = p->sess->srv;

	if (!set_state(p, RTRS_SRV_CLOSING))
		return;
	if (why)
		rnbd_log_info("rtrs server: session %s: closing a path: %s", sess_label(p->sess),
			      why);
	uv_timer_stop(&p->timer);
	for (uint16_t cid = 0; cid < p->cid_num; cid++) {
		struct srv_conn *conn = p->conns[cid];

		if (!conn)
			continue;
		if (conn->wl == srv_loop0(srv))
			srv_conn_drop(conn, reason);
		else
			srv_post(conn->wl, drop_on_loop, conn, reason, NULL);
	}
	srv_path_put(p);
}

static void close_msg(struct srv_loop *wl, void *arg, int err, const char *why)
{
	struct srv_path *p = arg;

	(void)wl;
	srv_path_close(p, err, why);
	srv_path_put(p);
}

/* From any loop: have loop 0 close the path of conn.  The message holds a
 * reference, since the connection itself may be gone by the time it runs. */
void srv_path_post_close(struct srv_conn *conn, int reason, const char *why)
{
	struct srv_path *p = conn->path;
	struct rtrs_srv *srv = conn->wl->srv;

	if (!p)
		return;
	if (rtrs_loop_is_current(&srv_loop0(srv)->loop)) {
		srv_path_close(p, reason, why);
		return;
	}
	srv_path_get(p);
	if (srv_post(srv_loop0(srv), close_msg, p, reason, why))
		srv_path_put(p);
}

static void path_timer_cb(uv_timer_t *t)
{
	struct srv_path *p = t->data;

	srv_path_close(p, -ETIMEDOUT, "no INFO_REQ in time");
}

static struct srv_path *path_new(struct rtrs_srv_sess *sess, const struct rtrs_conn_req *req,
				 const struct sockaddr_storage *peer,
				 const struct sockaddr_storage *local)
{
	struct rtrs_srv *srv = sess->srv;
	struct srv_path *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->conns = calloc(req->cid_num, sizeof(*p->conns));
	p->ops = calloc(srv->o.queue_depth, sizeof(*p->ops));
	p->ops_priv = srv->o.op_priv_size ? calloc(srv->o.queue_depth, srv->o.op_priv_size) : NULL;
	if (!p->conns || !p->ops || (srv->o.op_priv_size && !p->ops_priv)) {
		free(p->conns);
		free(p->ops);
		free(p->ops_priv);
		free(p);
		return NULL;
	}
	for (uint32_t i = 0; i < srv->o.queue_depth; i++) {
		p->ops[i].path = p;
		if (p->ops_priv)
			p->ops[i].priv = (char *)p->ops_priv + i * srv->o.op_priv_size;
	}
	p->sess = sess;
	memcpy(p->sess_uuid, req->sess_uuid, 16);
	p->cid_num = req->cid_num;
	p->peer = *peer;
	p->local = *local;
	atomic_init(&p->state, RTRS_SRV_CONNECTING);
	atomic_init(&p->refs, 1);
	uv_timer_init(&srv_loop0(srv)->loop.uv, &p->timer);
	p->timer.data = p;
	list_add_tail(&p->link, &sess->paths);
	sess->npaths++;
	return p;
}

/* Find or make the session and path a connection joins (RDMA 3.5). */
static int admit(struct rtrs_srv *srv, const struct rtrs_conn_req *req,
		 const struct sockaddr_storage *peer, const struct sockaddr_storage *local,
		 struct srv_path **out)
{
	struct rtrs_srv_sess *sess = sess_find(srv, req->paths_uuid);
	struct srv_path *p;
	struct list_head *pos, *tmp;

	if (srv->closing)
		return rnbd_err_set(-ECONNRESET, "server is shutting down");
	if (!sess) {
		if (!req->first_conn)
			return rnbd_err_set(-ENXIO, "no session to join");
		if (srv->nsessions >= srv->o.max_sessions)
			return rnbd_err_set(-ENOMEM, "%u sessions already", srv->nsessions);
		sess = calloc(1, sizeof(*sess));
		if (!sess)
			return rnbd_err_set(-ENOMEM, "no memory for a session");
		sess->srv = srv;
		memcpy(sess->paths_uuid, req->paths_uuid, 16);
		list_init(&sess->paths);
		list_add_tail(&sess->link, &srv->sessions);
		srv->nsessions++;
	}
	p = path_find(sess, req->sess_uuid);
	if (p) {
		if (srv_path_state(p) != RTRS_SRV_CONNECTING || p->cid_num != req->cid_num ||
		    p->conns[req->cid])
			return rnbd_err_set(-ECONNRESET, "path is %s (cid %u of %u)",
					    rtrs_srv_state_str(srv_path_state(p)), req->cid,
					    req->cid_num);
		*out = p;
		return 0;
	}
	if (sess->npaths >= srv->o.max_paths)
		return rnbd_err_set(-ECONNRESET, "session has %u paths already", sess->npaths);
	list_for_each_safe(pos, tmp, &sess->paths) {
		struct srv_path *o = list_entry(pos, struct srv_path, link);

		if (same_ip(&o->peer, peer) && same_ip(&o->local, local))
			return rnbd_err_set(-EEXIST, "a path with this address pair exists");
	}
	p = path_new(sess, req, peer, local);
	if (!p)
		return rnbd_err_set(-ENOMEM, "no memory for a path");
	p->recon_cnt = req->recon_cnt;
	*out = p;
	return 0;
}

static void ev_conn_req(struct rtrs_tr_listener *l, struct rtrs_tr_conn *c,
			const struct rtrs_conn_req *req)
{
	struct rtrs_srv *srv = l->ctx;
	struct sockaddr_storage peer, local;
	struct rtrs_tr_limits lim = {
		.queue_depth = srv->o.queue_depth,
		.max_io_size = srv->o.max_io_size,
		.max_hdr_size = srv->o.max_hdr_size,
	};
	struct srv_conn *conn = calloc(1, sizeof(*conn));
	struct srv_path *p = NULL;
	int ret;

	if (!conn) {
		c->ops->reject(c, -ENOMEM);
		return;
	}
	conn->tr = c;
	conn->wl = srv_loop0(srv);
	conn->cid = req->cid;
	list_init(&conn->link);
	c->ctx = conn;
	atomic_fetch_add(&srv->nconns, 1);
	c->ops->addrs(c, &peer, &local);
	ret = admit(srv, req, &peer, &local, &p);
	if (!ret)
		ret = c->ops->accept(c, &lim);
	if (ret) {
		struct rtrs_srv_sess *sess = sess_find(srv, req->paths_uuid);

		rnbd_log_info("rtrs server: rejecting cid %u: %s", req->cid, rnbd_errmsg());
		list_add_tail(&conn->link, &conn->wl->zombies);
		c->ops->reject(c, ret);
		if (p)	/* an attempt that never completes is closed in time */
			uv_timer_start(&p->timer, path_timer_cb, srv->o.handshake_timeout_ms, 0);
		else if (sess)
			sess_free_if_empty(sess);
		return;
	}
	conn->path = p;
	p->conns[req->cid] = conn;
	srv_path_get(p);
	uv_timer_start(&p->timer, path_timer_cb, srv->o.handshake_timeout_ms, 0);
}

static bool name_taken(struct rtrs_srv *srv, struct rtrs_srv_sess *self, const char *name)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->sessions) {
		struct rtrs_srv_sess *sess = list_entry(pos, struct rtrs_srv_sess, link);

		if (sess != self && !strcmp(sess->name, name))
			return true;
	}
	return false;
}

static void attach_on_loop(struct srv_loop *wl, void *arg, int err, const char *why)
{
	struct srv_conn *conn = arg;

	(void)err;
	(void)why;
	conn->tr->ops->attach(conn->tr, &wl->loop);
	list_add_tail(&conn->link, &wl->conns);
}

/* INFO_REQ on cid 0: the path is complete (rtrs-wire.md 3.6). */
static void ev_info_req(struct rtrs_tr_conn *c, const char *name)
{
	struct srv_conn *conn0 = c->ctx;
	struct srv_path *p = conn0->path;
	struct rtrs_srv_sess *sess = p->sess;
	struct rtrs_srv *srv = sess->srv;
	int ret;

	if (srv_path_state(p) != RTRS_SRV_CONNECTING) {
		srv_path_close(p, -EINVAL, "INFO_REQ on a path that is not connecting");
		return;
	}
	for (uint16_t cid = 0; cid < p->cid_num; cid++) {
		if (!p->conns[cid]) {
			srv_path_close(p, -EINVAL, "INFO_REQ before every connection was made");
			return;
		}
	}
	if (name_taken(srv, sess, name)) {
		rnbd_log_warn("rtrs server: session name %s is used by another session", name);
		srv_path_close(p, -EPERM, "session name in use");
		return;
	}
	if (sess->name[0] && strcmp(sess->name, name)) {
		srv_path_close(p, -EINVAL, "path names another session");
		return;
	}
	snprintf(sess->name, sizeof(sess->name), "%s", name);
	uv_timer_stop(&p->timer);
	set_state(p, RTRS_SRV_CONNECTED);
	if (!sess->linked) {
		ret = srv->o.ops->link_ev ?
			srv->o.ops->link_ev(srv->o.priv, sess, RTRS_SRV_LINK_EV_CONNECTED) : 0;
		if (ret) {
			srv_path_close(p, ret < 0 ? ret : -EPERM, "refused by the upper layer");
			return;
		}
		sess->linked = true;
	}
	for (uint16_t cid = 1; cid < p->cid_num; cid++) {
		struct srv_conn *conn = p->conns[cid];
		struct srv_loop *wl = loop_of_cid(srv, cid);

		if (wl == srv_loop0(srv)) {
			attach_on_loop(wl, conn, 0, NULL);
			continue;
		}
		ret = c->ops->detach(conn->tr);
		if (ret) {
			srv_path_close(p, ret, rnbd_errmsg());
			return;
		}
		conn->wl = wl;
		srv_post(wl, attach_on_loop, conn, 0, NULL);
	}
	attach_on_loop(srv_loop0(srv), conn0, 0, NULL);
	rnbd_log_info("rtrs server: session %s: path up (%u connections)", name, p->cid_num);
	ret = c->ops->send_info_rsp(c);
	if (ret)
		srv_path_close(p, ret, rnbd_errmsg());
}

static void ev_error(struct rtrs_tr_conn *c, int err, const char *why)
{
	srv_path_post_close(c->ctx, err, why);
}

static void ev_closed(struct rtrs_tr_conn *c)
{
	struct srv_conn *conn = c->ctx;
	struct rtrs_srv *srv = conn->wl->srv;

	list_del(&conn->link);
	free(conn);
	atomic_fetch_sub(&srv->nconns, 1);
}

static void ev_alive(struct rtrs_tr_conn *c)
{
	struct srv_conn *conn = c->ctx;

	conn->hb_missed = 0;
}

static void ev_hb_ack(struct rtrs_tr_conn *c, uint32_t val)
{
	(void)c;
	(void)val;
}

const struct rtrs_tr_events srv_tr_events = {
	.conn_req = ev_conn_req,
	.info_req = ev_info_req,
	.get_op = srv_io_get_op,
	.request = srv_io_request,
	.alive = ev_alive,
	.hb_ack = ev_hb_ack,
	.error = ev_error,
	.closed = ev_closed,
};
