// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Control socket of rnbd-serve.  Requests:
 *   {"command":"list"}                                   every session
 *   {"command":"show","session":S}                        one session
 *   {"command":"exports"}                                 the configured exports
 *   {"command":"close-session","session":S}
 *   {"command":"force-close-device","session":S,"id":N}
 *   {"command":"reload"}
 * Replies are {"ok":true, ...} or {"ok":false,"errno":N,"error":"..."}.
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

#define REQUEST_MAX 4096
#define READ_TIMEOUT_MS 2000

static const char *mode_name(enum rnbd_access_mode m)
{
	return m == RNBD_ACCESS_RO ? "ro" : m == RNBD_ACCESS_RW ? "rw" : "migration";
}

int ctl_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	char *slash;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/* the socket is made 0600 from the start: no window for others */
	{
		mode_t old = umask(0177);
		int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));

		umask(old);
		if (r || listen(fd, 16)) {
			int err = -errno;

			close(fd);
			return err;
		}
	}
	return fd;
}

static json_object *error_reply(int err, const char *fmt, const char *arg)
{
	json_object *o = json_object_new_object();
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "errno", json_object_new_int(err < 0 ? -err : err));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static json_object *ok_reply(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static json_object *path_json(const struct rnbd_path_info *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "peer", json_object_new_string(p->peer));
	json_object_object_add(o, "local", json_object_new_string(p->local));
	json_object_object_add(o, "state", json_object_new_string(p->state));
	add_u64(o, "reqs_read", p->reqs_read);
	add_u64(o, "reqs_write", p->reqs_write);
	add_u64(o, "bytes_read", p->bytes_read);
	add_u64(o, "bytes_write", p->bytes_write);
	add_u64(o, "inflight", p->inflight);
	return o;
}

static json_object *device_json(const struct rnbd_srv_device_info *d)
{
	json_object *o = json_object_new_object();

	add_u64(o, "id", d->id);
	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "path", json_object_new_string(d->path));
	json_object_object_add(o, "mode", json_object_new_string(mode_name(d->mode)));
	add_u64(o, "size", d->size);
	json_object_object_add(o, "forced", json_object_new_boolean(d->forced));
	add_u64(o, "reads", d->reads);
	add_u64(o, "writes", d->writes);
	add_u64(o, "bytes_read", d->bytes_read);
	add_u64(o, "bytes_written", d->bytes_written);
	return o;
}

struct list_ctx {
	json_object *sessions;
	const char *only;
};

static int session_cb(void *opaque, const struct rnbd_srv_session_info *s)
{
	struct list_ctx *lc = opaque;
	json_object *o, *paths, *devs;

	if (lc->only && strcmp(lc->only, s->name))
		return 0;
	o = json_object_new_object();
	paths = json_object_new_array();
	devs = json_object_new_array();
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "protocol_version", json_object_new_int((int)s->proto_ver));
	for (unsigned int i = 0; i < s->npaths; i++)
		json_object_array_add(paths, path_json(&s->paths[i]));
	for (unsigned int i = 0; i < s->ndevices; i++)
		json_object_array_add(devs, device_json(&s->devices[i]));
	json_object_object_add(o, "paths", paths);
	json_object_object_add(o, "devices", devs);
	json_object_array_add(lc->sessions, o);
	return 0;
}

static json_object *cmd_list(struct rnbd_srv *srv, const char *only)
{
	struct list_ctx lc = { .sessions = json_object_new_array(), .only = only };
	json_object *o;
	int ret = rnbd_srv_foreach_session(srv, session_cb, &lc);

	if (ret) {
		json_object_put(lc.sessions);
		return error_reply(ret, "%s", rnbd_errmsg());
	}
	if (only) {
		json_object *s = json_object_array_length(lc.sessions) ?
			json_object_get(json_object_array_get_idx(lc.sessions, 0)) : NULL;

		json_object_put(lc.sessions);
		if (!s)
			return error_reply(-ENOENT, "no session named %s", only);
		o = ok_reply();
		json_object_object_add(o, "session", s);
		return o;
	}
	o = ok_reply();
	json_object_object_add(o, "sessions", lc.sessions);
	return o;
}

