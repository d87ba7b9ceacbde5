// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rtrs-perf: raw RTRS request/response throughput and latency over TCP,
 * and the ceiling to compare it with: a minimal blocking TCP ping-pong that
 * moves the same bytes (a 16-byte header each way plus the data).
 *
 *   rtrs-perf server  [-l ADDR:PORT] [-w N] [-m MAX_IO]
 *   rtrs-perf client  -p ADDR:PORT [-s SIZE] [-d DEPTH] [-t SECONDS] [-W] [-w N]
 *   rtrs-perf tcp-server [-l ADDR:PORT]
 *   rtrs-perf tcp-client -p ADDR:PORT [-s SIZE] [-d DEPTH] [-t SECONDS] [-W] [-c CONNS]
 *
 * Clients print one line: "iops N mbps N lat_avg_us N p50_us N p99_us N".
 * -W measures writes (data to the server); reads otherwise.  The RTRS client
 * resubmits from its completion callback, on the loop thread, as a storage
 * application driving the async API would.  The TCP client keeps DEPTH
 * requests in flight over CONNS blocking connections (one thread each).
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rnbd/rnbd.h"
#include "rtrs/rtrs.h"
#include "util/addr.h"
#include "full-io.h"

#define LAT_BUCKETS 4096	/* 1 us each, the last one catches the rest */

static struct {
	uint32_t size;
	unsigned int depth;
	double secs;
	bool write;
	unsigned int conns;
} cfg = { .size = 4096, .depth = 1, .secs = 3, .conns = 0 };

static volatile sig_atomic_t stop_srv;

static void on_signal(int sig)
{
	(void)sig;
	stop_srv = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "rtrs-perf: %s: %s (%s)\n", what, strerror(err < 0 ? -err : err),
		rnbd_errmsg());
	exit(2);
}

struct lat {
	_Atomic uint64_t count, sum_ns;
	_Atomic uint64_t hist[LAT_BUCKETS];
};

static void lat_add(struct lat *l, uint64_t ns)
{
	uint64_t us = ns / 1000;

	atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->sum_ns, ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->hist[us < LAT_BUCKETS ? us : LAT_BUCKETS - 1], 1,
				  memory_order_relaxed);
}

static unsigned int lat_pct(struct lat *l, double pct)
{
	uint64_t want = (uint64_t)(atomic_load(&l->count) * pct), seen = 0;

	for (unsigned int i = 0; i < LAT_BUCKETS; i++) {
		seen += atomic_load(&l->hist[i]);
		if (seen > want)
			return i;
	}
	return LAT_BUCKETS;
}

static void report(struct lat *l, double secs)
{
	uint64_t n = atomic_load(&l->count);

	printf("iops %.0f mbps %.1f lat_avg_us %.1f p50_us %u p99_us %u\n", n / secs,
	       n * (double)cfg.size / secs / 1e6, n ? atomic_load(&l->sum_ns) / 1e3 / n : 0,
	       lat_pct(l, 0.5), lat_pct(l, 0.99));
}

/* ---- RTRS ---- */

/* Like the ceiling's server, answer without touching the data: what is
 * measured is the transport, not a backend. */
static int srv_request(void *priv, struct rtrs_srv_sess *sess, struct rtrs_srv_op *op, bool read,
		       void *data, uint32_t len, const void *usr, uint16_t usr_len)
{
	(void)priv;
	(void)sess;
	(void)read;
	(void)data;
	(void)len;
	(void)usr;
	(void)usr_len;
	rtrs_srv_resp(op, 0);
	return 0;
}

static const struct rtrs_srv_ops perf_srv_ops = { .request = srv_request };

