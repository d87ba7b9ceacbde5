// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tcp-ceiling: the most a request/response protocol can get out of TCP for
 * a given workload.  A minimal blocking server answers each request without
 * touching its data; the client keeps DEPTH requests in flight, with the
 * sizes and the read/write mix rnbd-bench would use (tools/rnbd-bench's
 * bssplit and random numbers).  Each request is a 16-byte header plus the
 * data of a write; each response a 16-byte header plus the data of a read.
 *
 *   tcp-ceiling server [-l ADDR:PORT]
 *   tcp-ceiling client -p ADDR:PORT [-b SIZE | -B BSSPLIT] [-r READ_PERCENT]
 *                      [-d DEPTH] [-c CONNS] [-t SECONDS] [-R RAMP_SECONDS]
 *
 * The server prints "listening on ADDR:PORT"; the client one line,
 * "iops N mbps N" (MB: 10^6 bytes).  The client spreads DEPTH over CONNS
 * connections (default: as many as CPUs, at most DEPTH).  A connection with
 * one request in flight is a plain ping-pong on one thread; with more, a
 * sender and a receiver thread share it, so that reads coming back never
 * wait behind writes going out.  Requests started in the ramp, or answered
 * after the end, are not counted.  Exit status 0, or 2 on bad usage or a
 * broken connection.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bssplit.h"
#include "size.h"
#include "workload.h"
#include "full-io.h"

struct msg {
	uint32_t len;		/* data bytes that follow */
	uint32_t want;		/* data bytes wanted back */
	uint64_t pad;
};

static struct {
	struct bssplit bs;
	unsigned int read_pct, depth, conns;
	double secs, ramp;
	uint64_t t_ramp_end, t_end;
	_Atomic uint64_t ops, bytes;
} cfg = { .read_pct = 100, .depth = 1, .secs = 5 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "tcp-ceiling: %s: %s\n", what, strerror(errno));
	exit(2);
}

/*
 * A header and its data in one system call (0, or -1 on EOF or error): as
 * any real protocol sends them, and two sends of a NODELAY socket would be
 * two segments and two wake-ups of the peer.
 */
static int full_io2(int fd, void *hdr, size_t hlen, void *data, size_t dlen, bool out)
{
	struct iovec iov[2] = { { hdr, hlen }, { data, dlen } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = dlen ? 2 : 1 };

	while (m.msg_iovlen) {
		ssize_t n = out ? sendmsg(fd, &m, MSG_NOSIGNAL) : recvmsg(fd, &m, MSG_WAITALL);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		while (m.msg_iovlen && (size_t)n >= m.msg_iov->iov_len) {
			n -= (ssize_t)m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (m.msg_iovlen) {
			m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + n;
			m.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* "HOST:PORT" (HOST may be "[v6]") into an address */
static int resolve(const char *hostport, bool passive, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0 };
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo *ai;
	size_t hl;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	hl = (size_t)(colon - hostport);
	if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), hostport + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)hl, hostport);
	if (getaddrinfo(host, colon + 1, &hints, &ai))
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* ---- server ---- */

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t *buf = malloc(BS_MAX);
	struct msg m;

	while (buf && !full_io(fd, &m, sizeof(m), false) && m.len <= BS_MAX && m.want <= BS_MAX &&
	       !full_io(fd, buf, m.len, false)) {
		m.len = m.want;
		if (full_io2(fd, &m, sizeof(m), buf, m.want, true))
			break;
	}
	close(fd);
	free(buf);
	return NULL;
}

static int run_server(int argc, char **argv)
{
	const char *listen_on = "127.0.0.1:0";
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];
	int c, lfd, one = 1;

	while ((c = getopt(argc, argv, "l:")) != -1) {
		if (c != 'l')
			return 2;
		listen_on = optarg;
	}
	if (resolve(listen_on, true, &ss, &len)) {
		fprintf(stderr, "tcp-ceiling: %s: not ADDR:PORT\n", listen_on);
		return 2;
	}
	lfd = socket(ss.ss_family, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 64))
		die("listen");
	len = sizeof(ss);
	getsockname(lfd, (struct sockaddr *)&ss, &len);
	getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	printf("listening on %s:%s\n", host, port);
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pthread_t t;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		nodelay(fd);
		if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
}

