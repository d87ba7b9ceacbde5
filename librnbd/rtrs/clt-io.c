// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Client requests on a loop: permit, path choice, send, response, failover,
 * waiting for a path, heartbeats.  Everything here runs on the loop that owns
 * the request; a request never changes loops, because failover only moves it
 * to another path's connection of the same cid.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clt.h"
#include "util/err.h"
#include "util/log.h"

static void send_req(struct clt_loop *wl, struct clt_req *req);

static void counter_max(_Atomic uint64_t *c, uint64_t v)
{
	uint64_t cur = atomic_load_explicit(c, memory_order_relaxed);

	while (v > cur &&
	       !atomic_compare_exchange_weak_explicit(c, &cur, v, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

static void counter_add(_Atomic uint64_t *c, uint64_t v)
{
	/* single writer (this loop): a plain read-modify-write is enough */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static void complete(struct clt_req *req, int err)
{
	struct rtrs_clt_sess *s = req->wl->sess;
	struct rtrs_clt_io *io = req->io;

	req->io = NULL;
	rtrs_permit_put(&s->permits, req->tr.id);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&s->backlog_loops, memory_order_relaxed))
		clt_io_wake_backlog(s);
	io->done(io, err);
}

static void start(struct clt_loop *wl, struct clt_req *req, struct rtrs_clt_io *io)
{
	req->io = io;
	req->wl = wl;
	req->path = NULL;
	req->start_ns = rtrs_now_ns();
	req->deadline_ns = 0;
	req->failed_over = false;
	memset(&req->tried, 0, sizeof(req->tried));
	req->tr.read = io->read;
	req->tr.usr = io->usr;
	req->tr.usr_len = io->usr_len;
	req->tr.iov = io->iov;
	req->tr.iovcnt = io->iovcnt;
	req->tr.data_len = io->data_len;
	send_req(wl, req);
}

static void backlog_publish(struct clt_loop *wl, bool on)
{
	struct rtrs_clt_sess *s = wl->sess;

	if (atomic_load(&wl->has_backlog) == on)
		return;
	atomic_store(&wl->has_backlog, on);
	if (on)
		atomic_fetch_add(&s->backlog_loops, 1);
	else
		atomic_fetch_sub(&s->backlog_loops, 1);
}

/* Start what waits for a permit, in order, while permits last. */
static void run_backlog(struct clt_loop *wl)
{
	struct rtrs_clt_sess *s = wl->sess;

	while (!list_empty(&wl->backlog)) {
		int id = rtrs_permit_get(&s->permits, wl->loop.idx);
		struct rtrs_clt_io *io;

		if (id < 0) {
			backlog_publish(wl, true);
			/* a permit freed before the flag was visible woke no one */
			atomic_thread_fence(memory_order_seq_cst);
			id = rtrs_permit_get(&s->permits, wl->loop.idx);
			if (id < 0)
				return;
		}
		io = list_first_entry(&wl->backlog, struct rtrs_clt_io, link);
		list_del(&io->link);
		start(wl, &s->reqs[id], io);
	}
	backlog_publish(wl, false);
}

void clt_io_process(struct clt_loop *wl, struct rtrs_clt_io *io)
{
	list_add_tail(&io->link, &wl->backlog);
	run_backlog(wl);
}

static void wake_msg(struct rtrs_loop *loop, struct rtrs_loop_msg *m)
{
	struct clt_loop *wl = loop->owner;

	(void)m;
	atomic_store(&wl->wake_pending, false);
	run_backlog(wl);
}

void clt_io_wake_backlog(struct rtrs_clt_sess *s)
{
	for (unsigned int i = 0; i < s->nloops; i++) {
		struct clt_loop *wl = &s->loops[i];

		if (!atomic_load(&wl->has_backlog) || atomic_exchange(&wl->wake_pending, true))
			continue;
		wl->wake_msg.fn = wake_msg;
		rtrs_loop_post(&wl->loop, &wl->wake_msg);
	}
}

static void cork(struct clt_loop *wl, struct clt_conn *conn)
{
	if (!wl->in_drain || conn->corked)
		return;
	conn->corked = true;
	conn->tr->ops->cork(conn->tr);
	list_add_tail(&conn->link, &wl->corked);
}

void clt_loop_after_drain(struct rtrs_loop *loop)
{
	struct clt_loop *wl = loop->owner;
	struct list_head *pos, *tmp;

	wl->in_drain = false;
	list_for_each_safe(pos, tmp, &wl->corked) {
		struct clt_conn *conn = list_entry(pos, struct clt_conn, link);

		list_del(&conn->link);
		conn->corked = false;
		conn->tr->ops->uncork(conn->tr);
	}
}

/* The path this loop can send req on now, chosen by the session policy. */
static struct clt_path *pick_path(struct clt_loop *wl, struct clt_req *req)
{
	struct rtrs_clt_sess *s = wl->sess;
	unsigned int n = atomic_load_explicit(&s->nslots, memory_order_acquire);
	struct rtrs_mp_cand cand[MAX_PATHS_NUM];
	int i;

	for (unsigned int k = 0; k < n; k++) {
		struct clt_path *p = atomic_load_explicit(&s->paths[k], memory_order_acquire);

		cand[k].up = p && wl->conns[k] && path_state(p) == RTRS_CLT_CONNECTED;
		if (!cand[k].up)
			continue;
		cand[k].inflight = atomic_load_explicit(&p->inflight, memory_order_relaxed);
		cand[k].latency_ns = atomic_load_explicit(&p->hb_rtt_ns, memory_order_relaxed);
	}
	i = rtrs_mp_pick(atomic_load_explicit(&s->policy, memory_order_relaxed), cand, n,
			 &req->tried, &wl->rr_cursor);
	return i < 0 ? NULL : atomic_load_explicit(&s->paths[i], memory_order_relaxed);
}

static void nopath_arm(struct clt_loop *wl)
{
	uint64_t first = UINT64_MAX, now = rtrs_now_ns();
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &wl->nopath) {
		struct clt_req *req = list_entry(pos, struct clt_req, link);

		if (req->deadline_ns < first)
			first = req->deadline_ns;
	}
	if (first == UINT64_MAX)
		uv_timer_stop(&wl->nopath_timer);
	else
		uv_timer_start(&wl->nopath_timer, (uv_timer_cb)clt_loop_nopath_tick,
			       first > now ? (first - now + 999999) / 1000000 : 0, 0);
}

/* Keep req until a path comes up or it is resumed, at most until its deadline. */
static void park(struct clt_loop *wl, struct clt_req *req)
{
	struct rtrs_clt_sess *s = wl->sess;
	uint64_t now = rtrs_now_ns();

	if (atomic_load(&s->closing)) {
		complete(req, -ECONNABORTED);
		return;
	}
	if (!req->deadline_ns)
		req->deadline_ns = now + (uint64_t)s->o.noconn_timeout_ms * 1000000;
	if (now >= req->deadline_ns) {
		complete(req, -EIO);
		return;
	}
	memset(&req->tried, 0, sizeof(req->tried));
	list_add_tail(&req->link, &wl->nopath);
	nopath_arm(wl);
}

/* No path can take req now: fail it, or park it until one comes up. */
static void wait_path(struct clt_loop *wl, struct clt_req *req)
{
	if (wl->sess->o.kernel_nopath) {
		complete(req, -ECONNABORTED);
		return;
	}
	park(wl, req);
}

void clt_loop_nopath_tick(uv_timer_t *t)
{
	struct clt_loop *wl = t->data;
	uint64_t now = rtrs_now_ns();
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &wl->nopath) {
		struct clt_req *req = list_entry(pos, struct clt_req, link);

		if (req->deadline_ns > now)
			continue;
		list_del(&req->link);
		complete(req, -EIO);
	}
	nopath_arm(wl);
}

