// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rnbdctl: map remote RNBD devices as local block devices and manage them.
 * Each command is a function of its own argv; they share the lookup of
 * devices and sessions across the session daemons (sessd.c) and the
 * kernel's rnbd-client (kernel.c).  Exit codes: 0 done, 1 failed, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ipc.h"
#include "kernel.h"
#include "output.h"
#include "rnbdctl.h"
#include "rnbdtab.h"
#include "sessd.h"
#include "target.h"
#include "ublk.h"

#define EXIT_USAGE 2
#define SERVE_SOCK_DEFAULT "/run/rnbd/serve.sock"
#define SERVE_TIMEOUT_MS 30000

static bool json_out;

/* 0, not 1: glibc then also drops what it kept of the previous parse. */
static void getopt_reset(void)
{
	optind = 0;
}

static int failed(int err)
{
	fprintf(stderr, "rnbdctl: %s\n", err ? rnbdctl_errmsg() : "failed");
	return EXIT_FAILURE;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "rnbdctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'rnbdctl --help'.\n");
	return EXIT_USAGE;
}

/* ------------------------------------------------------------------ */
/* What is mapped, wherever it is */

static const struct column dev_cols[] = {
	{ "device", "DEVICE", COL_STR },	{ "session", "SESSION", COL_STR },
	{ "mapping_path", "PATH", COL_STR },	{ "access_mode", "MODE", COL_STR },
	{ "state", "STATE", COL_STR },		{ "size", "SIZE", COL_SIZE },
	{ "backend", "BACKEND", COL_STR },
};

static const struct column sess_cols[] = {
	{ "name", "SESSION", COL_STR },		{ "state", "STATE", COL_STR },
	{ "backend", "BACKEND", COL_STR },	{ "policy", "POLICY", COL_STR },
	{ "paths", "PATHS", COL_COUNT },	{ "devices", "DEVICES", COL_COUNT },
};

static const struct column path_cols[] = {
	{ "session", "SESSION", COL_STR },	{ "id", "ID", COL_INT },
	{ "src", "SRC", COL_STR },		{ "dst", "DST", COL_STR },
	{ "state", "STATE", COL_STR },		{ "inflight", "INFLIGHT", COL_INT },
	{ "reqs_read", "READS", COL_INT },	{ "reqs_write", "WRITES", COL_INT },
};

#define NCOLS(c) (sizeof(c) / sizeof((c)[0]))

/* Every session: the daemons' and the kernel's. */
static json_object *all_sessions(void)
{
	json_object *all = sessd_list_all(), *k = kernel_sessions();

	for (size_t i = 0; i < json_object_array_length(k); i++)
		json_object_array_add(all, json_object_get(json_object_array_get_idx(k, i)));
	json_object_put(k);
	return all;
}

/* The "devices" or "paths" of every session, in one array. */
static json_object *flatten(json_object *sessions, const char *key)
{
	json_object *out = json_object_new_array();

	for (size_t i = 0; i < json_object_array_length(sessions); i++) {
		json_object *a;

		if (!json_object_object_get_ex(json_object_array_get_idx(sessions, i), key, &a))
			continue;
		for (size_t j = 0; j < json_object_array_length(a); j++)
			json_object_array_add(out, json_object_get(json_object_array_get_idx(a, j)));
	}
	return out;
}

static json_object *all_devices(void)
{
	json_object *s = all_sessions(), *d = flatten(s, "devices");

	json_object_put(s);
	return d;
}

static bool dev_matches(json_object *d, const char *arg)
{
	const char *node = ipc_str(d, "device");

	return node && (!strcmp(node, arg) || (!strncmp(node, "/dev/", 5) && !strcmp(node + 5, arg)));
}

/*
 * A device by its node (/dev/loop3, loop3, /dev/rnbd0) or, if only one
 * session maps it, by its path on the server.  *out is a new reference.
 */