/* ---- client ---- */

struct conn {
	struct sockaddr_storage dst;
	socklen_t dst_len;
	unsigned int depth;
	uint64_t rng;
	int fd;
	uint8_t *buf;		/* the sender's: what writes carry */
	uint8_t *rbuf;		/* the receiver's: where reads land */
	uint64_t *t0;		/* start of each request in flight, in order */
	uint32_t *len;		/* and its size */
	sem_t credits;
	pthread_t sender, receiver;
};

static void next_request(struct conn *c, struct msg *m)
{
	uint64_t r = wl_rand(&c->rng);
	uint32_t len = bssplit_pick(&cfg.bs, r >> 8);
	bool write = cfg.read_pct == 0 || (cfg.read_pct < 100 && (r >> 40) % 100 >= cfg.read_pct);

	*m = (struct msg){ .len = write ? len : 0, .want = write ? 0 : len };
}

static void count(uint64_t t0, uint64_t len)
{
	uint64_t t = now_ns();

	if (t0 >= cfg.t_ramp_end && t <= cfg.t_end) {
		atomic_fetch_add_explicit(&cfg.ops, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&cfg.bytes, len, memory_order_relaxed);
	}
}

static void *ping_pong(void *arg)
{
	struct conn *c = arg;
	struct msg m, r;

	while (now_ns() < cfg.t_end) {
		uint64_t t0 = now_ns();

		next_request(c, &m);
		/* the client knows how much comes back: header and data in one read */
		if (full_io2(c->fd, &m, sizeof(m), c->buf, m.len, true) ||
		    full_io2(c->fd, &r, sizeof(r), c->rbuf, m.want, false))
			die("ping-pong");
		count(t0, m.len + r.len);
	}
	return NULL;
}

static void *send_loop(void *arg)
{
	struct conn *c = arg;
	uint64_t head = 0;
	struct msg m;

	for (;;) {
		while (sem_wait(&c->credits) && errno == EINTR)
			;
		if (now_ns() >= cfg.t_end)
			break;
		next_request(c, &m);
		c->t0[head % c->depth] = now_ns();
		c->len[head % c->depth] = m.len + m.want;
		head++;
		if (full_io2(c->fd, &m, sizeof(m), c->buf, m.len, true))
			die("send");
	}
	/* the server answers what it has, then sees the end: so does the receiver */
	shutdown(c->fd, SHUT_WR);
	return NULL;
}

static void *recv_loop(void *arg)
{
	struct conn *c = arg;
	uint64_t tail = 0;
	struct msg r;

	while (!full_io(c->fd, &r, sizeof(r), false)) {
		if (full_io(c->fd, c->rbuf, r.len, false))
			die("recv");
		count(c->t0[tail % c->depth], c->len[tail % c->depth]);
		tail++;
		sem_post(&c->credits);
	}
	return NULL;
}

static void conn_open(struct conn *c)
{
	c->fd = socket(c->dst.ss_family, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&c->dst, c->dst_len))
		die("connect");
	nodelay(c->fd);
	c->buf = malloc(cfg.bs.max);
	c->rbuf = malloc(cfg.bs.max);
	c->t0 = calloc(c->depth, sizeof(*c->t0));
	c->len = calloc(c->depth, sizeof(*c->len));
	if (!c->buf || !c->rbuf || !c->t0 || !c->len || sem_init(&c->credits, 0, c->depth))
		die("memory");
	memset(c->buf, 0x5a, cfg.bs.max);
}

