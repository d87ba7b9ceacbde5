// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rtrs-echo: an RTRS server and client over the RTRS API, for integration
 * tests.  Every request carries a seed and a length in its user message:
 * the server checks the data of a write against the pattern of that seed and
 * fills a read with it; the client fills its writes and checks its reads.
 * So every byte is verified end to end, in both directions, and the client
 * also checks that every request completes exactly once.
 *
 *   rtrs-echo server [-l ADDR:PORT]... [-w N] [-q QD] [-m MAX_IO]
 *                    [-H HB_MS] [-M SESSIONS] [-p PATHS_PER_SESSION] [-L]
 *                    [-b SNDBUF]
 *       prints "listening on ADDR:PORT" per listener, serves until SIGTERM
 *       or SIGINT, then prints its request count.  -L answers reads from
 *       lent memory (rtrs_srv_resp_lent(), three pieces of their own); it
 *       counts the pieces not given back at exit and fails if any are.
 *   rtrs-echo client -p [SRC,]DST:PORT [-p ...] [-s NAME] [-n COUNT]
 *                    [-d DEPTH] [-S MAX_SIZE] [-P POLICY] [-w N] [-r MS]
 *                    [-H HB_MS] [-T NOPATH_MS] [-e ERR_OK] [-k SESSIONS]
 *                    [-R SECONDS] [-t REQUEST_TIMEOUT_MS]
 *       sends COUNT requests (sizes 0..MAX_SIZE, half reads), DEPTH at a
 *       time, from SESSIONS sessions at once; with -R it keeps going for
 *       that long instead.  Exit 0 iff every request completed once with
 *       correct data (or, with -e, failed with errno ERR_OK).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rnbd/rnbd.h"
#include "rtrs/rtrs.h"
#include "util/addr.h"

#define ECHO_MAGIC 0x4543484fu	/* "ECHO" */

struct echo_usr {
	uint32_t magic;
	uint32_t len;
	uint64_t seed;
};

static void pattern(uint64_t seed, uint8_t *buf, size_t len)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i += 8) {
		size_t n = len - i < 8 ? len - i : 8;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, n);
	}
}

/* Scratch space for the expected pattern, one per library thread. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_key_init(void)
{
	pthread_key_create(&scratch_key, free);
}

static bool pattern_ok(uint64_t seed, const uint8_t *buf, size_t len)
{
	uint8_t *scratch;

	pthread_once(&scratch_once, scratch_key_init);
	scratch = pthread_getspecific(scratch_key);
	if (!scratch) {
		scratch = malloc(16 << 20);
		pthread_setspecific(scratch_key, scratch);
	}
	pattern(seed, scratch, len);
	return !memcmp(buf, scratch, len);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "rtrs-echo: %s: %s (%s)\n", what, strerror(-err), rnbd_errmsg());
	exit(2);
}

static void log_to_stderr(void *opaque, enum rnbd_log_level level, const char *msg)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };

	(void)opaque;
	fprintf(stderr, "[%s] %s\n", names[level], msg);
}

/* ---- server ---- */

static atomic_ulong srv_reqs, srv_bad;
static bool lend_reads;
static atomic_long lent_out;

static void piece_put(void *ref)
{
	free(ref);
	atomic_fetch_sub(&lent_out, 1);
}

/* The read's data (already in data) lent again from three heap blocks. */
static int answer_lent(struct rtrs_srv_op *op, const uint8_t *data, uint32_t len)
{
	struct rtrs_lend l = { .put = piece_put };
	uint32_t off = 0;

	for (int i = 0; i < 3 && off < len; i++) {
		uint32_t n = i < 2 && len / 3 ? len / 3 : len - off;
		uint8_t *p = malloc(n);

		if (!p) {
			rtrs_lend_put(&l);
			return -ENOMEM;
		}
		memcpy(p, data + off, n);
		atomic_fetch_add(&lent_out, 1);
		l.seg[l.nseg++] = (struct rtrs_lend_seg){ p, n, p };
		off += n;
	}
	rtrs_srv_resp_lent(op, &l);
	return 0;
}
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int srv_request(void *priv, struct rtrs_srv_sess *sess, struct rtrs_srv_op *op, bool read,
		       void *data, uint32_t data_len, const void *usr, uint16_t usr_len)
{
	struct echo_usr u;

	(void)priv;
	(void)sess;
	atomic_fetch_add(&srv_reqs, 1);
	if (usr_len != sizeof(u))
		return -EINVAL;
	memcpy(&u, usr, sizeof(u));
	if (u.magic != ECHO_MAGIC || u.len != data_len)
		return -EINVAL;
	if (read) {
		pattern(u.seed, data, data_len);
		if (lend_reads)
			return answer_lent(op, data, data_len);
	} else {
		if (!pattern_ok(u.seed, data, data_len)) {
			atomic_fetch_add(&srv_bad, 1);
			return -EBADMSG;
		}
	}
	rtrs_srv_resp(op, 0);
	return 0;
}