static int find_device(const char *arg, json_object **out)
{
	json_object *all = all_devices(), *hit = NULL;
	unsigned int by_path = 0;

	for (size_t i = 0; i < json_object_array_length(all) && !hit; i++)
		if (dev_matches(json_object_array_get_idx(all, i), arg))
			hit = json_object_array_get_idx(all, i);
	for (size_t i = 0; i < json_object_array_length(all) && !hit; i++) {
		const char *p = ipc_str(json_object_array_get_idx(all, i), "mapping_path");

		by_path += p && !strcmp(p, arg);
	}
	if (!hit && by_path == 1)
		for (size_t i = 0; i < json_object_array_length(all) && !hit; i++) {
			const char *p = ipc_str(json_object_array_get_idx(all, i), "mapping_path");

			if (p && !strcmp(p, arg))
				hit = json_object_array_get_idx(all, i);
		}
	if (hit)
		*out = json_object_get(hit);
	json_object_put(all);
	if (hit)
		return 0;
	if (by_path > 1)
		return rnbdctl_err(-EINVAL, "%s is mapped in %u sessions: name the device node", arg,
				   by_path);
	return rnbdctl_err(-ENOENT, "%s is not mapped", arg);
}

static int find_session(const char *name, json_object **out)
{
	json_object *all = all_sessions(), *hit = NULL;

	for (size_t i = 0; i < json_object_array_length(all) && !hit; i++) {
		const char *n = ipc_str(json_object_array_get_idx(all, i), "name");

		if (n && !strcmp(n, name))
			hit = json_object_get(json_object_array_get_idx(all, i));
	}
	json_object_put(all);
	if (!hit)
		return rnbdctl_err(-ENOENT, "no session %s on this host", name);
	*out = hit;
	return 0;
}

static bool is_kernel(json_object *o)
{
	const char *b = ipc_str(o, "backend");

	return b && !strcmp(b, "kernel");
}

/* Send {"command": cmd, ...} to the daemon of a device's session. */
static int dev_call(json_object *dev, const char *cmd, json_object *extra, json_object **rep)
{
	json_object *req = extra ? extra : json_object_new_object();
	int ret;

	ipc_add_str(req, "command", cmd);
	ipc_add_str(req, "device", ipc_str(dev, "device"));
	ret = sessd_call(ipc_str(dev, "session"), req, rep);
	json_object_put(req);
	return ret;
}

static int simple_call(const char *sess, json_object *req)
{
	json_object *rep = NULL;
	int ret = sessd_call(sess, req, &rep);

	json_object_put(req);
	json_object_put(rep);
	return ret;
}

/* ------------------------------------------------------------------ */
/* map */

