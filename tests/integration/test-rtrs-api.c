// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The RTRS API end to end, server and client in one process on loopback:
 * requests and their errors, stats, path add/remove/reconnect, policy
 * changes, link events, reconnect after a server restart, requests with no
 * path (timeout and the kernel's -ECONNABORTED), server limits, session name
 * clashes, and close with requests still out.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check-main.h"
#include "rtrs/loop.h"
#include "rtrs/rtrs.h"
#include "util/addr.h"

/* user message: what the test server does with the request */
enum { DO_ECHO, DO_FAIL, DO_HOLD, DO_WHERE, DO_LEND, DO_LEND_SHORT };
struct umsg {
	uint32_t what;
	int32_t err;
	uint8_t fill;
};

static struct rtrs_srv_op *held[64];
static atomic_int nheld;
static atomic_uint where_mask;	/* DO_WHERE: the server loops requests arrived on */

/* DO_LEND: the read's data lent from here, three pinned pieces and one not */
#define LEND_PIECE 4096
static uint8_t lend_src[3][LEND_PIECE];
static const uint8_t lend_zeroes[LEND_PIECE];
static int lend_ref[3];
static atomic_int lend_puts;

static void lend_put(void *ref)
{
	ck_assert(ref == &lend_ref[0] || ref == &lend_ref[1] || ref == &lend_ref[2]);
	atomic_fetch_add(&lend_puts, 1);
}

/* short: a piece less than the read wants */
static void lend_build(struct rtrs_lend *l, bool short_)
{
	l->put = lend_put;
	l->nseg = short_ ? 3 : 4;
	for (int i = 0; i < 3; i++)
		l->seg[i] = (struct rtrs_lend_seg){ lend_src[i], LEND_PIECE, &lend_ref[i] };
	l->seg[3] = (struct rtrs_lend_seg){ lend_zeroes, LEND_PIECE, NULL };
}

static int srv_req(void *priv, struct rtrs_srv_sess *sess, struct rtrs_srv_op *op, bool read,
		   void *data, uint32_t len, const void *usr, uint16_t usr_len)
{
	struct umsg m;

	(void)priv;
	(void)sess;
	if (usr_len != sizeof(m))
		return -EINVAL;
	memcpy(&m, usr, sizeof(m));
	if (m.what == DO_FAIL)
		return m.err;
	if (m.what == DO_HOLD) {
		held[atomic_fetch_add(&nheld, 1)] = op;
		return 0;
	}
	if (m.what == DO_WHERE)
		atomic_fetch_or(&where_mask, 1u << rtrs_loop_current()->idx);
	if (m.what == DO_LEND || m.what == DO_LEND_SHORT) {
		struct rtrs_lend l;

		lend_build(&l, m.what == DO_LEND_SHORT);
		rtrs_srv_resp_lent(op, &l);
		return 0;
	}
	if (read)
		memset(data, m.fill, len);
	else
		for (uint32_t i = 0; i < len; i++)
			if (((uint8_t *)data)[i] != m.fill)
				return -EBADMSG;
	rtrs_srv_resp(op, 0);
	return 0;
}

static atomic_int srv_links[2];

static int srv_link(void *priv, struct rtrs_srv_sess *sess, enum rtrs_srv_link_ev ev)
{
	(void)priv;
	(void)sess;
	atomic_fetch_add(&srv_links[ev], 1);
	return 0;
}

static const struct rtrs_srv_ops test_srv_ops = { .link_ev = srv_link, .request = srv_req };

static struct rtrs_srv *srv_start(const char *addr, uint16_t *port, unsigned int max_sessions,
				  unsigned int max_paths)
{
	struct sockaddr_storage l, got;
	struct rtrs_srv_opts o = {
		.listen = &l, .nlisten = 1, .nr_workers = 2, .ops = &test_srv_ops,
		.max_sessions = max_sessions, .max_paths = max_paths, .queue_depth = 64,
	};
	struct rtrs_srv *srv;

	ck_assert_int_eq(rnbd_addr_parse(addr, *port, &l), 0);
	ck_assert_msg(rtrs_srv_open(&o, &srv) == 0, "server: %s", rnbd_errmsg());
	ck_assert_int_eq(rtrs_srv_listen_addr(srv, 0, &got), 0);
	*port = rnbd_addr_port(&got);
	return srv;
}

static struct rtrs_addr path_to(const char *ip, uint16_t port)
{
	struct rtrs_addr a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(rnbd_addr_parse(ip, port, &a.dst), 0);
	return a;
}

static atomic_int clt_links[2];

static void clt_link(void *priv, enum rtrs_clt_link_ev ev)
{
	(void)priv;
	atomic_fetch_add(&clt_links[ev], 1);
}

static struct rtrs_clt_opts clt_opts(const char *name, const struct rtrs_addr *paths,
				     unsigned int n)
{
	return (struct rtrs_clt_opts){
		.sessname = name, .paths = paths, .npaths = n, .nr_workers = 2,
		.reconnect_delay_ms = 100, .reconnect_backoff_ms = 10,
		.connect_timeout_ms = 2000, .noconn_timeout_ms = 3000, .link_ev = clt_link,
	};
}

/* A synchronous request. */
struct sync_io {
	struct rtrs_clt_io io;
	struct umsg m;
	struct iovec iov;
	atomic_int done;
	int err;
};

static void sync_done(struct rtrs_clt_io *io, int err)
{
	struct sync_io *s = container_of(io, struct sync_io, io);

	s->err = err;
	atomic_fetch_add(&s->done, 1);
}

static void sleep_ms(unsigned int ms)
{
	usleep(ms * 1000);
}

static int wait_done(struct sync_io *s, unsigned int ms)
{
	for (unsigned int i = 0; i < ms && !atomic_load(&s->done); i++)
		sleep_ms(1);
	return atomic_load(&s->done);
}

static void prepare(struct sync_io *s, bool read, uint32_t what, int err, void *buf,
		    uint32_t len, uint8_t fill)
{
	memset(s, 0, sizeof(*s));
	s->m = (struct umsg){ .what = what, .err = err, .fill = fill };
	s->iov = (struct iovec){ buf, len };
	s->io = (struct rtrs_clt_io){
		.read = read, .usr = &s->m, .usr_len = sizeof(s->m), .iov = &s->iov,
		.iovcnt = 1, .data_len = len, .done = sync_done,
	};
}

static int submit(struct rtrs_clt_sess *c, struct sync_io *s, bool read, uint32_t what,
		  int err, void *buf, uint32_t len, uint8_t fill)
{
	prepare(s, read, what, err, buf, len, fill);
	return rtrs_clt_request(c, &s->io);
}

/* Submit and wait; the request's result. */
static int do_io(struct rtrs_clt_sess *c, bool read, uint32_t what, int err, void *buf,
		 uint32_t len, uint8_t fill)
{
	struct sync_io s;
	int ret = submit(c, &s, read, what, err, buf, len, fill);

	if (ret)
		return ret;
	ck_assert_msg(wait_done(&s, 10000), "request did not complete");
	ck_assert_int_eq(atomic_load(&s.done), 1);
	return s.err;
}

START_TEST(requests_and_errors)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("127.0.0.1", &port, 0, 0);
	struct rtrs_addr p = path_to("127.0.0.1", port);
	struct rtrs_clt_opts o = clt_opts("api1", &p, 1);
	struct rtrs_clt_sess *c;
	struct rtrs_clt_attrs at;
	struct rtrs_stats st;
	static uint8_t buf[65536];

	ck_assert_msg(rtrs_clt_open(&o, &c) == 0, "open: %s", rnbd_errmsg());
	ck_assert_int_eq(rtrs_clt_query(c, &at), 0);
	ck_assert_uint_eq(at.queue_depth, 64);
	ck_assert_uint_eq(at.max_io_size, 126976);
	ck_assert_uint_eq(at.max_usr_len, 4096 - 24);
	/* write checked by the server, read filled by it */
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_int_eq(do_io(c, false, DO_ECHO, 0, buf, sizeof(buf), 0x5a), 0);
	ck_assert_int_eq(do_io(c, false, DO_ECHO, 0, buf, sizeof(buf), 0x5b), -EBADMSG);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(do_io(c, true, DO_ECHO, 0, buf, 4096, 0xc3), 0);
	ck_assert_uint_eq(buf[0], 0xc3);
	ck_assert_uint_eq(buf[4095], 0xc3);
	ck_assert_uint_eq(buf[4096], 0);
	/* the upper layer's errno comes back; beyond 511 it reads as -EIO */
	ck_assert_int_eq(do_io(c, true, DO_FAIL, -ENOSPC, buf, 512, 0), -ENOSPC);
	ck_assert_int_eq(do_io(c, false, DO_FAIL, -512, buf, 0, 0), -EIO);
	ck_assert_int_eq(do_io(c, true, DO_ECHO, 0, NULL, 0, 0), 0);	/* like FLUSH */
	/* refused at submission: the callback never runs */
	{
		struct sync_io s;
		uint8_t big[5000];

		ck_assert_int_eq(submit(c, &s, false, DO_ECHO, 0, buf, 126977, 0), -EMSGSIZE);
		ck_assert_errmsg_has("126977 data bytes, at most 126976");
		submit(c, &s, false, DO_ECHO, 0, buf, 10, 0);
		ck_assert_int_eq(wait_done(&s, 10000), 1);
		s.io.usr = big;
		s.io.usr_len = sizeof(big);
		atomic_store(&s.done, 0);
		ck_assert_int_eq(rtrs_clt_request(c, &s.io), -EMSGSIZE);
		s.io.usr_len = sizeof(s.m);
		s.io.data_len = 11;	/* iov holds 10 */
		ck_assert_int_eq(rtrs_clt_request(c, &s.io), -EINVAL);
		ck_assert_errmsg_has("iovec holds 10 bytes, data_len is 11");
		sleep_ms(50);
		ck_assert_int_eq(atomic_load(&s.done), 0);
	}
	rtrs_clt_stats(c, &st);
	ck_assert_uint_eq(st.reqs_write, 4);
	ck_assert_uint_eq(st.reqs_read, 3);
	ck_assert_uint_eq(st.bytes_write, 2 * 65536 + 10);
	ck_assert_uint_eq(st.bytes_read, 4096 + 512);
	ck_assert_uint_eq(st.lat_count, 7);
	ck_assert_uint_ge(st.lat_max_ns, st.lat_sum_ns / 7);
	ck_assert_uint_eq(st.inflight, 0);
	rtrs_clt_close(c);
	rtrs_srv_close(srv);
	ck_assert_int_eq(atomic_load(&srv_links[RTRS_SRV_LINK_EV_CONNECTED]), 1);
	ck_assert_int_eq(atomic_load(&srv_links[RTRS_SRV_LINK_EV_DISCONNECTED]), 1);
}
END_TEST

