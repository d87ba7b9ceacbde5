// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The RNBD public API end to end, server and client in one process over TCP
 * loopback: exports and the search path (with its attacks), access modes
 * across sessions, every op with data checked, limits and errors, force
 * close, reconfiguration, listing, and a reconnect that re-opens devices.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check-main.h"

#define MEM_SIZE (64u << 20)

static char tmpdir[64];
static char port_str[16];

static struct rnbd_export_conf exports[] = {
	{ .name = "mem", .type = RNBD_EXPORT_MEMORY, .size = MEM_SIZE },
	{ .name = "small", .type = RNBD_EXPORT_MEMORY, .size = 1 << 20 },
};

static struct rnbd_srv *srv_start(const struct rnbd_srv_conf *conf)
{
	const char *listen[] = { "127.0.0.1:0" };
	struct rnbd_srv_opts o = {
		.size = sizeof(o), .listen = listen, .nlisten = 1, .nr_workers = 2,
		.queue_depth = 128, .conf = conf,
	};
	struct rnbd_srv *srv;
	char addr[64];

	ck_assert_msg(rnbd_srv_open(&srv, &o) == 0, "server: %s", rnbd_errmsg());
	ck_assert_int_eq(rnbd_srv_listen_addr(srv, 0, addr, sizeof(addr)), 0);
	snprintf(port_str, sizeof(port_str), "%s", strrchr(addr, ':') + 1);
	return srv;
}

static atomic_int events[2];

static void on_event(void *opaque, enum rnbd_sess_event ev)
{
	(void)opaque;
	atomic_fetch_add(&events[ev], 1);
}

static struct rnbd_sess *sess_open(const char *name)
{
	char path[64];
	const char *paths[] = { path };
	struct rnbd_sess_opts o = {
		.size = sizeof(o), .sessname = name, .paths = paths, .npaths = 1,
		.nr_workers = 2, .reconnect_delay_ms = 100, .io_timeout_ms = 5000,
		.hb_interval_ms = 1000, .event = on_event,
	};
	struct rnbd_sess *s;

	snprintf(path, sizeof(path), "127.0.0.1:%s", port_str);
	ck_assert_msg(rnbd_sess_open(&s, &o) == 0, "session %s: %s", name, rnbd_errmsg());
	return s;
}

static void fill(uint8_t *b, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 9));
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rnbd-api.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/*
 * Option structs grow at the end: 0.1.0's shorter ones still open (what
 * lies past their size is not read), wrong sizes are refused by name, and
 * so is a transport librnbd does not have.
 */
START_TEST(older_option_structs)
{
	const char *listen[] = { "127.0.0.1:0" };
	struct rnbd_srv_conf conf = { .exports = exports, .nexports = 2 };
	struct rnbd_srv_opts so = {
		.size = offsetof(struct rnbd_srv_opts, sndbuf), .listen = listen, .nlisten = 1,
		.nr_workers = 1, .conf = &conf,
		.sndbuf = UINT32_MAX, .rcvbuf = UINT32_MAX,	/* refused if read */
	};
	char path[64], addr[64];
	const char *paths[] = { path };
	struct rnbd_sess_opts co = {
		.size = offsetof(struct rnbd_sess_opts, sndbuf), .sessname = "old", .paths = paths,
		.npaths = 1, .nr_workers = 1, .sndbuf = UINT32_MAX, .rcvbuf = UINT32_MAX,
	};
	struct rnbd_srv *srv;
	struct rnbd_sess *sess;

	ck_assert_msg(rnbd_srv_open(&srv, &so) == 0, "0.1.0 server opts: %s", rnbd_errmsg());
	ck_assert_int_eq(rnbd_srv_listen_addr(srv, 0, addr, sizeof(addr)), 0);
	snprintf(path, sizeof(path), "%s", addr);
	ck_assert_msg(rnbd_sess_open(&sess, &co) == 0, "0.1.0 session opts: %s", rnbd_errmsg());
	rnbd_sess_close(sess);

	co.size = sizeof(size_t);
	ck_assert_int_eq(rnbd_sess_open(&sess, &co), -EINVAL);
	ck_assert_ptr_nonnull(strstr(rnbd_errmsg(), "rnbd_sess_opts of 8 bytes: this librnbd takes"));
	co.size = sizeof(co) + 8;
	ck_assert_int_eq(rnbd_sess_open(&sess, &co), -EINVAL);
	co.size = sizeof(co);	/* now the buffers are read, and too big */
	ck_assert_int_eq(rnbd_sess_open(&sess, &co), -EINVAL);
	ck_assert_ptr_nonnull(strstr(rnbd_errmsg(), "socket buffers of"));
	co.sndbuf = co.rcvbuf = 0;
	co.transport = "pigeon";
	ck_assert_int_eq(rnbd_sess_open(&sess, &co), -EPROTONOSUPPORT);
	ck_assert_str_eq(rnbd_errmsg(), "transport pigeon is not available");
	rnbd_srv_close(srv);

	so.size = sizeof(so) + 1;
	ck_assert_int_eq(rnbd_srv_open(&srv, &so), -EINVAL);
	ck_assert_ptr_nonnull(strstr(rnbd_errmsg(), "rnbd_srv_opts of"));
}
END_TEST

