// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What `rnbdctl map` maps (cli/rnbdctl/target.c): the kernel's map_device
 * option string with its ordering rules (doc: kernel-sysfs section 2),
 * --path arguments, rnbd:// URIs as rnbdctl narrows them, the checks made
 * before anything is started, the session name made up when none is given,
 * and the map_device line written back for the kernel backend.
 */
#include <errno.h>
#include <unistd.h>

#include "../unit/check-main.h"
#include "rnbdctl.h"
#include "target.h"

/* rnbdctl keeps its own message, apart from librnbd's. */
#define ck_assert_ctlmsg_has(needle)                                                     \
	ck_assert_msg(strstr(rnbdctl_errmsg(), (needle)), "message '%s' lacks '%s'",       \
		      rnbdctl_errmsg(), (needle))

static void opts_ok(struct target *t, const char *opts)
{
	target_init(t);
	ck_assert_msg(target_from_kernel_opts(t, opts) == 0, "'%s': %s", opts, rnbdctl_errmsg());
}

static void opts_fail(const char *opts, int err, const char *msg)
{
	struct target t;

	target_init(&t);
	ck_assert_msg(target_from_kernel_opts(&t, opts) == err, "'%s' did not fail with %d", opts,
		      err);
	ck_assert_ctlmsg_has(msg);
}

static void line_is(const struct target *t, const char *want)
{
	char line[4096];

	ck_assert_int_eq(target_kernel_line(t, line, sizeof(line)), 0);
	ck_assert_str_eq(line, want);
}

static void path_is(const struct target_path *p, const char *src, const char *dst,
		    uint16_t port)
{
	ck_assert_str_eq(p->src, src);
	ck_assert_str_eq(p->dst, dst);
	ck_assert_uint_eq(p->port, port);
}

/* ------------------------------------------------------------------ */
/* The kernel's option string */

START_TEST(kopts_minimal)
{
	struct target t;

	opts_ok(&t, "sessname=s1 path=ip:10.0.0.1 device_path=/dev/ram0");
	ck_assert_str_eq(t.sessname, "s1");
	ck_assert_uint_eq(t.npaths, 1);
	path_is(&t.paths[0], "", "10.0.0.1", 0);
	ck_assert_uint_eq(t.port, 0);
	ck_assert_str_eq(t.device, "/dev/ram0");
	ck_assert_int_eq(t.mode, RNBD_ACCESS_RW);
	ck_assert_int_eq(t.nr_poll_queues, 0);
	ck_assert_int_eq(t.backend, BACKEND_AUTO);
	line_is(&t, "sessname=s1 dest_port=1234 path=ip:10.0.0.1 device_path=/dev/ram0 "
		    "access_mode=rw");

	/* tokens in any order, blanks of any kind and length around them */
	opts_ok(&t, "  device_path=x\taccess_mode=ro  \n path=ip:10.0.0.1 sessname=s2 \n");
	ck_assert_str_eq(t.sessname, "s2");
	ck_assert_str_eq(t.device, "x");
	ck_assert_int_eq(t.mode, RNBD_ACCESS_RO);
	opts_ok(&t, "sessname=s device_path=x access_mode=migration");
	ck_assert_int_eq(t.mode, RNBD_ACCESS_MIGRATION);
	/* no path=: for a session that exists already */
	ck_assert_uint_eq(t.npaths, 0);
	line_is(&t, "sessname=s device_path=x access_mode=migration");
	/* a later sessname= or device_path= wins */
	opts_ok(&t, "sessname=a sessname=b device_path=x device_path=y");
	ck_assert_str_eq(t.sessname, "b");
	ck_assert_str_eq(t.device, "y");
}
END_TEST

