// SPDX-License-Identifier: LGPL-2.1-or-later
/* Client session: open, close, the request entry point, queries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "clt.h"
#include "proto/rtrs-msg.h"
#include "util/err.h"
#include "util/log.h"

/* Largest user message every transport can carry: the RDMA read trailer
 * with its descriptor must fit in max_hdr_size too. */
#define RDMA_READ_TRAILER_MAX (RTRS_READ_TRAILER_LEN + RTRS_SG_DESC_LEN)

static struct clt_loop *loop0(struct rtrs_clt_sess *s)
{
	return &s->loops[0];
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int loop_init(void *arg)
{
	struct clt_loop *wl = arg;

	uv_timer_init(&wl->loop.uv, &wl->nopath_timer);
	uv_timer_init(&wl->loop.uv, &wl->hb_timer);
	wl->nopath_timer.data = wl;
	wl->hb_timer.data = wl;
	uv_timer_start(&wl->hb_timer, clt_loop_hb_tick, wl->sess->o.hb_interval_ms,
		       wl->sess->o.hb_interval_ms);
	return 0;
}

static int loop_fini(void *arg)
{
	struct clt_loop *wl = arg;

	uv_close((uv_handle_t *)&wl->nopath_timer, NULL);
	uv_close((uv_handle_t *)&wl->hb_timer, NULL);
	return 0;
}

static void fill_defaults(struct rtrs_clt_opts *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!o->nr_workers)
		o->nr_workers = cpus > 0 ? (unsigned int)cpus : 1;
	if (!o->reconnect_delay_ms)
		o->reconnect_delay_ms = 30000;
	if (!o->reconnect_backoff_ms)
		o->reconnect_backoff_ms = RTRS_RECONNECT_BACKOFF;
	if (o->no_reconnect)
		o->max_reconnect_attempts = 0;
	else if (!o->max_reconnect_attempts)
		o->max_reconnect_attempts = -1;
	if (!o->hb_interval_ms)
		o->hb_interval_ms = RTRS_HB_INTERVAL_MS;
	if (!o->hb_missed_max)
		o->hb_missed_max = RTRS_HB_MISSED_MAX;
	if (!o->connect_timeout_ms)
		o->connect_timeout_ms = RTRS_CONNECT_TIMEOUT_MS;
	if (!o->noconn_timeout_ms)
		o->noconn_timeout_ms = 30000;
	if (!o->request_timeout_ms)
		o->request_timeout_ms = 30000;
	if (!o->transport)
		o->transport = &rtrs_tcp_ops;
}

static int check_opts(const struct rtrs_clt_opts *o)
{
	if (!o->sessname || rtrs_sessname_check(o->sessname))
		return rnbd_err_prefix(-EINVAL, "session name: ");
	if (!o->npaths || o->npaths > MAX_PATHS_NUM)
		return rnbd_err_set(-EINVAL, "%u paths: need 1..%d", o->npaths, MAX_PATHS_NUM);
	if (o->nr_workers >= RTRS_MAX_CID_NUM || o->nr_workers > 256)
		return rnbd_err_set(-EINVAL, "%u workers: at most 256", o->nr_workers);
	if ((unsigned int)o->policy > RTRS_MP_POLICY_MIN_LATENCY)
		return rnbd_err_set(-EINVAL, "unknown multipath policy %d", o->policy);
	for (unsigned int i = 0; i < o->npaths; i++) {
		int f = o->paths[i].dst.ss_family;

		if (f != AF_INET && f != AF_INET6)
			return rnbd_err_set(-EINVAL, "path %u: destination is not IPv4/IPv6", i);
		if (o->paths[i].src.ss_family && o->paths[i].src.ss_family != f)
			return rnbd_err_set(-EINVAL, "path %u: source and destination families differ",
					    i);
	}
	return 0;
}

struct path_add_arg {
	struct rtrs_clt_sess *s;
	const struct rtrs_addr *addr;
	bool first;
	struct rtrs_completion *done;
	struct clt_path *p;
};

