// SPDX-License-Identifier: LGPL-2.1-or-later
/* rnbd:// URIs: the one parser every front-end uses. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "rnbd/rnbd.h"
#include "rtrs/rtrs.h"
#include "util/err.h"
#include "util/opts.h"

#define SCHEME "rnbd://"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode %XX escapes of [s, s+n) into out (NUL-terminated). */
static int decode(const char *s, size_t n, char *out, size_t len, const char *what)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(s[i + 2]) : -1;

			if (lo < 0)
				return rnbd_err_set(-EINVAL, "bad %%-escape in the %s", what);
			c = (char)(hi << 4 | lo);
			if (!c)
				return rnbd_err_set(-EINVAL, "%%00 in the %s", what);
			i += 2;
		}
		if (k + 1 >= len)
			return rnbd_err_set(-EINVAL, "the %s is too long", what);
		out[k++] = c;
	}
	out[k] = '\0';
	return 0;
}

static int parse_host(const char *s, size_t n, char *out, size_t len)
{
	const char *port;

	if (!n)
		return rnbd_err_set(-EINVAL, "empty host in the host list");
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close)
			return rnbd_err_set(-EINVAL, "unmatched '[' in host '%.*s'", (int)n, s);
		port = close + 1 < s + n ? close + 1 : NULL;
		if (port && *port != ':')
			return rnbd_err_set(-EINVAL, "junk after ']' in host '%.*s'", (int)n, s);
	} else {
		if (memchr(s, ']', n))
			return rnbd_err_set(-EINVAL, "unmatched ']' in host '%.*s'", (int)n, s);
		port = memchr(s, ':', n);
		if (port && memchr(port + 1, ':', s + n - port - 1))
			return rnbd_err_set(-EINVAL, "IPv6 address '%.*s' needs brackets", (int)n, s);
	}
	if (port) {
		if (port + 1 == s + n)
			return rnbd_err_set(-EINVAL, "empty port in host '%.*s'", (int)n, s);
		for (const char *c = port + 1; c < s + n; c++)
			if (!isdigit((unsigned char)*c))
				return rnbd_err_set(-EINVAL, "bad port in host '%.*s'", (int)n, s);
	}
	if (n >= len)
		return rnbd_err_set(-EINVAL, "host '%.*s' is too long", (int)n, s);
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* A socket buffer size: digits and an optional K, M or G, at most 1 GiB;
 * -EINVAL otherwise, as for every bad URI. */