static const struct option map_opts[] = {
	{ "access-mode", required_argument, NULL, 'a' },
	{ "backend", required_argument, NULL, 'b' },
	{ "sessname", required_argument, NULL, 's' },
	{ "path", required_argument, NULL, 'p' },
	{ "port", required_argument, NULL, 'P' },
	{ "transport", required_argument, NULL, 't' },
	{ "policy", required_argument, NULL, 'm' },
	{ "reconnect-delay", required_argument, NULL, 'r' },
	{ "io-timeout", required_argument, NULL, 'T' },
	{ "all", no_argument, NULL, 'A' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int seconds(const char *s, unsigned int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 86400)
		return rnbdctl_err(-EINVAL, "'%s': seconds, 1 to 86400", s);
	*out = (unsigned int)v;
	return 0;
}

static int map_one(const struct target *t, json_object **dev)
{
	switch (t->backend) {
	case BACKEND_KERNEL:
		return kernel_map(t, dev);
	case BACKEND_UBLK:
		/* before a session daemon connects anywhere */
		if (!ublk_available())
			return rnbdctl_err(-ENODEV, "the kernel has no ublk_drv: use --backend fuse");
		return sessd_map(t, dev);
	default:
		return sessd_map(t, dev);
	}
}

static void print_mapped(json_object *dev)
{
	if (json_out)
		out_json(dev);
	else
		puts(ipc_str(dev, "device"));
}

/* Fill t from map's argv; the same for the command line and rnbdtab lines. */
static int map_parse(int argc, char **argv, struct target *t, bool *all)
{
	const char *target = NULL, *sessname = NULL, *mode = NULL, *backend = NULL;
	const char *paths[TARGET_MAX_PATHS], *port = NULL, *transport = NULL, *policy = NULL;
	const char *delay = NULL, *timeout = NULL;
	unsigned int npaths = 0;
	int c, ret;

	target_init(t);
	*all = false;
	getopt_reset();
	while ((c = getopt_long(argc, argv, "a:b:s:p:P:t:m:r:T:Ah", map_opts, NULL)) != -1) {
		switch (c) {
		case 'a': mode = optarg; break;
		case 'b': backend = optarg; break;
		case 's': sessname = optarg; break;
		case 'p':
			if (npaths == TARGET_MAX_PATHS)
				return usage_error("more than %s --path", "6");
			paths[npaths++] = optarg;
			break;
		case 'P': port = optarg; break;
		case 't': transport = optarg; break;
		case 'm': policy = optarg; break;
		case 'r': delay = optarg; break;
		case 'T': timeout = optarg; break;
		case 'A': *all = true; break;
		case 'h':
			puts("usage: rnbdctl map rnbd://[SESS@]HOST[:PORT][,HOST...]/DEVICE[?...]\n"
			     "       rnbdctl map \"sessname=S path=ip:ADDR [path=...] device_path=P ...\"\n"
			     "       rnbdctl map --path [SRC,]HOST[:PORT] [--sessname S] DEVICE\n"
			     "       rnbdctl map --all\n"
			     "options: --access-mode ro|rw|migration  --backend fuse|ublk|kernel\n"
			     "         --port N  --transport tcp|rdma  --policy round-robin|min-inflight|min-latency\n"
			     "         --reconnect-delay SECONDS  --io-timeout SECONDS");
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (*all)
		return optind == argc ? 0 : usage_error("map --all takes no %s", "device");
	if (optind + 1 != argc)
		return usage_error("map needs one %s", "rnbd:// URI, option string or device path");
	target = argv[optind];
	if (!strncmp(target, "rnbd://", 7))
		ret = target_from_uri(t, target);
	else if (strchr(target, '='))
		ret = target_from_kernel_opts(t, target);
	else
		ret = snprintf(t->device, sizeof(t->device), "%s", target) >= (int)sizeof(t->device) ?
			rnbdctl_err(-EINVAL, "device path too long") : 0;
	if (!ret && npaths && t->npaths)
		ret = rnbdctl_err(-EINVAL, "paths both in %s and in --path", target);
	for (unsigned int i = 0; !ret && i < npaths; i++)
		ret = target_add_path(t, paths[i]);
	if (!ret && sessname)
		snprintf(t->sessname, sizeof(t->sessname), "%s", sessname);
	if (!ret && mode && rnbdctl_mode_parse(mode, &t->mode))
		ret = rnbdctl_err(-EINVAL, "access mode '%s': ro, rw or migration", mode);
	if (!ret && backend)
		ret = target_backend_parse(backend, &t->backend);
	if (!ret && port) {
		char *end;
		long v = strtol(port, &end, 10);

		if (*end || v < 1 || v > 65535)
			ret = rnbdctl_err(-EINVAL, "port '%s': 1 to 65535", port);
		t->port = (uint16_t)v;
	}
	if (!ret && transport)
		snprintf(t->transport, sizeof(t->transport), "%s", transport);
	if (!ret && policy)
		snprintf(t->policy, sizeof(t->policy), "%s", policy);
	if (!ret && delay)
		ret = seconds(delay, &t->reconnect_delay_s);
	if (!ret && timeout)
		ret = seconds(timeout, &t->io_timeout_s);
	if (!ret)
		ret = target_finish(t);
	return ret ? failed(ret) : 0;
}

static int map_line(int argc, char **argv, void *opaque)
{
	int *failures = opaque;
	json_object *dev = NULL;
	struct target t;
	bool all;
	int ret = map_parse(argc, argv, &t, &all);

	if (ret || all) {
		(*failures)++;
		return 0;
	}
	ret = map_one(&t, &dev);
	if (ret == -EEXIST)
		return 0;
	if (ret) {
		(*failures)++;
		fprintf(stderr, "rnbdctl: %s: %s\n", t.device, rnbdctl_errmsg());
		return 0;
	}
	if (!json_out)
		printf("%s %s\n", ipc_str(dev, "device"), t.device);
	json_object_put(dev);
	return 0;
}

static int cmd_map(int argc, char **argv)
{
	json_object *dev = NULL;
	struct target t;
	bool all;
	int ret = map_parse(argc, argv, &t, &all);

	if (ret)
		return ret < 0 ? 0 : ret;
	if (all) {
		int failures = 0;

		ret = rnbdtab_foreach(map_line, &failures);
		if (ret)
			return failed(ret);
		return failures ? EXIT_FAILURE : 0;
	}
	ret = map_one(&t, &dev);
	if (ret)
		return failed(ret);
	print_mapped(dev);
	json_object_put(dev);
	return 0;
}

/* ------------------------------------------------------------------ */
/* unmap, resize, remap */

static int unmap_dev(json_object *dev, bool force)
{
	json_object *req, *rep = NULL;
	int ret;

	if (is_kernel(dev))
		return kernel_unmap(ipc_str(dev, "device"), force);
	req = json_object_new_object();
	json_object_object_add(req, "force", json_object_new_boolean(force));
	ret = dev_call(dev, "unmap", req, &rep);
	sessd_wait_exit(rep);
	json_object_put(rep);
	return ret;
}

static int cmd_unmap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "all", no_argument, NULL, 'A' },
		{ 0 },
	};
	bool force = false, all = false;
	json_object *dev;
	int c, ret, failures = 0;

	getopt_reset();
	while ((c = getopt_long(argc, argv, "fA", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'A')
			all = true;
		else
			return EXIT_USAGE;
	}
	if (all) {
		json_object *devs;

		if (optind != argc)
			return usage_error("unmap --all takes no %s", "device");
		devs = all_devices();
		for (size_t i = 0; i < json_object_array_length(devs); i++) {
			dev = json_object_array_get_idx(devs, i);
			ret = unmap_dev(dev, force);
			if (ret) {
				fprintf(stderr, "rnbdctl: %s: %s\n", ipc_str(dev, "device"),
					rnbdctl_errmsg());
				failures++;
			}
		}
		json_object_put(devs);
		return failures ? EXIT_FAILURE : 0;
	}
	if (optind + 1 != argc)
		return usage_error("unmap needs one %s", "device");
	ret = find_device(argv[optind], &dev);
	if (!ret) {
		ret = unmap_dev(dev, force);
		json_object_put(dev);
	}
	return ret ? failed(ret) : 0;
}

static int cmd_resize(int argc, char **argv)
{
	json_object *dev, *req, *rep = NULL;
	uint64_t size = 0;
	int ret;

	if (argc < 2 || argc > 3)
		return usage_error("usage: rnbdctl resize DEVICE [SIZE]%s", "");
	if (argc == 3 && (out_size_parse(argv[2], &size) || !size))
		return usage_error("size '%s': a number with K, M, G, T or s (sectors)", argv[2]);
	ret = find_device(argv[1], &dev);
	if (ret)
		return failed(ret);
	if (is_kernel(dev)) {
		ret = argc == 3 ? kernel_resize(ipc_str(dev, "device"), size) :
			rnbdctl_err(-EINVAL, "the kernel client needs the new SIZE");
	} else {
		req = json_object_new_object();
		if (argc == 3)
			ipc_add_int(req, "size", (int64_t)size);
		ret = dev_call(dev, "resize", req, &rep);
	}
	json_object_put(dev);
	if (!ret && json_out && rep)
		out_json(rep);
	json_object_put(rep);
	return ret ? failed(ret) : 0;
}

static int cmd_remap(int argc, char **argv)
{
	json_object *dev, *rep = NULL;
	int ret;

	if (argc != 2)
		return usage_error("usage: rnbdctl remap DEVICE%s", "");
	ret = find_device(argv[1], &dev);
	if (ret)
		return failed(ret);
	ret = is_kernel(dev) ? kernel_remap(ipc_str(dev, "device")) :
			       dev_call(dev, "remap", NULL, &rep);
	json_object_put(dev);
	if (!ret && json_out && rep)
		out_json(rep);
	json_object_put(rep);
	return ret ? failed(ret) : 0;
}

/* ------------------------------------------------------------------ */
/* list, show */

static int cmd_list(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "devices";
	json_object *sessions, *rows;

	if (argc > 2)
		return usage_error("usage: rnbdctl list [devices|sessions|paths]%s", "");
	sessions = all_sessions();
	if (!strcmp(what, "devices") || !strcmp(what, "sessions") || !strcmp(what, "paths")) {
		rows = what[0] == 's' ? json_object_get(sessions) : flatten(sessions, what);
	} else {
		json_object_put(sessions);
		return usage_error("list what? '%s': devices, sessions or paths", what);
	}
	if (json_out)
		out_json(rows);
	else if (what[0] == 'd')
		out_table(rows, dev_cols, NCOLS(dev_cols));
	else if (what[0] == 's')
		out_table(rows, sess_cols, NCOLS(sess_cols));
	else
		out_table(rows, path_cols, NCOLS(path_cols));
	json_object_put(rows);
	json_object_put(sessions);
	return 0;
}

static int cmd_show(int argc, char **argv)
{
	json_object *o, *a;
	int ret;

	if (argc != 2)
		return usage_error("usage: rnbdctl show DEVICE|SESSION%s", "");
	ret = find_device(argv[1], &o);
	if (ret == -ENOENT)
		ret = find_session(argv[1], &o);
	if (ret == -ENOENT)
		return failed(rnbdctl_err(-ENOENT, "no device or session %s", argv[1]));
	if (ret)
		return failed(ret);
	if (json_out) {
		out_json(o);
	} else {
		out_fields(o);
		if (json_object_object_get_ex(o, "paths", &a)) {
			puts("");
			out_table(a, path_cols, NCOLS(path_cols));
		}
		if (json_object_object_get_ex(o, "devices", &a) && json_object_array_length(a)) {
			puts("");
			out_table(a, dev_cols, NCOLS(dev_cols));
		}
	}
	json_object_put(o);
	return 0;
}

/* ------------------------------------------------------------------ */
/* path, session */

/* A daemon path by id, "src@dst" name, or destination address. */
static int daemon_path_id(json_object *sess, const char *arg, int64_t *id)
{
	json_object *paths;
	char *end;
	long v = strtol(arg, &end, 10);

	if (!json_object_object_get_ex(sess, "paths", &paths))
		return rnbdctl_err(-ENOENT, "the session has no paths");
	for (size_t i = 0; i < json_object_array_length(paths); i++) {
		json_object *p = json_object_array_get_idx(paths, i);
		const char *name = ipc_str(p, "name"), *dst = ipc_str(p, "dst");
		int64_t pid = -1;

		ipc_int(p, "id", &pid);
		if ((!*end && *arg && pid == v) || (name && !strcmp(name, arg)) ||
		    (dst && !strcmp(dst, arg))) {
			*id = pid;
			return 0;
		}
	}
	return rnbdctl_err(-ENOENT, "session %s has no path %s", ipc_str(sess, "name"), arg);
}

static int cmd_path(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	json_object *sess, *req;
	int64_t id = -1;
	int ret;

	if (argc != 4 || (strcmp(sub, "add") && strcmp(sub, "delete") && strcmp(sub, "reconnect")))
		return usage_error("usage: rnbdctl path add|delete|reconnect SESSION %s",
				   "ADDRESS|PATH");
	ret = find_session(argv[2], &sess);
	if (ret)
		return failed(ret);
	if (is_kernel(sess)) {
		if (!strcmp(sub, "add"))
			ret = kernel_path_add(argv[2], argv[3]);
		else
			ret = kernel_path_op(argv[2], argv[3],
					     !strcmp(sub, "delete") ? "remove_path" : "reconnect");
	} else {
		req = json_object_new_object();
		if (!strcmp(sub, "add")) {
			ipc_add_str(req, "command", "path-add");
			ipc_add_str(req, "path", argv[3]);
		} else {
			ret = daemon_path_id(sess, argv[3], &id);
			ipc_add_str(req, "command",
				    !strcmp(sub, "delete") ? "path-delete" : "path-reconnect");
			ipc_add_int(req, "id", id);
		}
		if (ret)
			json_object_put(req);
		else
			ret = simple_call(argv[2], req);
	}
	json_object_put(sess);
	return ret ? failed(ret) : 0;
}

static int cmd_session(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	json_object *sess, *req, *paths;
	int ret = 0;

	if (!((argc == 3 && !strcmp(sub, "reconnect")) || (argc == 4 && !strcmp(sub, "policy"))))
		return usage_error("usage: rnbdctl session reconnect SESSION | "
				   "session policy SESSION %s",
				   "round-robin|min-inflight|min-latency");
	ret = find_session(argv[2], &sess);
	if (ret)
		return failed(ret);
	if (is_kernel(sess) && !strcmp(sub, "policy")) {
		ret = kernel_set_policy(argv[2], argv[3]);
	} else if (is_kernel(sess)) {
		json_object_object_get_ex(sess, "paths", &paths);
		for (size_t i = 0; !ret && i < json_object_array_length(paths); i++)
			ret = kernel_path_op(argv[2],
					     ipc_str(json_object_array_get_idx(paths, i), "name"),
					     "reconnect");
	} else {
		req = json_object_new_object();
		ipc_add_str(req, "command", sub);
		if (argc == 4)
			ipc_add_str(req, "policy", argv[3]);
		ret = simple_call(argv[2], req);
	}
	json_object_put(sess);
	return ret ? failed(ret) : 0;
}

/* ------------------------------------------------------------------ */
/* server: rnbd-serve's control socket */

static int cmd_server(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ 0 },
	};
	static const struct column srv_sess_cols[] = {
		{ "name", "SESSION", COL_STR },		{ "protocol_version", "VERSION", COL_INT },
		{ "paths", "PATHS", COL_COUNT },	{ "devices", "DEVICES", COL_COUNT },
	};
	static const struct column srv_dev_cols[] = {
		{ "id", "ID", COL_INT },	  { "name", "NAME", COL_STR },
		{ "path", "PATH", COL_STR },	  { "mode", "MODE", COL_STR },
		{ "size", "SIZE", COL_SIZE },	  { "forced", "FORCED", COL_STR },
		{ "reads", "READS", COL_INT },	  { "writes", "WRITES", COL_INT },
	};
	static const struct column exp_cols[] = {
		{ "name", "EXPORT", COL_STR },	  { "type", "TYPE", COL_STR },
		{ "path", "PATH", COL_STR },	  { "size", "SIZE", COL_SIZE },
		{ "readonly", "RO", COL_STR },
	};
	const char *sock = SERVE_SOCK_DEFAULT, *sub;
	json_object *req, *rep = NULL, *v, *ok;
	int c, ret, nargs;

	getopt_reset();
	while ((c = getopt_long(argc, argv, "+S:", opts, NULL)) != -1) {
		if (c != 'S')
			return EXIT_USAGE;
		sock = optarg;
	}
	sub = optind < argc ? argv[optind] : "";
	nargs = argc - optind - 1;
	req = json_object_new_object();
	ipc_add_str(req, "command", sub);
	if ((!strcmp(sub, "list") || !strcmp(sub, "exports") || !strcmp(sub, "reload")) &&
	    nargs == 0) {
		/* no arguments */
	} else if ((!strcmp(sub, "show") || !strcmp(sub, "close-session")) && nargs == 1) {
		ipc_add_str(req, "session", argv[optind + 1]);
	} else if (!strcmp(sub, "force-close-device") && nargs == 2) {
		char *end;
		long id = strtol(argv[optind + 2], &end, 10);

		if (*end || id < 0) {
			json_object_put(req);
			return usage_error("device id '%s': a number", argv[optind + 2]);
		}
		ipc_add_str(req, "session", argv[optind + 1]);
		ipc_add_int(req, "id", id);
	} else {
		json_object_put(req);
		return usage_error("usage: rnbdctl server [--socket PATH] list | show SESSION | "
				   "exports | close-session SESSION | "
				   "force-close-device SESSION ID | %s", "reload");
	}
	ret = ipc_call(sock, req, SERVE_TIMEOUT_MS, &rep);
	json_object_put(req);
	if (ret)
		return failed(rnbdctl_err(ret, "rnbd-serve at %s: %s", sock, strerror(-ret)));
	if (json_object_object_get_ex(rep, "ok", &ok) && !json_object_get_boolean(ok)) {
		ret = failed(rnbdctl_err(-EIO, "rnbd-serve: %s", ipc_str(rep, "error")));
		json_object_put(rep);
		return ret;
	}
	if (!strcmp(sub, "list") && json_object_object_get_ex(rep, "sessions", &v)) {
		json_out ? out_json(v) : out_table(v, srv_sess_cols, NCOLS(srv_sess_cols));
	} else if (!strcmp(sub, "exports") && json_object_object_get_ex(rep, "exports", &v)) {
		json_out ? out_json(v) : out_table(v, exp_cols, NCOLS(exp_cols));
	} else if (!strcmp(sub, "show") && json_object_object_get_ex(rep, "session", &v)) {
		json_object *devs;

		if (json_out) {
			out_json(v);
		} else {
			out_fields(v);
			if (json_object_object_get_ex(v, "devices", &devs)) {
				puts("");
				out_table(devs, srv_dev_cols, NCOLS(srv_dev_cols));
			}
		}
	} else if (json_out) {
		out_json(rep);
	}
	json_object_put(rep);
	return 0;
}