static void send_req(struct clt_loop *wl, struct clt_req *req)
{
	struct clt_path *p;

	if (req->io->prep) {
		int ret = req->io->prep(req->io);

		if (ret == -EAGAIN) {
			park(wl, req);
			return;
		}
		if (ret) {
			complete(req, ret);
			return;
		}
	}
	while ((p = pick_path(wl, req))) {
		struct clt_conn *conn = wl->conns[p->slot];

		cork(wl, conn);
		if (!conn->tr->ops->send_req(conn->tr, &req->tr)) {
			req->path = p;
			req->sent_ns = rtrs_now_ns();
			list_add_tail(&req->link, &wl->inflight[p->slot]);
			atomic_fetch_add_explicit(&p->inflight, 1, memory_order_relaxed);
			if (req->failed_over) {
				req->failed_over = false;
				counter_add(&wl->ctr[p->slot].failovers, 1);
			}
			return;
		}
		rnbd_log_debug("%s path %d: cannot send: %s", wl->sess->sessname, p->id,
			       rnbd_errmsg());
		rtrs_path_mask_set(&req->tried, p->slot);
	}
	wait_path(wl, req);
}

void clt_io_response(struct clt_conn *conn, struct rtrs_tr_req *treq, int err)
{
	struct clt_req *req = container_of(treq, struct clt_req, tr);
	struct clt_loop *wl = req->wl;
	struct clt_path *p = req->path;
	struct clt_counters *ctr = &wl->ctr[p->slot];
	uint64_t lat = rtrs_now_ns() - req->start_ns;

	(void)conn;
	list_del(&req->link);
	atomic_fetch_sub_explicit(&p->inflight, 1, memory_order_relaxed);
	if (req->tr.read) {
		counter_add(&ctr->reqs_read, 1);
		counter_add(&ctr->bytes_read, req->tr.data_len);
	} else {
		counter_add(&ctr->reqs_write, 1);
		counter_add(&ctr->bytes_write, req->tr.data_len);
	}
	counter_add(&ctr->lat_count, 1);
	counter_add(&ctr->lat_sum_ns, lat);
	counter_max(&ctr->lat_max_ns, lat);
	complete(req, err);
}