/* dest_port applies to the path= tokens after it, and to those only. */
START_TEST(kopts_dest_port_order)
{
	struct target t;

	opts_ok(&t, "sessname=s dest_port=1235 path=ip:10.0.0.1 path=ip:10.0.0.2 "
		    "dest_port=1236 path=ip:10.0.0.3 dest_port=1237 device_path=x");
	ck_assert_uint_eq(t.port, 1235);
	ck_assert_uint_eq(t.npaths, 3);
	path_is(&t.paths[0], "", "10.0.0.1", 1235);
	path_is(&t.paths[1], "", "10.0.0.2", 1235);
	path_is(&t.paths[2], "", "10.0.0.3", 1236);
	line_is(&t, "sessname=s dest_port=1235 path=ip:10.0.0.1 dest_port=1235 path=ip:10.0.0.2 "
		    "dest_port=1236 path=ip:10.0.0.3 device_path=x access_mode=rw");

	/* after a path, dest_port leaves it (and the session's port) alone */
	opts_ok(&t, "sessname=s path=ip:10.0.0.1 dest_port=1235 path=ip:10.0.0.2 device_path=x");
	ck_assert_uint_eq(t.port, 0);
	path_is(&t.paths[0], "", "10.0.0.1", 0);
	path_is(&t.paths[1], "", "10.0.0.2", 1235);
	line_is(&t, "sessname=s dest_port=1234 path=ip:10.0.0.1 dest_port=1235 path=ip:10.0.0.2 "
		    "device_path=x access_mode=rw");

	opts_ok(&t, "sessname=s path=ip:10.0.0.1 device_path=x dest_port=1235");
	path_is(&t.paths[0], "", "10.0.0.1", 0);
	ck_assert_uint_eq(t.port, 0);

	/* without a path, it is the session's port */
	opts_ok(&t, "dest_port=4000 sessname=s device_path=x");
	ck_assert_uint_eq(t.port, 4000);
	opts_ok(&t, "sessname=s dest_port=65535 path=ip:10.0.0.1 device_path=x");
	path_is(&t.paths[0], "", "10.0.0.1", 65535);
	opts_ok(&t, "sessname=s dest_port=1 path=ip:10.0.0.1 device_path=x");
	path_is(&t.paths[0], "", "10.0.0.1", 1);

	opts_fail("sessname=s dest_port=0 path=ip:a device_path=x", -EINVAL,
		  "dest_port=0: 1 to 65535");
	opts_fail("sessname=s dest_port=65536 device_path=x", -EINVAL, "dest_port=65536");
	opts_fail("sessname=s dest_port=12a device_path=x", -EINVAL, "dest_port=12a");
	opts_fail("sessname=s dest_port= device_path=x", -EINVAL, "dest_port=: 1 to 65535");
	opts_fail("sessname=s dest_port=-1 device_path=x", -EINVAL, "dest_port=-1");
}
END_TEST

/* [src@|src,]dst, ',' looked for first, as the kernel does. */
START_TEST(kopts_src_dst)
{
	struct target t;

	opts_ok(&t, "sessname=s path=ip:10.0.0.2@ip:10.0.0.1 device_path=x");
	path_is(&t.paths[0], "10.0.0.2", "10.0.0.1", 0);
	line_is(&t, "sessname=s dest_port=1234 path=ip:10.0.0.2@ip:10.0.0.1 device_path=x "
		    "access_mode=rw");
	opts_ok(&t, "sessname=s path=ip:10.0.0.2,ip:10.0.0.1 device_path=x");
	path_is(&t.paths[0], "10.0.0.2", "10.0.0.1", 0);
	line_is(&t, "sessname=s dest_port=1234 path=ip:10.0.0.2@ip:10.0.0.1 device_path=x "
		    "access_mode=rw");
	/* "ip:" is optional for us, and written for the kernel */
	opts_ok(&t, "sessname=s path=10.0.0.2,10.0.0.1 device_path=x");
	path_is(&t.paths[0], "10.0.0.2", "10.0.0.1", 0);
	/* ',' first: "a@b" is then the source, which is no address */
	opts_fail("sessname=s path=ip:10.0.0.3@ip:10.0.0.2,ip:10.0.0.1 device_path=x", -EINVAL,
		  "path 'ip:10.0.0.3@ip:10.0.0.2,ip:10.0.0.1'");
	opts_fail("sessname=s path=10.0.0.3@10.0.0.2,10.0.0.1 device_path=x", -EINVAL,
		  "bad address");
	opts_fail("sessname=s path=ip:10.0.0.2@ device_path=x", -EINVAL, "empty address");
	opts_fail("sessname=s path=@ip:10.0.0.1 device_path=x", -EINVAL, "empty address");
	opts_fail("sessname=s path=ip: device_path=x", -EINVAL, "empty address");
	opts_fail("sessname=s path=ip:10.0.0.2:99@ip:10.0.0.1 device_path=x", -EINVAL,
		  "a source has no port");
}
END_TEST