/* loop 0: a new path in a free slot, connecting. */
static int path_add_on_loop(void *arg)
{
	struct path_add_arg *a = arg;
	struct rtrs_clt_sess *s = a->s;
	struct clt_path *p;
	unsigned int slot;

	for (slot = 0; slot < MAX_PATHS_NUM; slot++)
		if (!atomic_load(&s->paths[slot]))
			break;
	if (slot == MAX_PATHS_NUM)
		return rnbd_err_set(-ENOSPC, "session has %d paths already", MAX_PATHS_NUM);
	for (unsigned int i = 0; i < MAX_PATHS_NUM; i++) {
		struct clt_path *o = atomic_load(&s->paths[i]);

		if (o && !memcmp(&o->addr, a->addr, sizeof(*a->addr)))
			return rnbd_err_set(-EEXIST, "the session already has this path (%d)", o->id);
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return rnbd_err_set(-ENOMEM, "no memory for a path");
	p->sess = s;
	p->id = s->next_path_id++;
	p->slot = slot;
	p->addr = *a->addr;
	uuid_generate(p->sess_uuid);
	atomic_init(&p->state, RTRS_CLT_CONNECTING);
	/* Only the first path of a session, or one added when none is
	 * left, may create the server session (rtrs-wire.md 15). */
	p->first_conn = a->first || atomic_load(&s->paths_up) == 0;
	p->auto_reconnect = true;
	uv_timer_init(&loop0(s)->loop.uv, &p->timer);
	p->timer.data = p;
	atomic_store(&s->paths[slot], p);
	if (slot >= atomic_load(&s->nslots))
		atomic_store(&s->nslots, slot + 1);
	s->npaths++;
	a->p = p;
	return clt_path_start(p, a->done);
}

struct path_op_arg {
	struct rtrs_clt_sess *s;
	int id;
	struct rtrs_completion *done;
	bool remove;
};

static struct clt_path *path_by_id(struct rtrs_clt_sess *s, int id)
{
	for (unsigned int i = 0; i < MAX_PATHS_NUM; i++) {
		struct clt_path *p = atomic_load(&s->paths[i]);

		if (p && p->id == id)
			return p;
	}
	return NULL;
}

static int path_op_on_loop(void *arg)
{
	struct path_op_arg *a = arg;
	struct clt_path *p = path_by_id(a->s, a->id);

	if (!p || p->removing)
		return rnbd_err_set(-ENOENT, "no path %d", a->id);
	if (a->remove) {
		clt_path_remove(p, a->done);
		return 0;
	}
	return clt_path_reconnect(p, a->done);
}

/* Run a path operation on loop 0 and wait for its outcome. */
static int path_op(struct rtrs_clt_sess *s, int id, bool remove)
{
	struct rtrs_completion done;
	struct path_op_arg a = { .s = s, .id = id, .done = &done, .remove = remove };
	int ret;

	rtrs_completion_init(&done);
	ret = rtrs_loop_call(&loop0(s)->loop, path_op_on_loop, &a);
	if (ret) {
		rtrs_completion_done_msg(&done, ret, rnbd_errmsg());
		rtrs_completion_wait(&done);
		return rnbd_err_set(ret, "%s", done.msg);
	}
	ret = rtrs_completion_wait(&done);
	return ret ? rnbd_err_set(ret, "%s", done.msg) : 0;
}

static int path_add(struct rtrs_clt_sess *s, const struct rtrs_addr *addr, bool first)
{
	struct rtrs_completion done;
	struct path_add_arg a = { .s = s, .addr = addr, .first = first, .done = &done };
	int ret, id;

	rtrs_completion_init(&done);
	ret = rtrs_loop_call(&loop0(s)->loop, path_add_on_loop, &a);
	if (ret && !a.p) {
		rtrs_completion_done_msg(&done, ret, rnbd_errmsg());
		rtrs_completion_wait(&done);
		return rnbd_err_set(ret, "%s", done.msg);
	}
	id = a.p->id;
	ret = rtrs_completion_wait(&done);
	if (!ret)
		return id;
	/* A path that never came up is not kept (as the kernel's add_path). */
	path_op(s, id, true);
	return rnbd_err_set(ret, "%s", done.msg);
}

static void fail_waiting_msg(struct clt_loop *wl, struct clt_msg *m)
{
	clt_io_fail_waiting(wl, m->err);
}

static void close_now_msg(struct clt_loop *wl, struct clt_msg *m)
{
	struct list_head *pos, *tmp;

	(void)m;
	list_for_each_safe(pos, tmp, &wl->zombies) {
		struct clt_conn *conn = list_entry(pos, struct clt_conn, link);

		conn->tr->ops->close_now(conn->tr);
	}
}

static bool idle(struct rtrs_clt_sess *s)
{
	return !s->queue_depth || !atomic_load(&s->permits.used);
}

/* Wait up to ms for cond(s), in 1 ms steps. */
static bool wait_for(struct rtrs_clt_sess *s, bool (*cond)(struct rtrs_clt_sess *s),
		     unsigned int ms)
{
	for (unsigned int i = 0; i < ms; i++) {
		if (cond(s))
			return true;
		sleep_ms(1);
	}
	return cond(s);
}

/* loop 0: the id of some path, or -1. */
static int first_path_id(void *arg)
{
	struct rtrs_clt_sess *s = arg;

	for (unsigned int i = 0; i < MAX_PATHS_NUM; i++) {
		struct clt_path *p = atomic_load(&s->paths[i]);

		if (p && !p->removing)
			return p->id;
	}
	return -1;
}

static bool no_conns(struct rtrs_clt_sess *s)
{
	return atomic_load(&s->nconns) == 0;
}

static void sess_free(struct rtrs_clt_sess *s)
{
	if (s->loops) {
		for (unsigned int i = 0; i < s->nloops; i++) {
			if (s->loops[i].loop.started) {
				rtrs_loop_call(&s->loops[i].loop, loop_fini, &s->loops[i]);
				rtrs_loop_stop(&s->loops[i].loop);
			}
		}
	}
	if (s->queue_depth)
		rtrs_permits_free(&s->permits);
	free(s->reqs);
	free(s->loops);
	free(s);
}

void rtrs_clt_close(struct rtrs_clt_sess *s)
{
	atomic_store(&s->closing, true);
	/* Requests in flight finish; those waiting for a path fail now. */
	for (unsigned int i = 0; i < s->nloops; i++)
		clt_post(&s->loops[i], fail_waiting_msg, NULL, 0, -ECONNABORTED, NULL);
	if (!wait_for(s, idle, s->o.connect_timeout_ms))
		rnbd_log_warn("%s: requests still in flight at close; failing them",
			      s->sessname);
	for (;;) {
		int id = rtrs_loop_call(&loop0(s)->loop, first_path_id, s);

		if (id < 0)
			break;
		path_op(s, id, true);
	}
	/* Give live servers a moment to hang up after our CLOSE, so that the
	 * session is gone on their side too when we return. */
	if (!wait_for(s, no_conns, 2000))
		for (unsigned int i = 0; i < s->nloops; i++)
			clt_post(&s->loops[i], close_now_msg, NULL, 0, 0, NULL);
	if (!wait_for(s, no_conns, 10000))
		rnbd_log_err("%s: %ld connections did not close", s->sessname,
			     atomic_load(&s->nconns));
	sess_free(s);
}

int rtrs_clt_open(const struct rtrs_clt_opts *opts, struct rtrs_clt_sess **out)
{
	struct rtrs_clt_sess *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return rnbd_err_set(-ENOMEM, "no memory for a session");
	s->o = *opts;
	fill_defaults(&s->o);
	ret = check_opts(&s->o);
	if (ret) {
		free(s);
		return ret;
	}
	snprintf(s->sessname, sizeof(s->sessname), "%s", opts->sessname);
	s->o.sessname = s->sessname;
	s->o.paths = NULL;
	s->tr = s->o.transport;
	s->nloops = 1 + s->o.nr_workers;
	atomic_init(&s->policy, s->o.policy);
	uuid_generate(s->paths_uuid);
	s->loops = calloc(s->nloops, sizeof(*s->loops));
	if (!s->loops) {
		ret = rnbd_err_set(-ENOMEM, "no memory for %u loops", s->nloops);
		free(s);
		return ret;
	}
	for (unsigned int i = 0; i < s->nloops; i++) {
		struct clt_loop *wl = &s->loops[i];
		char name[16];

		wl->sess = s;
		for (unsigned int k = 0; k < MAX_PATHS_NUM; k++)
			list_init(&wl->inflight[k]);
		list_init(&wl->backlog);
		list_init(&wl->nopath);
		list_init(&wl->corked);
		list_init(&wl->zombies);
		snprintf(name, sizeof(name), "rtrs-c%u", i & 0xfff);
		ret = rtrs_loop_start(&wl->loop, i, name, wl);
		if (ret) {
			sess_free(s);
			return ret;
		}
		wl->loop.after_drain = clt_loop_after_drain;
		rtrs_loop_call(&wl->loop, loop_init, wl);
	}
	s->opening = true;
	for (unsigned int i = 0; i < opts->npaths; i++) {
		ret = path_add(s, &opts->paths[i], i == 0);
		if (ret < 0) {
			char why[512];

			snprintf(why, sizeof(why), "%s", rnbd_errmsg());
			rtrs_clt_close(s);
			return rnbd_err_set(ret, "session %s, path %u: %s", opts->sessname, i, why);
		}
	}
	s->opening = false;
	*out = s;
	return 0;
}

static void io_msg(struct rtrs_loop *loop, struct rtrs_loop_msg *m)
{
	struct clt_loop *wl = loop->owner;

	wl->in_drain = true;
	clt_io_process(wl, container_of(m, struct rtrs_clt_io, msg));
}

/*
 * A request submitted from one of the session's I/O loops (a completion
 * callback resubmitting) stays there: no hand-off at all.  Others are
 * spread over the I/O loops in turn, so that one submitting thread can use
 * every connection; the loops are not bound to CPUs, so the caller's CPU
 * would say nothing about which loop is near.  The parts of a split request
 * are always spread: kept on the submitting loop, a large request would
 * travel over one connection, and since a request completes on the loop of
 * its last part, which is the busiest loop more often than not, every
 * resubmitting caller would drift onto that one loop (seen: 1 MiB reads at
 * depth 8 all on one connection, the server's loop for it at 100% of a CPU
 * and the other idle).
 */
static struct clt_loop *pick_loop(struct rtrs_clt_sess *s, const struct rtrs_clt_io *io)
{
	struct rtrs_loop *cur = rtrs_loop_current();
	unsigned int nw = s->nloops - 1;

	if (io->admin || !nw)
		return loop0(s);
	if (!io->spread && cur && cur->idx && cur->idx < s->nloops &&
	    cur->owner == &s->loops[cur->idx])
		return cur->owner;
	return &s->loops[1 + atomic_fetch_add_explicit(&s->next_loop, 1, memory_order_relaxed) % nw];
}

int rtrs_clt_request(struct rtrs_clt_sess *s, struct rtrs_clt_io *io)
{
	struct clt_loop *wl;
	uint64_t total = 0;

	if (atomic_load_explicit(&s->closing, memory_order_relaxed))
		return rnbd_err_set(-ESHUTDOWN, "session %s is closing", s->sessname);
	if (io->usr_len > s->max_hdr_size - RDMA_READ_TRAILER_MAX)
		return rnbd_err_set(-EMSGSIZE, "user message of %u bytes, at most %u",
				    io->usr_len, (unsigned int)(s->max_hdr_size - RDMA_READ_TRAILER_MAX));
	if (io->data_len > atomic_load_explicit(&s->max_io_size, memory_order_relaxed))
		return rnbd_err_set(-EMSGSIZE, "%u data bytes, at most %u", io->data_len,
				    atomic_load(&s->max_io_size));
	for (unsigned int i = 0; i < io->iovcnt; i++)
		total += io->iov[i].iov_len;
	if (total != io->data_len)
		return rnbd_err_set(-EINVAL, "iovec holds %llu bytes, data_len is %u",
				    (unsigned long long)total, io->data_len);
	wl = pick_loop(s, io);
	if (rtrs_loop_is_current(&wl->loop)) {
		clt_io_process(wl, io);
		return 0;
	}
	io->msg.fn = io_msg;
	rtrs_loop_post(&wl->loop, &io->msg);
	return 0;
}

int rtrs_clt_query(struct rtrs_clt_sess *s, struct rtrs_clt_attrs *attrs)
{
	attrs->queue_depth = s->queue_depth;
	attrs->max_io_size = atomic_load(&s->max_io_size);
	attrs->max_usr_len = s->max_hdr_size - RDMA_READ_TRAILER_MAX;
	attrs->nr_workers = s->nloops - 1;
	return 0;
}

void rtrs_clt_resume(struct rtrs_clt_sess *s)
{
	for (unsigned int i = 0; i < s->nloops; i++)
		clt_post(&s->loops[i], clt_io_path_up_msg, NULL, 0, 0, NULL);
}

int rtrs_clt_set_policy(struct rtrs_clt_sess *s, enum rtrs_mp_policy p)
{
	if ((unsigned int)p > RTRS_MP_POLICY_MIN_LATENCY)
		return rnbd_err_set(-EINVAL, "unknown multipath policy %d", p);
	atomic_store(&s->policy, p);
	return 0;
}

enum rtrs_mp_policy rtrs_clt_get_policy(struct rtrs_clt_sess *s)
{
	return atomic_load(&s->policy);
}

int rtrs_clt_path_add(struct rtrs_clt_sess *s, const struct rtrs_addr *addr)
{
	if (addr->dst.ss_family != AF_INET && addr->dst.ss_family != AF_INET6)
		return rnbd_err_set(-EINVAL, "destination is not IPv4/IPv6");
	return path_add(s, addr, false);
}

int rtrs_clt_path_remove(struct rtrs_clt_sess *s, int id)
{
	return path_op(s, id, true);
}

int rtrs_clt_path_reconnect(struct rtrs_clt_sess *s, int id)
{
	return path_op(s, id, false);
}

static void path_stats(struct rtrs_clt_sess *s, struct clt_path *p, struct rtrs_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < s->nloops; i++) {
		struct clt_counters *c = &s->loops[i].ctr[p->slot];
		uint64_t max = atomic_load_explicit(&c->lat_max_ns, memory_order_relaxed);

		st->reqs_read += atomic_load_explicit(&c->reqs_read, memory_order_relaxed);
		st->reqs_write += atomic_load_explicit(&c->reqs_write, memory_order_relaxed);
		st->bytes_read += atomic_load_explicit(&c->bytes_read, memory_order_relaxed);
		st->bytes_write += atomic_load_explicit(&c->bytes_write, memory_order_relaxed);
		st->failovers += atomic_load_explicit(&c->failovers, memory_order_relaxed);
		st->lat_count += atomic_load_explicit(&c->lat_count, memory_order_relaxed);
		st->lat_sum_ns += atomic_load_explicit(&c->lat_sum_ns, memory_order_relaxed);
		if (max > st->lat_max_ns)
			st->lat_max_ns = max;
	}
	st->inflight = atomic_load(&p->inflight);
	st->reconnects = atomic_load(&p->reconnects);
	st->reconnect_fails = atomic_load(&p->reconnect_fails);
	st->hb_rtt_ns = atomic_load(&p->hb_rtt_ns);
}