static int path_count(struct rtrs_clt_sess *c, enum rtrs_clt_state st,
		      struct rtrs_clt_path_info *info)
{
	int n = rtrs_clt_paths(c, info, 8), k = 0;

	for (int i = 0; i < n; i++)
		k += info[i].state == st;
	return k;
}

START_TEST(paths_at_run_time)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("0.0.0.0", &port, 0, 0);
	struct rtrs_addr p1 = path_to("127.0.0.1", port), p2 = path_to("127.0.0.2", port);
	struct rtrs_clt_opts o = clt_opts("api2", &p1, 1);
	struct rtrs_clt_path_info info[8];
	struct rtrs_clt_sess *c;
	uint8_t buf[4096];
	int id2;

	ck_assert_msg(rtrs_clt_open(&o, &c) == 0, "open: %s", rnbd_errmsg());
	id2 = rtrs_clt_path_add(c, &p2);
	ck_assert_msg(id2 == 1, "path add: %d %s", id2, rnbd_errmsg());
	ck_assert_int_eq(rtrs_clt_path_add(c, &p2), -EEXIST);
	ck_assert_int_eq(path_count(c, RTRS_CLT_CONNECTED, info), 2);
	/* round-robin spreads over both paths */
	ck_assert_int_eq(rtrs_clt_set_policy(c, RTRS_MP_POLICY_RR), 0);
	ck_assert_int_eq(rtrs_clt_get_policy(c), RTRS_MP_POLICY_RR);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(do_io(c, true, DO_ECHO, 0, buf, sizeof(buf), 1), 0);
	ck_assert_int_eq(rtrs_clt_paths(c, info, 8), 2);
	ck_assert_uint_gt(info[0].stats.reqs_read, 0);
	ck_assert_uint_gt(info[1].stats.reqs_read, 0);
	ck_assert_uint_eq(info[0].stats.reqs_read + info[1].stats.reqs_read, 40);
	ck_assert_int_eq(rtrs_clt_set_policy(c, 7), -EINVAL);
	/* reconnect: new connections, same path */
	ck_assert_uint_eq(info[1].recon_cnt, 1);
	ck_assert_msg(rtrs_clt_path_reconnect(c, id2) == 0, "reconnect: %s", rnbd_errmsg());
	rtrs_clt_paths(c, info, 8);
	ck_assert_int_eq(info[1].state, RTRS_CLT_CONNECTED);
	/* an attempt the server refused while it closed the old connections
	 * is retried (and counted) */
	ck_assert_uint_eq(info[1].recon_cnt, 2 + info[1].stats.reconnect_fails);
	ck_assert_uint_eq(info[1].stats.reconnects, 1);
	ck_assert_int_eq(rtrs_clt_path_reconnect(c, 42), -ENOENT);
	/* removal: the other path carries on */
	ck_assert_int_eq(rtrs_clt_path_remove(c, 0), 0);
	ck_assert_int_eq(rtrs_clt_paths(c, info, 8), 1);
	ck_assert_int_eq(info[0].id, id2);
	ck_assert_int_eq(do_io(c, true, DO_ECHO, 0, buf, sizeof(buf), 2), 0);
	ck_assert_int_eq(rtrs_clt_path_remove(c, 0), -ENOENT);
	/* the session never lost all paths: no link event */
	ck_assert_int_eq(atomic_load(&clt_links[RTRS_CLT_LINK_EV_DISCONNECTED]), 0);
	rtrs_clt_close(c);
	rtrs_srv_close(srv);
}
END_TEST