static int run_server(int argc, char **argv)
{
	struct sockaddr_storage l;
	struct rtrs_srv_opts o = { .listen = &l, .nlisten = 1, .ops = &perf_srv_ops };
	struct sockaddr_storage got;
	struct rtrs_srv *srv;
	char buf[80];
	int c, ret;

	rnbd_addr_parse("127.0.0.1:0", 0, &l);
	while ((c = getopt(argc, argv, "l:w:m:")) != -1) {
		switch (c) {
		case 'l':
			if (rnbd_addr_parse(optarg, 0, &l))
				die("address", -EINVAL);
			break;
		case 'w': o.nr_workers = atoi(optarg); break;
		case 'm': o.max_io_size = atoi(optarg); break;
		default: return 2;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ret = rtrs_srv_open(&o, &srv);
	if (ret)
		die("server", ret);
	rtrs_srv_listen_addr(srv, 0, &got);
	printf("listening on %s\n", rnbd_addr_str(&got, buf, sizeof(buf)));
	fflush(stdout);
	while (!stop_srv)
		pause();
	rtrs_srv_close(srv);
	return 0;
}

struct preq {
	struct rtrs_clt_io io;
	struct iovec iov;
	uint8_t usr[32];
	uint64_t t0;
};

static struct {
	struct rtrs_clt_sess *sess;
	struct lat lat;
	uint64_t t_end;
	atomic_int running;
} pc;

static void preq_send(struct preq *r)
{
	r->t0 = now_ns();
	if (rtrs_clt_request(pc.sess, &r->io))
		die("submit", -EIO);
}

static void preq_done(struct rtrs_clt_io *io, int err)
{
	struct preq *r = container_of(io, struct preq, io);
	uint64_t t = now_ns();

	if (err)
		die("request", err);
	lat_add(&pc.lat, t - r->t0);
	if (t < pc.t_end)
		preq_send(r);
	else
		atomic_fetch_sub(&pc.running, 1);
}

static int run_client(int argc, char **argv)
{
	struct rtrs_addr path = { 0 };
	struct rtrs_clt_opts o = { .paths = &path, .npaths = 1 };
	char name[32];
	struct preq *reqs;
	uint64_t t0;
	int c, ret;

	while ((c = getopt(argc, argv, "p:s:d:t:Ww:")) != -1) {
		switch (c) {
		case 'p':
			if (rnbd_addr_parse(optarg, 1234, &path.dst))
				die("address", -EINVAL);
			break;
		case 's': cfg.size = strtoul(optarg, NULL, 0); break;
		case 'd': cfg.depth = atoi(optarg); break;
		case 't': cfg.secs = atof(optarg); break;
		case 'W': cfg.write = true; break;
		case 'w': o.nr_workers = atoi(optarg); break;
		default: return 2;
		}
	}
	snprintf(name, sizeof(name), "perf%d", (int)getpid());
	o.sessname = name;
	ret = rtrs_clt_open(&o, &pc.sess);
	if (ret)
		die("open", ret);
	reqs = calloc(cfg.depth, sizeof(*reqs));
	for (unsigned int i = 0; i < cfg.depth; i++) {
		struct preq *r = &reqs[i];

		r->iov = (struct iovec){ aligned_alloc(4096, (cfg.size + 4095) & ~4095u), cfg.size };
		memset(r->iov.iov_base, 0xab, cfg.size);
		r->io = (struct rtrs_clt_io){
			.read = !cfg.write, .usr = r->usr, .usr_len = sizeof(r->usr),
			.iov = &r->iov, .iovcnt = 1, .data_len = cfg.size, .done = preq_done,
		};
	}
	/* warm-up second, not counted */
	pc.t_end = now_ns() + 500000000ull;
	atomic_store(&pc.running, cfg.depth);
	for (unsigned int i = 0; i < cfg.depth; i++)
		preq_send(&reqs[i]);
	while (atomic_load(&pc.running))
		usleep(1000);
	memset(&pc.lat, 0, sizeof(pc.lat));
	t0 = now_ns();
	pc.t_end = t0 + (uint64_t)(cfg.secs * 1e9);
	atomic_store(&pc.running, cfg.depth);
	for (unsigned int i = 0; i < cfg.depth; i++)
		preq_send(&reqs[i]);
	while (atomic_load(&pc.running))
		usleep(1000);
	report(&pc.lat, (now_ns() - t0) / 1e9);
	rtrs_clt_close(pc.sess);
	for (unsigned int i = 0; i < cfg.depth; i++)
		free(reqs[i].iov.iov_base);
	free(reqs);
	return 0;
}

/* ---- TCP ping-pong ceiling ---- */

struct tcp_msg {
	uint32_t len;		/* data bytes that follow */
	uint32_t want;		/* data bytes wanted back */
	uint64_t pad;
};

static void *tcp_serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t *buf = malloc(16 << 20);
	struct tcp_msg m;

	for (;;) {
		if (full_io(fd, &m, sizeof(m), false) || m.len > (16u << 20) ||
		    m.want > (16u << 20) || full_io(fd, buf, m.len, false))
			break;
		m.len = m.want;
		if (full_io(fd, &m, sizeof(m), true) || full_io(fd, buf, m.want, true))
			break;
	}
	close(fd);
	free(buf);
	return NULL;
}

static void tcp_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int run_tcp_server(int argc, char **argv)
{
	struct sockaddr_storage l, got;
	socklen_t len = sizeof(got);
	char buf[80];
	int c, lfd, one = 1;

	rnbd_addr_parse("127.0.0.1:0", 0, &l);
	while ((c = getopt(argc, argv, "l:")) != -1) {
		if (c != 'l' || rnbd_addr_parse(optarg, 0, &l))
			return 2;
	}
	lfd = socket(l.ss_family, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&l, sizeof(l)) || listen(lfd, 64))
		die("listen", -errno);
	getsockname(lfd, (struct sockaddr *)&got, &len);
	printf("listening on %s\n", rnbd_addr_str(&got, buf, sizeof(buf)));
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pthread_t t;

		if (fd < 0)
			break;
		tcp_nodelay(fd);
		pthread_create(&t, NULL, tcp_serve_conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
	return 0;
}

struct tcp_worker {
	struct sockaddr_storage dst;
	unsigned int depth;
	struct lat *lat;
	uint64_t t_end;
};

/* Keep depth requests in flight on one blocking connection: send them all,
 * then answer each response with the next request. */
static void *tcp_client_thread(void *arg)
{
	struct tcp_worker *w = arg;
	uint8_t *buf = malloc(cfg.size + 1);
	uint64_t *t0 = calloc(w->depth, sizeof(*t0));
	struct tcp_msg m = { .len = cfg.write ? cfg.size : 0, .want = cfg.write ? 0 : cfg.size };
	unsigned int head = 0, tail = 0, out = 0;
	int fd = socket(w->dst.ss_family, SOCK_STREAM, 0);

	memset(buf, 0xab, cfg.size);
	if (connect(fd, (struct sockaddr *)&w->dst, sizeof(w->dst)))
		die("connect", -errno);
	tcp_nodelay(fd);
	for (;;) {
		uint64_t t = now_ns();

		while (out < w->depth && t < w->t_end) {
			t0[head++ % w->depth] = now_ns();
			if (full_io(fd, &m, sizeof(m), true) || full_io(fd, buf, m.len, true))
				die("send", -EIO);
			out++;
		}
		if (!out)
			break;
		{
			struct tcp_msg r;

			if (full_io(fd, &r, sizeof(r), false) || full_io(fd, buf, r.len, false))
				die("recv", -EIO);
			lat_add(w->lat, now_ns() - t0[tail++ % w->depth]);
			out--;
		}
	}
	close(fd);
	free(buf);
	free(t0);
	return NULL;
}

static int run_tcp_client(int argc, char **argv)
{
	struct sockaddr_storage dst;
	struct lat *lat = calloc(1, sizeof(*lat));
	struct tcp_worker *w;
	pthread_t *t;
	uint64_t t0;
	int c;

	while ((c = getopt(argc, argv, "p:s:d:t:Wc:")) != -1) {
		switch (c) {
		case 'p':
			if (rnbd_addr_parse(optarg, 0, &dst))
				die("address", -EINVAL);
			break;
		case 's': cfg.size = strtoul(optarg, NULL, 0); break;
		case 'd': cfg.depth = atoi(optarg); break;
		case 't': cfg.secs = atof(optarg); break;
		case 'W': cfg.write = true; break;
		case 'c': cfg.conns = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!cfg.conns || cfg.conns > cfg.depth)
		cfg.conns = cfg.depth < 2 ? cfg.depth : 2;
	w = calloc(cfg.conns, sizeof(*w));
	t = calloc(cfg.conns, sizeof(*t));
	for (int pass = 0; pass < 2; pass++) {	/* warm-up, then measure */
		memset(lat, 0, sizeof(*lat));
		t0 = now_ns();
		for (unsigned int i = 0; i < cfg.conns; i++) {
			w[i] = (struct tcp_worker){
				.dst = dst, .lat = lat,
				.depth = cfg.depth / cfg.conns + (i < cfg.depth % cfg.conns),
				.t_end = t0 + (pass ? (uint64_t)(cfg.secs * 1e9) : 500000000ull),
			};
			pthread_create(&t[i], NULL, tcp_client_thread, &w[i]);
		}
		for (unsigned int i = 0; i < cfg.conns; i++)
			pthread_join(t[i], NULL);
	}
	report(lat, (now_ns() - t0) / 1e9);
	free(w);
	free(t);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rtrs-perf server|client|tcp-server|tcp-client [options]\n");
		return 2;
	}
	if (!strcmp(argv[1], "server"))
		return run_server(argc - 1, argv + 1);
	if (!strcmp(argv[1], "client"))
		return run_client(argc - 1, argv + 1);
	if (!strcmp(argv[1], "tcp-server"))
		return run_tcp_server(argc - 1, argv + 1);
	if (!strcmp(argv[1], "tcp-client"))
		return run_tcp_client(argc - 1, argv + 1);
	fprintf(stderr, "rtrs-perf: unknown mode %s\n", argv[1]);
	return 2;
}