START_TEST(kopts_ipv6)
{
	struct target t;

	opts_ok(&t, "sessname=s path=ip:fe80::1%eth0 device_path=x");
	path_is(&t.paths[0], "", "fe80::1%eth0", 0);
	line_is(&t, "sessname=s dest_port=1234 path=ip:fe80::1%eth0 device_path=x access_mode=rw");
	opts_ok(&t, "sessname=s dest_port=1235 path=ip:2001:db8::2@ip:2001:db8::1 device_path=x");
	path_is(&t.paths[0], "2001:db8::2", "2001:db8::1", 1235);
	line_is(&t, "sessname=s dest_port=1235 path=ip:2001:db8::2@ip:2001:db8::1 device_path=x "
		    "access_mode=rw");
	opts_ok(&t, "sessname=s path=ip:::1 device_path=x");
	path_is(&t.paths[0], "", "::1", 0);
	/* brackets are ours, not the kernel's: dropped on the way */
	opts_ok(&t, "sessname=s path=ip:[::1] device_path=x");
	path_is(&t.paths[0], "", "::1", 0);
	line_is(&t, "sessname=s dest_port=1234 path=ip:::1 device_path=x access_mode=rw");
	opts_fail("sessname=s path=ip:[::1 device_path=x", -EINVAL, "unmatched '['");
}
END_TEST

/* gid: addresses are RDMA GIDs, which only the kernel client can use. */
START_TEST(kopts_gid)
{
	static const char gid1[] = "gid:fe80:0000:0000:0000:0002:c903:0010:c0f5";
	static const char gid2[] = "gid:fe80:0000:0000:0000:0002:c903:0010:c0f6";
	char opts[512], want[512];
	struct target t;

	snprintf(opts, sizeof(opts), "sessname=s path=%s device_path=x", gid1);
	opts_ok(&t, opts);
	path_is(&t.paths[0], "", gid1, 0);
	ck_assert_int_eq(target_finish(&t), -EPROTONOSUPPORT);
	ck_assert_ctlmsg_has("gid: addresses need --backend kernel");
	t.backend = BACKEND_FUSE;
	ck_assert_int_eq(target_finish(&t), -EPROTONOSUPPORT);
	t.backend = BACKEND_KERNEL;
	ck_assert_int_eq(target_finish(&t), 0);
	snprintf(want, sizeof(want),
		 "sessname=s dest_port=1234 path=%s device_path=x access_mode=rw", gid1);
	line_is(&t, want);

	/* as a source too, with '@' and ',' */
	snprintf(opts, sizeof(opts), "sessname=s path=%s@%s device_path=x", gid2, gid1);
	opts_ok(&t, opts);
	path_is(&t.paths[0], gid2, gid1, 0);
	t.backend = BACKEND_FUSE;
	ck_assert_int_eq(target_finish(&t), -EPROTONOSUPPORT);
	t.backend = BACKEND_KERNEL;
	ck_assert_int_eq(target_finish(&t), 0);
	snprintf(want, sizeof(want),
		 "sessname=s dest_port=1234 path=%s@%s device_path=x access_mode=rw", gid2, gid1);
	line_is(&t, want);
	snprintf(opts, sizeof(opts), "sessname=s path=%s,%s device_path=x", gid2, gid1);
	opts_ok(&t, opts);
	path_is(&t.paths[0], gid2, gid1, 0);
	/* a GID source for an IP destination is the user's business */
	snprintf(opts, sizeof(opts), "sessname=s path=%s@ip:10.0.0.1 device_path=x", gid2);
	opts_ok(&t, opts);
	t.backend = BACKEND_UBLK;
	ck_assert_int_eq(target_finish(&t), -EPROTONOSUPPORT);
}
END_TEST

START_TEST(kopts_bad_tokens)
{
	opts_fail("sessname=s path=ip:10.0.0.1 device_path=x foo=bar", -EINVAL,
		  "unknown option 'foo'");
	opts_fail("Sessname=s path=ip:10.0.0.1 device_path=x", -EINVAL,
		  "unknown option 'Sessname'");
	opts_fail("sessname=s port=1235 device_path=x", -EINVAL, "unknown option 'port'");
	opts_fail("sessname=s bogus device_path=x", -EINVAL, "'bogus' is not key=value");
	opts_fail("sessname=s device_path=x ro", -EINVAL, "'ro' is not key=value");
	opts_fail("sessname= path=ip:10.0.0.1 device_path=x", -EINVAL, "sessname= needs a value");
	opts_fail("sessname=s device_path=", -EINVAL, "device_path= needs a value");
	opts_fail("sessname=s path= device_path=x", -EINVAL, "path= needs a value");
	opts_fail("sessname=s device_path=x access_mode=rx", -EINVAL,
		  "access_mode=rx: ro, rw or migration");
	opts_fail("sessname=s device_path=x access_mode=RW", -EINVAL, "access_mode=RW");
	opts_fail("sessname=s device_path=x access_mode=", -EINVAL, "access_mode=");
	opts_fail("sessname=s device_path=x nr_poll_queues=-2", -EINVAL,
		  "nr_poll_queues=-2: -1 or a CPU count");
	opts_fail("sessname=s device_path=x nr_poll_queues=two", -EINVAL, "nr_poll_queues=two");
	opts_fail("sessname=s device_path=x nr_poll_queues=", -EINVAL, "nr_poll_queues=");
	/* nothing after the first error is looked at */
	opts_fail("foo=1 sessname", -EINVAL, "unknown option 'foo'");
}
END_TEST