START_TEST(server_restart_and_nopath)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("127.0.0.1", &port, 0, 0);
	struct rtrs_addr p = path_to("127.0.0.1", port);
	struct rtrs_clt_opts o = clt_opts("api3", &p, 1);
	struct rtrs_clt_path_info info[8];
	struct rtrs_clt_sess *c;
	struct sync_io s;
	uint8_t buf[4096];
	struct timespec t0, t1;
	long ms;

	o.noconn_timeout_ms = 400;
	ck_assert_msg(rtrs_clt_open(&o, &c) == 0, "open: %s", rnbd_errmsg());
	ck_assert_int_eq(do_io(c, false, DO_ECHO, 0, NULL, 0, 0), 0);
	rtrs_srv_close(srv);
	for (int i = 0; i < 2000 && !atomic_load(&clt_links[RTRS_CLT_LINK_EV_DISCONNECTED]); i++)
		sleep_ms(1);
	ck_assert_int_eq(atomic_load(&clt_links[RTRS_CLT_LINK_EV_DISCONNECTED]), 1);
	/* no path: the request waits for one, then fails with -EIO */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(do_io(c, true, DO_ECHO, 0, buf, sizeof(buf), 0), -EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 380);
	ck_assert_int_lt(ms, 2000);
	/* a request waiting when the server comes back goes through */
	ck_assert_int_eq(submit(c, &s, true, DO_ECHO, 0, buf, sizeof(buf), 9), 0);
	srv = srv_start("127.0.0.1", &port, 0, 0);
	ck_assert_msg(wait_done(&s, 5000), "request did not complete after reconnect");
	ck_assert_int_eq(s.err, 0);
	ck_assert_uint_eq(buf[100], 9);
	ck_assert_int_eq(atomic_load(&clt_links[RTRS_CLT_LINK_EV_RECONNECTED]), 1);
	ck_assert_int_eq(path_count(c, RTRS_CLT_CONNECTED, info), 1);
	ck_assert_uint_ge(info[0].stats.reconnects, 1);
	rtrs_clt_close(c);
	rtrs_srv_close(srv);
}
END_TEST

