// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rnbd:// URIs (client/uri.c), the one parser rnbdctl, hello-client and
 * rnbd_open_uri() share, against doc/rnbd-uri.md: a table of URIs that
 * parse, with every field checked, and a table of URIs that do not, each
 * with -EINVAL and the words its message must contain.
 */
#include <errno.h>

#include "check-main.h"

#define MAXP 4

struct good {
	const char *uri;
	const char *sessname;
	unsigned int npaths;
	const char *paths[MAXP];
	const char *device;
	const char *transport;
	const char *policy;
	enum rnbd_access_mode mode;
	uint32_t sndbuf, rcvbuf;
};

static const struct good good[] = {
	/* the defaults: no session name, tcp, the session's policy, rw */
	{ "rnbd://host/disk", "", 1, { "host" }, "disk", "tcp", "", RNBD_ACCESS_RW },
	{ "rnbd://s1@10.0.0.1:1235/disk0", "s1", 1, { "10.0.0.1:1235" }, "disk0", "tcp", "",
	  RNBD_ACCESS_RW },
	/* the device is everything after the first '/', slashes included */
	{ "rnbd://h/dir/sub/f.img", "", 1, { "h" }, "dir/sub/f.img", "tcp", "", RNBD_ACCESS_RW },
	{ "rnbd://h//dev/ram0", "", 1, { "h" }, "/dev/ram0", "tcp", "", RNBD_ACCESS_RW },
	/* '@' and ',' after the host list belong to the device */
	{ "rnbd://h/a@b,c", "", 1, { "h" }, "a@b,c", "tcp", "", RNBD_ACCESS_RW },
	/* IPv6 in brackets, with and without a port, with a zone */
	{ "rnbd://[::1]/d", "", 1, { "[::1]" }, "d", "tcp", "", RNBD_ACCESS_RW },
	{ "rnbd://s@[2001:db8::1]:1236/d", "s", 1, { "[2001:db8::1]:1236" }, "d", "tcp", "",
	  RNBD_ACCESS_RW },
	{ "rnbd://[fe80::1%eth0]:1234/d", "", 1, { "[fe80::1%eth0]:1234" }, "d", "tcp", "",
	  RNBD_ACCESS_RW },
	/* several hosts, several paths; a ',' inside brackets separates nothing */
	{ "rnbd://a:1,b:2,[::1]:3,[::2]/d", "", 4, { "a:1", "b:2", "[::1]:3", "[::2]" }, "d",
	  "tcp", "", RNBD_ACCESS_RW },
	{ "rnbd://sess@10.0.0.1,10.0.1.1/vol", "sess", 2, { "10.0.0.1", "10.0.1.1" }, "vol", "tcp",
	  "", RNBD_ACCESS_RW },
	/* host names are kept as written, for the resolver */
	{ "rnbd://storage-1.example.com:4000/d", "", 1, { "storage-1.example.com:4000" }, "d",
	  "tcp", "", RNBD_ACCESS_RW },
	/* %XX in the session name, the device and values, either case */
	{ "rnbd://my%2dsess@h/dir%2Fsub%20x%3Fy%4a", "my-sess", 1, { "h" }, "dir/sub x?yJ", "tcp",
	  "", RNBD_ACCESS_RW },
	{ "rnbd://h/d?access_mode=r%6F", "", 1, { "h" }, "d", "tcp", "", RNBD_ACCESS_RO },
	{ "rnbd://h/%25", "", 1, { "h" }, "%", "tcp", "", RNBD_ACCESS_RW },
	/* every key; policies by long and short name, stored long */
	{ "rnbd://h/d?transport=rdma&policy=rr&access_mode=ro", "", 1, { "h" }, "d", "rdma",
	  "round-robin", RNBD_ACCESS_RO },
	{ "rnbd://h/d?policy=min-latency", "", 1, { "h" }, "d", "tcp", "min-latency",
	  RNBD_ACCESS_RW },
	{ "rnbd://h/d?policy=mi&access_mode=migration", "", 1, { "h" }, "d", "tcp", "min-inflight",
	  RNBD_ACCESS_MIGRATION },
	{ "rnbd://h/d?policy=ml&transport=tcp&access_mode=rw", "", 1, { "h" }, "d", "tcp",
	  "min-latency", RNBD_ACCESS_RW },
	/* the last of a repeated key wins; an empty query and a trailing '&' are fine */
	{ "rnbd://h/d?access_mode=ro&access_mode=rw", "", 1, { "h" }, "d", "tcp", "",
	  RNBD_ACCESS_RW },
	{ "rnbd://h/d?", "", 1, { "h" }, "d", "tcp", "", RNBD_ACCESS_RW },
	{ "rnbd://h/d?access_mode=ro&", "", 1, { "h" }, "d", "tcp", "", RNBD_ACCESS_RO },
	/* socket buffers: bytes or K, M, G (either case), up to 1G */
	{ "rnbd://h/d?sndbuf=4M&rcvbuf=65536", "", 1, { "h" }, "d", "tcp", "", RNBD_ACCESS_RW,
	  4u << 20, 65536 },
	{ "rnbd://h/d?rcvbuf=2k&sndbuf=1g", "", 1, { "h" }, "d", "tcp", "", RNBD_ACCESS_RW,
	  1u << 30, 2048 },
};

