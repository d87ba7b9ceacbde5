// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rnbd-fio-direct: fio-like load on an RNBD device through the public client
 * API only, with no FUSE and no loop device in between: what the library
 * gives an application that links it.
 *
 *   rnbd-fio-direct [-r randread|randwrite|read|write] [-b BS] [-d DEPTH]
 *                   [-t SECONDS] [-R RAMP_SECONDS] [-w WORKERS] URI
 *
 * DEPTH requests are kept in flight; each is resubmitted from its completion
 * callback (on a library thread), as an asynchronous application would.
 * Random offsets are BS-aligned and uniform over the device; sequential
 * ones walk it from 0 and wrap.  Completions during the first RAMP_SECONDS
 * are not counted.  One line on stdout:
 *   "iops N mbps N lat_avg_us N"   (mbps: 10^6 bytes per second, as fio's MB/s)
 * Exit status: 0 ok, 1 an I/O failed, 2 bad usage or no connection.
 */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rnbd/rnbd.h>

#define MAX_DEPTH 1024
#define DRAIN_MAX_S 30			/* give up waiting for the last requests */

struct slot {
	struct rnbd_io io;
	struct iovec iov;
	uint64_t rng;
	uint64_t start_ns;
};

static struct {
	bool random, write;
	uint32_t bs;
	unsigned int depth;
	double secs, ramp;
	unsigned int workers;
} cfg = { .random = true, .bs = 4096, .depth = 32, .secs = 10, .ramp = 1 };

static struct rnbd_dev *dev;
static uint64_t dev_blocks;
static atomic_bool stopping;
static atomic_bool counting;
static _Atomic uint64_t next_block;	/* sequential */
static _Atomic uint64_t done_ops, done_lat_ns, inflight;
static _Atomic int first_err;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int submit(struct slot *sl);

static void on_done(struct rnbd_io *io, int err)
{
	struct slot *sl = io->opaque;

	if (err) {
		int zero = 0;

		atomic_compare_exchange_strong(&first_err, &zero, err);
		atomic_store(&stopping, true);
	} else if (atomic_load_explicit(&counting, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&done_ops, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&done_lat_ns, now_ns() - sl->start_ns,
					  memory_order_relaxed);
	}
	if (atomic_load(&stopping) || submit(sl))
		atomic_fetch_sub(&inflight, 1);
}

/* 0: in flight (done() will run); otherwise not. */
static int submit(struct slot *sl)
{
	uint64_t blk;
	int ret;

	if (cfg.random)
		blk = xorshift(&sl->rng) % dev_blocks;
	else
		blk = atomic_fetch_add_explicit(&next_block, 1, memory_order_relaxed) % dev_blocks;
	sl->io = (struct rnbd_io){
		.op = cfg.write ? RNBD_OP_WRITE : RNBD_OP_READ,
		.offset = blk * cfg.bs, .len = cfg.bs,
		.iov = &sl->iov, .iovcnt = 1,
		.done = on_done, .opaque = sl,
	};
	sl->start_ns = now_ns();
	ret = rnbd_dev_submit(dev, &sl->io);
	if (ret) {
		int zero = 0;

		atomic_compare_exchange_strong(&first_err, &zero, ret);
		atomic_store(&stopping, true);
	}
	return ret;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void usage(void)
{
	fprintf(stderr, "usage: rnbd-fio-direct [-r randread|randwrite|read|write] [-b BS] "
			"[-d DEPTH] [-t SECONDS] [-R RAMP_SECONDS] [-w WORKERS] URI\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct rnbd_sess_opts o = { .size = sizeof(o) };
	struct rnbd_dev_info info;
	struct rnbd_sess *sess;
	struct slot *slots;
	uint64_t t0, t1, ops, lat;
	unsigned int started = 0;
	int c, ret;

	while ((c = getopt(argc, argv, "r:b:d:t:R:w:")) != -1) {
		switch (c) {
		case 'r':
			cfg.random = !strncmp(optarg, "rand", 4);
			cfg.write = strstr(optarg, "write") != NULL;
			if (strcmp(optarg + (cfg.random ? 4 : 0), cfg.write ? "write" : "read"))
				usage();
			break;
		case 'b': cfg.bs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'd': cfg.depth = (unsigned int)atoi(optarg); break;
		case 't': cfg.secs = atof(optarg); break;
		case 'R': cfg.ramp = atof(optarg); break;
		case 'w': cfg.workers = (unsigned int)atoi(optarg); break;
		default: usage();
		}
	}
	if (optind + 1 != argc || !cfg.bs || cfg.bs % 512 || !cfg.depth ||
	    cfg.depth > MAX_DEPTH || cfg.secs <= 0 || cfg.ramp < 0)
		usage();
	o.nr_workers = cfg.workers;
	ret = rnbd_open_uri(argv[optind], &o, &sess, &dev);
	if (ret) {
		fprintf(stderr, "rnbd-fio-direct: %s: %s\n", argv[optind], rnbd_errmsg());
		return 2;
	}
	rnbd_dev_get_info(dev, &info);
	dev_blocks = info.size / cfg.bs;
	slots = calloc(cfg.depth, sizeof(*slots));
	if (!dev_blocks || !slots) {
		fprintf(stderr, "rnbd-fio-direct: device smaller than one block, or no memory\n");
		return 2;
	}
	for (unsigned int i = 0; i < cfg.depth; i++) {
		void *buf = aligned_alloc(4096, (cfg.bs + 4095) & ~4095u);

		if (!buf)
			return 2;
		memset(buf, 0xa5 ^ (int)i, cfg.bs);
		slots[i].iov = (struct iovec){ buf, cfg.bs };
		slots[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
	}

	for (unsigned int i = 0; i < cfg.depth; i++) {
		atomic_fetch_add(&inflight, 1);
		if (submit(&slots[i])) {
			atomic_fetch_sub(&inflight, 1);
			break;
		}
		started++;
	}
	if (started) {
		sleep_s(cfg.ramp);
		atomic_store(&counting, true);
		t0 = now_ns();
		sleep_s(cfg.secs);
		atomic_store(&counting, false);
		t1 = now_ns();
	} else {
		t0 = t1 = now_ns();
	}
	atomic_store(&stopping, true);
	for (int i = 0; i < DRAIN_MAX_S * 100 && atomic_load(&inflight); i++)
		sleep_s(0.01);
	if (atomic_load(&inflight)) {
		/* the requests still own their slots: leave without freeing them */
		fprintf(stderr, "rnbd-fio-direct: %llu requests never completed\n",
			(unsigned long long)atomic_load(&inflight));
		return 1;
	}
	ret = atomic_load(&first_err);
	if (ret) {
		fprintf(stderr, "rnbd-fio-direct: I/O failed: %s (%s)\n", strerror(-ret),
			rnbd_errmsg());
	} else {
		double s = (double)(t1 - t0) / 1e9;

		ops = atomic_load(&done_ops);
		lat = atomic_load(&done_lat_ns);
		printf("iops %.0f mbps %.1f lat_avg_us %.1f\n", (double)ops / s,
		       (double)ops * cfg.bs / s / 1e6, ops ? (double)lat / (double)ops / 1e3 : 0.0);
	}
	rnbd_dev_close(dev);
	rnbd_sess_close(sess);
	for (unsigned int i = 0; i < cfg.depth; i++)
		free(slots[i].iov.iov_base);
	free(slots);
	return ret ? 1 : 0;
}
