// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rnbd-io: I/O against an RNBD device for the shell tests, through the
 * public client API only.
 *
 *   rnbd-io [OPTIONS] COMMAND ARGS...
 *     write URI OFF LEN SEED        the pattern of SEED (--fua, --flush)
 *     verify URI OFF LEN SEED       read, compare with the pattern
 *     zero-check URI OFF LEN        read, expect zeroes
 *     discard URI OFF LEN
 *     write-zeroes URI OFF LEN      (--nounmap)
 *     flush URI
 *     info URI                      geometry as key=value lines
 *     stress URI                    random async I/O, verified (--seconds,
 *                                   --depth, --size-max, --region, --save-map)
 *     verify-map URI MAPFILE        check what a stress run left behind
 *     pattern OFF LEN SEED          the pattern to stdout, to compare files
 *
 * The pattern depends on the absolute offset only, so any slice of it can
 * be checked on its own.  Stress writes blocks whose content is a function
 * of (block, generation) and remembers each block's generation.
 *
 * Exit status: 0 ok, 1 an I/O failed or data did not verify, 2 bad usage or
 * no connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rnbd/rnbd.h>

#define EXIT_IO 1
#define EXIT_USAGE 2

#define CHUNK (4u << 20)		/* sync commands move this much per request */
#define WAIT_FOR_MAX_S 120		/* --wait-for gives up after this */
#define MAX_ALLOW 8
#define MAX_DEPTH 4096
#define MAX_REPORTS 5			/* failures printed one by one, then counted */
#define MAP_MAGIC "RNBDMAP1"

/* Block generations: 0 is "unknown content", this one "zeroes". */
#define GEN_UNKNOWN 0u
#define GEN_ZERO UINT32_MAX

static struct {
	bool fua, flush, nounmap;
	double seconds;
	unsigned int depth;
	uint64_t size_max;
	bool have_region;
	uint64_t region_off, region_len;
	int allow[MAX_ALLOW];
	unsigned int nallow;
	uint32_t io_timeout_ms, reconnect_delay_ms, connect_timeout_ms;
	unsigned int workers;
	const char *wait_for;
	const char *save_map;
	bool have_seed;
	uint64_t seed;
} opt = { .seconds = 5, .depth = 16, .size_max = 65536, .workers = 2 };

static const char *errname(int err)
{
	const char *n = strerrorname_np(err < 0 ? -err : err);

	return n ? n : "E?";
}

/* A library call failed: its errno and the library's message. */
static void lib_fail(const char *what, int err)
{
	fprintf(stderr, "rnbd-io: %s: %s (%s): %s\n", what, errname(err), strerror(-err),
		rnbd_errmsg());
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rnbd-io [OPTIONS] COMMAND ARGS...\n"
		"  write URI OFF LEN SEED     verify URI OFF LEN SEED   zero-check URI OFF LEN\n"
		"  discard URI OFF LEN        write-zeroes URI OFF LEN  flush URI   info URI\n"
		"  stress URI                 verify-map URI MAPFILE    pattern OFF LEN SEED\n"
		"options: --fua --flush --nounmap --seconds S --depth D --size-max N\n"
		"  --region OFF:LEN --allow-errno E (repeatable) --io-timeout-ms MS\n"
		"  --reconnect-delay-ms MS --connect-timeout-ms MS --workers N --wait-for FILE\n"
		"  --save-map FILE --seed N\n");
	exit(EXIT_USAGE);
}

/* "4096", "64K", "1M", "2G": bytes. */
static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-') {
		fprintf(stderr, "rnbd-io: '%s' is not a number\n", s);
		usage();
	}
	switch (*end) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	case 'T': v <<= 40; end++; break;
	}
	if (*end) {
		fprintf(stderr, "rnbd-io: '%s' is not a size\n", s);
		usage();
	}
	return v;
}

/* "EIO" or "5". */
static int parse_errno(const char *s)
{
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, s))
			return e;
	}
	if (parse_size(s) && parse_size(s) < 4096)
		return (int)parse_size(s);
	fprintf(stderr, "rnbd-io: unknown errno '%s'\n", s);
	usage();
	return 0;
}