START_TEST(good_uris)
{
	const struct good *g = &good[_i];
	struct rnbd_uri u;

	memset(&u, 0xa5, sizeof(u));
	ck_assert_msg(rnbd_uri_parse(g->uri, &u) == 0, "%s: %s", g->uri, rnbd_errmsg());
	ck_assert_str_eq(u.sessname, g->sessname);
	ck_assert_uint_eq(u.npaths, g->npaths);
	for (unsigned int i = 0; i < g->npaths; i++)
		ck_assert_str_eq(u.paths[i], g->paths[i]);
	ck_assert_str_eq(u.device, g->device);
	ck_assert_str_eq(u.transport, g->transport);
	ck_assert_str_eq(u.policy, g->policy);
	ck_assert_int_eq(u.access_mode, g->mode);
	ck_assert_uint_eq(u.sndbuf, g->sndbuf);
	ck_assert_uint_eq(u.rcvbuf, g->rcvbuf);
}
END_TEST

struct bad {
	const char *uri;
	const char *msg;
};

static const struct bad bad[] = {
	/* the scheme, exactly */
	{ "", "does not start with rnbd://" },
	{ "nbd://h/d", "does not start with rnbd://" },
	{ "RNBD://h/d", "does not start with rnbd://" },
	{ "rnbd:/h/d", "does not start with rnbd://" },
	/* a device is required */
	{ "rnbd://h", "names no device (rnbd://HOST/DEVICE)" },
	{ "rnbd://s@h:1234", "names no device" },
	{ "rnbd://h/", "names no device after the host list" },
	{ "rnbd://h/?access_mode=ro", "names no device after the host list" },
	/* hosts */
	{ "rnbd:///d", "empty host in the host list" },
	{ "rnbd://s@/d", "empty host in the host list" },
	{ "rnbd://a,,b/d", "empty host in the host list" },
	{ "rnbd://a,/d", "empty host in the host list" },
	{ "rnbd://,a/d", "empty host in the host list" },
	{ "rnbd://[::1/d", "unmatched '[' in host '[::1'" },
	{ "rnbd://[::1,h/d", "unmatched '['" },
	{ "rnbd://::1]/d", "unmatched ']' in host '::1]'" },
	{ "rnbd://h]:1/d", "unmatched ']'" },
	{ "rnbd://[::1]1234/d", "junk after ']' in host" },
	{ "rnbd://::1/d", "IPv6 address '::1' needs brackets" },
	{ "rnbd://fe80::1:1234/d", "needs brackets" },
	/* ports */
	{ "rnbd://h:/d", "empty port in host 'h:'" },
	{ "rnbd://[::1]:/d", "empty port" },
	{ "rnbd://h:12a/d", "bad port in host 'h:12a'" },
	{ "rnbd://h:-1/d", "bad port" },
	{ "rnbd://[::1]:x/d", "bad port" },
	{ "rnbd://a:1,b:http/d", "bad port in host 'b:http'" },
	/* the session name */
	{ "rnbd://@h/d", "empty session name before '@'" },
	{ "rnbd://a.b@h/d", "session name 'a.b' contains '/' or '.'" },
	{ "rnbd://a%2Fb@h/d", "session name 'a/b' contains '/' or '.'" },
	{ "rnbd://a%2eb@h/d", "contains '/' or '.'" },
	/* escapes */
	{ "rnbd://h/a%2", "bad %-escape in the device path" },
	{ "rnbd://h/a%", "bad %-escape in the device path" },
	{ "rnbd://h/a%zz", "bad %-escape in the device path" },
	{ "rnbd://h/a%g1", "bad %-escape" },
	{ "rnbd://s%4@h/d", "bad %-escape in the session name" },
	{ "rnbd://h/d?access_mode=%7", "bad %-escape in the query value" },
	{ "rnbd://h/a%00b", "%00 in the device path" },
	{ "rnbd://s%00@h/d", "%00 in the session name" },
	{ "rnbd://h/d?policy=rr%00", "%00 in the query value" },
	/* the query */
	{ "rnbd://h/d?foo=bar", "unknown query key in 'foo=bar'" },
	{ "rnbd://h/d?transports=tcp", "unknown query key" },
	{ "rnbd://h/d?Transport=tcp", "unknown query key" },
	{ "rnbd://h/d?sessname=x", "unknown query key" },
	{ "rnbd://h/d?transport", "query 'transport' is not KEY=VALUE" },
	{ "rnbd://h/d?access_mode=ro&&policy=rr", "query '' is not KEY=VALUE" },
	{ "rnbd://h/d?transport=udp", "transport 'udp': tcp or rdma" },
	{ "rnbd://h/d?transport=", "transport '': tcp or rdma" },
	{ "rnbd://h/d?transport=TCP", "transport 'TCP'" },
	{ "rnbd://h/d?policy=fastest", "policy 'fastest': round-robin, min-inflight or min-latency" },
	{ "rnbd://h/d?policy=RR", "policy 'RR'" },
	{ "rnbd://h/d?access_mode=wo", "access_mode 'wo': ro, rw or migration" },
	{ "rnbd://h/d?access_mode=RO", "access_mode 'RO'" },
	{ "rnbd://h/d?sndbuf=2G", "sndbuf '2G': bytes, or with a K, M or G suffix, up to 1G" },
	{ "rnbd://h/d?rcvbuf=1073741825", "rcvbuf '1073741825'" },
	{ "rnbd://h/d?rcvbuf=4X", "rcvbuf '4X'" },
	{ "rnbd://h/d?sndbuf=-1", "sndbuf '-1'" },
	{ "rnbd://h/d?sndbuf=1KB", "sndbuf '1KB'" },
	{ "rnbd://h/d?rcvbuf=", "rcvbuf ''" },
	{ "rnbd://h/d?sndbuf=99999999999999999999", "sndbuf '99999999999999999999'" },
};