START_TEST(kopts_missing)
{
	opts_fail("", -EINVAL, "the option string has no sessname=");
	opts_fail("   \t ", -EINVAL, "no sessname=");
	opts_fail("path=ip:10.0.0.1 device_path=x", -EINVAL, "the option string has no sessname=");
	opts_fail("sessname=s path=ip:10.0.0.1", -EINVAL, "the option string has no device_path=");
	opts_fail("dest_port=1235 path=ip:10.0.0.1", -EINVAL, "no sessname=");
}
END_TEST

START_TEST(kopts_six_paths)
{
	char opts[512] = "sessname=s";
	struct target t;

	for (int i = 1; i <= TARGET_MAX_PATHS; i++) {
		char tok[32];

		snprintf(tok, sizeof(tok), " path=ip:10.0.0.%d", i);
		strcat(opts, tok);
	}
	strcat(opts, " device_path=x");
	opts_ok(&t, opts);
	ck_assert_uint_eq(t.npaths, 6);
	path_is(&t.paths[5], "", "10.0.0.6", 0);
	/* a seventh is refused (the kernel says -ENOMEM) */
	strcat(opts, " path=ip:10.0.0.7");
	opts_fail(opts, -EINVAL, "more than 6 paths");
}
END_TEST

START_TEST(kopts_nr_poll_queues)
{
	struct target t;

	opts_ok(&t, "sessname=s path=ip:10.0.0.1 device_path=x nr_poll_queues=4");
	ck_assert_int_eq(t.nr_poll_queues, 4);
	ck_assert_int_eq(target_finish(&t), -EINVAL);
	ck_assert_ctlmsg_has("nr_poll_queues needs --backend kernel");
	t.backend = BACKEND_KERNEL;
	ck_assert_int_eq(target_finish(&t), 0);
	line_is(&t, "sessname=s dest_port=1234 path=ip:10.0.0.1 device_path=x access_mode=rw "
		    "nr_poll_queues=4");
	opts_ok(&t, "sessname=s path=ip:10.0.0.1 device_path=x nr_poll_queues=-1");
	ck_assert_int_eq(t.nr_poll_queues, -1);
	line_is(&t, "sessname=s dest_port=1234 path=ip:10.0.0.1 device_path=x access_mode=rw "
		    "nr_poll_queues=-1");
	/* 0 is the default, and not written */
	opts_ok(&t, "sessname=s path=ip:10.0.0.1 device_path=x nr_poll_queues=0");
	ck_assert_int_eq(t.nr_poll_queues, 0);
	ck_assert_int_eq(target_finish(&t), 0);
}
END_TEST

START_TEST(kopts_lengths)
{
	char opts[1024], name[300];
	struct target t;

	memset(name, 'a', 255);
	name[255] = '\0';
	snprintf(opts, sizeof(opts), "sessname=%s device_path=x", name);
	/* 255 bytes fit the field, but the kernel would cut them to 254 */
	opts_ok(&t, opts);
	t.backend = BACKEND_KERNEL;
	ck_assert_int_eq(target_finish(&t), -EINVAL);
	ck_assert_ctlmsg_has("session name longer than 254 bytes");
	name[254] = '\0';
	snprintf(opts, sizeof(opts), "sessname=%s device_path=x", name);
	opts_ok(&t, opts);
	t.backend = BACKEND_KERNEL;
	ck_assert_int_eq(target_finish(&t), 0);
	memset(name, 'a', 256);
	name[256] = '\0';
	snprintf(opts, sizeof(opts), "sessname=%s device_path=x", name);
	opts_fail(opts, -EINVAL, "sessname= is longer than 255 bytes");

	memset(name, 'd', 255);
	name[255] = '\0';
	snprintf(opts, sizeof(opts), "sessname=s device_path=%s", name);
	opts_fail(opts, -EINVAL, "device_path= is longer than 254 bytes");
	name[254] = '\0';
	snprintf(opts, sizeof(opts), "sessname=s device_path=%s", name);
	opts_ok(&t, opts);
	ck_assert_uint_eq(strlen(t.device), 254);
}
END_TEST

/* ------------------------------------------------------------------ */
/* --path */

struct path_case {
	const char *spec;
	const char *src, *dst;
	uint16_t port;
	const char *lib;	/* as target_path_lib() gives it to librnbd */
};