static int parse_bufsize(const char *val, uint32_t *out)
{
	static const char units[] = "KMG";
	unsigned long long v;
	const char *u;
	char *end;

	if (!isdigit((unsigned char)val[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(val, &end, 10);
	u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
	if (errno || (*end && (!u || end[1])))
		return -EINVAL;
	for (const char *k = units; u && k <= u && v <= 1u << 30; k++)
		v <<= 10;
	if (v > 1u << 30)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_query(const char *q, struct rnbd_uri *u)
{
	while (*q) {
		const char *amp = strchr(q, '&'), *eq = strchr(q, '=');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		char val[64];
		int ret;

		if (!eq || eq > q + n)
			return rnbd_err_set(-EINVAL, "query '%.*s' is not KEY=VALUE", (int)n, q);
		ret = decode(eq + 1, q + n - eq - 1, val, sizeof(val), "query value");
		if (ret)
			return ret;
		if (!strncmp(q, "transport=", 10)) {
			if (strcmp(val, "tcp") && strcmp(val, "rdma"))
				return rnbd_err_set(-EINVAL, "transport '%s': tcp or rdma", val);
			strcpy(u->transport, val);	/* "tcp" or "rdma" */
		} else if (!strncmp(q, "policy=", 7)) {
			enum rtrs_mp_policy p;

			if (rtrs_mp_policy_parse(val, &p))
				return rnbd_err_set(-EINVAL, "policy '%s': round-robin, min-inflight or min-latency",
						    val);
			strcpy(u->policy, rtrs_mp_policy_str(p));
		} else if (!strncmp(q, "access_mode=", 12)) {
			if (!strcmp(val, "ro"))
				u->access_mode = RNBD_ACCESS_RO;
			else if (!strcmp(val, "rw"))
				u->access_mode = RNBD_ACCESS_RW;
			else if (!strcmp(val, "migration"))
				u->access_mode = RNBD_ACCESS_MIGRATION;
			else
				return rnbd_err_set(-EINVAL, "access_mode '%s': ro, rw or migration",
						    val);
		} else if (!strncmp(q, "sndbuf=", 7) || !strncmp(q, "rcvbuf=", 7)) {
			ret = parse_bufsize(val, q[0] == 's' ? &u->sndbuf : &u->rcvbuf);
			if (ret)
				return rnbd_err_set(ret, "%.6s '%s': bytes, or with a K, M or G suffix, up to 1G",
						    q, val);
		} else {
			return rnbd_err_set(-EINVAL, "unknown query key in '%.*s'", (int)n, q);
		}
		q += n + (amp ? 1 : 0);
	}
	return 0;
}

int rnbd_uri_parse(const char *uri, struct rnbd_uri *out)
{
	struct rnbd_uri u = { .transport = "tcp", .access_mode = RNBD_ACCESS_RW };
	const char *p, *at, *slash, *query, *h;
	int ret;

	if (strncmp(uri, SCHEME, strlen(SCHEME)))
		return rnbd_err_set(-EINVAL, "'%s' does not start with " SCHEME, uri);
	p = uri + strlen(SCHEME);
	slash = strchr(p, '/');
	if (!slash)
		return rnbd_err_set(-EINVAL, "'%s' names no device (rnbd://HOST/DEVICE)", uri);
	at = memchr(p, '@', slash - p);
	if (at) {
		ret = decode(p, at - p, u.sessname, sizeof(u.sessname), "session name");
		if (!ret && !u.sessname[0])
			ret = rnbd_err_set(-EINVAL, "empty session name before '@'");
		if (!ret && strpbrk(u.sessname, "/."))
			ret = rnbd_err_set(-EINVAL, "session name '%s' contains '/' or '.'",
					   u.sessname);
		if (ret)
			return ret;
		p = at + 1;
	}
	for (h = p; h <= slash;) {
		const char *end = h;

		/* a comma inside brackets is not a separator */
		while (end < slash && *end != ',') {
			if (*end == '[')
				end = memchr(end, ']', slash - end) ?: slash;
			if (end < slash)
				end++;
		}
		if (u.npaths == RNBD_URI_MAX_PATHS)
			return rnbd_err_set(-EINVAL, "more than %d hosts", RNBD_URI_MAX_PATHS);
		ret = parse_host(h, end - h, u.paths[u.npaths], sizeof(u.paths[0]));
		if (ret)
			return ret;
		u.npaths++;
		h = end + 1;
	}
	query = strchr(slash, '?');
	ret = decode(slash + 1, query ? (size_t)(query - slash - 1) : strlen(slash + 1), u.device,
		     sizeof(u.device), "device path");
	if (!ret && !u.device[0])
		ret = rnbd_err_set(-EINVAL, "'%s' names no device after the host list", uri);
	if (!ret && query)
		ret = parse_query(query + 1, &u);
	if (ret)
		return ret;
	*out = u;
	return 0;
}

int rnbd_open_uri(const char *uri, const struct rnbd_sess_opts *opts, struct rnbd_sess **sess,
		  struct rnbd_dev **dev)
{
	struct rnbd_sess_opts o = { .size = sizeof(o) };
	const char *paths[RNBD_URI_MAX_PATHS];
	struct rnbd_uri u;
	int ret;

	ret = rnbd_uri_parse(uri, &u);
	if (ret)
		return ret;
	if (opts) {
		ret = rnbd_opts_take(&o, sizeof(o), opts, opts->size,
				     offsetof(struct rnbd_sess_opts, sndbuf), "rnbd_sess_opts");
		if (ret)
			return ret;
		o.size = sizeof(o);
	}
	for (unsigned int i = 0; i < u.npaths; i++)
		paths[i] = u.paths[i];
	o.paths = paths;
	o.npaths = u.npaths;
	o.sessname = u.sessname[0] ? u.sessname : o.sessname;
	o.transport = u.transport;
	o.policy = u.policy[0] ? u.policy : o.policy;
	o.sndbuf = u.sndbuf ? u.sndbuf : o.sndbuf;
	o.rcvbuf = u.rcvbuf ? u.rcvbuf : o.rcvbuf;
	ret = rnbd_sess_open(sess, &o);
	if (ret)
		return ret;
	ret = rnbd_dev_open(*sess, u.device, u.access_mode, dev);
	if (ret) {
		char why[512];

		snprintf(why, sizeof(why), "%s", rnbd_errmsg());
		rnbd_sess_close(*sess);
		*sess = NULL;
		return rnbd_err_set(ret, "%s", why);
	}
	return 0;
}