/*
 * req was in flight on p, which failed.  Send it again on another path; a
 * request keeps failing over (or waiting for a path) for noconn_timeout_ms
 * after its first failure at most, so a path that fails every request
 * cannot bounce one forever.
 */
static void failover(struct clt_loop *wl, struct clt_req *req, struct clt_path *p)
{
	struct rtrs_clt_sess *s = wl->sess;
	uint64_t now = rtrs_now_ns();

	rtrs_path_mask_set(&req->tried, p->slot);
	req->failed_over = true;
	req->path = NULL;
	if (!req->deadline_ns)
		req->deadline_ns = now + (uint64_t)s->o.noconn_timeout_ms * 1000000;
	if (now >= req->deadline_ns && !s->o.kernel_nopath) {
		complete(req, -EIO);
		return;
	}
	send_req(wl, req);
}

void clt_conn_drop(struct clt_loop *wl, struct clt_conn *conn, int reason, uint32_t linger_ms)
{
	if (conn->corked) {
		conn->corked = false;
		list_del(&conn->link);
		conn->tr->ops->uncork(conn->tr);
	}
	conn->path = NULL;
	list_add_tail(&conn->link, &wl->zombies);
	conn->tr->ops->close(conn->tr, reason, linger_ms);
}

void clt_io_path_down(struct clt_loop *wl, struct clt_path *p)
{
	struct rtrs_clt_sess *s = wl->sess;
	struct clt_conn *conn = wl->conns[p->slot];
	struct list_head *head = &wl->inflight[p->slot];
	struct list_head failed;

	if (conn) {
		wl->conns[p->slot] = NULL;
		clt_conn_drop(wl, conn, p->err,
			      atomic_load(&s->closing) ? 1000 : s->o.connect_timeout_ms);
	}
	/* Requests complete or move to other paths; late responses are gone
	 * with the connection, so none completes twice. */
	list_init(&failed);
	list_splice_tail(head, &failed);
	if (!list_empty(&failed))
		rnbd_log_info("%s path %d: failing over requests of cid %u", s->sessname, p->id,
			      wl->loop.idx);
	while (!list_empty(&failed)) {
		struct clt_req *req = list_first_entry(&failed, struct clt_req, link);

		list_del(&req->link);
		atomic_fetch_sub_explicit(&p->inflight, 1, memory_order_relaxed);
		failover(wl, req, p);
	}
}