struct paths_arg {
	struct rtrs_clt_sess *s;
	struct rtrs_clt_path_info *info;
	unsigned int max;
};

/* On loop 0, where paths are neither added nor freed meanwhile. */
static int paths_on_loop(void *arg)
{
	struct paths_arg *a = arg;
	int n = 0;

	for (unsigned int i = 0; i < MAX_PATHS_NUM; i++) {
		struct clt_path *p = atomic_load(&a->s->paths[i]);

		if (!p)
			continue;
		if ((unsigned int)n < a->max) {
			struct rtrs_clt_path_info *pi = &a->info[n];

			pi->id = p->id;
			pi->addr = p->addr;
			pi->state = path_state(p);
			pi->recon_cnt = p->recon_cnt;
			pi->reconnect_attempts = p->reconnect_attempts;
			path_stats(a->s, p, &pi->stats);
		}
		n++;
	}
	return n;
}

int rtrs_clt_paths(struct rtrs_clt_sess *s, struct rtrs_clt_path_info *info, unsigned int max)
{
	struct paths_arg a = { .s = s, .info = info, .max = max };

	return rtrs_loop_call(&loop0(s)->loop, paths_on_loop, &a);
}

void rtrs_clt_stats(struct rtrs_clt_sess *s, struct rtrs_stats *sum)
{
	struct rtrs_clt_path_info info[MAX_PATHS_NUM];
	int n = rtrs_clt_paths(s, info, MAX_PATHS_NUM);

	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < n; i++) {
		const struct rtrs_stats *st = &info[i].stats;

		sum->reqs_read += st->reqs_read;
		sum->reqs_write += st->reqs_write;
		sum->bytes_read += st->bytes_read;
		sum->bytes_write += st->bytes_write;
		sum->inflight += st->inflight;
		sum->failovers += st->failovers;
		sum->reconnects += st->reconnects;
		sum->reconnect_fails += st->reconnect_fails;
		sum->lat_count += st->lat_count;
		sum->lat_sum_ns += st->lat_sum_ns;
		if (st->lat_max_ns > sum->lat_max_ns)
			sum->lat_max_ns = st->lat_max_ns;
	}
}
