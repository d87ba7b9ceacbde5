// SPDX-License-Identifier: LGPL-2.1-or-later
/* RTRS server: loops, listeners, shutdown, and the queries of rtrs.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "srv.h"
#include "util/err.h"
#include "util/log.h"

static void fill_defaults(struct rtrs_srv_opts *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!o->nr_workers)
		o->nr_workers = cpus > 0 ? (unsigned int)cpus : 1;
	if (!o->queue_depth)
		o->queue_depth = DEFAULT_SESS_QUEUE_DEPTH;
	if (!o->max_hdr_size)
		o->max_hdr_size = RTRS_MAX_HDR_SIZE;
	if (!o->max_io_size)
		o->max_io_size = DEFAULT_MAX_CHUNK_SIZE - o->max_hdr_size;
	if (!o->hb_interval_ms)
		o->hb_interval_ms = RTRS_HB_INTERVAL_MS;
	if (!o->hb_missed_max)
		o->hb_missed_max = RTRS_HB_MISSED_MAX;
	if (!o->handshake_timeout_ms)
		o->handshake_timeout_ms = RTRS_CONNECT_TIMEOUT_MS;
	if (!o->max_sessions)
		o->max_sessions = 1024;
	if (!o->max_paths || o->max_paths > MAX_PATHS_NUM)
		o->max_paths = MAX_PATHS_NUM;
	if (!o->max_pending)
		o->max_pending = 256;
	if (!o->transport)
		o->transport = &rtrs_tcp_ops;
}

static int check_opts(const struct rtrs_srv_opts *o)
{
	if (o->queue_depth > MAX_SESS_QUEUE_DEPTH)
		return rnbd_err_set(-EINVAL, "queue_depth %u: at most %d", o->queue_depth,
				    MAX_SESS_QUEUE_DEPTH);
	if (o->max_hdr_size < 512 || o->max_hdr_size > 65535)
		return rnbd_err_set(-EINVAL, "max_hdr_size %u outside 512..65535", o->max_hdr_size);
	if (o->max_io_size < 4096 || o->max_io_size > (16u << 20))
		return rnbd_err_set(-EINVAL, "max_io_size %u outside 4096..16777216",
				    o->max_io_size);
	if (o->nr_workers > 256)
		return rnbd_err_set(-EINVAL, "%u workers: at most 256", o->nr_workers);
	if (!o->ops || !o->ops->request)
		return rnbd_err_set(-EINVAL, "no request callback");
	if (!o->nlisten)
		return rnbd_err_set(-EINVAL, "nothing to listen on");
	return 0;
}

static int loop_init(void *arg)
{
	struct srv_loop *wl = arg;
	struct rtrs_srv *srv = wl->srv;
	uint32_t hb = srv->o.hb_interval_ms;
	int ret = 0;

	uv_timer_init(&wl->loop.uv, &wl->hb_timer);
	wl->hb_timer.data = wl;
	uv_timer_start(&wl->hb_timer, srv_loop_hb_tick, hb, hb);
	if (srv->o.ops->loop_init) {
		ret = srv->o.ops->loop_init(srv->o.priv, &wl->loop);
		wl->upper_ready = !ret;
	}
	return ret;
}

static int loop_fini(void *arg)
{
	struct srv_loop *wl = arg;
	struct rtrs_srv *srv = wl->srv;

	if (wl->upper_ready)
		srv->o.ops->loop_fini(srv->o.priv, &wl->loop);
	wl->upper_ready = false;
	uv_close((uv_handle_t *)&wl->hb_timer, NULL);
	return 0;
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static int listen_on_loop(void *arg)
{
	struct rtrs_srv *srv = arg;

	for (unsigned int i = 0; i < srv->o.nlisten; i++) {
		struct rtrs_tr_listen_opts lo = {
			.addr = (const struct sockaddr *)&srv->o.listen[i],
			.addrlen = addr_len(&srv->o.listen[i]),
			.max_pending = srv->o.max_pending,
			.handshake_timeout_ms = srv->o.handshake_timeout_ms,
			.user_timeout_ms = srv->o.hb_interval_ms * (srv->o.hb_missed_max + 1),
			.sndbuf = srv->o.sndbuf,
			.rcvbuf = srv->o.rcvbuf,
		};
		int ret = srv->tr->listen(&srv_loop0(srv)->loop, &lo, &srv_tr_events, srv,
					  &srv->listeners[i]);

		if (ret)
			return ret;
		srv->nlisteners++;
	}
	return 0;
}

static int unlisten_on_loop(void *arg)
{
	struct rtrs_srv *srv = arg;

	for (unsigned int i = 0; i < srv->nlisteners; i++)
		srv->tr->listener_close(srv->listeners[i]);
	srv->nlisteners = 0;
	return 0;
}

static void srv_free(struct rtrs_srv *srv)
{
	for (unsigned int i = 0; srv->loops && i < srv->nloops; i++) {
		if (!srv->loops[i].loop.started)
			continue;
		rtrs_loop_call(&srv->loops[i].loop, loop_fini, &srv->loops[i]);
		rtrs_loop_stop(&srv->loops[i].loop);
	}
	free(srv->loops);
	free(srv->listeners);
	free(srv->o.listen ? (void *)srv->o.listen : NULL);
	free(srv);
}

int rtrs_srv_open(const struct rtrs_srv_opts *opts, struct rtrs_srv **out)
{
	struct rtrs_srv *srv = calloc(1, sizeof(*srv));
	struct sockaddr_storage *listen;
	int ret;

	if (!srv)
		return rnbd_err_set(-ENOMEM, "no memory for a server");
	srv->o = *opts;
	fill_defaults(&srv->o);
	ret = check_opts(&srv->o);
	if (ret) {
		free(srv);
		return ret;
	}
	listen = calloc(srv->o.nlisten, sizeof(*listen));
	srv->listeners = calloc(srv->o.nlisten, sizeof(*srv->listeners));
	srv->nloops = 1 + srv->o.nr_workers;
	srv->loops = calloc(srv->nloops, sizeof(*srv->loops));
	srv->o.listen = listen;
	if (!listen || !srv->listeners || !srv->loops) {
		srv_free(srv);
		return rnbd_err_set(-ENOMEM, "no memory for a server");
	}
	memcpy(listen, opts->listen, srv->o.nlisten * sizeof(*listen));
	srv->tr = srv->o.transport;
	list_init(&srv->sessions);
	for (unsigned int i = 0; i < srv->nloops; i++) {
		struct srv_loop *wl = &srv->loops[i];
		char name[16];

		wl->srv = srv;
		list_init(&wl->conns);
		list_init(&wl->zombies);
		snprintf(name, sizeof(name), "rtrs-s%u", i & 0xfff);
		ret = rtrs_loop_start(&wl->loop, i, name, wl);
		if (!ret)
			ret = rtrs_loop_call(&wl->loop, loop_init, wl);
		if (ret) {
			char why[512];

			snprintf(why, sizeof(why), "%s", rnbd_errmsg());
			srv_free(srv);
			return rnbd_err_set(ret, "%s", why);
		}
	}
	ret = rtrs_loop_call(&srv_loop0(srv)->loop, listen_on_loop, srv);
	if (ret) {
		char why[512];

		snprintf(why, sizeof(why), "%s", rnbd_errmsg());
		rtrs_loop_call(&srv_loop0(srv)->loop, unlisten_on_loop, srv);
		srv_free(srv);
		return rnbd_err_set(ret, "%s", why);
	}
	*out = srv;
	return 0;
}

void rtrs_srv_stop_listening(struct rtrs_srv *srv)
{
	rtrs_loop_call(&srv_loop0(srv)->loop, unlisten_on_loop, srv);
}

/* loop 0: close everything; all_gone completes when the last session goes. */
static int close_all_on_loop(void *arg)
{
	struct rtrs_srv *srv = arg;
	struct list_head *spos, *stmp;

	srv->closing = true;
	unlisten_on_loop(srv);
	if (!srv->nsessions)
		return 1;
	list_for_each_safe(spos, stmp, &srv->sessions) {
		struct rtrs_srv_sess *sess = list_entry(spos, struct rtrs_srv_sess, link);
		struct list_head *ppos, *ptmp;

		list_for_each_safe(ppos, ptmp, &sess->paths)
			srv_path_close(list_entry(ppos, struct srv_path, link), 0, NULL);
	}
	return 0;
}