void clt_io_path_up_msg(struct clt_loop *wl, struct clt_msg *m)
{
	struct list_head waiting;

	(void)m;
	list_init(&waiting);
	list_splice_tail(&wl->nopath, &waiting);
	uv_timer_stop(&wl->nopath_timer);
	while (!list_empty(&waiting)) {
		struct clt_req *req = list_first_entry(&waiting, struct clt_req, link);

		list_del(&req->link);
		send_req(wl, req);
	}
}

void clt_io_forget_path(struct clt_loop *wl, struct clt_path *p)
{
	memset(&wl->ctr[p->slot], 0, sizeof(wl->ctr[p->slot]));
}

void clt_io_fail_waiting(struct clt_loop *wl, int err)
{
	while (!list_empty(&wl->nopath)) {
		struct clt_req *req = list_first_entry(&wl->nopath, struct clt_req, link);

		list_del(&req->link);
		complete(req, err);
	}
	uv_timer_stop(&wl->nopath_timer);
	while (!list_empty(&wl->backlog)) {
		struct rtrs_clt_io *io = list_first_entry(&wl->backlog, struct rtrs_clt_io, link);

		list_del(&io->link);
		io->done(io, err);
	}
	backlog_publish(wl, false);
}

/* Requests are appended as they are sent, so the oldest is at the head. */
static void check_request_timeouts(struct clt_loop *wl, unsigned int nslots)
{
	struct rtrs_clt_sess *s = wl->sess;
	uint64_t limit = (uint64_t)s->o.request_timeout_ms * 1000000, now = rtrs_now_ns();

	for (unsigned int k = 0; k < nslots; k++) {
		struct clt_req *req;
		char why[128];

		if (list_empty(&wl->inflight[k]) || !wl->conns[k])
			continue;
		req = list_first_entry(&wl->inflight[k], struct clt_req, link);
		if (now - req->sent_ns <= limit)
			continue;
		snprintf(why, sizeof(why), "request id %u got no response in %u ms", req->tr.id,
			 s->o.request_timeout_ms);
		clt_path_post_fail(wl->conns[k], -ETIMEDOUT, why);
	}
}

void clt_loop_hb_tick(uv_timer_t *t)
{
	struct clt_loop *wl = t->data;
	struct rtrs_clt_sess *s = wl->sess;
	unsigned int n = atomic_load(&s->nslots);
	bool every = s->tr->hb_every_conn;

	check_request_timeouts(wl, n);
	if (!every && wl->loop.idx)
		return;
	for (unsigned int k = 0; k < n; k++) {
		struct clt_conn *conn = wl->conns[k];
		struct clt_path *p = conn ? conn->path : NULL;
		unsigned int missed;

		if (!p || path_state(p) != RTRS_CLT_CONNECTED)
			continue;
		missed = every ? conn->hb_missed : atomic_load(&p->hb_missed);
		if (missed > s->o.hb_missed_max) {
			clt_path_post_fail(conn, -ETIMEDOUT, "heartbeat lost");
			continue;
		}
		if (every)
			conn->hb_missed++;
		else
			atomic_store(&p->hb_missed, missed + 1);
		if (missed)
			continue;
		conn->hb_seq++;
		conn->hb_sent_ns = rtrs_now_ns();
		conn->tr->ops->send_hb(conn->tr, false, conn->hb_seq);
	}
}

void clt_loop_drain_msg(struct rtrs_loop *loop, struct rtrs_loop_msg *msg)
{
	struct clt_msg *m = (struct clt_msg *)msg;

	m->fn(loop->owner, m);
	free(m);
}
