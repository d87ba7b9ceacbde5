// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Client path state machine (rtrs-wire.md 3.4, 14, 15), run on loop 0.
 *
 * A connect attempt makes cid 0, then cids 1..N once cid 0 is accepted, all
 * on loop 0; INFO_REQ/INFO_RSP on cid 0; then each cid i is handed to loop i
 * and the path is CONNECTED when every loop has taken its connection.
 * A failure at any point runs "down": every loop closes its connection of the
 * path and fails its requests over; when all loops are done, the path waits
 * for its reconnect (delay + 0..7 ms, then the backoff) or goes away.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clt.h"
#include "util/err.h"
#include "util/log.h"

static void path_down_on_loop(struct clt_loop *wl, struct clt_msg *m);
static void path_timer_cb(uv_timer_t *t);

static struct clt_loop *loop0(struct rtrs_clt_sess *s)
{
	return &s->loops[0];
}

static const char *path_name(struct clt_path *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s path %d", p->sess->sessname, p->id);
	return buf;
}

static bool set_state(struct clt_path *p, enum rtrs_clt_state to)
{
	enum rtrs_clt_state from = path_state(p);
	char name[300];

	if (!rtrs_clt_state_change_ok(from, to)) {
		rnbd_log_err("%s: refusing state change %s -> %s", path_name(p, name, sizeof(name)),
			     rtrs_clt_state_str(from), rtrs_clt_state_str(to));
		return false;
	}
	atomic_store_explicit(&p->state, to, memory_order_release);
	return true;
}

int clt_post(struct clt_loop *wl, void (*fn)(struct clt_loop *wl, struct clt_msg *m), void *arg,
	     uint32_t gen, int err, const char *why)
{
	struct clt_msg *m = calloc(1, sizeof(*m));

	if (!m) {
		rnbd_log_err("rtrs: no memory for a control message");
		return -ENOMEM;
	}
	m->fn = fn;
	m->arg = arg;
	m->gen = gen;
	m->err = err;
	if (why)
		snprintf(m->why, sizeof(m->why), "%s", why);
	m->base.fn = clt_loop_drain_msg;
	rtrs_loop_post(&wl->loop, &m->base);
	return 0;
}

/* Post fn to every loop; returns how many were posted. */
static unsigned int broadcast(struct rtrs_clt_sess *s,
			      void (*fn)(struct clt_loop *wl, struct clt_msg *m), void *arg,
			      uint32_t gen)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < s->nloops; i++)
		n += clt_post(&s->loops[i], fn, arg, gen, 0, NULL) == 0;
	return n;
}