static void close_now_on_loop(struct srv_loop *wl, void *arg, int err, const char *why)
{
	struct list_head *pos, *tmp;

	(void)arg;
	(void)err;
	(void)why;
	list_for_each_safe(pos, tmp, &wl->zombies) {
		struct srv_conn *conn = list_entry(pos, struct srv_conn, link);

		conn->tr->ops->close_now(conn->tr);
	}
}

void rtrs_srv_close(struct rtrs_srv *srv)
{
	struct rtrs_completion gone;
	struct timespec ms = { 0, 1000000 };

	rtrs_completion_init(&gone);
	srv->all_gone = &gone;
	if (rtrs_loop_call(&srv_loop0(srv)->loop, close_all_on_loop, srv))
		rtrs_completion_done(&gone, 0);
	/* Every session goes once the upper layer has answered its ops. */
	rtrs_completion_wait(&gone);
	for (unsigned int i = 0; i < srv->nloops; i++)
		srv_post(&srv->loops[i], close_now_on_loop, NULL, 0, NULL);
	for (unsigned int i = 0; i < 10000 && atomic_load(&srv->nconns); i++)
		nanosleep(&ms, NULL);
	if (atomic_load(&srv->nconns))
		rnbd_log_err("rtrs server: %ld connections did not close", atomic_load(&srv->nconns));
	srv_free(srv);
}