static const struct path_case good_paths[] = {
	{ "10.0.0.1", "", "10.0.0.1", 0, "10.0.0.1" },
	{ "10.0.0.1:1235", "", "10.0.0.1", 1235, "10.0.0.1:1235" },
	{ "ip:10.0.0.1:1235", "", "10.0.0.1", 1235, "10.0.0.1:1235" },
	{ "[::1]", "", "::1", 0, "[::1]" },
	{ "[::1]:1235", "", "::1", 1235, "[::1]:1235" },
	{ "ip:[2001:db8::1]:65535", "", "2001:db8::1", 65535, "[2001:db8::1]:65535" },
	{ "fe80::1", "", "fe80::1", 0, "[fe80::1]" },
	{ "fe80::1%eth0", "", "fe80::1%eth0", 0, "[fe80::1%eth0]" },
	{ "10.0.0.2,10.0.0.1:1235", "10.0.0.2", "10.0.0.1", 1235, "10.0.0.2,10.0.0.1:1235" },
	{ "10.0.0.2@10.0.0.1", "10.0.0.2", "10.0.0.1", 0, "10.0.0.2,10.0.0.1" },
	{ "ip:10.0.0.2,ip:10.0.0.1", "10.0.0.2", "10.0.0.1", 0, "10.0.0.2,10.0.0.1" },
	{ "[fe80::2],[fe80::1]:1236", "fe80::2", "fe80::1", 1236, "fe80::2,[fe80::1]:1236" },
	{ "storage-1.example.com:4000", "", "storage-1.example.com", 4000,
	  "storage-1.example.com:4000" },
	{ "localhost", "", "localhost", 0, "localhost" },
};

START_TEST(path_good)
{
	const struct path_case *c = &good_paths[_i];
	struct target t;
	char lib[300];

	target_init(&t);
	ck_assert_msg(target_add_path(&t, c->spec) == 0, "%s: %s", c->spec, rnbdctl_errmsg());
	ck_assert_uint_eq(t.npaths, 1);
	path_is(&t.paths[0], c->src, c->dst, c->port);
	target_path_lib(&t.paths[0], lib, sizeof(lib));
	ck_assert_str_eq(lib, c->lib);
}
END_TEST

static const struct {
	const char *spec, *msg;
} bad_paths[] = {
	{ "", "path '': empty address" },
	{ "ip:", "empty address" },
	{ ",10.0.0.1", "empty address" },
	{ "10.0.0.1,", "empty address" },
	{ "10.0.0.1@", "empty address" },
	{ "10.0.0.2:5,10.0.0.1", "path '10.0.0.2:5,10.0.0.1': a source has no port" },
	{ "[::2]:5@[::1]", "a source has no port" },
	{ "[::1", "path '[::1': unmatched '['" },
	{ "[::1]x", "bad port" },
	{ "[::1]:", "bad port" },
	{ "h:", "path 'h:': bad port" },
	{ "h:0", "bad port" },
	{ "h:65536", "bad port" },
	{ "h:123456", "bad port" },
	{ "h:12x", "bad port" },
	{ "h:-1", "bad port" },
	{ "[]", "bad address" },
	{ "a b", "bad address" },
	{ "10.0.0.3,10.0.0.2@10.0.0.1", "bad address" },
};

START_TEST(path_bad)
{
	struct target t;

	target_init(&t);
	ck_assert_msg(target_add_path(&t, bad_paths[_i].spec) == -EINVAL, "'%s' accepted",
		      bad_paths[_i].spec);
	ck_assert_ctlmsg_has(bad_paths[_i].msg);
	ck_assert_uint_eq(t.npaths, 0);
}
END_TEST

START_TEST(path_limits)
{
	char spec[300];
	struct target t;

	target_init(&t);
	for (int i = 0; i < TARGET_MAX_PATHS; i++) {
		snprintf(spec, sizeof(spec), "10.0.0.%d", i + 1);
		ck_assert_int_eq(target_add_path(&t, spec), 0);
	}
	ck_assert_int_eq(target_add_path(&t, "10.0.0.7"), -EINVAL);
	ck_assert_ctlmsg_has("more than 6 paths");
	ck_assert_uint_eq(t.npaths, 6);

	/* an address of 127 bytes fits, one of 128 does not */
	target_init(&t);
	memset(spec, 'h', 127);
	spec[127] = '\0';
	ck_assert_int_eq(target_add_path(&t, spec), 0);
	ck_assert_uint_eq(strlen(t.paths[0].dst), 127);
	memset(spec, 'h', 128);
	spec[128] = '\0';
	ck_assert_int_eq(target_add_path(&t, spec), -EINVAL);
	ck_assert_ctlmsg_has("bad address");
}
END_TEST

/* ------------------------------------------------------------------ */
/* rnbd:// URIs, as rnbdctl takes them */

