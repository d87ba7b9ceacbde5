// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Client sessions: the RTRS session under them, SESS_INFO, the reaction to
 * losing and regaining every path (rnbd-wire.md 5.8), paths and policy.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "rtrs/transport.h"
#include "util/addr.h"
#include "util/err.h"
#include "util/log.h"
#include "util/opts.h"

#define MAX_OPEN_PATHS 16

/* "<hostname>-<pid>", with what RTRS forbids in names ('.', '/') replaced. */
static void default_name(char *buf, size_t len)
{
	char host[64] = "rnbd";

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	for (char *c = host; *c; c++)
		if (*c == '.' || *c == '/')
			*c = '-';
	snprintf(buf, len, "%s-%d", host, (int)getpid());
}

/* Loop 0, all paths lost: the server drops our session and its ids. */
static void on_disconnected(struct rnbd_sess *s)
{
	struct list_head *pos, *tmp;

	pthread_mutex_lock(&s->lock);
	list_for_each_safe(pos, tmp, &s->devs) {
		struct rnbd_dev *d = list_entry(pos, struct rnbd_dev, link);
		int expected = DEV_OPEN;

		atomic_compare_exchange_strong(&d->state, &expected, DEV_REOPENING);
	}
	pthread_mutex_unlock(&s->lock);
	rnbd_log_warn("%s: no path left; I/O waits for one", s->name);
	if (s->event)
		s->event(s->opaque, RNBD_SESS_DISCONNECTED);
}

static void sess_info_done(struct admin_req *ar, int err)
{
	struct rnbd_sess *s = container_of(ar, struct rnbd_sess, sess_info);
	struct rnbd_rsp_sess_info rsp;

	if (!err && !rnbd_rsp_sess_info_decode(ar->rsp, sizeof(ar->rsp), &rsp))
		atomic_store(&s->ver, rsp.ver);
	__atomic_store_n(&s->sess_info_busy, false, __ATOMIC_RELEASE);
}

/* Loop 0, a path is back: SESS_INFO and OPEN again, then let I/O go. */
static void on_reconnected(struct rnbd_sess *s)
{
	struct list_head *pos, *tmp;

	rnbd_log_info("%s: reconnected; re-opening devices", s->name);
	if (!s->sess_info_busy && !admin_sess_info_prepare(&s->sess_info)) {
		s->sess_info_busy = true;
		s->sess_info.cb = sess_info_done;
		if (admin_send(s, &s->sess_info, false))
			s->sess_info_busy = false;
	}
	/* one for this loop, so that the count cannot hit 0 half-way */
	atomic_fetch_add(&s->reopen_pending, 1);
	pthread_mutex_lock(&s->lock);
	list_for_each_safe(pos, tmp, &s->devs) {
		struct rnbd_dev *d = list_entry(pos, struct rnbd_dev, link);

		if (atomic_load(&d->state) == DEV_REOPENING)
			dev_reopen(d);
	}
	pthread_mutex_unlock(&s->lock);
	if (atomic_fetch_sub(&s->reopen_pending, 1) == 1) {
		rtrs_clt_resume(s->rtrs);
		if (s->event)
			s->event(s->opaque, RNBD_SESS_RECONNECTED);
	}
}

static void on_link(void *priv, enum rtrs_clt_link_ev ev)
{
	if (ev == RTRS_CLT_LINK_EV_DISCONNECTED)
		on_disconnected(priv);
	else
		on_reconnected(priv);
}

static int parse_paths(const struct rnbd_sess_opts *o, uint16_t port, struct rtrs_addr *paths)
{
	if (!o->npaths || o->npaths > MAX_OPEN_PATHS)
		return rnbd_err_set(-EINVAL, "%u paths: give 1..%d", o->npaths, MAX_OPEN_PATHS);
	for (unsigned int i = 0; i < o->npaths; i++) {
		const char *comma = strchr(o->paths[i], ',');
		char src[256];
		int ret;

		memset(&paths[i], 0, sizeof(paths[i]));
		if (comma) {
			snprintf(src, sizeof(src), "%.*s", (int)(comma - o->paths[i]), o->paths[i]);
			ret = rnbd_addr_parse(src, 0, &paths[i].src);
			if (ret)
				return ret;
		}
		ret = rnbd_addr_parse(comma ? comma + 1 : o->paths[i], port, &paths[i].dst);
		if (ret)
			return ret;
	}
	return 0;
}