static json_object *cmd_exports(const struct serve_config *c)
{
	static const char *const types[] = { "memory", "file", "blockdev" };
	json_object *o = ok_reply(), *a = json_object_new_array();

	for (unsigned int i = 0; i < c->nexports; i++) {
		const struct rnbd_export_conf *e = &c->exports[i];
		json_object *x = json_object_new_object();

		json_object_object_add(x, "name", json_object_new_string(e->name));
		json_object_object_add(x, "type", json_object_new_string(types[e->type]));
		if (e->path)
			json_object_object_add(x, "path", json_object_new_string(e->path));
		if (e->size)
			add_u64(x, "size", e->size);
		json_object_object_add(x, "readonly", json_object_new_boolean(e->readonly));
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "exports", a);
	json_object_object_add(o, "dev_search_path",
			       c->dev_search_path ? json_object_new_string(c->dev_search_path) :
						    NULL);
	return o;
}

static const char *get_str(json_object *req, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(req, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *dispatch(json_object *req, struct rnbd_srv *srv,
			     const struct serve_config *conf,
			     int (*reload)(void *opaque, char *err, size_t errlen), void *opaque)
{
	const char *cmd = get_str(req, "command");
	const char *sess = get_str(req, "session");
	json_object *idv;
	char err[512];
	int ret;

	if (!cmd)
		return error_reply(-EINVAL, "%s", "request without a \"command\"");
	if (!strcmp(cmd, "list"))
		return cmd_list(srv, NULL);
	if (!strcmp(cmd, "exports"))
		return cmd_exports(conf);
	if (!strcmp(cmd, "reload")) {
		ret = reload(opaque, err, sizeof(err));
		return ret ? error_reply(ret, "%s", err) : ok_reply();
	}
	if (!strcmp(cmd, "show") || !strcmp(cmd, "close-session") ||
	    !strcmp(cmd, "force-close-device")) {
		if (!sess)
			return error_reply(-EINVAL, "%s needs a \"session\"", cmd);
		if (!strcmp(cmd, "show"))
			return cmd_list(srv, sess);
		if (!strcmp(cmd, "close-session"))
			ret = rnbd_srv_close_session(srv, sess);
		else if (!json_object_object_get_ex(req, "id", &idv) ||
			 !json_object_is_type(idv, json_type_int) || json_object_get_int64(idv) < 0 ||
			 json_object_get_int64(idv) > UINT32_MAX)
			return error_reply(-EINVAL, "%s", "force-close-device needs a device \"id\"");
		else
			ret = rnbd_srv_force_close(srv, sess, (uint32_t)json_object_get_int64(idv));
		return ret ? error_reply(ret, "%s", rnbd_errmsg()) : ok_reply();
	}
	return error_reply(-EINVAL, "unknown command '%s'", cmd);
}

/* Read one request (up to REQUEST_MAX bytes or EOF or a newline). */
static int read_request(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, READ_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	return n ? 0 : -ENODATA;
}

static void send_reply(int fd, const char *text)
{
	struct iovec v[2] = { { (void *)text, strlen(text) }, { "\n", 1 } };

	/* a client that went away is told nothing */
	if (writev(fd, v, 2) < 0)
		return;
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

void ctl_serve_one(int lfd, struct rnbd_srv *srv, const struct serve_config *conf,
		   int (*reload)(void *opaque, char *err, size_t errlen), void *opaque)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	char buf[REQUEST_MAX];
	json_object *req = NULL, *rep;
	const char *text;

	if (fd < 0)
		return;
	if (!peer_allowed(fd))
		rep = error_reply(-EPERM, "%s", "only root may use the control socket");
	else if (read_request(fd, buf, sizeof(buf)))
		rep = error_reply(-EINVAL, "%s", "no request (one JSON object, then a newline)");
	else if (!(req = json_tokener_parse(buf)) || !json_object_is_type(req, json_type_object))
		rep = error_reply(-EINVAL, "%s", "the request is not a JSON object");
	else
		rep = dispatch(req, srv, conf, reload, opaque);
	text = json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN);
	send_reply(fd, text);
	json_object_put(rep);
	json_object_put(req);
	close(fd);
}