static void complete_waiter(struct clt_path *p, int ret)
{
	struct rtrs_completion *w = p->waiter;

	p->waiter = NULL;
	if (w)
		rtrs_completion_done_msg(w, ret, ret ? p->why : NULL);
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static int conn_connect(struct clt_path *p, uint16_t cid)
{
	struct rtrs_clt_sess *s = p->sess;
	struct clt_conn *conn = calloc(1, sizeof(*conn));
	struct rtrs_conn_req req = {
		.cid = cid,
		.cid_num = s->nloops,
		.recon_cnt = p->recon_cnt,
		/* only cid 0 of a path's very first connect may ask to join */
		.first_conn = cid ? true : p->first_conn,
	};
	struct rtrs_tr_connect_opts o = {
		.src = p->addr.src.ss_family ? (const struct sockaddr *)&p->addr.src : NULL,
		.dst = (const struct sockaddr *)&p->addr.dst,
		.addrlen = addr_len(&p->addr.dst),
		.timeout_ms = s->o.connect_timeout_ms,
		.user_timeout_ms = s->o.hb_interval_ms * (s->o.hb_missed_max + 1),
		.sndbuf = s->o.sndbuf,
		.rcvbuf = s->o.rcvbuf,
	};
	int ret;

	if (!conn)
		return rnbd_err_set(-ENOMEM, "no memory for a connection");
	memcpy(req.sess_uuid, p->sess_uuid, 16);
	memcpy(req.paths_uuid, s->paths_uuid, 16);
	conn->sess = s;
	conn->path = p;
	conn->gen = p->gen;
	conn->cid = cid;
	list_init(&conn->link);
	ret = s->tr->connect(&loop0(s)->loop, &o, &req, &clt_tr_events, conn, &conn->tr);
	if (ret) {
		free(conn);
		return ret;
	}
	atomic_fetch_add(&s->nconns, 1);
	p->hs[cid] = conn;
	return 0;
}

int clt_path_start(struct clt_path *p, struct rtrs_completion *waiter)
{
	struct rtrs_clt_sess *s = p->sess;
	int ret;

	if (path_state(p) == RTRS_CLT_RECONNECTING && !set_state(p, RTRS_CLT_CONNECTING))
		return -EINVAL;
	if (waiter)
		p->waiter = waiter;
	p->gen++;
	p->recon_cnt++;
	p->hs_established = 0;
	p->pending_acks = 0;
	p->err = 0;
	p->why[0] = '\0';
	p->hs = calloc(s->nloops, sizeof(*p->hs));
	ret = p->hs ? conn_connect(p, 0) : -ENOMEM;
	if (ret)
		clt_path_fail(p, ret, p->hs ? rnbd_errmsg() : "no memory");
	return 0;
}

/* Permits are sized by the first accept; later ones must agree. */
static int take_limits(struct clt_path *p, const struct rtrs_conn_rsp *rsp)
{
	struct rtrs_clt_sess *s = p->sess;
	uint32_t max_io = atomic_load(&s->max_io_size);

	if (!s->queue_depth) {
		int ret = rtrs_permits_init(&s->permits, rsp->queue_depth);

		if (!ret) {
			s->reqs = calloc(rsp->queue_depth, sizeof(*s->reqs));
			if (!s->reqs) {
				rtrs_permits_free(&s->permits);
				ret = -ENOMEM;
			}
			for (uint32_t i = 0; s->reqs && i < rsp->queue_depth; i++)
				s->reqs[i].tr.id = (uint16_t)i;
		}
		if (ret)
			return rnbd_err_set(ret, "no memory for %u permits", rsp->queue_depth);
		s->queue_depth = rsp->queue_depth;
		s->max_hdr_size = rsp->max_hdr_size;
		atomic_store(&s->max_io_size, rsp->max_io_size);
		return 0;
	}
	if (rsp->queue_depth != s->queue_depth) {
		if (p->connected_once)
			p->auto_reconnect = false;
		return rnbd_err_set(-EINVAL, "server queue_depth %u differs from the session's %u%s",
				    rsp->queue_depth, s->queue_depth,
				    p->connected_once ? "; automatic reconnect disabled" : "");
	}
	if (rsp->max_io_size < max_io)
		atomic_store(&s->max_io_size, rsp->max_io_size);
	if (rsp->max_hdr_size < s->max_hdr_size)
		s->max_hdr_size = rsp->max_hdr_size;
	return 0;
}

static void ev_established(struct rtrs_tr_conn *c, const struct rtrs_conn_rsp *rsp)
{
	struct clt_conn *conn = c->ctx;
	struct clt_path *p = conn->path;
	struct rtrs_clt_sess *s = conn->sess;
	int ret;

	if (rsp->err) {
		rnbd_err_set(rsp->err, "server rejected cid %u: %s", conn->cid, strerror(-rsp->err));
		clt_path_fail(p, rsp->err, rnbd_errmsg());
		return;
	}
	if (conn->cid == 0) {
		ret = take_limits(p, rsp);
		if (ret) {
			clt_path_fail(p, ret, rnbd_errmsg());
			return;
		}
		p->first_conn = true;
		for (uint16_t cid = 1; cid < s->nloops; cid++) {
			ret = conn_connect(p, cid);
			if (ret) {
				clt_path_fail(p, ret, rnbd_errmsg());
				return;
			}
		}
	}
	if (++p->hs_established < s->nloops)
		return;
	ret = s->tr->send_info_req(p->hs[0]->tr, s->sessname);
	if (ret) {
		clt_path_fail(p, ret, rnbd_errmsg());
		return;
	}
	p->timer_phase = PT_INFO;
	uv_timer_start(&p->timer, path_timer_cb, s->o.connect_timeout_ms, 0);
}

static void path_up(struct clt_path *p)
{
	struct rtrs_clt_sess *s = p->sess;
	char name[300];

	if (!set_state(p, RTRS_CLT_CONNECTED))
		return;
	free(p->hs);
	p->hs = NULL;
	p->reconnect_attempts = 0;
	p->reconnect_now = false;
	if (p->connected_once)
		atomic_fetch_add(&p->reconnects, 1);
	p->connected_once = true;
	atomic_store(&p->hb_missed, 0);
	rnbd_log_info("%s: connected", path_name(p, name, sizeof(name)));
	if (atomic_fetch_add(&s->paths_up, 1) == 0 && !s->opening && s->o.link_ev)
		s->o.link_ev(s->o.priv, RTRS_CLT_LINK_EV_RECONNECTED);
	broadcast(s, clt_io_path_up_msg, p, p->gen);
	complete_waiter(p, 0);
}

static void attach_ack(struct clt_loop *wl, struct clt_msg *m)
{
	struct clt_path *p = m->arg;

	(void)wl;
	if (m->gen != p->gen || path_state(p) != RTRS_CLT_CONNECTING || p->down_busy)
		return;
	if (!--p->pending_acks)
		path_up(p);
}

/* On loop cid: take the connection over from loop 0. */
static void attach_on_loop(struct clt_loop *wl, struct clt_msg *m)
{
	struct clt_conn *conn = m->arg;
	struct clt_path *p = conn->path;

	conn->tr->ops->attach(conn->tr, &wl->loop);
	wl->conns[p->slot] = conn;
	clt_post(loop0(conn->sess), attach_ack, p, m->gen, 0, NULL);
}

static void ev_info_rsp(struct rtrs_tr_conn *c)
{
	struct clt_conn *conn0 = c->ctx;
	struct clt_path *p = conn0->path;
	struct rtrs_clt_sess *s = conn0->sess;
	int ret;

	uv_timer_stop(&p->timer);
	p->timer_phase = PT_NONE;
	for (uint16_t cid = 1; cid < s->nloops; cid++) {
		struct clt_conn *conn = p->hs[cid];

		ret = s->tr->detach(conn->tr);
		if (ret) {
			clt_path_fail(p, ret, rnbd_errmsg());
			return;
		}
		p->hs[cid] = NULL;
		p->pending_acks += clt_post(&s->loops[cid], attach_on_loop, conn, p->gen, 0,
					    NULL) == 0;
	}
	s->tr->attach(c, &loop0(s)->loop);
	p->hs[0] = NULL;
	loop0(s)->conns[p->slot] = conn0;
	if (!p->pending_acks)
		path_up(p);
}

/* Close what loop 0 still holds of an attempt, then have every loop let
 * go of the path. */
static void path_down(struct clt_path *p)
{
	struct rtrs_clt_sess *s = p->sess;
	uint32_t linger = atomic_load(&s->closing) ? 1000 : s->o.connect_timeout_ms;

	uv_timer_stop(&p->timer);
	p->timer_phase = PT_NONE;
	if (p->hs) {
		for (unsigned int cid = 0; cid < s->nloops; cid++)
			if (p->hs[cid])
				clt_conn_drop(loop0(s), p->hs[cid], p->err, linger);
		free(p->hs);
		p->hs = NULL;
	}
	p->down_busy = true;
	p->pending_acks = broadcast(s, path_down_on_loop, p, p->gen);
}

void clt_path_fail(struct clt_path *p, int err, const char *why)
{
	struct rtrs_clt_sess *s = p->sess;
	enum rtrs_clt_state st = path_state(p);
	char name[300];

	if (p->down_busy)
		return;
	if (st == RTRS_CLT_CONNECTING) {
		set_state(p, RTRS_CLT_CONNECTING_ERR);
	} else if (st == RTRS_CLT_CONNECTED) {
		set_state(p, RTRS_CLT_RECONNECTING);
		if (atomic_fetch_sub(&s->paths_up, 1) == 1 && !atomic_load(&s->closing) &&
		    s->o.link_ev)
			s->o.link_ev(s->o.priv, RTRS_CLT_LINK_EV_DISCONNECTED);
	} else {
		return;
	}
	p->err = err < 0 ? err : -ECONNRESET;
	snprintf(p->why, sizeof(p->why), "%s", why);
	if (!p->reconnect_now || err != -ECONNRESET)
		rnbd_log_warn("%s: %s", path_name(p, name, sizeof(name)), why);
	path_down(p);
}

static void post_fail_msg(struct clt_loop *wl, struct clt_msg *m)
{
	struct clt_path *p = m->arg;

	(void)wl;
	if (m->gen == p->gen)
		clt_path_fail(p, m->err, m->why);
}

void clt_path_post_fail(struct clt_conn *conn, int err, const char *why)
{
	struct clt_path *p = conn->path;

	if (!p)
		return;
	if (rtrs_loop_is_current(&loop0(conn->sess)->loop)) {
		if (conn->gen == p->gen)
			clt_path_fail(p, err, why);
		return;
	}
	clt_post(loop0(conn->sess), post_fail_msg, p, conn->gen, err, why);
}

#define RECONNECT_RESET_RETRIES		10
#define RECONNECT_RESET_DELAY_MS	20

static void schedule_reconnect(struct clt_path *p, uint32_t delay_ms)
{
	if (!p->auto_reconnect && !p->reconnect_now)
		return;
	p->timer_phase = PT_DELAY;
	uv_timer_start(&p->timer, path_timer_cb, delay_ms + (uint32_t)(rand() % RTRS_RECONNECT_SEED), 0);
}

static void forget_ack(struct clt_loop *wl, struct clt_msg *m)
{
	struct clt_path *p = m->arg;

	(void)wl;
	if (--p->pending_acks)
		return;
	complete_waiter(p, 0);
	free(p);
}

static void forget_on_loop(struct clt_loop *wl, struct clt_msg *m)
{
	clt_io_forget_path(wl, m->arg);
	clt_post(loop0(wl->sess), forget_ack, m->arg, 0, 0, NULL);
}

static void timer_closed(uv_handle_t *h)
{
	struct clt_path *p = h->data;
	struct rtrs_clt_sess *s = p->sess;

	p->pending_acks = broadcast(s, forget_on_loop, p, 0);
}

/* The path is down for good: drop it from the session once no loop can
 * still be looking at it. */
static void path_finish_remove(struct clt_path *p)
{
	struct rtrs_clt_sess *s = p->sess;

	if (path_state(p) != RTRS_CLT_CLOSING && path_state(p) != RTRS_CLT_CLOSED)
		set_state(p, RTRS_CLT_CLOSING);
	if (path_state(p) != RTRS_CLT_CLOSED)
		set_state(p, RTRS_CLT_CLOSED);
	set_state(p, RTRS_CLT_DEAD);
	atomic_store(&s->paths[p->slot], NULL);
	s->npaths--;
	uv_close((uv_handle_t *)&p->timer, timer_closed);
}

static void path_down_done(struct clt_path *p)
{
	struct rtrs_clt_sess *s = p->sess;
	enum rtrs_clt_state st = path_state(p);

	p->down_busy = false;
	if (p->removing) {
		path_finish_remove(p);
		return;
	}
	if (st == RTRS_CLT_CONNECTING_ERR) {
		atomic_fetch_add(&p->reconnect_fails, 1);
		set_state(p, RTRS_CLT_RECONNECTING);
		/*
		 * A reconnect asked for closes the path's connections and dials
		 * at once, so the server may still be tearing down the old
		 * incarnation and refuse the new one ("path is CLOSING", as the
		 * kernel's server does): try again shortly, a few times, before
		 * telling whoever waits.
		 */
		if (p->waiter && p->reconnect_now && p->err == -ECONNRESET &&
		    p->reset_retries < RECONNECT_RESET_RETRIES && !atomic_load(&s->closing)) {
			p->reset_retries++;
			schedule_reconnect(p, RECONNECT_RESET_DELAY_MS);
			return;
		}
		if (p->waiter) {
			/* whoever waits (open, add, reconnect) decides what next */
			p->reconnect_now = false;
			complete_waiter(p, p->err);
		}
	}
	if (atomic_load(&s->closing))
		return;
	schedule_reconnect(p, p->reconnect_now ? 0 : s->o.reconnect_delay_ms);
}

static void path_down_ack(struct clt_loop *wl, struct clt_msg *m)
{
	struct clt_path *p = m->arg;

	(void)wl;
	if (!--p->pending_acks)
		path_down_done(p);
}

static void path_down_on_loop(struct clt_loop *wl, struct clt_msg *m)
{
	clt_io_path_down(wl, m->arg);
	clt_post(loop0(wl->sess), path_down_ack, m->arg, m->gen, 0, NULL);
}

static void path_timer_cb(uv_timer_t *t)
{
	struct clt_path *p = t->data;
	struct rtrs_clt_sess *s = p->sess;
	int max = s->o.max_reconnect_attempts;
	char name[300];

	switch (p->timer_phase) {
	case PT_INFO:
		p->timer_phase = PT_NONE;
		clt_path_fail(p, -ETIMEDOUT, "no INFO_RSP from the server");
		break;
	case PT_DELAY:
		if (!p->reconnect_now && max >= 0 && p->reconnect_attempts >= max) {
			rnbd_log_warn("%s: giving up after %d reconnect attempts",
				      path_name(p, name, sizeof(name)), p->reconnect_attempts);
			p->timer_phase = PT_NONE;
			set_state(p, RTRS_CLT_CLOSING);
			set_state(p, RTRS_CLT_CLOSED);
			break;
		}
		p->reconnect_attempts++;
		p->timer_phase = PT_BACKOFF;
		uv_timer_start(&p->timer, path_timer_cb,
			       p->reconnect_now ? 0 : s->o.reconnect_backoff_ms, 0);
		break;
	case PT_BACKOFF:
		p->timer_phase = PT_NONE;
		clt_path_start(p, NULL);
		break;
	case PT_NONE:
		break;
	}
}

int clt_path_reconnect(struct clt_path *p, struct rtrs_completion *waiter)
{
	enum rtrs_clt_state st = path_state(p);

	if (p->removing || p->down_busy || p->waiter)
		return rnbd_err_set(-EBUSY, "path %d is busy", p->id);
	switch (st) {
	case RTRS_CLT_CONNECTED:
		p->reconnect_now = true;
		p->reset_retries = 0;
		p->waiter = waiter;
		clt_path_fail(p, -ECONNRESET, "reconnect requested");
		return 0;
	case RTRS_CLT_CLOSED:
		set_state(p, RTRS_CLT_RECONNECTING);
		/* fall through */
	case RTRS_CLT_RECONNECTING:
		uv_timer_stop(&p->timer);
		p->reconnect_attempts = 0;
		p->reconnect_now = true;
		p->waiter = waiter;
		clt_path_start(p, NULL);
		return 0;
	default:
		return rnbd_err_set(-EBUSY, "path %d is %s", p->id, rtrs_clt_state_str(st));
	}
}

void clt_path_remove(struct clt_path *p, struct rtrs_completion *waiter)
{
	struct rtrs_clt_sess *s = p->sess;
	enum rtrs_clt_state st = path_state(p);

	complete_waiter(p, -ECANCELED);
	p->waiter = waiter;
	p->removing = true;
	uv_timer_stop(&p->timer);
	p->timer_phase = PT_NONE;
	if (p->down_busy)
		return;	/* path_down_done() finishes the removal */
	if (st == RTRS_CLT_CONNECTED && atomic_fetch_sub(&s->paths_up, 1) == 1 &&
	    !atomic_load(&s->closing) && s->o.link_ev)
		s->o.link_ev(s->o.priv, RTRS_CLT_LINK_EV_DISCONNECTED);
	if (st != RTRS_CLT_CLOSED && st != RTRS_CLT_CLOSING)
		set_state(p, RTRS_CLT_CLOSING);
	p->err = 0;	/* an orderly CLOSE */
	path_down(p);
}

/* ---- transport events on connections (any loop) ---- */

static void ev_error(struct rtrs_tr_conn *c, int err, const char *why)
{
	clt_path_post_fail(c->ctx, err, why);
}

static void ev_closed(struct rtrs_tr_conn *c)
{
	struct clt_conn *conn = c->ctx;
	struct rtrs_clt_sess *s = conn->sess;

	list_del(&conn->link);
	free(conn);
	atomic_fetch_sub(&s->nconns, 1);
}

static void ev_response(struct rtrs_tr_conn *c, struct rtrs_tr_req *req, int err)
{
	clt_io_response(c->ctx, req, err);
}

static void ev_alive(struct rtrs_tr_conn *c)
{
	struct clt_conn *conn = c->ctx;

	if (c->ops->hb_every_conn)
		conn->hb_missed = 0;
	else if (conn->path)
		atomic_store_explicit(&conn->path->hb_missed, 0, memory_order_relaxed);
}

static void ev_hb_ack(struct rtrs_tr_conn *c, uint32_t val)
{
	struct clt_conn *conn = c->ctx;

	if (conn->cid == 0 && conn->path && val == conn->hb_seq)
		atomic_store(&conn->path->hb_rtt_ns, rtrs_now_ns() - conn->hb_sent_ns);
}

const struct rtrs_tr_events clt_tr_events = {
	.established = ev_established,
	.info_rsp = ev_info_rsp,
	.response = ev_response,
	.alive = ev_alive,
	.hb_ack = ev_hb_ack,
	.error = ev_error,
	.closed = ev_closed,
};