static int sess_open(struct rnbd_sess **out, const struct rnbd_sess_opts *o)
{
	struct rtrs_addr paths[MAX_OPEN_PATHS];
	struct rtrs_clt_opts ro = {
		.nr_workers = o->nr_workers,
		.reconnect_delay_ms = o->reconnect_delay_ms,
		.max_reconnect_attempts = o->max_reconnect_attempts,
		.no_reconnect = o->max_reconnect_attempts < 0,
		.hb_interval_ms = o->hb_interval_ms,
		.connect_timeout_ms = o->connect_timeout_ms,
		.noconn_timeout_ms = o->io_timeout_ms,
		.paths = paths,
		.npaths = o->npaths,
		.policy = RTRS_MP_POLICY_MIN_INFLIGHT,
		.link_ev = on_link,
	};
	struct rtrs_clt_attrs attrs;
	struct rnbd_rsp_sess_info rsp;
	struct rnbd_sess *s;
	int ret;

	ret = rnbd_opts_sockbufs(o->sndbuf, o->rcvbuf, &ro.sndbuf, &ro.rcvbuf);
	if (ret)
		return ret;
	ret = rtrs_transport_find(o->transport, &ro.transport);
	if (ret)
		return ret;
	if (o->policy && rtrs_mp_policy_parse(o->policy, &ro.policy))
		return rnbd_err_set(-EINVAL, "unknown multipath policy '%s'", o->policy);
	ret = parse_paths(o, o->port ? o->port : RTRS_PORT, paths);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return rnbd_err_set(-ENOMEM, "no memory for a session");
	if (o->sessname)
		snprintf(s->name, sizeof(s->name), "%s", o->sessname);
	else
		default_name(s->name, sizeof(s->name));
	s->event = o->event;
	s->opaque = o->opaque;
	s->port = o->port ? o->port : RTRS_PORT;
	pthread_mutex_init(&s->lock, NULL);
	list_init(&s->devs);
	admin_init(&s->sess_info);
	ro.sessname = s->name;
	ro.priv = s;
	ret = rtrs_clt_open(&ro, &s->rtrs);
	if (ret)
		goto err;
	rtrs_clt_query(s->rtrs, &attrs);
	s->max_io_size = attrs.max_io_size;
	ret = admin_sess_info_prepare(&s->sess_info);
	if (!ret)
		ret = admin_send(s, &s->sess_info, true);
	if (!ret)
		ret = rnbd_rsp_sess_info_decode(s->sess_info.rsp, sizeof(s->sess_info.rsp), &rsp);
	if (ret) {
		char why[256];

		snprintf(why, sizeof(why), "%s", rnbd_errmsg());
		rtrs_clt_close(s->rtrs);
		rnbd_err_set(ret, "SESS_INFO on %s: %s", s->name, why);
		goto err;
	}
	atomic_store(&s->ver, rsp.ver);
	*out = s;
	return 0;
err:
	admin_fini(&s->sess_info);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ret;
}

int rnbd_sess_open(struct rnbd_sess **out, const struct rnbd_sess_opts *opts)
{
	struct rnbd_sess_opts o;
	int ret = rnbd_opts_take(&o, sizeof(o), opts, opts->size,
				 offsetof(struct rnbd_sess_opts, sndbuf), "rnbd_sess_opts");

	return ret ? ret : sess_open(out, &o);
}

void rnbd_sess_close(struct rnbd_sess *s)
{
	for (;;) {
		struct rnbd_dev *d = NULL;

		pthread_mutex_lock(&s->lock);
		if (!list_empty(&s->devs))
			d = list_first_entry(&s->devs, struct rnbd_dev, link);
		pthread_mutex_unlock(&s->lock);
		if (!d)
			break;
		rnbd_dev_close(d);
	}
	rtrs_clt_close(s->rtrs);
	while (__atomic_load_n(&s->sess_info_busy, __ATOMIC_ACQUIRE))
		usleep(1000);
	admin_fini(&s->sess_info);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *rnbd_sess_name(const struct rnbd_sess *s)
{
	return s->name;
}

int rnbd_sess_paths(struct rnbd_sess *s, struct rnbd_sess_path *out, unsigned int max)
{
	struct rtrs_clt_path_info info[MAX_PATHS_NUM];
	int n = rtrs_clt_paths(s->rtrs, info, MAX_PATHS_NUM);

	for (int i = 0; i < n && (unsigned int)i < max; i++) {
		const struct rtrs_stats *st = &info[i].stats;
		struct rnbd_sess_path *p = &out[i];

		memset(p, 0, sizeof(*p));
		p->id = info[i].id;
		rnbd_addr_str(&info[i].addr.dst, p->info.peer, sizeof(p->info.peer));
		if (info[i].addr.src.ss_family)
			rnbd_addr_host(&info[i].addr.src, p->info.local, sizeof(p->info.local));
		p->info.state = rtrs_clt_state_str(info[i].state);
		p->info.reqs_read = st->reqs_read;
		p->info.reqs_write = st->reqs_write;
		p->info.bytes_read = st->bytes_read;
		p->info.bytes_write = st->bytes_write;
		p->info.inflight = st->inflight;
		p->failovers = st->failovers;
		p->reconnects = st->reconnects;
		p->lat_avg_ns = st->lat_count ? st->lat_sum_ns / st->lat_count : 0;
		p->lat_max_ns = st->lat_max_ns;
		p->hb_rtt_ns = st->hb_rtt_ns;
	}
	return n;
}

int rnbd_sess_path_add(struct rnbd_sess *s, const char *path)
{
	struct rnbd_sess_opts o = { .paths = &path, .npaths = 1 };
	struct rtrs_addr a;
	int ret = parse_paths(&o, s->port, &a);

	return ret ? ret : rtrs_clt_path_add(s->rtrs, &a);
}

int rnbd_sess_path_remove(struct rnbd_sess *s, int id)
{
	return rtrs_clt_path_remove(s->rtrs, id);
}

int rnbd_sess_path_reconnect(struct rnbd_sess *s, int id)
{
	return rtrs_clt_path_reconnect(s->rtrs, id);
}

int rnbd_sess_set_policy(struct rnbd_sess *s, const char *policy)
{
	enum rtrs_mp_policy p;

	if (rtrs_mp_policy_parse(policy, &p))
		return rnbd_err_set(-EINVAL, "unknown multipath policy '%s'", policy);
	return rtrs_clt_set_policy(s->rtrs, p);
}