START_TEST(uri_target)
{
	struct target t;

	target_init(&t);
	ck_assert_int_eq(target_from_uri(&t, "rnbd://s@10.0.0.1:1235,[::1]/dir/d"
					     "?access_mode=ro&policy=rr&transport=tcp"),
			 0);
	ck_assert_str_eq(t.sessname, "s");
	ck_assert_uint_eq(t.npaths, 2);
	path_is(&t.paths[0], "", "10.0.0.1", 1235);
	path_is(&t.paths[1], "", "::1", 0);
	ck_assert_str_eq(t.device, "dir/d");
	ck_assert_int_eq(t.mode, RNBD_ACCESS_RO);
	ck_assert_str_eq(t.policy, "round-robin");
	ck_assert_str_eq(t.transport, "tcp");
	t.backend = BACKEND_KERNEL;
	ck_assert_int_eq(target_finish(&t), 0);
	line_is(&t, "sessname=s dest_port=1235 path=ip:10.0.0.1 dest_port=1234 path=ip:::1 "
		    "device_path=dir/d access_mode=ro");

	/* the library's errors, with its message */
	target_init(&t);
	ck_assert_int_eq(target_from_uri(&t, "rnbd://h"), -EINVAL);
	ck_assert_ctlmsg_has("names no device");
	/* what the URI grammar allows and the kernel's limits do not */
	target_init(&t);
	ck_assert_int_eq(target_from_uri(&t, "rnbd://a,b,c,d,e,f,g/x"), -EINVAL);
	ck_assert_ctlmsg_has("more than 6 hosts in the URI");
	target_init(&t);
	ck_assert_int_eq(target_from_uri(&t, "rnbd://h:99999/x"), -EINVAL);
	ck_assert_ctlmsg_has("bad port");
	target_init(&t);
	ck_assert_int_eq(target_from_uri(&t, "rnbd://a,b,c,d,e,f/x"), 0);
	ck_assert_uint_eq(t.npaths, 6);
}
END_TEST

/* ------------------------------------------------------------------ */
/* target_finish: checks, and the default session name */

