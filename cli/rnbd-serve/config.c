// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading rnbd-serve.conf: every setting is checked, unknown ones included,
 * and every error names the file and line, so that a mistake never starts a
 * half-configured server.
 */
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
};

static int fail(struct ctx *x, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(x->err, x->errlen, "%s:%d: ", x->file,
			 s ? (int)config_setting_source_line(s) : 0);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < x->errlen)
		vsnprintf(x->err + n, x->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int serve_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno)
		return -EINVAL;
	if (*end) {
		const char *u = strchr(units, *end);

		if (!u || !*u || (end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B")))
			return -EINVAL;
		shift = 10 * (unsigned int)(u - units + 1);
	}
	if (shift && v > (~0ull >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

#define NAME_LEN 80

/* What to call s in a message: its name, or "listen[1]" for an element. */
static const char *name_of(const config_setting_t *s, char buf[NAME_LEN])
{
	const config_setting_t *parent = config_setting_parent(s);

	if (config_setting_name(s))
		return config_setting_name(s);
	snprintf(buf, NAME_LEN, "%s[%d]",
		 parent && config_setting_name(parent) ? config_setting_name(parent) : "setting",
		 config_setting_index(s));
	return buf;
}

/* A size: an integer, or a string with a K/M/G/T suffix. */
static int get_size(struct ctx *x, const config_setting_t *s, uint64_t *out)
{
	char name[NAME_LEN];

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (config_setting_get_int64(s) < 0)
			return fail(x, s, "%s must not be negative", name_of(s, name));
		*out = (uint64_t)config_setting_get_int64(s);
		return 0;
	case CONFIG_TYPE_STRING:
		if (serve_parse_size(config_setting_get_string(s), out))
			return fail(x, s, "%s: '%s' is not a size (like 4096, 64K, 1G)",
				    name_of(s, name), config_setting_get_string(s));
		return 0;
	}
	return fail(x, s, "%s must be a number or a size string", name_of(s, name));
}

static int get_uint(struct ctx *x, const config_setting_t *s, unsigned int max,
		    unsigned int *out)
{
	uint64_t v;
	int ret = get_size(x, s, &v);

	if (ret)
		return ret;
	if (v > max) {
		char name[NAME_LEN];

		return fail(x, s, "%s %llu is larger than %u", name_of(s, name),
			    (unsigned long long)v, max);
	}
	*out = (unsigned int)v;
	return 0;
}

static int get_string(struct ctx *x, const config_setting_t *s, char **out)
{
	const char *v = config_setting_get_string(s);
	char name[NAME_LEN];

	if (!v)
		return fail(x, s, "%s must be a string", name_of(s, name));
	free(*out);
	*out = strdup(v);
	return *out ? 0 : fail(x, s, "out of memory");
}

static int get_bool(struct ctx *x, const config_setting_t *s, bool *out)
{
	char name[NAME_LEN];

	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(x, s, "%s must be true or false", name_of(s, name));
	*out = config_setting_get_bool(s);
	return 0;
}

static int mode_parse(const char *v, int *out)
{
	static const char *const names[] = { "ro", "rw", "migration" };

	if (!strcmp(v, "none")) {
		*out = -1;
		return 0;
	}
	for (int i = 0; i < 3; i++) {
		if (!strcmp(v, names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * Whether name is in the form the server matches OPEN names in (leading '/'
 * dropped, "//" merged, "." and ".." refused): an export in another form
 * could never be opened.
 */
static bool name_is_normal(const char *name)
{
	if (name[0] == '/' || strstr(name, "//") || strstr(name, ".."))
		return false;
	for (const char *c = name; c; c = strchr(c, '/')) {
		c += *c == '/';
		if (c[0] == '.' && (c[1] == '/' || !c[1]))
			return false;
	}
	return true;
}

/* What the server would refuse in a memory export's size, or NULL. */
static const char *memory_size_error(uint64_t size)
{
	if (!size)
		return "must not be 0";
	if (size % 4096)
		return "must be a multiple of 4096";
	if (size > SERVE_MEMORY_MAX)
		return "must be at most 1 TiB";
	return NULL;
}

static int parse_export(struct ctx *x, const config_setting_t *g, struct rnbd_export_conf *e)
{
	char *type = NULL, *name = NULL, *path = NULL, *engine = NULL;
	const config_setting_t *size_s = NULL;
	int ret = 0;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(x, g, "each export must be a group { ... }");
	for (int i = 0; !ret && i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *k = config_setting_name(s);

		if (!strcmp(k, "name"))
			ret = get_string(x, s, &name);
		else if (!strcmp(k, "type"))
			ret = get_string(x, s, &type);
		else if (!strcmp(k, "path"))
			ret = get_string(x, s, &path);
		else if (!strcmp(k, "size"))
			ret = get_size(x, s, &e->size), size_s = s;
		else if (!strcmp(k, "readonly"))
			ret = get_bool(x, s, &e->readonly);
		else if (!strcmp(k, "io_engine"))
			ret = get_string(x, s, &engine);
		else
			ret = fail(x, s, "unknown export setting '%s'", k);
	}
	if (!ret && !name)
		ret = fail(x, g, "export without a name");
	if (!ret && (!name[0] || strlen(name) > SERVE_NAME_MAX))
		ret = fail(x, g, "export name of %zu bytes: 1 to %d", strlen(name),
			   SERVE_NAME_MAX);
	if (!ret && !name_is_normal(name))
		ret = fail(x, g, "export %s: a name has no leading '/', no \"//\", and no "
			   "\".\" or \"..\": OPEN names are matched without them", name);
	if (!ret && (!type || (strcmp(type, "memory") && strcmp(type, "file") &&
			       strcmp(type, "blockdev"))))
		ret = fail(x, g, "export %s: type must be \"memory\", \"file\" or \"blockdev\"", name);
	if (!ret && !strcmp(type, "memory") && (path || !size_s))
		ret = fail(x, g, "export %s: a memory export has a size and no path", name);
	if (!ret && !strcmp(type, "memory") && memory_size_error(e->size))
		ret = fail(x, size_s, "export %s: size %llu %s", name,
			   (unsigned long long)e->size, memory_size_error(e->size));
	if (!ret && strcmp(type, "memory") && (!path || size_s))
		ret = fail(x, g, "export %s: a %s export has a path and no size", name, type);
	if (!ret && engine && strcmp(engine, "uring") && strcmp(engine, "sync"))
		ret = fail(x, g, "export %s: io_engine must be \"uring\" or \"sync\"", name);
	if (!ret) {
		e->name = name;
		e->path = path;
		e->type = !strcmp(type, "memory") ? RNBD_EXPORT_MEMORY :
			  !strcmp(type, "file") ? RNBD_EXPORT_FILE : RNBD_EXPORT_BLOCKDEV;
		e->sync_io = engine && !strcmp(engine, "sync");
		name = path = NULL;
	}
	free(name);
	free(path);
	free(type);
	free(engine);
	return ret;
}

static int parse_rule(struct ctx *x, const config_setting_t *g, struct rnbd_rule_conf *r)
{
	char *sessions = NULL, *devices = NULL, *mode = NULL;
	int ret = 0;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(x, g, "each rule must be a group { ... }");
	for (int i = 0; !ret && i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *k = config_setting_name(s);

		if (!strcmp(k, "sessions"))
			ret = get_string(x, s, &sessions);
		else if (!strcmp(k, "devices"))
			ret = get_string(x, s, &devices);
		else if (!strcmp(k, "mode"))
			ret = get_string(x, s, &mode);
		else
			ret = fail(x, s, "unknown rule setting '%s'", k);
	}
	if (!ret && (!sessions || !devices || !mode))
		ret = fail(x, g, "a rule needs sessions, devices and mode");
	if (!ret && mode_parse(mode, &r->max_mode))
		ret = fail(x, g, "rule mode '%s': none, ro, rw or migration", mode);
	if (!ret) {
		r->sessions = sessions;
		r->devices = devices;
		sessions = devices = NULL;
	}
	free(sessions);
	free(devices);
	free(mode);
	return ret;
}

static int parse_list(struct ctx *x, const config_setting_t *s, const char *what)
{
	if (config_setting_type(s) != CONFIG_TYPE_LIST && config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return fail(x, s, "%s must be a list ( ... )", what);
	return 0;
}

static int parse_root(struct ctx *x, const config_setting_t *root, struct serve_config *c)
{
	int ret = 0;

	for (int i = 0; !ret && i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, i);
		const char *k = config_setting_name(s);
		int n = config_setting_length(s);

		if (!strcmp(k, "listen")) {
			if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
			    config_setting_type(s) != CONFIG_TYPE_LIST)
				return fail(x, s, "listen must be a list of addresses [ \"...\" ]");
			if (n > SERVE_MAX_LISTEN)
				return fail(x, s, "at most %d listen addresses", SERVE_MAX_LISTEN);
			for (int j = 0; !ret && j < n; j++) {
				ret = get_string(x, config_setting_get_elem(s, j), &c->listen[j]);
				c->nlisten = (unsigned int)j + 1;
			}
		} else if (!strcmp(k, "port")) {
			ret = get_uint(x, s, 65535, &c->port);
		} else if (!strcmp(k, "transport")) {
			char why[128];

			ret = get_string(x, s, &c->transport);
			if (!ret && serve_transport_check(c->transport, why, sizeof(why)))
				ret = fail(x, s, "%s", why);
		} else if (!strcmp(k, "workers")) {
			ret = get_uint(x, s, SERVE_MAX_WORKERS, &c->workers);
		} else if (!strcmp(k, "queue_depth")) {
			ret = get_uint(x, s, 65535, &c->queue_depth);
		} else if (!strcmp(k, "max_io_size")) {
			ret = get_uint(x, s, 16u << 20, &c->max_io_size);
			if (!ret && c->max_io_size && c->max_io_size < 4096)
				ret = fail(x, s, "max_io_size %u is smaller than 4096 (0: the default)",
					   c->max_io_size);
		} else if (!strcmp(k, "heartbeat_ms")) {
			ret = get_uint(x, s, 3600000, &c->heartbeat_ms);
		} else if (!strcmp(k, "max_sessions")) {
			ret = get_uint(x, s, 1u << 20, &c->max_sessions);
		} else if (!strcmp(k, "max_paths")) {
			ret = get_uint(x, s, 128, &c->max_paths);
		} else if (!strcmp(k, "max_devices")) {
			ret = get_uint(x, s, 1u << 20, &c->max_devices);
		} else if (!strcmp(k, "sndbuf")) {
			ret = get_uint(x, s, 1u << 30, &c->sndbuf);
		} else if (!strcmp(k, "rcvbuf")) {
			ret = get_uint(x, s, 1u << 30, &c->rcvbuf);
		} else if (!strcmp(k, "control_socket")) {
			ret = get_string(x, s, &c->control_socket);
		} else if (!strcmp(k, "dev_search_path")) {
			ret = get_string(x, s, &c->dev_search_path);
			if (!ret && !c->dev_search_path[0]) {
				free(c->dev_search_path);
				c->dev_search_path = NULL;
			}
		} else if (!strcmp(k, "exports")) {
			ret = parse_list(x, s, "exports");
			c->exports = !ret && n ? calloc(n, sizeof(*c->exports)) : NULL;
			for (int j = 0; !ret && j < n; j++) {
				ret = parse_export(x, config_setting_get_elem(s, j), &c->exports[j]);
				c->nexports += !ret;
			}
			for (unsigned int a = 0; !ret && a < c->nexports; a++)
				for (unsigned int b = 0; !ret && b < a; b++)
					if (!strcmp(c->exports[a].name, c->exports[b].name))
						ret = fail(x, config_setting_get_elem(s, (int)a),
							   "export %s is defined twice",
							   c->exports[a].name);
		} else if (!strcmp(k, "rules")) {
			ret = parse_list(x, s, "rules");
			c->rules = !ret && n ? calloc(n, sizeof(*c->rules)) : NULL;
			for (int j = 0; !ret && j < n; j++) {
				ret = parse_rule(x, config_setting_get_elem(s, j), &c->rules[j]);
				c->nrules += !ret;
			}
		} else {
			ret = fail(x, s, "unknown setting '%s'", k);
		}
	}
	return ret;
}

static void defaults(struct serve_config *c)
{
	memset(c, 0, sizeof(*c));
	c->port = RTRS_PORT;
	c->control_socket = strdup(SERVE_DEFAULT_SOCKET);
}

int serve_config_load(const char *path, bool required, uint64_t memory_size,
		      struct serve_config *out, char *err, size_t errlen)
{
	struct ctx x = { .file = path, .err = err, .errlen = errlen };
	struct serve_config c;
	config_t cfg;
	FILE *f;
	int ret;

	defaults(&c);
	f = fopen(path, "r");
	if (!f && (required || errno != ENOENT)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		serve_config_free(&c);
		return ret;
	}
	if (!f) {
		/* no configuration: a useful demo that exposes nothing of this host */
		c.exports = calloc(1, sizeof(*c.exports));
		if (!c.exports) {
			serve_config_free(&c);
			return -ENOMEM;
		}
		c.exports[0] = (struct rnbd_export_conf){
			.name = strdup(SERVE_DEFAULT_MEMORY_NAME),
			.type = RNBD_EXPORT_MEMORY,
			.size = memory_size,
		};
		c.nexports = 1;
		*out = c;
		return 0;
	}
	config_init(&cfg);
	if (!config_read(&cfg, f)) {
		snprintf(err, errlen, "%s:%d: %s", path, config_error_line(&cfg),
			 config_error_text(&cfg));
		ret = -EINVAL;
	} else {
		c.dev_search_path = strdup("/");
		ret = parse_root(&x, config_root_setting(&cfg), &c);
	}
	config_destroy(&cfg);
	fclose(f);
	if (ret) {
		serve_config_free(&c);
		return ret;
	}
	*out = c;
	return 0;
}

void serve_config_free(struct serve_config *c)
{
	for (unsigned int i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	for (unsigned int i = 0; i < c->nexports; i++) {
		free((char *)c->exports[i].name);
		free((char *)c->exports[i].path);
	}
	for (unsigned int i = 0; i < c->nrules; i++) {
		free((char *)c->rules[i].sessions);
		free((char *)c->rules[i].devices);
	}
	free(c->exports);
	free(c->rules);
	free(c->transport);
	free(c->control_socket);
	free(c->dev_search_path);
	memset(c, 0, sizeof(*c));
}

void serve_config_srv_conf(const struct serve_config *c, struct rnbd_srv_conf *out)
{
	*out = (struct rnbd_srv_conf){
		.dev_search_path = c->dev_search_path,
		.exports = c->exports,
		.nexports = c->nexports,
		.rules = c->rules,
		.nrules = c->nrules,
	};
}

/* What only a restart applies, besides listen, in the order of rnbd-serve.conf(5). */
static const struct {
	const char *name;
	size_t off;
	const char *dflt;	/* a string: what NULL stands for; NULL: an unsigned int */
} restart_settings[] = {
	{ "port", offsetof(struct serve_config, port), NULL },
	{ "transport", offsetof(struct serve_config, transport), "tcp" },
	{ "workers", offsetof(struct serve_config, workers), NULL },
	{ "queue_depth", offsetof(struct serve_config, queue_depth), NULL },
	{ "max_io_size", offsetof(struct serve_config, max_io_size), NULL },
	{ "heartbeat_ms", offsetof(struct serve_config, heartbeat_ms), NULL },
	{ "max_sessions", offsetof(struct serve_config, max_sessions), NULL },
	{ "max_paths", offsetof(struct serve_config, max_paths), NULL },
	{ "max_devices", offsetof(struct serve_config, max_devices), NULL },
	{ "sndbuf", offsetof(struct serve_config, sndbuf), NULL },
	{ "rcvbuf", offsetof(struct serve_config, rcvbuf), NULL },
	{ "control_socket", offsetof(struct serve_config, control_socket), "" },
};
#define NRESTART (sizeof(restart_settings) / sizeof(restart_settings[0]))

static unsigned int *uint_at(const struct serve_config *c, size_t i)
{
	return (unsigned int *)((char *)c + restart_settings[i].off);
}

static char **str_at(const struct serve_config *c, size_t i)
{
	return (char **)((char *)c + restart_settings[i].off);
}

static bool same(const struct serve_config *a, const struct serve_config *b, size_t i)
{
	const char *dflt = restart_settings[i].dflt;
	const char *sa, *sb;

	if (!dflt)
		return *uint_at(a, i) == *uint_at(b, i);
	sa = *str_at(a, i);
	sb = *str_at(b, i);
	return !strcmp(sa ? sa : dflt, sb ? sb : dflt);
}

static void add_name(char *buf, size_t len, const char *name)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", name);
}

void serve_config_restart_diff(const struct serve_config *run, const struct serve_config *c,
			       char *buf, size_t len)
{
	bool listen = run->nlisten != c->nlisten;

	buf[0] = '\0';
	for (unsigned int i = 0; !listen && i < c->nlisten; i++)
		listen = strcmp(run->listen[i], c->listen[i]);
	if (listen)
		add_name(buf, len, "listen");
	for (size_t i = 0; i < NRESTART; i++)
		if (!same(run, c, i))
			add_name(buf, len, restart_settings[i].name);
}

void serve_config_keep_restart(struct serve_config *c, struct serve_config *run)
{
	for (unsigned int i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	memcpy(c->listen, run->listen, sizeof(c->listen));
	c->nlisten = run->nlisten;
	run->nlisten = 0;
	for (size_t i = 0; i < NRESTART; i++) {
		if (!restart_settings[i].dflt) {
			*uint_at(c, i) = *uint_at(run, i);
			continue;
		}
		free(*str_at(c, i));
		*str_at(c, i) = *str_at(run, i);
		*str_at(run, i) = NULL;
	}
}

int serve_transport_check(const char *name, char *err, size_t len)
{
	if (!strcmp(name, "tcp"))
		return 0;
	if (!strcmp(name, "rdma")) {
#ifdef RNBD_HAVE_RDMA
		return 0;
#else
		snprintf(err, len, "transport \"rdma\" is not available: this rnbd-serve was built "
			 "without RDMA");
		return -EINVAL;
#endif
	}
	snprintf(err, len, "transport \"%s\": \"tcp\" or \"rdma\"", name);
	return -EINVAL;
}
