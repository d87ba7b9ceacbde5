// SPDX-License-Identifier: LGPL-2.1-or-later
/* The RNBD server of the public API: RTRS server, configuration, queries. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"
#include "rtrs/transport.h"
#include "srv.h"
#include "util/addr.h"
#include "util/err.h"
#include "util/log.h"
#include "util/opts.h"

static void conf_free(struct srv_conf *c)
{
	if (!c)
		return;
	for (unsigned int i = 0; i < c->nexports; i++) {
		free(c->exports[i].name);
		free(c->exports[i].path);
	}
	for (unsigned int i = 0; i < c->nrules; i++) {
		free(c->rules[i].sessions);
		free(c->rules[i].devices);
	}
	free(c->exports);
	free(c->rules);
	free(c->dev_search_path);
	free(c);
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

static int check_export(const struct rnbd_export_conf *e, const struct rnbd_srv_conf *c,
			unsigned int idx)
{
	char norm[RNBD_NAME_MAX];

	if (!e->name || !e->name[0] || strlen(e->name) >= RNBD_NAME_MAX)
		return rnbd_err_set(-EINVAL, "export %u: name empty or longer than %d bytes", idx,
				    RNBD_NAME_MAX - 1);
	/* OPEN names are normalised before they are looked up: others never match */
	if (rnbd_resolve_normalise(e->name, norm, sizeof(norm)) || strcmp(norm, e->name))
		return rnbd_err_set(-EINVAL, "export %s: a name has no leading '/', no \"//\" and "
				    "no \".\" or \"..\"", e->name);
	for (unsigned int j = 0; j < idx; j++)
		if (!strcmp(c->exports[j].name, e->name))
			return rnbd_err_set(-EINVAL, "export %s is defined twice", e->name);
	switch (e->type) {
	case RNBD_EXPORT_MEMORY:
		if (!e->size || e->size % 4096 || e->size > RNBD_BDEV_MEMORY_MAX)
			return rnbd_err_set(-EINVAL, "export %s: memory size must be a non-zero multiple of 4096 up to 1 TiB",
					    e->name);
		return 0;
	case RNBD_EXPORT_FILE:
	case RNBD_EXPORT_BLOCKDEV:
		if (!e->path || !e->path[0])
			return rnbd_err_set(-EINVAL, "export %s: no path", e->name);
		return 0;
	}
	return rnbd_err_set(-EINVAL, "export %s: unknown type %d", e->name, e->type);
}

static int check_rule(const struct rnbd_rule_conf *r, unsigned int idx)
{
	if (!r->sessions || !r->sessions[0] || !r->devices || !r->devices[0])
		return rnbd_err_set(-EINVAL, "rule %u: empty session or device pattern", idx);
	if (r->max_mode > RNBD_ACCESS_MIGRATION)
		return rnbd_err_set(-EINVAL, "rule %u: unknown access mode %d", idx, r->max_mode);
	return 0;
}

/* A private copy of c, checked. */
static int conf_dup(const struct rnbd_srv_conf *c, struct srv_conf **out)
{
	struct srv_conf *n = calloc(1, sizeof(*n));
	bool oom = !n;
	int ret = 0;

	if (oom)
		return rnbd_err_set(-ENOMEM, "no memory for the configuration");
	if (!c) {
		*out = n;
		return 0;
	}
	for (unsigned int i = 0; !ret && i < c->nexports; i++)
		ret = check_export(&c->exports[i], c, i);
	for (unsigned int i = 0; !ret && i < c->nrules; i++)
		ret = check_rule(&c->rules[i], i);
	if (!ret && c->dev_search_path && !c->dev_search_path[0])
		ret = rnbd_err_set(-EINVAL, "empty dev_search_path");
	if (ret) {
		free(n);
		return ret;
	}
	n->dev_search_path = dup_or_null(c->dev_search_path, &oom);
	n->exports = c->nexports ? calloc(c->nexports, sizeof(*n->exports)) : NULL;
	n->rules = c->nrules ? calloc(c->nrules, sizeof(*n->rules)) : NULL;
	oom |= (c->nexports && !n->exports) || (c->nrules && !n->rules);
	for (unsigned int i = 0; !oom && i < c->nexports; i++) {
		const struct rnbd_export_conf *e = &c->exports[i];

		n->exports[i] = (struct srv_export){
			.name = dup_or_null(e->name, &oom), .type = e->type,
			.path = dup_or_null(e->path, &oom), .size = e->size,
			.readonly = e->readonly, .sync_io = e->sync_io,
		};
		n->nexports++;
	}
	for (unsigned int i = 0; !oom && i < c->nrules; i++) {
		n->rules[i] = (struct srv_rule){
			.sessions = dup_or_null(c->rules[i].sessions, &oom),
			.devices = dup_or_null(c->rules[i].devices, &oom),
			.max_mode = c->rules[i].max_mode,
		};
		n->nrules++;
	}
	if (oom) {
		conf_free(n);
		return rnbd_err_set(-ENOMEM, "no memory for the configuration");
	}
	*out = n;
	return 0;
}