START_TEST(memory_every_op)
{
	struct rnbd_srv_conf conf = { .exports = exports, .nexports = 2 };
	struct rnbd_srv *srv = srv_start(&conf);
	struct rnbd_sess *s = sess_open("ops");
	struct rnbd_dev_info info;
	struct rnbd_dev *d;
	static uint8_t w[3 << 20], r[3 << 20], z[1 << 20];

	ck_assert_msg(rnbd_dev_open(s, "mem", RNBD_ACCESS_RW, &d) == 0, "%s", rnbd_errmsg());
	ck_assert_int_eq(rnbd_dev_get_info(d, &info), 0);
	ck_assert_uint_eq(info.size, MEM_SIZE);
	ck_assert_uint_eq(info.logical_block_size, 512);
	ck_assert_uint_eq(info.max_io_size, 126976);
	ck_assert_uint_gt(info.max_discard_sectors, 0);
	ck_assert_uint_gt(info.max_write_zeroes_sectors, 0);
	ck_assert(!info.readonly);
	/* never written: zeroes */
	memset(r, 0xff, 4096);
	ck_assert_int_eq(rnbd_dev_pread(d, r, 4096, 8192), 0);
	ck_assert_mem_eq(r, z, 4096);
	/* 3 MiB crosses many max_io_size splits; read back */
	fill(w, sizeof(w), 1);
	ck_assert_msg(rnbd_dev_pwrite(d, w, sizeof(w), 512) == 0, "%s", rnbd_errmsg());
	ck_assert_int_eq(rnbd_dev_pread(d, r, sizeof(r), 512), 0);
	ck_assert_mem_eq(r, w, sizeof(w));
	ck_assert_int_eq(rnbd_dev_flush(d), 0);
	/* discard and write-zeroes read back as zeroes, neighbours intact */
	ck_assert_int_eq(rnbd_dev_discard(d, 65536, 1 << 20), 0);
	ck_assert_int_eq(rnbd_dev_pread(d, r, sizeof(r), 512), 0);
	ck_assert_mem_eq(r, w, 65536 - 512);
	ck_assert_mem_eq(r + 65536 - 512, z, 1 << 20);
	ck_assert_mem_eq(r + 65536 - 512 + (1 << 20), w + 65536 - 512 + (1 << 20),
			 sizeof(r) - (65536 - 512 + (1 << 20)));
	ck_assert_int_eq(rnbd_dev_write_zeroes(d, 2 << 20, 4096, RNBD_F_NOUNMAP), 0);
	ck_assert_int_eq(rnbd_dev_pread(d, r, 4096, 2 << 20), 0);
	ck_assert_mem_eq(r, z, 4096);
	/* errors: unaligned, beyond the end, with the callback never run */
	ck_assert_int_eq(rnbd_dev_pread(d, r, 100, 0), -EINVAL);
	ck_assert_errmsg_has("not aligned to 512 bytes");
	ck_assert_int_eq(rnbd_dev_pread(d, r, 4096, MEM_SIZE - 512), -ERANGE);
	ck_assert_errmsg_has("beyond the end");
	/* the last sector is fine */
	ck_assert_int_eq(rnbd_dev_pwrite(d, w, 512, MEM_SIZE - 512), 0);
	ck_assert_int_eq(rnbd_dev_close(d), 0);
	/* memory survives close and re-open (a session's data, not a process's) */
	ck_assert_int_eq(rnbd_dev_open(s, "mem", RNBD_ACCESS_RO, &d), 0);
	ck_assert_int_eq(rnbd_dev_pread(d, r, 4096, 512), 0);
	ck_assert_mem_eq(r, w, 4096);
	ck_assert_int_eq(rnbd_dev_pwrite(d, w, 512, 0), -EROFS);
	rnbd_sess_close(s);
	rnbd_srv_close(srv);
}
END_TEST