static bool allowed(int err)
{
	for (unsigned int i = 0; i < opt.nallow; i++)
		if (opt.allow[i] == -err)
			return true;
	return false;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Bytes [off, off+len) of the pattern of seed. */
static void pattern_fill(uint8_t *b, uint64_t off, size_t len, uint64_t seed)
{
	uint64_t w = 0;

	for (size_t i = 0; i < len; i++) {
		uint64_t o = off + i;

		if (!i || !(o & 7))
			w = mix64(seed * 0xd6e8feb86659fd93ull + (o >> 3));
		b[i] = (uint8_t)(w >> ((o & 7) * 8));
	}
}

/* ------------------------------------------------------------------ */
/* Opening */

struct conn {
	const char *uri;
	struct rnbd_sess *sess;
	struct rnbd_dev *dev;
	struct rnbd_dev_info info;
};

/* Wait (bounded) until the test creates the file, when asked to. */
static void wait_for_file(void)
{
	if (!opt.wait_for)
		return;
	for (int i = 0; i < WAIT_FOR_MAX_S * 50; i++) {
		if (!access(opt.wait_for, F_OK))
			return;
		usleep(20000);
	}
	fprintf(stderr, "rnbd-io: %s did not appear within %d s\n", opt.wait_for,
		WAIT_FOR_MAX_S);
	exit(EXIT_USAGE);
}

static void conn_open(struct conn *c, const char *uri)
{
	struct rnbd_sess_opts o = {
		.size = sizeof(o),
		.nr_workers = opt.workers,
		.io_timeout_ms = opt.io_timeout_ms,
		.reconnect_delay_ms = opt.reconnect_delay_ms,
		.connect_timeout_ms = opt.connect_timeout_ms,
	};
	int ret;

	c->uri = uri;
	ret = rnbd_open_uri(uri, &o, &c->sess, &c->dev);
	if (ret) {
		lib_fail(uri, ret);
		exit(EXIT_USAGE);
	}
	rnbd_dev_get_info(c->dev, &c->info);
	/* for the tests: who we are on the server, and that I/O starts now */
	fprintf(stderr, "rnbd-io: ready session=%s device_id=%" PRIu32 "\n",
		rnbd_sess_name(c->sess), c->info.device_id);
	wait_for_file();
}

/* Close the device and the session; a failure counts unless allowed. */
static int conn_close(struct conn *c)
{
	int ret = rnbd_dev_close(c->dev);

	if (ret && !allowed(ret))
		lib_fail("close", ret);
	rnbd_sess_close(c->sess);
	return ret && !allowed(ret) ? EXIT_IO : 0;
}

/* ------------------------------------------------------------------ */
/* Simple commands */

struct sync_req {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int err;
};

static void sync_done(struct rnbd_io *io, int err)
{
	struct sync_req *w = io->opaque;

	pthread_mutex_lock(&w->lock);
	w->err = err;
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* A write with flags, which the library's synchronous wrappers do not take. */
static int write_flags(struct rnbd_dev *d, const void *buf, size_t len, uint64_t off,
		       uint32_t flags)
{
	struct sync_req w = { .lock = PTHREAD_MUTEX_INITIALIZER,
			      .cond = PTHREAD_COND_INITIALIZER };
	struct iovec iov = { (void *)buf, len };
	struct rnbd_io io = {
		.op = RNBD_OP_WRITE, .flags = flags, .offset = off, .len = len,
		.iov = &iov, .iovcnt = 1, .done = sync_done, .opaque = &w,
	};
	int ret = rnbd_dev_submit(d, &io);

	if (ret)
		return ret;
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	return w.err;
}

static void range_fail(const char *op, uint64_t off, uint64_t len, int err)
{
	char what[128];

	snprintf(what, sizeof(what), "%s at %" PRIu64 " + %" PRIu64, op, off, len);
	lib_fail(what, err);
}

/* Report the first byte of got that differs from want; true if they match. */
static bool compare(const uint8_t *got, const uint8_t *want, size_t len, uint64_t off)
{
	for (size_t i = 0; i < len; i++) {
		if (got[i] != want[i]) {
			fprintf(stderr,
				"rnbd-io: mismatch at offset %" PRIu64 ": read 0x%02x, expected 0x%02x\n",
				off + i, got[i], want[i]);
			return false;
		}
	}
	return true;
}

enum simple_cmd { C_WRITE, C_VERIFY, C_ZERO_CHECK };

/* write, verify and zero-check: the range chunk by chunk. */
static int cmd_data(enum simple_cmd cmd, struct conn *c, uint64_t off, uint64_t len,
		    uint64_t seed)
{
	size_t cap = len < CHUNK ? (size_t)len : CHUNK;
	uint8_t *buf = malloc(cap), *want = malloc(cap);
	int rc = 0;

	if (!buf || !want) {
		fprintf(stderr, "rnbd-io: out of memory\n");
		exit(EXIT_USAGE);
	}
	for (uint64_t done = 0; !rc && done < len; done += cap) {
		size_t n = len - done < cap ? (size_t)(len - done) : cap;
		uint64_t at = off + done;
		int ret;

		if (cmd == C_WRITE) {
			pattern_fill(buf, at, n, seed);
			ret = opt.fua ? write_flags(c->dev, buf, n, at, RNBD_F_FUA) :
					rnbd_dev_pwrite(c->dev, buf, n, at);
		} else {
			ret = rnbd_dev_pread(c->dev, buf, n, at);
		}
		if (ret) {
			range_fail(cmd == C_WRITE ? "write" : "read", at, n, ret);
			rc = EXIT_IO;
			break;
		}
		if (cmd == C_VERIFY)
			pattern_fill(want, at, n, seed);
		else if (cmd == C_ZERO_CHECK)
			memset(want, 0, n);
		if (cmd != C_WRITE && !compare(buf, want, n, at))
			rc = EXIT_IO;
	}
	if (!rc && cmd == C_WRITE && opt.flush) {
		int ret = rnbd_dev_flush(c->dev);

		if (ret) {
			lib_fail("flush", ret);
			rc = EXIT_IO;
		}
	}
	free(buf);
	free(want);
	if (!rc)
		printf("%s %" PRIu64 " bytes at %" PRIu64 ": ok\n",
		       cmd == C_WRITE ? "wrote" : cmd == C_VERIFY ? "verified" : "zeroes in", len,
		       off);
	return rc;
}

static int cmd_info(struct conn *c)
{
	const struct rnbd_dev_info *i = &c->info;

	printf("session=%s\n", rnbd_sess_name(c->sess));
	printf("device_id=%" PRIu32 "\n", i->device_id);
	printf("size=%" PRIu64 "\n", i->size);
	printf("logical_block_size=%" PRIu32 "\n", i->logical_block_size);
	printf("physical_block_size=%" PRIu32 "\n", i->physical_block_size);
	printf("max_io_size=%" PRIu32 "\n", i->max_io_size);
	printf("max_discard_sectors=%" PRIu32 "\n", i->max_discard_sectors);
	printf("discard_granularity=%" PRIu32 "\n", i->discard_granularity);
	printf("max_write_zeroes_sectors=%" PRIu32 "\n", i->max_write_zeroes_sectors);
	printf("secure_erase=%d\n", i->secure_erase);
	printf("write_cache=%d\n", i->write_cache);
	printf("fua=%d\n", i->fua);
	printf("readonly=%d\n", i->readonly);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Stress */

enum { S_READ, S_WRITE, S_FLUSH, S_DISCARD, S_ZEROES, S_NOPS };
static const char *const sop_name[] = { "read", "write", "flush", "discard", "write-zeroes" };

struct stress;

struct slot {
	struct rnbd_io io;
	struct iovec iov;
	uint8_t *buf;
	struct stress *st;
	struct slot *next;		/* on the completed or the free list */
	int sop;
	uint64_t first, nblk;		/* blocks, relative to the region */
	uint32_t gen;
	bool inflight;			/* under st->lock */
	int err;
};

struct stress {
	struct conn *c;
	uint32_t lbs;
	uint64_t first_blk;		/* absolute index of the region's first block */
	uint64_t nblocks;
	uint64_t salt;
	uint64_t rng;
	uint32_t next_gen;
	/* per block, relative to the region: main thread only */
	uint32_t *gen;
	uint8_t *writing;
	uint16_t *reading;
	struct slot *slots, *free;
	/* completions, from library threads */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct slot *completed;
	uint64_t completions, twice;
	/* main thread counters */
	uint64_t submitted, processed;
	uint64_t ops[S_NOPS], bytes_read, bytes_written;
	uint64_t errors, allowed_errors, reported;
	uint64_t verified_blocks, mismatches;
};

static uint64_t rnd(struct stress *st)
{
	st->rng ^= st->rng << 13;
	st->rng ^= st->rng >> 7;
	st->rng ^= st->rng << 17;
	return st->rng;
}

/* The content of absolute block blk at generation gen. */
static void block_fill(const struct stress *st, uint8_t *b, uint64_t blk, uint32_t gen)
{
	uint64_t base = st->salt ^ mix64(blk * 0x9e3779b97f4a7c15ull + gen);

	if (gen == GEN_ZERO) {
		memset(b, 0, st->lbs);
		return;
	}
	for (uint32_t w = 0; w < st->lbs / 8; w++) {
		uint64_t v = mix64(base + w);

		memcpy(b + w * 8, &v, 8);
	}
}

/*
 * Check blocks [first, first+n) of the region, read into buf, against the
 * generations; the first few mismatches are described.
 */
static void verify_blocks(struct stress *st, const uint8_t *buf, uint64_t first, uint64_t n,
			  const char *when)
{
	uint8_t *want = malloc(st->lbs);

	if (!want) {
		fprintf(stderr, "rnbd-io: out of memory\n");
		exit(EXIT_USAGE);
	}
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *got = buf + i * st->lbs;
		uint32_t g = st->gen[first + i];
		uint64_t blk = st->first_blk + first + i;

		if (g == GEN_UNKNOWN)
			continue;
		block_fill(st, want, blk, g);
		if (!memcmp(got, want, st->lbs)) {
			st->verified_blocks++;
			continue;
		}
		if (st->mismatches++ < MAX_REPORTS) {
			uint32_t k = 0;

			while (got[k] == want[k])
				k++;
			fprintf(stderr,
				"rnbd-io: %s: block %" PRIu64 " (offset %" PRIu64 "): generation %" PRIu32 " expected, byte %" PRIu32 " differs\n",
				when, blk, blk * st->lbs + k, g, k);
		}
	}
	free(want);
}

static void stress_done(struct rnbd_io *io, int err)
{
	struct slot *sl = io->opaque;
	struct stress *st = sl->st;

	pthread_mutex_lock(&st->lock);
	if (!sl->inflight) {
		st->twice++;
	} else {
		sl->inflight = false;
		sl->err = err;
		sl->next = st->completed;
		st->completed = sl;
		st->completions++;
	}
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

static void count_error(struct stress *st, struct slot *sl, int err, bool at_submit)
{
	if (allowed(err)) {
		st->allowed_errors++;
		return;
	}
	st->errors++;
	if (st->reported++ >= MAX_REPORTS)
		return;
	fprintf(stderr, "rnbd-io: stress: %s at %" PRIu64 " + %" PRIu64 " %s: %s (%s)%s%s\n",
		sop_name[sl->sop], (st->first_blk + sl->first) * st->lbs, sl->nblk * st->lbs,
		at_submit ? "refused" : "failed", errname(err), strerror(-err),
		at_submit ? ": " : "", at_submit ? rnbd_errmsg() : "");
}

/* Book a completed (or refused) request and put its slot back. */
static void finish(struct stress *st, struct slot *sl)
{
	bool wr = sl->sop == S_WRITE || sl->sop == S_DISCARD || sl->sop == S_ZEROES;

	if (sl->err)
		count_error(st, sl, sl->err, false);
	for (uint64_t i = 0; i < sl->nblk; i++) {
		uint64_t b = sl->first + i;

		if (wr) {
			st->writing[b] = 0;
			if (sl->err || sl->sop == S_DISCARD)
				st->gen[b] = GEN_UNKNOWN;
			else
				st->gen[b] = sl->sop == S_ZEROES ? GEN_ZERO : sl->gen;
		} else {
			st->reading[b]--;
		}
	}
	if (sl->sop == S_READ && !sl->err) {
		st->bytes_read += sl->nblk * st->lbs;
		verify_blocks(st, sl->buf, sl->first, sl->nblk, "read");
	} else if (sl->sop == S_WRITE && !sl->err) {
		st->bytes_written += sl->nblk * st->lbs;
	}
	sl->next = st->free;
	st->free = sl;
	st->processed++;
}

/* Pick a range no write in flight touches (nor a read, for a write). */
static bool pick_range(struct stress *st, bool wr, uint64_t *first, uint64_t *n)
{
	uint64_t max = opt.size_max / st->lbs;

	if (max > st->nblocks)
		max = st->nblocks;
	for (int attempt = 0; attempt < 8; attempt++) {
		uint64_t len = 1 + rnd(st) % max, f = rnd(st) % (st->nblocks - len + 1), i;

		for (i = 0; i < len; i++)
			if (st->writing[f + i] || (wr && st->reading[f + i]))
				break;
		if (i == len) {
			*first = f;
			*n = len;
			return true;
		}
	}
	return false;
}

/* Start one random request; false if no range was free. */
static bool submit_one(struct stress *st)
{
	const struct rnbd_dev_info *info = &st->c->info;
	unsigned int r = (unsigned int)(rnd(st) % 100);
	int sop = r < 3 ? S_FLUSH : r < 8 ? S_ZEROES : r < 11 ? S_DISCARD : r < 55 ? S_WRITE :
		  S_READ;
	struct slot *sl = st->free;
	uint64_t first = 0, n = 0;
	int ret;

	if ((sop == S_ZEROES && !info->max_write_zeroes_sectors) ||
	    (sop == S_DISCARD && !info->max_discard_sectors))
		sop = S_WRITE;
	if (sop != S_FLUSH && !pick_range(st, sop != S_READ, &first, &n))
		return false;
	st->free = sl->next;
	sl->sop = sop;
	sl->first = first;
	sl->nblk = n;
	sl->err = 0;
	sl->io = (struct rnbd_io){
		.offset = (st->first_blk + first) * st->lbs,
		.len = n * st->lbs,
		.done = stress_done,
		.opaque = sl,
	};
	switch (sop) {
	case S_READ:
		sl->io.op = RNBD_OP_READ;
		/* a read that succeeds without moving data must not pass */
		memset(sl->buf, 0xa5, n * st->lbs);
		break;
	case S_WRITE:
		sl->io.op = RNBD_OP_WRITE;
		sl->io.flags = rnd(st) % 8 ? 0 : RNBD_F_FUA;
		sl->gen = st->next_gen++;
		if (st->next_gen == GEN_ZERO)
			st->next_gen = 1;
		for (uint64_t i = 0; i < n; i++)
			block_fill(st, sl->buf + i * st->lbs, st->first_blk + first + i, sl->gen);
		break;
	case S_FLUSH:
		sl->io.op = RNBD_OP_FLUSH;
		break;
	case S_DISCARD:
		sl->io.op = RNBD_OP_DISCARD;
		break;
	case S_ZEROES:
		sl->io.op = RNBD_OP_WRITE_ZEROES;
		sl->io.flags = rnd(st) % 2 ? RNBD_F_NOUNMAP : 0;
		break;
	}
	if (sop == S_READ || sop == S_WRITE) {
		sl->iov = (struct iovec){ sl->buf, n * st->lbs };
		sl->io.iov = &sl->iov;
		sl->io.iovcnt = 1;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (sop == S_READ)
			st->reading[first + i]++;
		else
			st->writing[first + i] = 1;
	}
	st->ops[sop]++;
	st->submitted++;
	pthread_mutex_lock(&st->lock);
	sl->inflight = true;
	pthread_mutex_unlock(&st->lock);
	/* done() may run before this returns: st->lock is not held here */
	ret = rnbd_dev_submit(st->c->dev, &sl->io);
	if (ret) {
		pthread_mutex_lock(&st->lock);
		sl->inflight = false;
		pthread_mutex_unlock(&st->lock);
		st->submitted--;
		count_error(st, sl, ret, true);
		/* a refused request changed nothing: undo only its locks */
		for (uint64_t i = 0; i < n; i++) {
			if (sop == S_READ)
				st->reading[first + i]--;
			else
				st->writing[first + i] = 0;
		}
		sl->next = st->free;
		st->free = sl;
	}
	return true;
}

/* Take what completed, waiting until deadline at most. */
static struct slot *take_completed(struct stress *st, double deadline, bool wait)
{
	struct slot *list;

	pthread_mutex_lock(&st->lock);
	while (wait && !st->completed && now_s() < deadline) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 50 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&st->cond, &st->lock, &ts);
	}
	list = st->completed;
	st->completed = NULL;
	pthread_mutex_unlock(&st->lock);
	return list;
}

/* Re-read the region and check every block of known content. */
static int final_verify(struct stress *st, const char *when)
{
	uint64_t per = CHUNK / st->lbs, before = st->verified_blocks;
	uint8_t *buf = malloc((size_t)per * st->lbs);
	int rc = 0;

	if (!buf) {
		fprintf(stderr, "rnbd-io: out of memory\n");
		exit(EXIT_USAGE);
	}
	for (uint64_t b = 0; b < st->nblocks; b += per) {
		uint64_t n = st->nblocks - b < per ? st->nblocks - b : per;
		int ret = rnbd_dev_pread(st->c->dev, buf, n * st->lbs,
					 (st->first_blk + b) * st->lbs);

		if (ret) {
			range_fail(when, (st->first_blk + b) * st->lbs, n * st->lbs, ret);
			if (allowed(ret)) {
				/* the connection is gone, as the test wanted: stop reading */
				printf("%s: stopped at offset %" PRIu64 ": %s (allowed)\n", when,
				       (st->first_blk + b) * st->lbs, errname(ret));
				st->allowed_errors++;
			} else {
				st->errors++;
				rc = EXIT_IO;
			}
			break;
		}
		verify_blocks(st, buf, b, n, when);
	}
	free(buf);
	printf("%s: verified_blocks=%" PRIu64 " mismatches=%" PRIu64 "\n", when,
	       st->verified_blocks - before, st->mismatches);
	return rc;
}

struct map_hdr {
	char magic[8];
	uint64_t salt;
	uint32_t lbs;
	uint32_t pad;
	uint64_t first_blk;
	uint64_t nblocks;
};

static int save_map(const struct stress *st, const char *path)
{
	struct map_hdr h = { .salt = st->salt, .lbs = st->lbs, .first_blk = st->first_blk,
			     .nblocks = st->nblocks };
	FILE *f = fopen(path, "wb");
	bool ok;

	memcpy(h.magic, MAP_MAGIC, sizeof(h.magic));
	if (!f) {
		fprintf(stderr, "rnbd-io: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	ok = fwrite(&h, sizeof(h), 1, f) == 1 &&
	     fwrite(st->gen, sizeof(*st->gen), st->nblocks, f) == st->nblocks;
	if (fclose(f) || !ok) {
		fprintf(stderr, "rnbd-io: %s: write failed\n", path);
		return EXIT_USAGE;
	}
	return 0;
}

static void stress_alloc(struct stress *st)
{
	st->gen = calloc(st->nblocks, sizeof(*st->gen));
	st->writing = calloc(st->nblocks, 1);
	st->reading = calloc(st->nblocks, sizeof(*st->reading));
	if (!st->gen || !st->writing || !st->reading) {
		fprintf(stderr, "rnbd-io: out of memory for %" PRIu64 " blocks\n", st->nblocks);
		exit(EXIT_USAGE);
	}
}

static void stress_free(struct stress *st)
{
	if (st->slots)
		for (unsigned int i = 0; i < opt.depth; i++)
			free(st->slots[i].buf);
	free(st->slots);
	free(st->gen);
	free(st->writing);
	free(st->reading);
}

/* The region to work on: --region, or the whole device. */
static void stress_region(struct stress *st, const struct rnbd_dev_info *info)
{
	uint64_t off = opt.have_region ? opt.region_off : 0;
	uint64_t len = opt.have_region ? opt.region_len : info->size;

	st->lbs = info->logical_block_size;
	if ((off | len) % st->lbs || !len || off > info->size || len > info->size - off ||
	    len / st->lbs > (1ull << 28)) {
		fprintf(stderr, "rnbd-io: region %" PRIu64 ":%" PRIu64 " does not fit a %" PRIu64 "-byte device of %" PRIu32 "-byte blocks\n",
			off, len, info->size, st->lbs);
		exit(EXIT_USAGE);
	}
	st->first_blk = off / st->lbs;
	st->nblocks = len / st->lbs;
}

static int cmd_stress(struct conn *c)
{
	struct stress st = { .c = c, .next_gen = 1 };
	pthread_condattr_t ca;
	double start, end, drain_end;
	int rc = 0;

	stress_region(&st, &c->info);
	if (opt.size_max < st.lbs || !opt.depth || opt.depth > MAX_DEPTH) {
		fprintf(stderr, "rnbd-io: --size-max below the block size or bad --depth\n");
		exit(EXIT_USAGE);
	}
	if (!opt.have_seed)
		opt.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("stress: seed=%" PRIu64 " region=%" PRIu64 ":%" PRIu64 " depth=%u\n", opt.seed,
	       st.first_blk * st.lbs, st.nblocks * st.lbs, opt.depth);
	st.rng = mix64(opt.seed) | 1;
	st.salt = mix64(opt.seed ^ 0x5a17);
	stress_alloc(&st);
	st.slots = calloc(opt.depth, sizeof(*st.slots));
	if (!st.slots) {
		fprintf(stderr, "rnbd-io: out of memory\n");
		exit(EXIT_USAGE);
	}
	for (unsigned int i = 0; i < opt.depth; i++) {
		st.slots[i].st = &st;
		st.slots[i].buf = malloc(opt.size_max);
		if (!st.slots[i].buf) {
			fprintf(stderr, "rnbd-io: out of memory\n");
			exit(EXIT_USAGE);
		}
		st.slots[i].next = st.free;
		st.free = &st.slots[i];
	}
	pthread_mutex_init(&st.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st.cond, &ca);
	pthread_condattr_destroy(&ca);

	start = now_s();
	end = start + opt.seconds;
	/* requests left when time is up get the I/O timeout, twice, and more */
	drain_end = end + 3.0 * (opt.io_timeout_ms ? opt.io_timeout_ms : 30000) / 1000 + 30;
	for (;;) {
		double t = now_s();
		bool running = t < end;
		struct slot *list;

		/* fill the queue; a range that is busy waits for a completion */
		while (running && st.free && submit_one(&st))
			;
		if (!running && st.submitted == st.processed)
			break;
		if (t >= drain_end) {
			fprintf(stderr,
				"rnbd-io: stress: %" PRIu64 " requests still in flight %.0f s after the end\n",
				st.submitted - st.processed, t - end);
			fflush(NULL);
			/* the library may still write into the buffers: no cleanup */
			_exit(EXIT_IO);
		}
		list = take_completed(&st, running ? end : drain_end,
				      st.submitted != st.processed);
		while (list) {
			struct slot *next = list->next;

			finish(&st, list);
			list = next;
		}
	}
	printf("stress: seconds=%.1f submitted=%" PRIu64 " completed=%" PRIu64 " twice=%" PRIu64
	       " reads=%" PRIu64 " writes=%" PRIu64 " flushes=%" PRIu64 " discards=%" PRIu64
	       " write_zeroes=%" PRIu64 " bytes_read=%" PRIu64 " bytes_written=%" PRIu64
	       " errors=%" PRIu64 " allowed_errors=%" PRIu64 " verified_blocks=%" PRIu64
	       " mismatches=%" PRIu64 "\n",
	       now_s() - start, st.submitted, st.completions, st.twice, st.ops[S_READ],
	       st.ops[S_WRITE], st.ops[S_FLUSH], st.ops[S_DISCARD], st.ops[S_ZEROES],
	       st.bytes_read, st.bytes_written, st.errors, st.allowed_errors, st.verified_blocks,
	       st.mismatches);
	rc = final_verify(&st, "final");
	if (opt.save_map && save_map(&st, opt.save_map))
		rc = EXIT_USAGE;
	pthread_mutex_lock(&st.lock);
	if (st.submitted != st.completions || st.twice) {
		fprintf(stderr, "rnbd-io: stress: %" PRIu64 " submitted, %" PRIu64 " completed, %" PRIu64 " completed twice\n",
			st.submitted, st.completions, st.twice);
		rc = EXIT_IO;
	}
	pthread_mutex_unlock(&st.lock);
	if (st.errors || st.mismatches)
		rc = EXIT_IO;
	if (conn_close(c))
		rc = EXIT_IO;
	pthread_mutex_destroy(&st.lock);
	pthread_cond_destroy(&st.cond);
	stress_free(&st);
	return rc;
}

static int cmd_verify_map(struct conn *c, const char *path)
{
	struct stress st = { .c = c };
	struct map_hdr h;
	FILE *f = fopen(path, "rb");
	bool ok;
	int rc;

	if (!f) {
		fprintf(stderr, "rnbd-io: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	ok = fread(&h, sizeof(h), 1, f) == 1 && !memcmp(h.magic, MAP_MAGIC, sizeof(h.magic)) &&
	     h.lbs == c->info.logical_block_size && h.nblocks && h.nblocks <= (1ull << 28) &&
	     h.first_blk <= c->info.size / h.lbs &&
	     h.nblocks <= c->info.size / h.lbs - h.first_blk;
	if (ok) {
		st.lbs = h.lbs;
		st.salt = h.salt;
		st.first_blk = h.first_blk;
		st.nblocks = h.nblocks;
		stress_alloc(&st);
		ok = fread(st.gen, sizeof(*st.gen), st.nblocks, f) == st.nblocks;
	}
	fclose(f);
	if (!ok) {
		fprintf(stderr, "rnbd-io: %s is no map of this device\n", path);
		stress_free(&st);
		return EXIT_USAGE;
	}
	rc = final_verify(&st, "verify-map");
	if (st.mismatches || st.allowed_errors)
		rc = EXIT_IO;
	stress_free(&st);
	return rc;
}

/* ------------------------------------------------------------------ */

static const struct option long_opts[] = {
	{ "fua", no_argument, NULL, 'F' },
	{ "flush", no_argument, NULL, 'f' },
	{ "nounmap", no_argument, NULL, 'n' },
	{ "seconds", required_argument, NULL, 's' },
	{ "depth", required_argument, NULL, 'd' },
	{ "size-max", required_argument, NULL, 'm' },
	{ "region", required_argument, NULL, 'r' },
	{ "allow-errno", required_argument, NULL, 'a' },
	{ "io-timeout-ms", required_argument, NULL, 't' },
	{ "reconnect-delay-ms", required_argument, NULL, 'R' },
	{ "connect-timeout-ms", required_argument, NULL, 'C' },
	{ "workers", required_argument, NULL, 'w' },
	{ "wait-for", required_argument, NULL, 'W' },
	{ "save-map", required_argument, NULL, 'M' },
	{ "seed", required_argument, NULL, 'S' },
	{ NULL, 0, NULL, 0 },
};

static void parse_opts(int argc, char **argv)
{
	char *colon, *end;
	int c;

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'F': opt.fua = true; break;
		case 'f': opt.flush = true; break;
		case 'n': opt.nounmap = true; break;
		case 's':
			opt.seconds = strtod(optarg, &end);
			if (*end || opt.seconds < 0 || opt.seconds > 3600)
				usage();
			break;
		case 'd': opt.depth = (unsigned int)parse_size(optarg); break;
		case 'm': opt.size_max = parse_size(optarg); break;
		case 'r':
			colon = strchr(optarg, ':');
			if (!colon)
				usage();
			*colon = '\0';
			opt.region_off = parse_size(optarg);
			opt.region_len = parse_size(colon + 1);
			opt.have_region = true;
			break;
		case 'a':
			if (opt.nallow == MAX_ALLOW)
				usage();
			opt.allow[opt.nallow++] = parse_errno(optarg);
			break;
		case 't': opt.io_timeout_ms = (uint32_t)parse_size(optarg); break;
		case 'R': opt.reconnect_delay_ms = (uint32_t)parse_size(optarg); break;
		case 'C': opt.connect_timeout_ms = (uint32_t)parse_size(optarg); break;
		case 'w': opt.workers = (unsigned int)parse_size(optarg); break;
		case 'W': opt.wait_for = optarg; break;
		case 'M': opt.save_map = optarg; break;
		case 'S':
			opt.seed = parse_size(optarg);
			opt.have_seed = true;
			break;
		default:
			usage();
		}
	}
}

int main(int argc, char **argv)
{
	const char *cmd;
	char **a;
	int n, rc;
	struct conn c;

	parse_opts(argc, argv);
	a = argv + optind;
	n = argc - optind;
	if (n < 1)
		usage();
	cmd = a[0];
	if (!strcmp(cmd, "pattern")) {
		uint64_t off, len, seed, done;
		static uint8_t buf[65536];

		if (n != 4)
			usage();
		off = parse_size(a[1]);
		len = parse_size(a[2]);
		seed = parse_size(a[3]);
		for (done = 0; done < len; done += sizeof(buf)) {
			size_t k = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);

			pattern_fill(buf, off + done, k, seed);
			if (fwrite(buf, 1, k, stdout) != k)
				return EXIT_USAGE;
		}
		return 0;
	}
	if (n < 2)
		usage();
	if ((!strcmp(cmd, "write") || !strcmp(cmd, "verify")) && n != 5)
		usage();
	if ((!strcmp(cmd, "zero-check") || !strcmp(cmd, "discard") ||
	     !strcmp(cmd, "write-zeroes")) && n != 4)
		usage();
	if ((!strcmp(cmd, "flush") || !strcmp(cmd, "info") || !strcmp(cmd, "stress")) && n != 2)
		usage();
	if (!strcmp(cmd, "verify-map") && n != 3)
		usage();

	if (!strcmp(cmd, "write") || !strcmp(cmd, "verify") || !strcmp(cmd, "zero-check")) {
		uint64_t off = parse_size(a[2]), len = parse_size(a[3]);
		uint64_t seed = n == 5 ? parse_size(a[4]) : 0;

		if (!len)
			usage();
		conn_open(&c, a[1]);
		rc = cmd_data(!strcmp(cmd, "write") ? C_WRITE : !strcmp(cmd, "verify") ? C_VERIFY :
			      C_ZERO_CHECK, &c, off, len, seed);
	} else if (!strcmp(cmd, "discard") || !strcmp(cmd, "write-zeroes")) {
		uint64_t off = parse_size(a[2]), len = parse_size(a[3]);
		bool discard = !strcmp(cmd, "discard");

		conn_open(&c, a[1]);
		rc = discard ? rnbd_dev_discard(c.dev, off, len) :
			       rnbd_dev_write_zeroes(c.dev, off, len,
						     opt.nounmap ? RNBD_F_NOUNMAP : 0);
		if (rc)
			range_fail(cmd, off, len, rc);
		else
			printf("%s %" PRIu64 " bytes at %" PRIu64 ": ok\n", cmd, len, off);
		rc = rc ? EXIT_IO : 0;
	} else if (!strcmp(cmd, "flush")) {
		conn_open(&c, a[1]);
		rc = rnbd_dev_flush(c.dev);
		if (rc)
			lib_fail("flush", rc);
		else
			printf("flush: ok\n");
		rc = rc ? EXIT_IO : 0;
	} else if (!strcmp(cmd, "info")) {
		conn_open(&c, a[1]);
		rc = cmd_info(&c);
	} else if (!strcmp(cmd, "stress")) {
		conn_open(&c, a[1]);
		/* it closes the connection itself, counting how that went */
		return cmd_stress(&c);
	} else if (!strcmp(cmd, "verify-map")) {
		conn_open(&c, a[1]);
		rc = cmd_verify_map(&c, a[2]);
	} else {
		usage();
		return EXIT_USAGE;
	}
	if (conn_close(&c) && !rc)
		rc = EXIT_IO;
	return rc;
}