const char *rtrs_srv_sess_name(struct rtrs_srv_sess *sess)
{
	return sess->name;
}

void rtrs_srv_sess_set_priv(struct rtrs_srv_sess *sess, void *priv)
{
	sess->priv = priv;
}

void *rtrs_srv_sess_get_priv(struct rtrs_srv_sess *sess)
{
	return sess->priv;
}

struct paths_arg {
	struct rtrs_srv *srv;
	struct rtrs_srv_path_info *info;
	unsigned int max;
	const char *close_name;
};

static int paths_on_loop(void *arg)
{
	struct paths_arg *a = arg;
	struct list_head *spos, *stmp;
	int n = 0;

	list_for_each_safe(spos, stmp, &a->srv->sessions) {
		struct rtrs_srv_sess *sess = list_entry(spos, struct rtrs_srv_sess, link);
		struct list_head *ppos, *ptmp;

		list_for_each_safe(ppos, ptmp, &sess->paths) {
			struct srv_path *p = list_entry(ppos, struct srv_path, link);
			struct rtrs_srv_path_info *pi;

			if ((unsigned int)n++ >= a->max)
				continue;
			pi = &a->info[n - 1];
			memset(pi, 0, sizeof(*pi));
			snprintf(pi->sessname, sizeof(pi->sessname), "%s", sess->name);
			pi->peer = p->peer;
			pi->local = p->local;
			pi->state = srv_path_state(p);
			pi->cid_num = p->cid_num;
			pi->stats.reqs_read = atomic_load(&p->ctr.reqs_read);
			pi->stats.reqs_write = atomic_load(&p->ctr.reqs_write);
			pi->stats.bytes_read = atomic_load(&p->ctr.bytes_read);
			pi->stats.bytes_write = atomic_load(&p->ctr.bytes_write);
			/* references beyond the path's own and its connections' */
			pi->stats.inflight = 0;
			for (uint32_t i = 0; i < a->srv->o.queue_depth; i++)
				pi->stats.inflight += atomic_load(&p->ops[i].busy);
		}
	}
	return n;
}

struct addr_arg {
	struct rtrs_srv *srv;
	unsigned int idx;
	struct sockaddr_storage *out;
};

static int addr_on_loop(void *arg)
{
	struct addr_arg *a = arg;

	if (a->idx >= a->srv->nlisteners)
		return rnbd_err_set(-ENOENT, "no listener %u", a->idx);
	return a->srv->tr->listener_addr(a->srv->listeners[a->idx], a->out);
}

int rtrs_srv_listen_addr(struct rtrs_srv *srv, unsigned int idx, struct sockaddr_storage *out)
{
	struct addr_arg a = { .srv = srv, .idx = idx, .out = out };

	return rtrs_loop_call(&srv_loop0(srv)->loop, addr_on_loop, &a);
}

int rtrs_srv_paths(struct rtrs_srv *srv, struct rtrs_srv_path_info *info, unsigned int max)
{
	struct paths_arg a = { .srv = srv, .info = info, .max = max };

	return rtrs_loop_call(&srv_loop0(srv)->loop, paths_on_loop, &a);
}

static int sess_close_on_loop(void *arg)
{
	struct paths_arg *a = arg;
	struct list_head *spos, *stmp;

	list_for_each_safe(spos, stmp, &a->srv->sessions) {
		struct rtrs_srv_sess *sess = list_entry(spos, struct rtrs_srv_sess, link);
		struct list_head *ppos, *ptmp;

		if (strcmp(sess->name, a->close_name))
			continue;
		list_for_each_safe(ppos, ptmp, &sess->paths)
			srv_path_close(list_entry(ppos, struct srv_path, link), 0,
				       "closed by the administrator");
		return 0;
	}
	return rnbd_err_set(-ENOENT, "no session named %s", a->close_name);
}

int rtrs_srv_sess_close(struct rtrs_srv *srv, const char *sessname)
{
	struct paths_arg a = { .srv = srv, .close_name = sessname };

	return rtrs_loop_call(&srv_loop0(srv)->loop, sess_close_on_loop, &a);
}
