// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnbdctl.h"
#include "target.h"

#define DEFAULT_PORT 1234

void target_init(struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->mode = RNBD_ACCESS_RW;
}

static int parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;

	if (!n || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (!v || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* One address: "ip:" dropped, "[v6]:port", "v4:port", bare v6, "gid:..". */
static int parse_addr(const char *s, size_t n, char *host, size_t len, uint16_t *port,
		      const char *whole)
{
	const char *colon;

	if (n >= 3 && !strncmp(s, "ip:", 3)) {
		s += 3;
		n -= 3;
	}
	if (!n)
		return rnbdctl_err(-EINVAL, "path '%s': empty address", whole);
	if (n >= 4 && !strncmp(s, "gid:", 4)) {
		/* an RDMA GID, for the kernel only: no port in it */
	} else if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close)
			return rnbdctl_err(-EINVAL, "path '%s': unmatched '['", whole);
		if (close + 1 < s + n) {
			if (close[1] != ':' ||
			    parse_port(close + 2, (size_t)(s + n - close - 2), port))
				return rnbdctl_err(-EINVAL, "path '%s': bad port", whole);
		}
		n = (size_t)(close - s - 1);
		s++;
	} else if ((colon = memchr(s, ':', n)) && !memchr(colon + 1, ':', s + n - colon - 1)) {
		if (parse_port(colon + 1, (size_t)(s + n - colon - 1), port))
			return rnbdctl_err(-EINVAL, "path '%s': bad port", whole);
		n = (size_t)(colon - s);
	}
	if (!n || n >= len)
		return rnbdctl_err(-EINVAL, "path '%s': bad address", whole);
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)s[i]) || s[i] == ',' || s[i] == '@')
			return rnbdctl_err(-EINVAL, "path '%s': bad address", whole);
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

static int add_path(struct target *t, const char *spec, uint16_t port)
{
	struct target_path p = { .port = port };
	const char *sep = strchr(spec, ',');
	uint16_t src_port = 0;
	int ret;

	if (!sep)
		sep = strchr(spec, '@');
	if (t->npaths == TARGET_MAX_PATHS)
		return rnbdctl_err(-EINVAL, "more than %d paths", TARGET_MAX_PATHS);
	if (sep) {
		ret = parse_addr(spec, (size_t)(sep - spec), p.src, sizeof(p.src), &src_port, spec);
		if (ret)
			return ret;
		if (src_port)
			return rnbdctl_err(-EINVAL, "path '%s': a source has no port", spec);
		spec = sep + 1;
	}
	ret = parse_addr(spec, strlen(spec), p.dst, sizeof(p.dst), &p.port, spec);
	if (ret)
		return ret;
	t->paths[t->npaths++] = p;
	return 0;
}

int target_add_path(struct target *t, const char *spec)
{
	return add_path(t, spec, 0);
}

int target_from_uri(struct target *t, const char *uri)
{
	struct rnbd_uri u;
	int ret = rnbd_uri_parse(uri, &u);

	if (ret)
		return rnbdctl_err(ret, "%s", rnbd_errmsg());
	if (u.npaths > TARGET_MAX_PATHS)
		return rnbdctl_err(-EINVAL, "more than %d hosts in the URI", TARGET_MAX_PATHS);
	for (unsigned int i = 0; i < u.npaths; i++) {
		ret = add_path(t, u.paths[i], 0);
		if (ret)
			return ret;
	}
	snprintf(t->sessname, sizeof(t->sessname), "%s", u.sessname);
	snprintf(t->device, sizeof(t->device), "%s", u.device);
	snprintf(t->transport, sizeof(t->transport), "%s", u.transport);
	snprintf(t->policy, sizeof(t->policy), "%s", u.policy);
	t->mode = u.access_mode;
	return 0;
}

static int copy_value(char *dst, size_t len, const char *v, const char *key)
{
	if (!*v)
		return rnbdctl_err(-EINVAL, "%s= needs a value", key);
	if (strlen(v) >= len)
		return rnbdctl_err(-EINVAL, "%s= is longer than %zu bytes", key, len - 1);
	strcpy(dst, v);
	return 0;
}

/* The kernel's map_device grammar (kernel-sysfs.md section 2). */
int target_from_kernel_opts(struct target *t, const char *opts)
{
	char *copy = strdup(opts), *save = NULL, *tok;
	uint16_t port = 0;
	int ret = 0;

	if (!copy)
		return rnbdctl_err(-ENOMEM, "out of memory");
	for (tok = strtok_r(copy, " \t\n", &save); tok && !ret;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		char *v = strchr(tok, '=');

		if (!v) {
			ret = rnbdctl_err(-EINVAL, "'%s' is not key=value", tok);
			break;
		}
		*v++ = '\0';
		if (!strcmp(tok, "sessname")) {
			ret = copy_value(t->sessname, sizeof(t->sessname), v, tok);
		} else if (!strcmp(tok, "path")) {
			ret = *v ? add_path(t, v, port) : rnbdctl_err(-EINVAL, "path= needs a value");
		} else if (!strcmp(tok, "dest_port")) {
			/* like the kernel: applies to the path= tokens after it */
			if (parse_port(v, strlen(v), &port))
				ret = rnbdctl_err(-EINVAL, "dest_port=%s: 1 to 65535", v);
			else if (!t->npaths)
				t->port = port;
		} else if (!strcmp(tok, "device_path")) {
			ret = copy_value(t->device, sizeof(t->device), v, tok);
		} else if (!strcmp(tok, "access_mode")) {
			if (rnbdctl_mode_parse(v, &t->mode))
				ret = rnbdctl_err(-EINVAL, "access_mode=%s: ro, rw or migration", v);
		} else if (!strcmp(tok, "nr_poll_queues")) {
			char *end;
			long n = strtol(v, &end, 10);

			if (!*v || *end || n < -1 || n > 4096)
				ret = rnbdctl_err(-EINVAL, "nr_poll_queues=%s: -1 or a CPU count", v);
			t->nr_poll_queues = (int)n;
		} else {
			ret = rnbdctl_err(-EINVAL, "unknown option '%s'", tok);
		}
	}
	free(copy);
	if (!ret && !t->sessname[0])
		ret = rnbdctl_err(-EINVAL, "the option string has no sessname=");
	if (!ret && !t->device[0])
		ret = rnbdctl_err(-EINVAL, "the option string has no device_path=");
	return ret;
}