/* ------------------------------------------------------------------ */

static int cmd_session_daemon(int argc, char **argv)
{
	getopt_reset();
	return rnbdctl_session_daemon(argc, argv);
}

static void help(void)
{
	puts("usage: rnbdctl [--json] COMMAND [ARGS]\n"
	     "\n"
	     "  map TARGET [--access-mode M] [--backend fuse|ublk|kernel]   map a device\n"
	     "      TARGET: rnbd://[SESS@]HOST[:PORT][,HOST...]/DEVICE[?transport=&policy=&access_mode=]\n"
	     "              \"sessname=S path=ip:[SRC@]DST [path=...] device_path=P [access_mode=M]\"\n"
	     "              DEVICE with --path [SRC,]HOST[:PORT] (repeatable) [--sessname S]\n"
	     "  map --all                          map every line of /etc/rnbd/rnbdtab\n"
	     "  unmap [--force] DEVICE | --all     unmap (refused while open, unless --force)\n"
	     "  list [devices|sessions|paths]      what is mapped\n"
	     "  show DEVICE|SESSION                one device or session in full\n"
	     "  resize DEVICE [SIZE]               take the server's new size (or SIZE)\n"
	     "  remap DEVICE                       open the device on the server again\n"
	     "  path add SESSION [SRC,]HOST[:PORT] | path delete|reconnect SESSION PATH\n"
	     "  session reconnect SESSION | session policy SESSION POLICY\n"
	     "  server [--socket PATH] list | show SESSION | exports | close-session SESSION |\n"
	     "         force-close-device SESSION ID | reload\n"
	     "\n"
	     "Exit status: 0 done, 1 failed, 2 bad usage.  See rnbdctl(8).");
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "map", cmd_map },	  { "unmap", cmd_unmap },     { "list", cmd_list },
	{ "show", cmd_show },	  { "resize", cmd_resize },   { "remap", cmd_remap },
	{ "path", cmd_path },	  { "session", cmd_session }, { "server", cmd_server },
	{ "session-daemon", cmd_session_daemon },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+jhV", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json_out = true; break;
		case 'h': help(); return 0;
		case 'V': printf("rnbdctl %s\n", rnbd_version()); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		help();
		return EXIT_USAGE;
	}
	for (unsigned int i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			return cmds[i].fn(argc - optind, argv + optind);
	return usage_error("unknown command '%s'", argv[optind]);
}