START_TEST(bad_uris)
{
	const struct bad *b = &bad[_i];
	struct rnbd_uri u, before;

	memset(&u, 0x5a, sizeof(u));
	memcpy(&before, &u, sizeof(u));
	ck_assert_msg(rnbd_uri_parse(b->uri, &u) == -EINVAL, "'%s' parsed", b->uri);
	ck_assert_msg(strstr(rnbd_errmsg(), b->msg), "'%s': message '%s' lacks '%s'", b->uri,
		      rnbd_errmsg(), b->msg);
	/* a failed parse leaves the caller's struct alone */
	ck_assert(!memcmp(&u, &before, sizeof(u)));
}
END_TEST

/* A string of n copies of c. */
static char *rep(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

START_TEST(host_count)
{
	char uri[256] = "rnbd://h0", piece[8];
	struct rnbd_uri u;

	for (int i = 1; i < RNBD_URI_MAX_PATHS; i++) {
		snprintf(piece, sizeof(piece), ",h%d", i);
		strcat(uri, piece);
	}
	strcat(uri, "/d");
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), 0);
	ck_assert_uint_eq(u.npaths, RNBD_URI_MAX_PATHS);
	ck_assert_str_eq(u.paths[0], "h0");
	ck_assert_str_eq(u.paths[RNBD_URI_MAX_PATHS - 1], "h15");
	/* one more is one too many */
	snprintf(uri + strlen(uri) - 2, sizeof(uri) - strlen(uri) + 2, ",h%d/d",
		 RNBD_URI_MAX_PATHS);
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), -EINVAL);
	ck_assert_errmsg_has("more than 16 hosts");
}
END_TEST