START_TEST(access_modes_across_sessions)
{
	struct rnbd_srv_conf conf = { .exports = exports, .nexports = 2 };
	struct rnbd_srv *srv = srv_start(&conf);
	struct rnbd_sess *a = sess_open("a"), *b = sess_open("b"), *c = sess_open("c");
	struct rnbd_dev *da, *db, *dc, *dx;
	struct rnbd_dev_info ia, ib;

	ck_assert_int_eq(rnbd_dev_open(a, "mem", RNBD_ACCESS_RW, &da), 0);
	ck_assert_int_eq(rnbd_dev_open(a, "mem", RNBD_ACCESS_RO, &dx), -EEXIST);
	/* a second writer: refused; a reader: fine */
	ck_assert_int_eq(rnbd_dev_open(b, "mem", RNBD_ACCESS_RW, &db), -EPERM);
	ck_assert_int_eq(rnbd_dev_open(b, "mem", RNBD_ACCESS_RO, &db), 0);
	/* migration: one more writer, and no third */
	ck_assert_int_eq(rnbd_dev_open(c, "mem", RNBD_ACCESS_MIGRATION, &dc), 0);
	ck_assert_int_eq(rnbd_dev_close(db), 0);
	ck_assert_int_eq(rnbd_dev_open(b, "mem", RNBD_ACCESS_MIGRATION, &db), -EPERM);
	/* ids are per session: both sessions' first device is 0 */
	ck_assert_int_eq(rnbd_dev_open(b, "small", RNBD_ACCESS_RW, &db), 0);
	rnbd_dev_get_info(da, &ia);
	rnbd_dev_get_info(db, &ib);
	ck_assert_uint_eq(ia.device_id, 0);
	ck_assert_uint_eq(ib.device_id, 0);
	/* closing the writer frees its slot for another */
	ck_assert_int_eq(rnbd_dev_close(da), 0);
	ck_assert_int_eq(rnbd_dev_close(dc), 0);
	ck_assert_int_eq(rnbd_dev_open(a, "mem", RNBD_ACCESS_RW, &da), 0);
	ck_assert_int_eq(rnbd_dev_open(b, "nosuch", RNBD_ACCESS_RO, &dx), -ENOENT);
	rnbd_sess_close(a);
	rnbd_sess_close(b);
	rnbd_sess_close(c);
	rnbd_srv_close(srv);
}
END_TEST

