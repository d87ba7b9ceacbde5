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
#include <string.h>

#include "common/ipc.h"
#include "ctl.h"

static const char *mode_name(enum rnbd_access_mode m)
{
	return m == RNBD_ACCESS_RO ? "ro" : m == RNBD_ACCESS_RW ? "rw" : "migration";
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

/*
 * A library call failed: its message.  An empty one would be a library bug
 * (a message left on another thread): still say something true.
 */
static json_object *lib_error(int ret)
{
	const char *msg = rnbd_errmsg();

	return ipc_error(ret, "%s", msg[0] ? msg : strerror(-ret));
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
		return lib_error(ret);
	}
	if (only) {
		json_object *s = json_object_array_length(lc.sessions) ?
			json_object_get(json_object_array_get_idx(lc.sessions, 0)) : NULL;

		json_object_put(lc.sessions);
		if (!s)
			return ipc_error(-ENOENT, "no session named %s", only);
		o = ipc_ok();
		json_object_object_add(o, "session", s);
		return o;
	}
	o = ipc_ok();
	json_object_object_add(o, "sessions", lc.sessions);
	return o;
}

static json_object *cmd_exports(const struct serve_config *c)
{
	static const char *const types[] = { "memory", "file", "blockdev" };
	json_object *o = ipc_ok(), *a = json_object_new_array();

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

static json_object *dispatch(json_object *req, struct rnbd_srv *srv,
			     const struct serve_config *conf,
			     int (*reload)(void *opaque, char *err, size_t errlen), void *opaque)
{
	const char *cmd = ipc_str(req, "command");
	const char *sess = ipc_str(req, "session");
	json_object *idv;
	char err[512];
	int ret;

	if (!cmd)
		return ipc_error(-EINVAL, "%s", "request without a \"command\"");
	if (!strcmp(cmd, "list"))
		return cmd_list(srv, NULL);
	if (!strcmp(cmd, "exports"))
		return cmd_exports(conf);
	if (!strcmp(cmd, "reload")) {
		ret = reload(opaque, err, sizeof(err));
		return ret ? ipc_error(ret, "%s", err) : ipc_ok();
	}
	if (!strcmp(cmd, "show") || !strcmp(cmd, "close-session") ||
	    !strcmp(cmd, "force-close-device")) {
		if (!sess)
			return ipc_error(-EINVAL, "%s needs a \"session\"", cmd);
		if (!strcmp(cmd, "show"))
			return cmd_list(srv, sess);
		if (!strcmp(cmd, "close-session"))
			ret = rnbd_srv_close_session(srv, sess);
		else if (!json_object_object_get_ex(req, "id", &idv) ||
			 !json_object_is_type(idv, json_type_int) || json_object_get_int64(idv) < 0 ||
			 json_object_get_int64(idv) > UINT32_MAX)
			return ipc_error(-EINVAL, "%s", "force-close-device needs a device \"id\"");
		else
			ret = rnbd_srv_force_close(srv, sess, (uint32_t)json_object_get_int64(idv));
		return ret ? lib_error(ret) : ipc_ok();
	}
	return ipc_error(-EINVAL, "unknown command '%s'", cmd);
}

void ctl_serve_one(int lfd, struct rnbd_srv *srv, const struct serve_config *conf,
		   int (*reload)(void *opaque, char *err, size_t errlen), void *opaque)
{
	json_object *req, *rep;
	int fd = ipc_accept(lfd, &req, &rep);

	if (fd < 0)
		return;
	if (!rep)
		rep = dispatch(req, srv, conf, reload, opaque);
	json_object_put(req);
	ipc_answer(fd, rep);
}