START_TEST(kernel_nopath_aborts)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("127.0.0.1", &port, 0, 0);
	struct rtrs_addr p = path_to("127.0.0.1", port);
	struct rtrs_clt_opts o = clt_opts("api4", &p, 1);
	struct rtrs_clt_sess *c;

	o.kernel_nopath = true;
	o.no_reconnect = true;
	ck_assert_msg(rtrs_clt_open(&o, &c) == 0, "open: %s", rnbd_errmsg());
	rtrs_srv_close(srv);
	for (int i = 0; i < 2000 && !atomic_load(&clt_links[RTRS_CLT_LINK_EV_DISCONNECTED]); i++)
		sleep_ms(1);
	ck_assert_int_eq(do_io(c, false, DO_ECHO, 0, NULL, 0, 0), -ECONNABORTED);
	rtrs_clt_close(c);
}
END_TEST

START_TEST(open_failures)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("0.0.0.0", &port, 1, 1);
	struct rtrs_addr p = path_to("127.0.0.1", port), p2 = path_to("127.0.0.2", port);
	struct rtrs_addr dead = path_to("127.0.0.1", 1);
	struct rtrs_clt_opts o = clt_opts("api5", &p, 1);
	struct rtrs_clt_sess *c, *c2;

	/* nothing listens: a clear error, nothing left running */
	o.paths = &dead;
	ck_assert_int_eq(rtrs_clt_open(&o, &c), -ECONNREFUSED);
	ck_assert_errmsg_has("session api5, path 0: ");
	ck_assert_errmsg_has("Connection refused");
	o.paths = &p;
	o.sessname = "bad.name";
	ck_assert_int_eq(rtrs_clt_open(&o, &c), -EINVAL);
	o.sessname = "api5";
	ck_assert_msg(rtrs_clt_open(&o, &c) == 0, "open: %s", rnbd_errmsg());
	/* max_paths 1: a second path is refused; max_sessions 1 too */
	ck_assert_int_eq(rtrs_clt_path_add(c, &p2), -ECONNRESET);
	o.sessname = "api5b";
	ck_assert_int_eq(rtrs_clt_open(&o, &c2), -ENOMEM);
	rtrs_clt_close(c);
	rtrs_srv_close(srv);
}
END_TEST