static void write_file(const char *path, size_t size)
{
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

START_TEST(search_path_and_attacks)
{
	char root[128], path[256], out[256];
	struct rnbd_srv_conf conf = { .dev_search_path = root };
	struct rnbd_srv *srv;
	struct rnbd_sess *s;
	struct rnbd_dev *d;
	uint8_t w[8192], r[8192];

	snprintf(root, sizeof(root), "%s/exports", tmpdir);
	ck_assert_int_eq(mkdir(root, 0700), 0);
	snprintf(path, sizeof(path), "%s/disk1", root);
	write_file(path, 4 << 20);
	snprintf(out, sizeof(out), "%s/secret", tmpdir);
	write_file(out, 4096);
	snprintf(path, sizeof(path), "%s/escape", root);
	ck_assert_int_eq(symlink(out, path), 0);
	snprintf(path, sizeof(path), "%s/inside", root);
	ck_assert_int_eq(symlink("disk1", path), 0);
	snprintf(path, sizeof(path), "%s/dir", root);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	srv = srv_start(&conf);
	s = sess_open("paths");
	ck_assert_msg(rnbd_dev_open(s, "disk1", RNBD_ACCESS_RW, &d) == 0, "%s", rnbd_errmsg());
	fill(w, sizeof(w), 3);
	ck_assert_int_eq(rnbd_dev_pwrite(d, w, sizeof(w), 4096), 0);
	ck_assert_int_eq(rnbd_dev_flush(d), 0);
	ck_assert_int_eq(rnbd_dev_pread(d, r, sizeof(r), 4096), 0);
	ck_assert_mem_eq(r, w, sizeof(w));
	ck_assert_int_eq(rnbd_dev_close(d), 0);
	/* the data is in the file */
	{
		int fd;

		snprintf(path, sizeof(path), "%s/disk1", root);
		fd = open(path, O_RDONLY);
		ck_assert_int_eq(pread(fd, r, sizeof(r), 4096), (ssize_t)sizeof(r));
		close(fd);
		ck_assert_mem_eq(r, w, sizeof(r));
	}
	/* a symlink inside the search path is followed; the same file is the same
	 * device, so a second writer through it is refused */
	ck_assert_int_eq(rnbd_dev_open(s, "/disk1", RNBD_ACCESS_RW, &d), 0);
	{
		struct rnbd_sess *s2 = sess_open("paths2");
		struct rnbd_dev *d2;

		ck_assert_int_eq(rnbd_dev_open(s2, "inside", RNBD_ACCESS_RW, &d2), -EPERM);
		ck_assert_int_eq(rnbd_dev_open(s2, "inside", RNBD_ACCESS_RO, &d2), 0);
		rnbd_sess_close(s2);
	}
	ck_assert_int_eq(rnbd_dev_close(d), 0);
	/* attacks: every one refused with its errno */
	ck_assert_int_eq(rnbd_dev_open(s, "escape", RNBD_ACCESS_RO, &d), -EXDEV);
	ck_assert_int_eq(rnbd_dev_open(s, "../secret", RNBD_ACCESS_RO, &d), -EINVAL);
	ck_assert_int_eq(rnbd_dev_open(s, "dir/../disk1", RNBD_ACCESS_RO, &d), -EINVAL);
	ck_assert_int_eq(rnbd_dev_open(s, "a..b", RNBD_ACCESS_RO, &d), -EINVAL);
	ck_assert_int_eq(rnbd_dev_open(s, "/", RNBD_ACCESS_RO, &d), -EINVAL);
	ck_assert_int_eq(rnbd_dev_open(s, "dir", RNBD_ACCESS_RO, &d), -EISDIR);
	ck_assert_int_eq(rnbd_dev_open(s, "missing", RNBD_ACCESS_RO, &d), -ENOENT);
	rnbd_sess_close(s);
	rnbd_srv_close(srv);
}
END_TEST

START_TEST(sessname_in_search_path)
{
	char root[128], path[256];
	struct rnbd_srv_conf conf = { .dev_search_path = root };
	struct rnbd_srv *srv;
	struct rnbd_sess *s, *t;
	struct rnbd_dev *d;

	snprintf(root, sizeof(root), "%s/%%SESSNAME%%/ignored", tmpdir);
	snprintf(path, sizeof(path), "%s/alice", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/alice/vol", tmpdir);
	write_file(path, 1 << 20);
	srv = srv_start(&conf);
	s = sess_open("alice");
	t = sess_open("bob");
	ck_assert_msg(rnbd_dev_open(s, "vol", RNBD_ACCESS_RW, &d) == 0, "%s", rnbd_errmsg());
	ck_assert_int_eq(rnbd_dev_open(t, "vol", RNBD_ACCESS_RW, &d), -ENOENT);
	rnbd_sess_close(s);
	rnbd_sess_close(t);
	rnbd_srv_close(srv);
}
END_TEST

START_TEST(rules_and_reconfigure)
{
	struct rnbd_rule_conf rules[] = {
		{ .sessions = "ro-*", .devices = "*", .max_mode = RNBD_ACCESS_RO },
		{ .sessions = "*", .devices = "small", .max_mode = -1 },
	};
	struct rnbd_srv_conf conf = { .exports = exports, .nexports = 2, .rules = rules,
				      .nrules = 2 };
	struct rnbd_export_conf more[] = {
		exports[0],
		{ .name = "new", .type = RNBD_EXPORT_MEMORY, .size = 1 << 20 },
	};
	struct rnbd_srv_conf conf2 = { .exports = more, .nexports = 2 };
	struct rnbd_srv *srv = srv_start(&conf);
	struct rnbd_sess *s = sess_open("ro-client"), *t = sess_open("other");
	struct rnbd_dev *d, *e;
	struct rnbd_export_conf bad = { .name = "mem", .type = RNBD_EXPORT_MEMORY, .size = 100 };
	struct rnbd_srv_conf conf_bad = { .exports = &bad, .nexports = 1 };

	ck_assert_int_eq(rnbd_dev_open(s, "mem", RNBD_ACCESS_RW, &d), -EPERM);
	ck_assert_int_eq(rnbd_dev_open(s, "mem", RNBD_ACCESS_RO, &d), 0);
	ck_assert_int_eq(rnbd_dev_open(t, "small", RNBD_ACCESS_RO, &e), -EPERM);
	ck_assert_int_eq(rnbd_dev_open(t, "new", RNBD_ACCESS_RO, &e), -ENOENT);
	/* a bad configuration changes nothing */
	ck_assert_int_eq(rnbd_srv_reconfigure(srv, &conf_bad), -EINVAL);
	ck_assert_errmsg_has("non-zero multiple of 4096");
	ck_assert_int_eq(rnbd_dev_open(t, "small", RNBD_ACCESS_RO, &e), -EPERM);
	/* the new one applies to later OPENs; open devices stay */
	ck_assert_int_eq(rnbd_srv_reconfigure(srv, &conf2), 0);
	ck_assert_int_eq(rnbd_dev_open(t, "new", RNBD_ACCESS_RW, &e), 0);
	ck_assert_int_eq(rnbd_dev_open(s, "small", RNBD_ACCESS_RO, &e), -ENOENT);
	{
		uint8_t b[512];

		ck_assert_int_eq(rnbd_dev_pread(d, b, sizeof(b), 0), 0);
	}
	rnbd_sess_close(s);
	rnbd_sess_close(t);
	rnbd_srv_close(srv);
}
END_TEST

struct listing {
	int sessions, devices;
	char first_dev[64];
	unsigned int ver;
	uint64_t written;
};

static int list_cb(void *opaque, const struct rnbd_srv_session_info *si)
{
	struct listing *l = opaque;

	l->sessions++;
	l->devices += si->ndevices;
	l->ver = si->proto_ver;
	if (si->ndevices) {
		snprintf(l->first_dev, sizeof(l->first_dev), "%s", si->devices[0].name);
		l->written += si->devices[0].bytes_written;
	}
	ck_assert_uint_eq(si->npaths, 1);
	ck_assert_str_eq(si->paths[0].state, "connected");
	return 0;
}

START_TEST(force_close_and_listing)
{
	struct rnbd_srv_conf conf = { .exports = exports, .nexports = 2 };
	struct rnbd_srv *srv = srv_start(&conf);
	struct rnbd_sess *s = sess_open("fc");
	struct listing l = { 0 };
	struct rnbd_dev *d;
	uint8_t b[4096] = { 1 };

	ck_assert_int_eq(rnbd_dev_open(s, "mem", RNBD_ACCESS_RW, &d), 0);
	ck_assert_int_eq(rnbd_dev_pwrite(d, b, sizeof(b), 0), 0);
	ck_assert_int_eq(rnbd_srv_foreach_session(srv, list_cb, &l), 0);
	ck_assert_int_eq(l.sessions, 1);
	ck_assert_int_eq(l.devices, 1);
	ck_assert_str_eq(l.first_dev, "mem");
	ck_assert_uint_eq(l.ver, 2);
	ck_assert_uint_eq(l.written, 4096);
	ck_assert_int_eq(rnbd_srv_force_close(srv, "fc", 7), -ENOENT);
	ck_assert_int_eq(rnbd_srv_force_close(srv, "nobody", 0), -ENOENT);
	ck_assert_int_eq(rnbd_srv_force_close(srv, "fc", 0), 0);
	/* the client is not told; its I/O fails, its close works */
	ck_assert_int_eq(rnbd_dev_pwrite(d, b, sizeof(b), 0), -ENOTCONN);
	ck_assert_int_eq(rnbd_dev_close(d), 0);
	/* the id is free again after that close */
	ck_assert_int_eq(rnbd_dev_open(s, "small", RNBD_ACCESS_RW, &d), 0);
	{
		struct rnbd_dev_info i;

		rnbd_dev_get_info(d, &i);
		ck_assert_uint_eq(i.device_id, 0);
	}
	rnbd_sess_close(s);
	rnbd_srv_close(srv);
}
END_TEST

/* The server drops the session: the client reconnects, re-opens its
 * device (the memory export keeps its data), and I/O carries on. */
START_TEST(reconnect_reopens)
{
	struct rnbd_srv_conf conf = { .exports = exports, .nexports = 2 };
	struct rnbd_srv *srv = srv_start(&conf);
	struct rnbd_sess *s = sess_open("rc");
	struct rnbd_dev *d, *d2;
	uint8_t w[4096], r[4096];

	atomic_store(&events[0], 0);
	atomic_store(&events[1], 0);
	ck_assert_int_eq(rnbd_dev_open(s, "small", RNBD_ACCESS_RW, &d2), 0);
	ck_assert_int_eq(rnbd_dev_open(s, "mem", RNBD_ACCESS_RW, &d), 0);
	fill(w, sizeof(w), 9);
	ck_assert_int_eq(rnbd_dev_pwrite(d, w, sizeof(w), 4096), 0);
	ck_assert_int_eq(rnbd_dev_close(d2), 0);	/* "mem" is now id 1, "small" 0 free */
	ck_assert_int_eq(rnbd_srv_close_session(srv, "rc"), 0);
	for (int i = 0; i < 5000 && atomic_load(&events[RNBD_SESS_RECONNECTED]) < 1; i++)
		usleep(1000);
	ck_assert_int_eq(atomic_load(&events[RNBD_SESS_DISCONNECTED]), 1);
	ck_assert_int_eq(atomic_load(&events[RNBD_SESS_RECONNECTED]), 1);
	/* re-opened in a fresh server session: id 0 now */
	{
		struct rnbd_dev_info i;

		rnbd_dev_get_info(d, &i);
		ck_assert_uint_eq(i.device_id, 0);
	}
	ck_assert_int_eq(rnbd_dev_pread(d, r, sizeof(r), 4096), 0);
	ck_assert_mem_eq(r, w, sizeof(r));
	rnbd_sess_close(s);
	rnbd_srv_close(srv);
}
END_TEST

static Suite *rnbd_api_suite(void)
{
	Suite *s = suite_create("rnbd-api");
	TCase *tc = tcase_create("api");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, older_option_structs);
	tcase_add_test(tc, memory_every_op);
	tcase_add_test(tc, access_modes_across_sessions);
	tcase_add_test(tc, search_path_and_attacks);
	tcase_add_test(tc, sessname_in_search_path);
	tcase_add_test(tc, rules_and_reconfigure);
	tcase_add_test(tc, force_close_and_listing);
	tcase_add_test(tc, reconnect_reopens);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(rnbd_api_suite)