static int on_link(void *priv, struct rtrs_srv_sess *rs, enum rtrs_srv_link_ev ev)
{
	struct rnbd_srv *srv = priv;
	struct rnbd_srv_sess *sess;

	if (ev == RTRS_SRV_LINK_EV_CONNECTED) {
		sess = srv_sess_new(srv, rs);
		if (!sess)
			return -ENOMEM;
		rtrs_srv_sess_set_priv(rs, sess);
		pthread_mutex_lock(&srv->lock);
		list_add_tail(&sess->link, &srv->sessions);
		pthread_mutex_unlock(&srv->lock);
		rnbd_log_info("rnbd server: session %s connected", sess->name);
		return 0;
	}
	sess = rtrs_srv_sess_get_priv(rs);
	if (!sess)
		return 0;
	pthread_mutex_lock(&srv->lock);
	list_del(&sess->link);
	pthread_mutex_unlock(&srv->lock);
	rnbd_log_info("rnbd server: session %s disconnected", sess->name);
	srv_sess_free(sess);
	return 0;
}

static int on_request(void *priv, struct rtrs_srv_sess *rs, struct rtrs_srv_op *op, bool read,
		      void *data, uint32_t data_len, const void *usr, uint16_t usr_len)
{
	(void)priv;
	return srv_sess_request(rtrs_srv_sess_get_priv(rs), op, read, data, data_len, usr,
				usr_len);
}

static int on_loop_init(void *priv, struct rtrs_loop *loop)
{
	(void)priv;
	return rnbd_backend_loop_init(&loop->uv);
}

static void on_loop_fini(void *priv, struct rtrs_loop *loop)
{
	(void)priv;
	(void)loop;
	rnbd_backend_loop_fini();
}

static const struct rtrs_srv_ops rnbd_srv_rtrs_ops = {
	.link_ev = on_link,
	.request = on_request,
	.loop_init = on_loop_init,
	.loop_fini = on_loop_fini,
};