START_TEST(name_clash)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("127.0.0.1", &port, 0, 0);
	struct rtrs_addr p = path_to("127.0.0.1", port);
	struct rtrs_clt_opts o = clt_opts("same", &p, 1);
	struct rtrs_clt_sess *c, *c2;

	ck_assert_msg(rtrs_clt_open(&o, &c) == 0, "open: %s", rnbd_errmsg());
	ck_assert_int_eq(rtrs_clt_open(&o, &c2), -EPERM);
	ck_assert_errmsg_has("Operation not permitted");
	rtrs_clt_close(c);
	rtrs_srv_close(srv);
}
END_TEST

/* Close with requests the server never answers: they fail, threads end. */
START_TEST(close_with_requests_out)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("127.0.0.1", &port, 0, 0);
	struct rtrs_addr p = path_to("127.0.0.1", port);
	struct rtrs_clt_opts o = clt_opts("api6", &p, 1);
	struct rtrs_clt_sess *c;
	struct sync_io s[4];

	o.connect_timeout_ms = 300;
	atomic_store(&nheld, 0);
	ck_assert_msg(rtrs_clt_open(&o, &c) == 0, "open: %s", rnbd_errmsg());
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(submit(c, &s[i], false, DO_HOLD, 0, NULL, 0, 0), 0);
	for (int i = 0; i < 2000 && atomic_load(&nheld) < 4; i++)
		sleep_ms(1);
	ck_assert_int_eq(atomic_load(&nheld), 4);
	rtrs_clt_close(c);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(atomic_load(&s[i].done), 1);
		ck_assert_int_eq(s[i].err, -ECONNABORTED);
	}
	/* the server keeps the session until its upper layer answers */
	for (int i = 0; i < 4; i++)
		rtrs_srv_resp(held[i], 0);
	rtrs_srv_close(srv);
}
END_TEST

static void wait_puts(int n)
{
	for (int i = 0; i < 5000 && atomic_load(&lend_puts) < n; i++)
		sleep_ms(1);
	ck_assert_int_eq(atomic_load(&lend_puts), n);
}

/*
 * Reads answered from lent memory: the data arrives whole and every pinned
 * piece is given back once, whether it was sent, refused (a lend shorter
 * than the read fails it with -EIO) or dropped with its connection.
 */