/* What default_sessname makes of this host's name and the rest. */
static void expect_name(char *buf, size_t len, const char *rest)
{
	char host[65] = "localhost";

	gethostname(host, sizeof(host) - 1);
	snprintf(buf, len, "%s-%s", host, rest);
	for (char *c = buf; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			*c = '-';
}

static void default_name_is(const char *spec, uint16_t port, const char *rest)
{
	char want[300];
	struct target t;

	target_init(&t);
	snprintf(t.device, sizeof(t.device), "d");
	t.port = port;
	ck_assert_int_eq(target_add_path(&t, spec), 0);
	ck_assert_msg(target_finish(&t) == 0, "%s: %s", spec, rnbdctl_errmsg());
	expect_name(want, sizeof(want), rest);
	ck_assert_str_eq(t.sessname, want);
	ck_assert_ptr_null(strchr(t.sessname, '.'));
	ck_assert_ptr_null(strchr(t.sessname, '/'));
	ck_assert_ptr_null(strchr(t.sessname, ':'));
}

START_TEST(default_sessname)
{
	default_name_is("10.0.0.1", 0, "10-0-0-1");
	/* the default port is not named, another one is */
	default_name_is("10.0.0.1:1234", 0, "10-0-0-1");
	default_name_is("10.0.0.1:1235", 0, "10-0-0-1-1235");
	default_name_is("10.0.0.1", 1236, "10-0-0-1-1236");
	/* the path's own port before the session's */
	default_name_is("10.0.0.1:1237", 1236, "10-0-0-1-1237");
	default_name_is("[fe80::1%eth0]:1235", 0, "fe80--1-eth0-1235");
	default_name_is("server.example.com", 0, "server-example-com");
	/* the first path names it */
	default_name_is("10.0.0.9,10.0.0.1", 0, "10-0-0-1");
}
END_TEST

START_TEST(finish_checks)
{
	struct target t;

	/* a name given is kept as it is */
	target_init(&t);
	snprintf(t.sessname, sizeof(t.sessname), "mine");
	snprintf(t.device, sizeof(t.device), "d");
	ck_assert_int_eq(target_add_path(&t, "10.0.0.1"), 0);
	ck_assert_int_eq(target_finish(&t), 0);
	ck_assert_str_eq(t.sessname, "mine");
	/* a session that exists already needs no path, but a name */
	target_init(&t);
	snprintf(t.sessname, sizeof(t.sessname), "mine");
	snprintf(t.device, sizeof(t.device), "d");
	ck_assert_int_eq(target_finish(&t), 0);
	target_init(&t);
	snprintf(t.device, sizeof(t.device), "d");
	ck_assert_int_eq(target_finish(&t), -EINVAL);
	ck_assert_ctlmsg_has("no session name and no server to connect to");

	/* RTRS names: no '/', no '.', no blanks */
	static const char *const bad_names[] = { "a.b", "a/b", "a b", "a\tb", ".", ".." };

	for (unsigned int i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		target_init(&t);
		snprintf(t.sessname, sizeof(t.sessname), "%s", bad_names[i]);
		snprintf(t.device, sizeof(t.device), "d");
		ck_assert_int_eq(target_finish(&t), -EINVAL);
		ck_assert_ctlmsg_has("no '/', '.' or spaces");
	}

	/* the device: there, without blanks, at most 254 bytes */
	target_init(&t);
	snprintf(t.sessname, sizeof(t.sessname), "s");
	ck_assert_int_eq(target_finish(&t), -EINVAL);
	ck_assert_ctlmsg_has("no device path to map");
	snprintf(t.device, sizeof(t.device), "a b");
	ck_assert_int_eq(target_finish(&t), -EINVAL);
	ck_assert_ctlmsg_has("device path 'a b' has a space");
	memset(t.device, 'd', 254);
	t.device[254] = '\0';
	ck_assert_int_eq(target_finish(&t), 0);

	/* the kernel's timeouts are compiled in */
	target_init(&t);
	snprintf(t.sessname, sizeof(t.sessname), "s");
	snprintf(t.device, sizeof(t.device), "d");
	t.backend = BACKEND_KERNEL;
	t.io_timeout_s = 5;
	ck_assert_int_eq(target_finish(&t), -EINVAL);
	ck_assert_ctlmsg_has("the kernel client's timeouts are fixed");
	t.io_timeout_s = 0;
	t.reconnect_delay_s = 5;
	ck_assert_int_eq(target_finish(&t), -EINVAL);
	t.backend = BACKEND_FUSE;
	ck_assert_int_eq(target_finish(&t), 0);
}
END_TEST

START_TEST(backends)
{
	static const char *const names[] = { "auto", "fuse", "ublk", "kernel" };
	enum target_backend b;

	for (unsigned int i = 0; i < 4; i++) {
		ck_assert_int_eq(target_backend_parse(names[i], &b), 0);
		ck_assert_int_eq(b, (enum target_backend)i);
		ck_assert_str_eq(target_backend_str(b), names[i]);
	}
	ck_assert_int_eq(target_backend_parse("nbd", &b), -EINVAL);
	ck_assert_ctlmsg_has("backend 'nbd': fuse, ublk or kernel");
	ck_assert_int_eq(target_backend_parse("Kernel", &b), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* target_kernel_line: written, read back, written again: the same */

static const char *const round_trips[][2] = {
	{ "sessname=s path=ip:10.0.0.1 device_path=/dev/ram0",
	  "sessname=s dest_port=1234 path=ip:10.0.0.1 device_path=/dev/ram0 access_mode=rw" },
	{ "device_path=vol access_mode=ro sessname=host-a",
	  "sessname=host-a device_path=vol access_mode=ro" },
	{ "sessname=s dest_port=1235 path=ip:10.0.0.2,ip:10.0.0.1 path=ip:10.0.1.1 "
	  "device_path=x access_mode=migration",
	  "sessname=s dest_port=1235 path=ip:10.0.0.2@ip:10.0.0.1 dest_port=1235 "
	  "path=ip:10.0.1.1 device_path=x access_mode=migration" },
	{ "sessname=s path=ip:fe80::2%eth0@ip:fe80::1%eth0 dest_port=9 path=ip:::1 "
	  "device_path=a/b nr_poll_queues=2",
	  "sessname=s dest_port=1234 path=ip:fe80::2%eth0@ip:fe80::1%eth0 dest_port=9 "
	  "path=ip:::1 device_path=a/b access_mode=rw nr_poll_queues=2" },
	{ "sessname=s path=gid:fe80:0000:0000:0000:0002:c903:0010:c0f5 device_path=x",
	  "sessname=s dest_port=1234 path=gid:fe80:0000:0000:0000:0002:c903:0010:c0f5 "
	  "device_path=x access_mode=rw" },
	{ "sessname=s path=1.1.1.1 path=2.2.2.2 path=3.3.3.3 path=4.4.4.4 path=5.5.5.5 "
	  "path=6.6.6.6 device_path=x",
	  "sessname=s dest_port=1234 path=ip:1.1.1.1 dest_port=1234 path=ip:2.2.2.2 "
	  "dest_port=1234 path=ip:3.3.3.3 dest_port=1234 path=ip:4.4.4.4 dest_port=1234 "
	  "path=ip:5.5.5.5 dest_port=1234 path=ip:6.6.6.6 device_path=x access_mode=rw" },
};

static uint16_t eff_port(const struct target *t, unsigned int i)
{
	return t->paths[i].port ? t->paths[i].port : t->port ? t->port : 1234;
}

START_TEST(kernel_line_round_trip)
{
	char l1[4096], l2[4096];
	struct target t1, t2;

	opts_ok(&t1, round_trips[_i][0]);
	t1.backend = BACKEND_KERNEL;
	ck_assert_int_eq(target_finish(&t1), 0);
	ck_assert_int_eq(target_kernel_line(&t1, l1, sizeof(l1)), 0);
	ck_assert_str_eq(l1, round_trips[_i][1]);
	opts_ok(&t2, l1);
	t2.backend = BACKEND_KERNEL;
	ck_assert_int_eq(target_finish(&t2), 0);
	ck_assert_int_eq(target_kernel_line(&t2, l2, sizeof(l2)), 0);
	ck_assert_str_eq(l2, l1);
	ck_assert_str_eq(t2.sessname, t1.sessname);
	ck_assert_str_eq(t2.device, t1.device);
	ck_assert_int_eq(t2.mode, t1.mode);
	ck_assert_int_eq(t2.nr_poll_queues, t1.nr_poll_queues);
	ck_assert_uint_eq(t2.npaths, t1.npaths);
	for (unsigned int i = 0; i < t1.npaths; i++) {
		ck_assert_str_eq(t2.paths[i].src, t1.paths[i].src);
		ck_assert_str_eq(t2.paths[i].dst, t1.paths[i].dst);
		ck_assert_uint_eq(eff_port(&t2, i), eff_port(&t1, i));
	}
}
END_TEST

/* From --path and --port, as map's flags fill a target. */
START_TEST(kernel_line_from_flags)
{
	char line[64];
	struct target t;

	target_init(&t);
	snprintf(t.device, sizeof(t.device), "vol");
	snprintf(t.sessname, sizeof(t.sessname), "s");
	t.port = 4000;
	t.backend = BACKEND_KERNEL;
	ck_assert_int_eq(target_add_path(&t, "10.0.0.1"), 0);
	ck_assert_int_eq(target_add_path(&t, "[::1]:4001"), 0);
	ck_assert_int_eq(target_add_path(&t, "10.0.0.2,10.0.0.3"), 0);
	ck_assert_int_eq(target_finish(&t), 0);
	line_is(&t, "sessname=s dest_port=4000 path=ip:10.0.0.1 dest_port=4001 path=ip:::1 "
		    "dest_port=4000 path=ip:10.0.0.2@ip:10.0.0.3 device_path=vol access_mode=rw");
	/* a buffer too small is an error, not a cut line */
	ck_assert_int_eq(target_kernel_line(&t, line, sizeof(line)), -ENAMETOOLONG);
	ck_assert_ctlmsg_has("map_device line too long");
}
END_TEST

static Suite *target_suite(void)
{
	Suite *s = suite_create("target");
	TCase *tc = tcase_create("kernel-opts");

	tcase_add_test(tc, kopts_minimal);
	tcase_add_test(tc, kopts_dest_port_order);
	tcase_add_test(tc, kopts_src_dst);
	tcase_add_test(tc, kopts_ipv6);
	tcase_add_test(tc, kopts_gid);
	tcase_add_test(tc, kopts_bad_tokens);
	tcase_add_test(tc, kopts_missing);
	tcase_add_test(tc, kopts_six_paths);
	tcase_add_test(tc, kopts_nr_poll_queues);
	tcase_add_test(tc, kopts_lengths);
	suite_add_tcase(s, tc);

	tc = tcase_create("path");
	tcase_add_loop_test(tc, path_good, 0, sizeof(good_paths) / sizeof(good_paths[0]));
	tcase_add_loop_test(tc, path_bad, 0, sizeof(bad_paths) / sizeof(bad_paths[0]));
	tcase_add_test(tc, path_limits);
	tcase_add_test(tc, uri_target);
	suite_add_tcase(s, tc);

	tc = tcase_create("finish");
	tcase_add_test(tc, default_sessname);
	tcase_add_test(tc, finish_checks);
	tcase_add_test(tc, backends);
	suite_add_tcase(s, tc);

	tc = tcase_create("kernel-line");
	tcase_add_loop_test(tc, kernel_line_round_trip, 0,
			    sizeof(round_trips) / sizeof(round_trips[0]));
	tcase_add_test(tc, kernel_line_from_flags);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(target_suite)