/* Each piece at its longest, and one byte longer. */
START_TEST(lengths)
{
	char uri[2048], a[1024];
	struct rnbd_uri u;

	/* session name: 255 bytes fit in sessname[256] */
	snprintf(uri, sizeof(uri), "rnbd://%s@h/d", rep(a, 's', 255));
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), 0);
	ck_assert_uint_eq(strlen(u.sessname), 255);
	snprintf(uri, sizeof(uri), "rnbd://%s@h/d", rep(a, 's', 256));
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), -EINVAL);
	ck_assert_errmsg_has("the session name is too long");
	/* an escape counts as the one byte it decodes to */
	a[0] = '\0';
	for (int i = 0; i < 255; i++)
		strcat(a, "%41");
	snprintf(uri, sizeof(uri), "rnbd://%s@h/d", a);
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), 0);
	ck_assert_uint_eq(strlen(u.sessname), 255);

	/* device: 254 bytes, the kernel's limit, in device[255] */
	snprintf(uri, sizeof(uri), "rnbd://h/%s", rep(a, 'd', 254));
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), 0);
	ck_assert_uint_eq(strlen(u.device), 254);
	snprintf(uri, sizeof(uri), "rnbd://h/%s", rep(a, 'd', 255));
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), -EINVAL);
	ck_assert_errmsg_has("the device path is too long");

	/* host: 299 bytes, port included, in paths[][300] */
	snprintf(uri, sizeof(uri), "rnbd://%s/d", rep(a, 'h', 299));
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), 0);
	ck_assert_uint_eq(strlen(u.paths[0]), 299);
	snprintf(uri, sizeof(uri), "rnbd://%s/d", rep(a, 'h', 300));
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), -EINVAL);
	ck_assert_errmsg_has("is too long");
	ck_assert_errmsg_has("host 'hhhh");

	/* query values: 63 bytes, then "too long" before the key is looked at */
	snprintf(uri, sizeof(uri), "rnbd://h/d?policy=%s", rep(a, 'p', 63));
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), -EINVAL);
	ck_assert_errmsg_has("policy 'ppp");
	snprintf(uri, sizeof(uri), "rnbd://h/d?policy=%s", rep(a, 'p', 64));
	ck_assert_int_eq(rnbd_uri_parse(uri, &u), -EINVAL);
	ck_assert_errmsg_has("the query value is too long");
}
END_TEST

static Suite *uri_suite(void)
{
	Suite *s = suite_create("uri");
	TCase *tc = tcase_create("uri");

	tcase_add_loop_test(tc, good_uris, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, bad_uris, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, host_count);
	tcase_add_test(tc, lengths);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(uri_suite)