static void srv_free(struct rnbd_srv *srv)
{
	srv_dev_unpin_stale(srv, NULL);
	conf_free(srv->conf);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

static int srv_open(struct rnbd_srv **out, const struct rnbd_srv_opts *o)
{
	struct rtrs_srv_opts ro = {
		.nr_workers = o->nr_workers,
		.queue_depth = o->queue_depth,
		.max_io_size = o->max_io_size,
		.hb_interval_ms = o->hb_interval_ms,
		.max_sessions = o->max_sessions,
		.max_paths = o->max_paths,
		.op_priv_size = sizeof(struct rnbd_req),
		.ops = &rnbd_srv_rtrs_ops,
	};
	struct sockaddr_storage listen[16];
	uint16_t port = o->port ? o->port : RTRS_PORT;
	struct rnbd_srv *srv;
	int ret;

	ret = rnbd_opts_sockbufs(o->sndbuf, o->rcvbuf, &ro.sndbuf, &ro.rcvbuf);
	if (ret)
		return ret;
	ret = rtrs_transport_find(o->transport, &ro.transport);
	if (ret)
		return ret;
	if (o->nlisten > 16)
		return rnbd_err_set(-EINVAL, "%u listen addresses: at most 16", o->nlisten);
	for (unsigned int i = 0; i < o->nlisten; i++) {
		ret = rnbd_addr_parse(o->listen[i], port, &listen[i]);
		if (ret)
			return ret;
	}
	if (!o->nlisten)
		rnbd_addr_parse("[::]", port, &listen[0]);
	ro.listen = listen;
	ro.nlisten = o->nlisten ? o->nlisten : 1;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return rnbd_err_set(-ENOMEM, "no memory for a server");
	srv->max_devices = o->max_devices ? o->max_devices : 1024;
	pthread_mutex_init(&srv->lock, NULL);
	list_init(&srv->devs);
	list_init(&srv->sessions);
	ret = conf_dup(o->conf, &srv->conf);
	if (ret) {
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		return ret;
	}
	ro.priv = srv;
	ret = rtrs_srv_open(&ro, &srv->rtrs);
	if (ret) {
		srv_free(srv);
		return ret;
	}
	*out = srv;
	return 0;
}

void rnbd_srv_stop_listening(struct rnbd_srv *srv)
{
	rtrs_srv_stop_listening(srv->rtrs);
}

int rnbd_srv_open(struct rnbd_srv **out, const struct rnbd_srv_opts *opts)
{
	struct rnbd_srv_opts o;
	int ret = rnbd_opts_take(&o, sizeof(o), opts, opts->size,
				 offsetof(struct rnbd_srv_opts, sndbuf), "rnbd_srv_opts");

	return ret ? ret : srv_open(out, &o);
}

void rnbd_srv_close(struct rnbd_srv *srv)
{
	/* RTRS answers or waits for every op, then drops every session */
	rtrs_srv_close(srv->rtrs);
	srv_free(srv);
}

int rnbd_srv_reconfigure(struct rnbd_srv *srv, const struct rnbd_srv_conf *conf)
{
	struct srv_conf *n, *old;
	int ret = conf_dup(conf, &n);

	if (ret)
		return ret;
	pthread_mutex_lock(&srv->lock);
	old = srv->conf;
	srv->conf = n;
	srv_dev_unpin_stale(srv, n);
	pthread_mutex_unlock(&srv->lock);
	conf_free(old);
	return 0;
}

int rnbd_srv_listen_addr(struct rnbd_srv *srv, unsigned int idx, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	int ret = rtrs_srv_listen_addr(srv->rtrs, idx, &ss);

	if (ret)
		return ret;
	rnbd_addr_str(&ss, buf, len);
	return 0;
}

static struct rnbd_srv_sess *sess_by_name(struct rnbd_srv *srv, const char *name)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->sessions) {
		struct rnbd_srv_sess *sess = list_entry(pos, struct rnbd_srv_sess, link);

		if (!strcmp(sess->name, name))
			return sess;
	}
	return NULL;
}

int rnbd_srv_close_session(struct rnbd_srv *srv, const char *sessname)
{
	return rtrs_srv_sess_close(srv->rtrs, sessname);
}

int rnbd_srv_force_close(struct rnbd_srv *srv, const char *sessname, uint32_t id)
{
	struct rnbd_srv_sess *sess;
	int ret;

	pthread_mutex_lock(&srv->lock);
	sess = sess_by_name(srv, sessname);
	ret = sess ? srv_sess_force_close(sess, id) :
		     rnbd_err_set(-ENOENT, "no session named %s", sessname);
	pthread_mutex_unlock(&srv->lock);
	return ret;
}

/* A snapshot of one session, owned by the caller of foreach. */
struct sess_snap {
	struct rnbd_srv_session_info info;
	char name[RTRS_NAME_MAX];
	struct rnbd_path_info *paths;
	struct rnbd_srv_device_info *devs;
	char (*dev_names)[RNBD_NAME_MAX];
	char (*dev_paths)[RNBD_PATH_MAX];
};

static void snap_paths(struct sess_snap *sn, const struct rtrs_srv_path_info *pi, int npi)
{
	for (int i = 0; i < npi; i++) {
		struct rnbd_path_info *p;

		if (strcmp(pi[i].sessname, sn->name))
			continue;
		p = &sn->paths[sn->info.npaths++];
		rnbd_addr_str(&pi[i].peer, p->peer, sizeof(p->peer));
		rnbd_addr_str(&pi[i].local, p->local, sizeof(p->local));
		p->state = rtrs_srv_state_str(pi[i].state);
		p->reqs_read = pi[i].stats.reqs_read;
		p->reqs_write = pi[i].stats.reqs_write;
		p->bytes_read = pi[i].stats.bytes_read;
		p->bytes_write = pi[i].stats.bytes_write;
		p->inflight = pi[i].stats.inflight;
	}
}