static int srv_link_ev(void *priv, struct rtrs_srv_sess *sess, enum rtrs_srv_link_ev ev)
{
	(void)priv;
	fprintf(stderr, "session %s %s\n", rtrs_srv_sess_name(sess),
		ev == RTRS_SRV_LINK_EV_CONNECTED ? "connected" : "disconnected");
	return 0;
}

static const struct rtrs_srv_ops echo_srv_ops = {
	.link_ev = srv_link_ev,
	.request = srv_request,
};

static int run_server(int argc, char **argv)
{
	struct sockaddr_storage listen[8];
	struct rtrs_srv_opts o = { .ops = &echo_srv_ops, .listen = listen };
	struct rtrs_srv *srv;
	int c, ret;

	while ((c = getopt(argc, argv, "l:w:q:m:H:M:p:Lb:")) != -1) {
		switch (c) {
		case 'l':
			if (o.nlisten == 8 || rnbd_addr_parse(optarg, 1234, &listen[o.nlisten]))
				die("listen address", -EINVAL);
			o.nlisten++;
			break;
		case 'w': o.nr_workers = atoi(optarg); break;
		case 'q': o.queue_depth = atoi(optarg); break;
		case 'm': o.max_io_size = atoi(optarg); break;
		case 'H': o.hb_interval_ms = atoi(optarg); break;
		case 'M': o.max_sessions = atoi(optarg); break;
		case 'p': o.max_paths = atoi(optarg); break;
		case 'L': lend_reads = true; break;
		case 'b': o.sndbuf = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!o.nlisten) {
		rnbd_addr_parse("127.0.0.1:0", 0, &listen[0]);
		o.nlisten = 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ret = rtrs_srv_open(&o, &srv);
	if (ret)
		die("server", ret);
	for (unsigned int i = 0; i < o.nlisten; i++) {
		struct sockaddr_storage a;
		char buf[80];

		rtrs_srv_listen_addr(srv, i, &a);
		printf("listening on %s\n", rnbd_addr_str(&a, buf, sizeof(buf)));
	}
	fflush(stdout);
	while (!stop)
		pause();
	rtrs_srv_close(srv);
	printf("served %lu requests, %lu with bad data, %ld lent pieces not given back\n",
	       atomic_load(&srv_reqs), atomic_load(&srv_bad), atomic_load(&lent_out));
	return atomic_load(&srv_bad) || atomic_load(&lent_out) ? 1 : 0;
}

/* ---- client ---- */

struct creq {
	struct rtrs_clt_io io;
	struct echo_usr usr;
	struct iovec iov;
	uint8_t *buf;
	struct csess *cs;
	atomic_int done_count;
	bool busy;		/* under cs->lock */
};

struct csess {
	struct rtrs_clt_sess *sess;
	struct creq *reqs;
	unsigned int depth;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long issued, completed, bad, failed, twice, ok_err;
	unsigned int inflight;
	uint64_t seed;
};

static struct {
	unsigned long count;
	unsigned int depth;
	uint32_t max_size;
	int err_ok;
	double run_s;
} cfg = { .count = 1000, .depth = 16, .max_size = 65536 };

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void creq_done(struct rtrs_clt_io *io, int err)
{
	struct creq *r = container_of(io, struct creq, io);
	struct csess *cs = r->cs;
	bool bad = false;

	if (atomic_fetch_add(&r->done_count, 1)) {
		pthread_mutex_lock(&cs->lock);
		cs->twice++;
		pthread_mutex_unlock(&cs->lock);
		return;
	}
	if (!err && r->io.read)
		bad = !pattern_ok(r->usr.seed, r->buf, r->usr.len);
	pthread_mutex_lock(&cs->lock);
	r->busy = false;
	cs->completed++;
	cs->inflight--;
	if (bad)
		cs->bad++;
	else if (err && err == -cfg.err_ok)
		cs->ok_err++;
	else if (err) {
		cs->failed++;
		if (cs->failed <= 5)
			fprintf(stderr, "request seed %llu %s %u bytes failed: %s\n",
				(unsigned long long)r->usr.seed, r->io.read ? "read" : "write",
				r->usr.len, strerror(-err));
	}
	pthread_cond_signal(&cs->cond);
	pthread_mutex_unlock(&cs->lock);
}

static bool more(struct csess *cs, uint64_t t_end)
{
	struct timespec ts;

	if (!cfg.run_s)
		return cs->issued < cfg.count;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec < t_end;
}

static void *client_thread(void *arg)
{
	struct csess *cs = arg;
	struct timespec ts;
	uint64_t t_end;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t_end = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec + (uint64_t)(cfg.run_s * 1e9);
	pthread_mutex_lock(&cs->lock);
	while (more(cs, t_end)) {
		struct creq *r = NULL;
		int ret;

		while (cs->inflight == cs->depth)
			pthread_cond_wait(&cs->cond, &cs->lock);
		for (unsigned int i = 0; i < cs->depth; i++) {
			if (!cs->reqs[i].busy) {
				r = &cs->reqs[i];
				break;
			}
		}
		r->busy = true;
		cs->inflight++;
		cs->issued++;
		pthread_mutex_unlock(&cs->lock);

		r->usr.magic = ECHO_MAGIC;
		r->usr.seed = rnd(&cs->seed);
		/* a third tiny (incl. 0), the rest spread up to max_size */
		r->usr.len = rnd(&cs->seed) % 3 ? (uint32_t)(rnd(&cs->seed) % (cfg.max_size + 1)) :
						  (uint32_t)(rnd(&cs->seed) % 513);
		r->io = (struct rtrs_clt_io){
			.read = rnd(&cs->seed) & 1,
			.usr = &r->usr,
			.usr_len = sizeof(r->usr),
			.iov = &r->iov,
			.iovcnt = 1,
			.data_len = r->usr.len,
			.done = creq_done,
		};
		r->iov = (struct iovec){ r->buf, r->usr.len };
		if (r->io.read)
			memset(r->buf, 0xee, r->usr.len);
		else
			pattern(r->usr.seed, r->buf, r->usr.len);
		atomic_store(&r->done_count, 0);
		ret = rtrs_clt_request(cs->sess, &r->io);
		pthread_mutex_lock(&cs->lock);
		if (ret) {
			fprintf(stderr, "submit: %s (%s)\n", strerror(-ret), rnbd_errmsg());
			cs->failed++;
			cs->inflight--;
			r->busy = false;
		}
	}
	while (cs->inflight)
		pthread_cond_wait(&cs->cond, &cs->lock);
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

static int parse_path(const char *s, struct rtrs_addr *a)
{
	const char *comma = strchr(s, ',');
	char src[256];

	memset(a, 0, sizeof(*a));
	if (comma) {
		snprintf(src, sizeof(src), "%.*s", (int)(comma - s), s);
		if (rnbd_addr_parse(src, 0, &a->src))
			return -EINVAL;
		s = comma + 1;
	}
	return rnbd_addr_parse(s, 1234, &a->dst);
}

static int run_client(int argc, char **argv)
{
	struct rtrs_addr paths[16];
	struct rtrs_clt_opts o = { .paths = paths, .policy = RTRS_MP_POLICY_MIN_INFLIGHT };
	const char *name = "echo";
	unsigned int nsess = 1;
	struct csess *cs;
	pthread_t *th;
	unsigned long completed = 0, bad = 0, failed = 0, twice = 0, ok_err = 0, issued = 0;
	struct rtrs_stats st_sum = { 0 };
	int c, ret;

	while ((c = getopt(argc, argv, "p:s:n:d:S:P:w:r:H:T:e:k:R:t:")) != -1) {
		switch (c) {
		case 'p':
			if (o.npaths == 16 || parse_path(optarg, &paths[o.npaths]))
				die("path", -EINVAL);
			o.npaths++;
			break;
		case 's': name = optarg; break;
		case 'n': cfg.count = strtoul(optarg, NULL, 0); break;
		case 'd': cfg.depth = atoi(optarg); break;
		case 'S': cfg.max_size = strtoul(optarg, NULL, 0); break;
		case 'P':
			if (rtrs_mp_policy_parse(optarg, &o.policy))
				die("policy", -EINVAL);
			break;
		case 'w': o.nr_workers = atoi(optarg); break;
		case 'r': o.reconnect_delay_ms = atoi(optarg); o.reconnect_backoff_ms = 1; break;
		case 'H': o.hb_interval_ms = atoi(optarg); break;
		case 'T': o.noconn_timeout_ms = atoi(optarg); break;
		case 'e': cfg.err_ok = atoi(optarg); break;
		case 'k': nsess = atoi(optarg); break;
		case 'R': cfg.run_s = atof(optarg); break;
		case 't': o.request_timeout_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!o.npaths || !cfg.depth || !nsess)
		die("usage: need -p, and non-zero -d and -k", -EINVAL);
	cs = calloc(nsess, sizeof(*cs));
	th = calloc(nsess, sizeof(*th));
	for (unsigned int k = 0; k < nsess; k++) {
		char sname[64];

		snprintf(sname, sizeof(sname), nsess > 1 ? "%s%u" : "%s", name, k);
		o.sessname = sname;
		ret = rtrs_clt_open(&o, &cs[k].sess);
		if (ret)
			die("open", ret);
		cs[k].depth = cfg.depth;
		cs[k].seed = 0x1234567ull + k;
		cs[k].reqs = calloc(cfg.depth, sizeof(*cs[k].reqs));
		for (unsigned int i = 0; i < cfg.depth; i++) {
			cs[k].reqs[i].buf = malloc(cfg.max_size ? cfg.max_size : 1);
			cs[k].reqs[i].cs = &cs[k];
		}
		pthread_mutex_init(&cs[k].lock, NULL);
		pthread_cond_init(&cs[k].cond, NULL);
	}
	for (unsigned int k = 0; k < nsess; k++)
		pthread_create(&th[k], NULL, client_thread, &cs[k]);
	for (unsigned int k = 0; k < nsess; k++) {
		struct rtrs_stats st;

		pthread_join(th[k], NULL);
		if (getenv("RTRS_ECHO_PATHS")) {
			struct rtrs_clt_path_info pi[16];
			int n = rtrs_clt_paths(cs[k].sess, pi, 16);

			for (int i = 0; i < n && i < 16; i++)
				printf("path %d %s reqs %llu failovers %llu reconnects %llu\n",
				       pi[i].id, rtrs_clt_state_str(pi[i].state),
				       (unsigned long long)(pi[i].stats.reqs_read + pi[i].stats.reqs_write),
				       (unsigned long long)pi[i].stats.failovers,
				       (unsigned long long)pi[i].stats.reconnects);
		}
		rtrs_clt_stats(cs[k].sess, &st);
		st_sum.failovers += st.failovers;
		st_sum.reconnects += st.reconnects;
		st_sum.reqs_read += st.reqs_read;
		st_sum.reqs_write += st.reqs_write;
		issued += cs[k].issued;
		completed += cs[k].completed;
		bad += cs[k].bad;
		failed += cs[k].failed;
		twice += cs[k].twice;
		ok_err += cs[k].ok_err;
		rtrs_clt_close(cs[k].sess);
		for (unsigned int i = 0; i < cfg.depth; i++)
			free(cs[k].reqs[i].buf);
		free(cs[k].reqs);
	}
	free(cs);
	free(th);
	printf("issued %lu completed %lu bad %lu failed %lu twice %lu expected-errors %lu "
	       "failovers %llu reconnects %llu\n",
	       issued, completed, bad, failed, twice, ok_err,
	       (unsigned long long)st_sum.failovers, (unsigned long long)st_sum.reconnects);
	return completed == issued && !bad && !failed && !twice ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (getenv("RTRS_ECHO_LOG"))
		rnbd_log_set_handler(log_to_stderr, NULL, atoi(getenv("RTRS_ECHO_LOG")));
	if (argc > 1 && !strcmp(argv[1], "server"))
		return run_server(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "client"))
		return run_client(argc - 1, argv + 1);
	fprintf(stderr, "usage: rtrs-echo server|client [options]\n");
	return 2;
}