static void conn_start(struct conn *c)
{
	int ret = pthread_create(&c->sender, NULL, c->depth == 1 ? ping_pong : send_loop, c);

	if (!ret && c->depth > 1)
		ret = pthread_create(&c->receiver, NULL, recv_loop, c);
	if (ret) {
		errno = ret;
		die("thread");
	}
}

static void conn_close(struct conn *c)
{
	pthread_join(c->sender, NULL);
	if (c->depth > 1)
		pthread_join(c->receiver, NULL);
	close(c->fd);
	sem_destroy(&c->credits);
	free(c->buf);
	free(c->rbuf);
	free(c->t0);
	free(c->len);
}

static int usage(const char *why)
{
	fprintf(stderr, "tcp-ceiling: %s\nusage: tcp-ceiling server [-l ADDR:PORT]\n"
		"       tcp-ceiling client -p ADDR:PORT [-b SIZE | -B BSSPLIT] [-r READ_PERCENT]\n"
		"                          [-d DEPTH] [-c CONNS] [-t SECONDS] [-R RAMP_SECONDS]\n",
		why);
	return 2;
}

static int run_client(int argc, char **argv)
{
	struct sockaddr_storage dst;
	socklen_t dst_len = 0;
	struct conn *conns;
	char err[256];
	uint64_t v, t0;
	int c;

	bssplit_single(&cfg.bs, 4096, err, sizeof(err));
	while ((c = getopt(argc, argv, "p:b:B:r:d:c:t:R:")) != -1) {
		switch (c) {
		case 'p':
			if (resolve(optarg, false, &dst, &dst_len))
				return usage("-p: not HOST:PORT");
			break;
		case 'b':
			if (size_parse(optarg, &v) || bssplit_single(&cfg.bs, v, err, sizeof(err)))
				return usage("-b: not a block size");
			break;
		case 'B':
			if (bssplit_parse(optarg, &cfg.bs, err, sizeof(err)))
				return usage(err);
			break;
		case 'r': cfg.read_pct = (unsigned int)atoi(optarg); break;
		case 'd': cfg.depth = (unsigned int)atoi(optarg); break;
		case 'c': cfg.conns = (unsigned int)atoi(optarg); break;
		case 't': cfg.secs = atof(optarg); break;
		case 'R': cfg.ramp = atof(optarg); break;
		default: return usage("unknown option");
		}
	}
	if (!dst_len || cfg.read_pct > 100 || !cfg.depth || cfg.depth > 4096 || cfg.secs <= 0 ||
	    cfg.ramp < 0)
		return usage("-p is needed; -r 0..100, -d 1..4096, -t > 0, -R >= 0");
	if (!cfg.conns)
		cfg.conns = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	if (cfg.conns > cfg.depth)
		cfg.conns = cfg.depth;
	conns = calloc(cfg.conns, sizeof(*conns));
	if (!conns)
		die("memory");
	for (unsigned int i = 0; i < cfg.conns; i++) {
		conns[i] = (struct conn){
			.dst = dst, .dst_len = dst_len, .rng = wl_seed(now_ns(), i),
			.depth = cfg.depth / cfg.conns + (i < cfg.depth % cfg.conns),
		};
		conn_open(&conns[i]);
	}
	t0 = now_ns();
	cfg.t_ramp_end = t0 + (uint64_t)(cfg.ramp * 1e9);
	cfg.t_end = cfg.t_ramp_end + (uint64_t)(cfg.secs * 1e9);
	for (unsigned int i = 0; i < cfg.conns; i++)
		conn_start(&conns[i]);
	for (unsigned int i = 0; i < cfg.conns; i++)
		conn_close(&conns[i]);
	printf("iops %.0f mbps %.1f\n", (double)cfg.ops / cfg.secs, (double)cfg.bytes / cfg.secs / 1e6);
	free(conns);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "server"))
		return run_server(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "client"))
		return run_client(argc - 1, argv + 1);
	return usage("server or client?");
}