static int snap_devs(struct sess_snap *sn, struct rnbd_srv_sess *sess)
{
	unsigned int cap = sess->nblocks * SLOTS_PER_BLOCK, n = 0;

	sn->devs = calloc(cap, sizeof(*sn->devs));
	sn->dev_names = calloc(cap, sizeof(*sn->dev_names));
	sn->dev_paths = calloc(cap, sizeof(*sn->dev_paths));
	if (!sn->devs || !sn->dev_names || !sn->dev_paths)
		return -ENOMEM;
	pthread_mutex_lock(&sess->lock);
	for (uint32_t b = 0; b < sess->nblocks; b++) {
		struct rnbd_slot *block = atomic_load(&sess->blocks[b]);

		for (unsigned int i = 0; block && i < SLOTS_PER_BLOCK; i++) {
			struct rnbd_slot *s = &block[i];
			int st = atomic_load(&s->state);
			struct rnbd_srv_device_info *d = &sn->devs[n];

			if (st == SLOT_FREE)
				continue;
			memcpy(sn->dev_names[n], s->name, RNBD_NAME_MAX);
			if (s->dev)
				snprintf(sn->dev_paths[n], RNBD_PATH_MAX, "%s", s->dev->path);
			d->id = b * SLOTS_PER_BLOCK + i;
			d->name = sn->dev_names[n];
			d->path = sn->dev_paths[n];
			d->mode = s->mode;
			d->size = s->dev ? s->dev->info->size : 0;
			d->forced = st == SLOT_FORCED || s->forcing;
			d->reads = atomic_load(&s->reads);
			d->writes = atomic_load(&s->writes);
			d->bytes_read = atomic_load(&s->bytes_read);
			d->bytes_written = atomic_load(&s->bytes_written);
			n++;
		}
	}
	pthread_mutex_unlock(&sess->lock);
	sn->info.devices = sn->devs;
	sn->info.ndevices = n;
	return 0;
}

static void snaps_free(struct sess_snap *sn, unsigned int n)
{
	for (unsigned int i = 0; sn && i < n; i++) {
		free(sn[i].paths);
		free(sn[i].devs);
		free(sn[i].dev_names);
		free(sn[i].dev_paths);
	}
	free(sn);
}

int rnbd_srv_foreach_session(struct rnbd_srv *srv,
			     int (*cb)(void *opaque, const struct rnbd_srv_session_info *s),
			     void *opaque)
{
	struct rtrs_srv_path_info *pi = NULL;
	struct sess_snap *sn = NULL;
	struct list_head *pos, *tmp;
	unsigned int n = 0, cap = 0;
	int npi, ret = 0;

	npi = rtrs_srv_paths(srv->rtrs, NULL, 0);
	if (npi > 0) {
		pi = calloc(npi, sizeof(*pi));
		if (!pi)
			return rnbd_err_set(-ENOMEM, "no memory for the path list");
		npi = rtrs_srv_paths(srv->rtrs, pi, npi);
	}
	pthread_mutex_lock(&srv->lock);
	list_for_each_safe(pos, tmp, &srv->sessions)
		cap++;
	sn = cap ? calloc(cap, sizeof(*sn)) : NULL;
	list_for_each_safe(pos, tmp, &srv->sessions) {
		struct rnbd_srv_sess *sess = list_entry(pos, struct rnbd_srv_sess, link);
		struct sess_snap *s = &sn[n];

		if (!sn)
			break;
		n++;
		snprintf(s->name, sizeof(s->name), "%s", sess->name);
		s->info.name = s->name;
		s->info.proto_ver = atomic_load(&sess->ver);
		s->paths = npi > 0 ? calloc(npi, sizeof(*s->paths)) : NULL;
		if ((npi > 0 && !s->paths) || snap_devs(s, sess)) {
			ret = rnbd_err_set(-ENOMEM, "no memory for the session list");
			break;
		}
		snap_paths(s, pi, npi);
		s->info.paths = s->paths;
	}
	pthread_mutex_unlock(&srv->lock);
	if (cap && !sn)
		ret = rnbd_err_set(-ENOMEM, "no memory for the session list");
	for (unsigned int i = 0; !ret && i < n; i++)
		if (cb(opaque, &sn[i].info))
			break;
	snaps_free(sn, n);
	free(pi);
	return ret;
}