int target_backend_parse(const char *s, enum target_backend *out)
{
	static const char *const names[] = { "auto", "fuse", "ublk", "kernel" };

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum target_backend)i;
			return 0;
		}
	}
	return rnbdctl_err(-EINVAL, "backend '%s': fuse, ublk or kernel", s);
}

const char *target_backend_str(enum target_backend b)
{
	static const char *const names[] = { "auto", "fuse", "ublk", "kernel" };

	return names[b];
}

/* RTRS names: no '/' or '.', and short enough for the kernel's 255 bytes. */
static int check_sessname(const char *s)
{
	if (!*s)
		return rnbdctl_err(-EINVAL, "empty session name");
	for (const char *c = s; *c; c++)
		if (*c == '/' || *c == '.' || isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
			return rnbdctl_err(-EINVAL, "session name '%s': no '/', '.' or spaces", s);
	if (strlen(s) > 254)
		return rnbdctl_err(-EINVAL, "session name longer than 254 bytes");
	return 0;
}

/* "<hostname>-<first server>[-<port>]", each odd character a '-'. */
static void default_sessname(struct target *t)
{
	char host[65] = "localhost";
	const struct target_path *p = &t->paths[0];
	uint16_t port = p->port ? p->port : t->port;
	char *c;

	gethostname(host, sizeof(host) - 1);
	if (port && port != DEFAULT_PORT)
		snprintf(t->sessname, sizeof(t->sessname), "%s-%s-%u", host, p->dst, port);
	else
		snprintf(t->sessname, sizeof(t->sessname), "%s-%s", host, p->dst);
	for (c = t->sessname; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			*c = '-';
}

int target_finish(struct target *t)
{
	if (!t->device[0])
		return rnbdctl_err(-EINVAL, "no device path to map");
	if (strlen(t->device) > 254)
		return rnbdctl_err(-EINVAL, "device path longer than 254 bytes");
	for (const char *c = t->device; *c; c++)
		if (isspace((unsigned char)*c))
			return rnbdctl_err(-EINVAL, "device path '%s' has a space", t->device);
	if (t->backend != BACKEND_KERNEL) {
		for (unsigned int i = 0; i < t->npaths; i++)
			if (!strncmp(t->paths[i].dst, "gid:", 4) ||
			    !strncmp(t->paths[i].src, "gid:", 4))
				return rnbdctl_err(-EPROTONOSUPPORT,
						   "gid: addresses need --backend kernel");
		if (t->nr_poll_queues)
			return rnbdctl_err(-EINVAL, "nr_poll_queues needs --backend kernel");
	} else if (t->reconnect_delay_s || t->io_timeout_s) {
		return rnbdctl_err(-EINVAL, "the kernel client's timeouts are fixed");
	}
	if (!t->sessname[0]) {
		if (!t->npaths)
			return rnbdctl_err(-EINVAL, "no session name and no server to connect to");
		default_sessname(t);
	}
	return check_sessname(t->sessname);
}

static void host_fmt(const char *h, uint16_t port, char *buf, size_t len)
{
	bool v6 = strchr(h, ':') && strncmp(h, "gid:", 4);

	if (port)
		snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", h, port);
	else
		snprintf(buf, len, v6 ? "[%s]" : "%s", h);
}

void target_path_lib(const struct target_path *p, char *buf, size_t len)
{
	char dst[160];

	host_fmt(p->dst, p->port, dst, sizeof(dst));
	if (p->src[0])
		snprintf(buf, len, "%s,%s", p->src, dst);
	else
		snprintf(buf, len, "%s", dst);
}

static const char *kaddr(const char *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", strncmp(a, "gid:", 4) ? "ip:" : "", a);
	return buf;
}

int target_kernel_line(const struct target *t, char *buf, size_t len)
{
	size_t n = 0;
	int w;

#define ADD(...)                                                                       \
	do {                                                                           \
		w = snprintf(buf + n, len - n, __VA_ARGS__);                          \
		if (w < 0 || (size_t)w >= len - n)                                     \
			return rnbdctl_err(-ENAMETOOLONG, "map_device line too long"); \
		n += (size_t)w;                                                        \
	} while (0)

	ADD("sessname=%s", t->sessname);
	for (unsigned int i = 0; i < t->npaths; i++) {
		const struct target_path *p = &t->paths[i];
		char a[160], b[160];

		/* the kernel reads dest_port when it meets a path= */
		ADD(" dest_port=%u", p->port ? p->port : t->port ? t->port : DEFAULT_PORT);
		if (p->src[0])
			ADD(" path=%s@%s", kaddr(p->src, a, sizeof(a)), kaddr(p->dst, b, sizeof(b)));
		else
			ADD(" path=%s", kaddr(p->dst, b, sizeof(b)));
	}
	ADD(" device_path=%s access_mode=%s", t->device, rnbdctl_mode_str(t->mode));
	if (t->nr_poll_queues)
		ADD(" nr_poll_queues=%d", t->nr_poll_queues);
#undef ADD
	return 0;
}