START_TEST(lent_responses)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("127.0.0.1", &port, 0, 0);
	struct rtrs_addr p = path_to("127.0.0.1", port);
	struct rtrs_clt_opts o = clt_opts("api-lend", &p, 1);
	static uint8_t buf[4 * LEND_PIECE];
	struct rtrs_clt_sess *c;
	struct rtrs_lend l;
	struct sync_io s;

	for (int i = 0; i < 3; i++)
		memset(lend_src[i], 0xa0 + i, LEND_PIECE);
	atomic_store(&lend_puts, 0);
	atomic_store(&nheld, 0);
	o.connect_timeout_ms = 300;
	ck_assert_msg(rtrs_clt_open(&o, &c) == 0, "open: %s", rnbd_errmsg());
	for (int n = 0; n < 50; n++) {
		memset(buf, 0x55, sizeof(buf));
		ck_assert_int_eq(do_io(c, true, DO_LEND, 0, buf, sizeof(buf), 0), 0);
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < LEND_PIECE; j++)
				ck_assert_uint_eq(buf[i * LEND_PIECE + j], i < 3 ? 0xa0 + i : 0);
	}
	wait_puts(150);
	ck_assert_int_eq(do_io(c, true, DO_LEND_SHORT, 0, buf, sizeof(buf), 0), -EIO);
	wait_puts(153);

	ck_assert_int_eq(submit(c, &s, true, DO_HOLD, 0, buf, sizeof(buf), 0), 0);
	for (int i = 0; i < 2000 && atomic_load(&nheld) < 1; i++)
		sleep_ms(1);
	ck_assert_int_eq(atomic_load(&nheld), 1);
	rtrs_clt_close(c);
	ck_assert_int_eq(s.err, -ECONNABORTED);
	lend_build(&l, false);
	rtrs_srv_resp_lent(held[0], &l);
	wait_puts(156);
	rtrs_srv_close(srv);
}
END_TEST

struct hammer {
	struct rtrs_clt_sess *c;
	int errors;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	uint8_t buf[8192];

	for (int i = 0; i < 300; i++) {
		memset(buf, i & 0xff, sizeof(buf));
		if (do_io(h->c, i & 1, DO_ECHO, 0, buf, sizeof(buf), i & 0xff) ||
		    ((i & 1) && buf[8191] != (i & 0xff)))
			h->errors++;
	}
	return NULL;
}

/* Submissions from many threads at once, beyond the queue depth. */
START_TEST(many_threads)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("127.0.0.1", &port, 0, 0);
	struct rtrs_addr p = path_to("127.0.0.1", port);
	struct rtrs_clt_opts o = clt_opts("api7", &p, 1);
	struct hammer h[8];
	pthread_t t[8];
	struct rtrs_stats st;

	ck_assert_msg(rtrs_clt_open(&o, &h[0].c) == 0, "open: %s", rnbd_errmsg());
	for (int i = 0; i < 8; i++) {
		h[i] = (struct hammer){ .c = h[0].c };
		pthread_create(&t[i], NULL, hammer_thread, &h[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(h[i].errors, 0);
	}
	rtrs_clt_stats(h[0].c, &st);
	ck_assert_uint_eq(st.reqs_read + st.reqs_write, 8 * 300);
	rtrs_clt_close(h[0].c);
	rtrs_srv_close(srv);
}
END_TEST

/*
 * From a completion callback (on one of the client's loops), a request
 * stays on that loop's connection, while the parts of a split request
 * (spread) go over every connection: seen as the server loops they reach.
 */
struct fan {
	struct rtrs_clt_sess *c;
	struct sync_io trigger, part[8];
	bool spread;
};

static void fan_out(struct rtrs_clt_io *io, int err)
{
	struct fan *f = container_of(io, struct fan, trigger.io);

	f->trigger.err = err;
	for (int i = 0; i < 8; i++) {
		prepare(&f->part[i], false, DO_WHERE, 0, NULL, 0, 0);
		f->part[i].io.spread = f->spread;
		ck_assert_int_eq(rtrs_clt_request(f->c, &f->part[i].io), 0);
	}
	atomic_store(&f->trigger.done, 1);
}

static unsigned int loops_reached(struct rtrs_clt_sess *c, bool spread)
{
	static struct fan f;

	memset(&f, 0, sizeof(f));
	f.c = c;
	f.spread = spread;
	atomic_store(&where_mask, 0);
	prepare(&f.trigger, false, DO_ECHO, 0, NULL, 0, 0);
	f.trigger.io.done = fan_out;
	ck_assert_int_eq(rtrs_clt_request(c, &f.trigger.io), 0);
	ck_assert(wait_done(&f.trigger, 10000));
	for (int i = 0; i < 8; i++) {
		ck_assert(wait_done(&f.part[i], 10000));
		ck_assert_int_eq(f.part[i].err, 0);
	}
	return (unsigned int)__builtin_popcount(atomic_load(&where_mask));
}

START_TEST(split_parts_spread)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("127.0.0.1", &port, 0, 0);
	struct rtrs_addr p = path_to("127.0.0.1", port);
	struct rtrs_clt_opts o = clt_opts("api-spread", &p, 1);
	struct rtrs_clt_sess *c;

	ck_assert_msg(rtrs_clt_open(&o, &c) == 0, "open: %s", rnbd_errmsg());
	ck_assert_uint_eq(loops_reached(c, false), 1);
	ck_assert_uint_eq(loops_reached(c, true), 2);
	rtrs_clt_close(c);
	rtrs_srv_close(srv);
}
END_TEST

/* A dual-stack [::] listener takes an IPv6 and an IPv4 path of one session. */
START_TEST(ipv6_and_dual_stack)
{
	uint16_t port = 0;
	struct rtrs_srv *srv = srv_start("[::]", &port, 0, 0);
	struct rtrs_addr p[2] = { path_to("[::1]", port), path_to("127.0.0.1", port) };
	struct rtrs_clt_opts o = clt_opts("api8", p, 2);
	struct rtrs_clt_path_info info[8];
	struct rtrs_srv_path_info sinfo[8];
	struct rtrs_clt_sess *c;
	uint8_t buf[4096];
	char host[64];
	int n;

	ck_assert_msg(rtrs_clt_open(&o, &c) == 0, "open: %s", rnbd_errmsg());
	ck_assert_int_eq(path_count(c, RTRS_CLT_CONNECTED, info), 2);
	ck_assert_int_eq(info[0].addr.dst.ss_family, AF_INET6);
	ck_assert_int_eq(rtrs_clt_set_policy(c, RTRS_MP_POLICY_RR), 0);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(do_io(c, true, DO_ECHO, 0, buf, sizeof(buf), 3), 0);
	n = rtrs_srv_paths(srv, sinfo, 8);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(sinfo[0].sessname, "api8");
	ck_assert_str_eq(rnbd_addr_host(&sinfo[0].peer, host, sizeof(host)), "::1");
	/* the IPv4 client appears as a mapped address on the dual-stack socket */
	ck_assert_str_eq(rnbd_addr_host(&sinfo[1].peer, host, sizeof(host)), "::ffff:127.0.0.1");
	ck_assert_uint_eq(sinfo[0].stats.reqs_read + sinfo[1].stats.reqs_read, 10);
	ck_assert_int_eq(rtrs_srv_sess_close(srv, "nosuch"), -ENOENT);
	ck_assert_int_eq(rtrs_srv_sess_close(srv, "api8"), 0);
	for (int i = 0; i < 2000 && !atomic_load(&clt_links[RTRS_CLT_LINK_EV_DISCONNECTED]); i++)
		sleep_ms(1);
	ck_assert_int_eq(atomic_load(&clt_links[RTRS_CLT_LINK_EV_DISCONNECTED]), 1);
	rtrs_clt_close(c);
	rtrs_srv_close(srv);
}
END_TEST

static Suite *rtrs_api_suite(void)
{
	Suite *s = suite_create("rtrs-api");
	TCase *tc = tcase_create("api");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, requests_and_errors);
	tcase_add_test(tc, paths_at_run_time);
	tcase_add_test(tc, server_restart_and_nopath);
	tcase_add_test(tc, kernel_nopath_aborts);
	tcase_add_test(tc, open_failures);
	tcase_add_test(tc, name_clash);
	tcase_add_test(tc, close_with_requests_out);
	tcase_add_test(tc, many_threads);
	tcase_add_test(tc, split_parts_spread);
	tcase_add_test(tc, lent_responses);
	tcase_add_test(tc, ipv6_and_dual_stack);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(rtrs_api_suite)
