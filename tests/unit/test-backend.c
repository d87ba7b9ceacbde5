// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Storage backends: memory, file (both engines) and blockdev (a loop device
 * over a temporary file, when running as root).  Most checks run a random
 * sequence of ops against the backend and a plain in-memory copy of what
 * the device should hold, and compare every read with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <uv.h>

#include "check-main.h"
#include "rnbd/rnbd-proto.h"
#include "rtrs/transport.h"
#include "server/backend.h"

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define TiB (1024 * GiB)
#define WATCHDOG_MS 5000

/* ------------------------------------------------------------------ */
/* Submitting and waiting */

/* Where bios complete: a loop with this thread's ring, or inside submit. */
struct env {
	uv_loop_t loop;
	bool has_loop;
};

struct waiter {
	uv_loop_t *loop;	/* NULL: every completion must be synchronous */
	unsigned int pending;
	bool timed_out;
};

struct tio {
	struct rnbd_bio bio;
	struct waiter *w;
	int err;
	int ndone;
};

/* Bios in flight together; no ck_assert here, workers run this on their threads. */
struct batch {
	struct waiter w;
	unsigned int n, cap;
	struct tio *io;
};

static void env_init(struct env *e, bool with_loop)
{
	e->has_loop = with_loop;
	if (!with_loop)
		return;
	ck_assert_int_eq(uv_loop_init(&e->loop), 0);
	ck_assert_int_eq(rnbd_backend_loop_init(&e->loop), 0);
}

/* Until nothing is left: a uv_stop() from a completion outside uv_run() ends the next run early. */
static void run_out(uv_loop_t *loop)
{
	while (uv_run(loop, UV_RUN_DEFAULT))
		;
}

/* The ring's handles must all be closed after fini, or uv_loop_close fails. */
static int env_fini(struct env *e)
{
	if (!e->has_loop)
		return 0;
	rnbd_backend_loop_fini();
	run_out(&e->loop);
	return uv_loop_close(&e->loop);
}

static void tio_done(struct rnbd_bio *bio, int err)
{
	struct tio *t = container_of(bio, struct tio, bio);

	t->err = err;
	t->ndone++;
	if (!--t->w->pending && t->w->loop)
		uv_stop(t->w->loop);
}

static void on_watchdog(uv_timer_t *h)
{
	struct waiter *w = h->data;

	w->timed_out = true;
	uv_stop(h->loop);
}

/* Run the loop until every bio of w is done; false on timeout. */
static bool waiter_wait(struct waiter *w)
{
	uv_timer_t dog;

	if (!w->pending)
		return true;
	if (!w->loop)
		return false;
	uv_timer_init(w->loop, &dog);
	dog.data = w;
	uv_timer_start(&dog, on_watchdog, WATCHDOG_MS, 0);
	while (w->pending && !w->timed_out)
		uv_run(w->loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&dog, NULL);
	uv_run(w->loop, UV_RUN_NOWAIT);
	return !w->timed_out;
}

static void batch_init(struct batch *bt, struct env *e, unsigned int cap)
{
	memset(bt, 0, sizeof(*bt));
	bt->w.loop = e && e->has_loop ? &e->loop : NULL;
	bt->cap = cap;
	bt->io = calloc(cap, sizeof(*bt->io));
}

static void batch_free(struct batch *bt)
{
	free(bt->io);
}

/* Returns submit's result; the bio is only counted when that is 0. */
static int batch_add(struct batch *bt, struct rnbd_bdev *b, uint32_t op, uint32_t flags,
		     uint64_t off, uint32_t len, void *buf)
{
	struct tio *t = &bt->io[bt->n];
	int ret;

	if (bt->n == bt->cap)
		return -ENOSPC;
	memset(t, 0, sizeof(*t));
	t->bio.op = op;
	t->bio.flags = flags;
	t->bio.offset = off;
	t->bio.len = len;
	t->bio.buf = buf;
	t->bio.done = tio_done;
	t->w = &bt->w;
	t->err = 1;
	bt->w.pending++;
	ret = rnbd_bdev_submit(b, &t->bio);
	if (ret) {
		bt->w.pending--;
		return ret;
	}
	bt->n++;
	return 0;
}

/* Waits, then: 0 if all done exactly once with 0, else the first odd result. */
static int batch_wait(struct batch *bt)
{
	int ret = 0;

	if (!waiter_wait(&bt->w))
		return -ETIMEDOUT;
	for (unsigned int i = 0; i < bt->n; i++) {
		if (bt->io[i].ndone != 1)
			return -EPROTO;
		if (bt->io[i].err && !ret)
			ret = bt->io[i].err;
	}
	bt->n = 0;
	return ret;
}

/* One bio, waited for: submit's error, or done()'s. */
static int io(struct env *e, struct rnbd_bdev *b, uint32_t op, uint32_t flags, uint64_t off,
	      uint32_t len, void *buf)
{
	struct batch bt;
	int ret;

	batch_init(&bt, e, 1);
	ret = batch_add(&bt, b, op, flags, off, len, buf);
	if (!ret) {
		ck_assert_msg(waiter_wait(&bt.w), "bio op %u did not complete", op);
		ck_assert_int_eq(bt.io[0].ndone, 1);
		ret = bt.io[0].err;
	} else {
		ck_assert_int_eq(bt.io[0].ndone, 0);
	}
	batch_free(&bt);
	return ret;
}

/* Library warnings about the uring engine falling back to sync. */
static atomic_int sync_fallbacks;
static atomic_int no_uring;

static void log_capture(void *opaque, enum rnbd_log_level level, const char *msg)
{
	(void)opaque;
	if (level <= RNBD_LOG_WARN && strstr(msg, "synchronously"))
		atomic_fetch_add(&sync_fallbacks, 1);
	if (level <= RNBD_LOG_WARN && strstr(msg, "io_uring_queue_init"))
		atomic_fetch_add(&no_uring, 1);
}

static void capture_start(void)
{
	atomic_store(&sync_fallbacks, 0);
	atomic_store(&no_uring, 0);
	rnbd_log_set_handler(log_capture, NULL, RNBD_LOG_DEBUG);
}

/* How many "doing I/O synchronously" warnings since capture_start(). */
static int capture_end(void)
{
	rnbd_log_set_handler(NULL, NULL, RNBD_LOG_ERR);
	return atomic_load(&sync_fallbacks);
}

/* Under CK_FORK=no all tests share the process, and its warn-once flag. */
static bool nofork(void)
{
	const char *f = getenv("CK_FORK");

	return f && !strcmp(f, "no");
}

/* ------------------------------------------------------------------ */
/* Temporary files and loop devices */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill(uint8_t *p, size_t n, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd(seed) >> 24) | 1;	/* never 0: tell data from holes */
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void tmpdir_make(char *dir, size_t len)
{
	const char *base = getenv("TMPDIR");

	snprintf(dir, len, "%s/rnbd-backend-XXXXXX", base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* A sparse file of size bytes in dir; returns an O_RDWR fd. */
static int tmpfile_make(const char *dir, uint64_t size, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/disk-XXXXXX", dir);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

struct tfile {
	char dir[256];
	char path[320];
};

static void tfile_make(struct tfile *t, uint64_t size)
{
	tmpdir_make(t->dir, sizeof(t->dir));
	close(tmpfile_make(t->dir, size, t->path, sizeof(t->path)));
}

static void tfile_rm(struct tfile *t)
{
	unlink(t->path);
	rmdir(t->dir);
}

static struct rnbd_bdev *open_fd_bdev(enum rnbd_bdev_type type, const char *path,
				      enum rnbd_io_engine eng, bool ro)
{
	struct rnbd_bdev_conf c = {
		.type = type, .path = path, .dirfd = AT_FDCWD, .fd = -1,
		.engine = eng, .readonly = ro,
	};
	struct rnbd_bdev *b = NULL;
	int ret = rnbd_bdev_open(&c, &b);

	ck_assert_msg(!ret, "open %s: %d %s", path, ret, rnbd_errmsg());
	return b;
}

static struct rnbd_bdev *open_mem(uint64_t size, bool ro)
{
	struct rnbd_bdev_conf c = {
		.type = RNBD_BDEV_MEMORY, .fd = -1, .size = size, .readonly = ro,
	};
	struct rnbd_bdev *b = NULL;

	ck_assert_int_eq(rnbd_bdev_open(&c, &b), 0);
	return b;
}

struct loopdev {
	int fd;
	char path[32];
	struct tfile back;
};

/*
 * A loop device over a fresh sparse file, set up with the ioctls (no
 * losetup).  false, after saying why, when this host cannot have one.
 */
static bool loopdev_make(struct loopdev *l, uint64_t size)
{
	int ctl, bfd, nr;

	if (geteuid()) {
		printf("skipping blockdev cases: not root\n");
		return false;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		printf("skipping blockdev cases: /dev/loop-control: %s\n", strerror(errno));
		return false;
	}
	tmpdir_make(l->back.dir, sizeof(l->back.dir));
	bfd = tmpfile_make(l->back.dir, size, l->back.path, sizeof(l->back.path));
	for (int tries = 0; tries < 16; tries++) {
		struct loop_config cfg;

		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0)
			break;
		snprintf(l->path, sizeof(l->path), "/dev/loop%d", nr);
		l->fd = open(l->path, O_RDWR | O_CLOEXEC);
		if (l->fd < 0)
			break;
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)bfd;
		cfg.block_size = 512;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (!ioctl(l->fd, LOOP_CONFIGURE, &cfg))
			goto ok;
		if (errno == EINVAL || errno == ENOTTY) {
			/* before 5.8: two steps */
			struct loop_info64 info = { .lo_flags = LO_FLAGS_AUTOCLEAR };

			if (!ioctl(l->fd, LOOP_SET_FD, bfd)) {
				ioctl(l->fd, LOOP_SET_STATUS64, &info);
				goto ok;
			}
		}
		close(l->fd);
		if (errno != EBUSY)	/* EBUSY: another process took it first */
			break;
	}
	printf("skipping blockdev cases: no loop device: %s\n", strerror(errno));
	close(bfd);
	close(ctl);
	tfile_rm(&l->back);
	return false;
ok:
	close(bfd);
	close(ctl);
	return true;
}

static void loopdev_rm(struct loopdev *l)
{
	ioctl(l->fd, LOOP_CLR_FD, 0);
	close(l->fd);
	tfile_rm(&l->back);
}

/* ------------------------------------------------------------------ */
/* The random model check */

#define MODEL_MAX_IO (320 * KiB)

struct model {
	struct env *e;
	struct rnbd_bdev *b;
	uint64_t size;
	uint8_t *shadow;
	uint8_t *wbuf, *rbuf;	/* MODEL_MAX_IO + 4 KiB slack for misaligned use */
	uint64_t seed;
	bool secure_erase;
	bool unaligned_bufs;
};

static void model_init(struct model *m, struct env *e, struct rnbd_bdev *b, uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	m->e = e;
	m->b = b;
	m->size = rnbd_bdev_info(b)->size;
	m->shadow = calloc(1, m->size);
	m->wbuf = aligned_alloc(4096, MODEL_MAX_IO + 4 * KiB);
	m->rbuf = aligned_alloc(4096, MODEL_MAX_IO + 4 * KiB);
	ck_assert(m->shadow && m->wbuf && m->rbuf);
	m->seed = seed;
	m->secure_erase = rnbd_bdev_info(b)->secure_erase;
}

static void model_free(struct model *m)
{
	free(m->shadow);
	free(m->wbuf);
	free(m->rbuf);
}

static void model_check_range(struct model *m, uint64_t off, uint32_t len, uint8_t *buf)
{
	int ret = io(m->e, m->b, RNBD_OP_READ, 0, off, len, buf);

	ck_assert_msg(!ret, "read %llu+%u: %d", (unsigned long long)off, len, ret);
	if (!memcmp(buf, m->shadow + off, len))
		return;
	/* ck_assert is slow (it logs every call): only for the report */
	for (uint32_t i = 0; i < len; i++)
		if (buf[i] != m->shadow[off + i])
			ck_abort_msg("byte %llu: %02x, want %02x", (unsigned long long)(off + i),
				     buf[i], m->shadow[off + i]);
}

static void model_check_all(struct model *m)
{
	for (uint64_t off = 0; off < m->size; off += MODEL_MAX_IO) {
		uint32_t len = m->size - off < MODEL_MAX_IO ? (uint32_t)(m->size - off) :
			       (uint32_t)MODEL_MAX_IO;

		model_check_range(m, off, len, m->rbuf);
	}
}

static void model_run(struct model *m, unsigned int iters)
{
	static const uint32_t wflags[] = { 0, RNBD_F_FUA, RNBD_F_PREFLUSH,
					   RNBD_F_PREFLUSH | RNBD_F_FUA | RNBD_F_SYNC };

	for (unsigned int it = 0; it < iters; it++) {
		unsigned int what = rnd(&m->seed) % 12;
		uint64_t off = (rnd(&m->seed) % (m->size / 512)) * 512;
		uint32_t len = (uint32_t)(1 + rnd(&m->seed) % (MODEL_MAX_IO / 512)) * 512;
		unsigned int skew = m->unaligned_bufs && rnd(&m->seed) % 3 == 0 ? 8 : 0;
		int ret = 0;

		if (len > m->size - off)
			len = (uint32_t)(m->size - off);
		switch (what) {
		case 0 ... 3:
			fill(m->wbuf + skew, len, &m->seed);
			ret = io(m->e, m->b, RNBD_OP_WRITE, wflags[what], off, len, m->wbuf + skew);
			memcpy(m->shadow + off, m->wbuf + skew, len);
			break;
		case 4 ... 6:
			model_check_range(m, off, len, m->rbuf + skew);
			break;
		case 7:
			ret = io(m->e, m->b, RNBD_OP_DISCARD, 0, off, len, NULL);
			memset(m->shadow + off, 0, len);
			break;
		case 8:
		case 9:
			ret = io(m->e, m->b, RNBD_OP_WRITE_ZEROES, what == 8 ? RNBD_F_NOUNMAP : 0,
				 off, len, NULL);
			memset(m->shadow + off, 0, len);
			break;
		case 10:
			ret = io(m->e, m->b, RNBD_OP_FLUSH, RNBD_F_SYNC | RNBD_F_FUA, 0, 0, NULL);
			break;
		case 11:
			if (!m->secure_erase)
				break;
			ret = io(m->e, m->b, RNBD_OP_SECURE_ERASE, 0, off, len, NULL);
			memset(m->shadow + off, 0, len);
			break;
		}
		ck_assert_msg(!ret, "iteration %u: op %u at %llu+%u: %d (%s)", it, what,
			      (unsigned long long)off, len, ret, strerror(-ret));
	}
	model_check_all(m);
}

/* ------------------------------------------------------------------ */
/* Shared checks */

/* What the caller should have refused must still be refused. */
static void check_bad_input(struct env *e, struct rnbd_bdev *b)
{
	uint64_t size = rnbd_bdev_info(b)->size;
	uint8_t buf[1024] = { 0 };
	struct rnbd_bio bio = { .op = RNBD_OP_READ, .len = 512, .buf = buf };

	ck_assert_int_eq(io(e, b, RNBD_OP_READ, 0, 100, 512, buf), -EINVAL);
	ck_assert_errmsg_has("not aligned");
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE, 0, 0, 100, buf), -EINVAL);
	ck_assert_int_eq(io(e, b, RNBD_OP_READ, 0, size, 512, buf), -EINVAL);
	ck_assert_errmsg_has("beyond");
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE, 0, size - 512, 1024, buf), -EINVAL);
	ck_assert_int_eq(io(e, b, RNBD_OP_READ, 0, UINT64_MAX - 511, 1024, buf), -EINVAL);
	ck_assert_int_eq(io(e, b, RNBD_OP_DISCARD, 0, size - 512, 1024, NULL), -EINVAL);
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE_ZEROES, 0, 512, 513, NULL), -EINVAL);
	ck_assert_int_eq(io(e, b, RNBD_OP_READ, 0, 0, 512, NULL), -EINVAL);
	ck_assert_int_eq(io(e, b, 99, 0, 0, 512, buf), -EOPNOTSUPP);
	ck_assert_errmsg_has("unknown op");
	ck_assert_int_eq(io(e, b, RNBD_OP_LAST, 0, 0, 512, buf), -EOPNOTSUPP);
	/* zero length: nothing to do, but done() still runs */
	ck_assert_int_eq(io(e, b, RNBD_OP_READ, 0, 0, 0, NULL), 0);
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE, RNBD_F_FUA, size, 0, NULL), 0);
	ck_assert_int_eq(io(e, b, RNBD_OP_DISCARD, 0, 4096, 0, NULL), 0);
	/* FLUSH ignores the range */
	ck_assert_int_eq(io(e, b, RNBD_OP_FLUSH, 0, 12345, 77, NULL), 0);
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE, RNBD_F_FUA, size - 512, 512, buf), 0);
	/* no done callback, no bdev */
	ck_assert_int_eq(rnbd_bdev_submit(b, &bio), -EINVAL);
	bio.done = tio_done;
	ck_assert_int_eq(rnbd_bdev_submit(NULL, &bio), -EINVAL);
}

static void check_readonly(struct env *e, struct rnbd_bdev *b)
{
	uint8_t buf[4096];

	ck_assert(rnbd_bdev_info(b)->readonly);
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE, 0, 0, 4096, buf), -EROFS);
	ck_assert_errmsg_has("read-only");
	ck_assert_int_eq(io(e, b, RNBD_OP_DISCARD, 0, 0, 4096, NULL), -EROFS);
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE_ZEROES, RNBD_F_NOUNMAP, 0, 4096, NULL), -EROFS);
	ck_assert_int_eq(io(e, b, RNBD_OP_SECURE_ERASE, 0, 0, 4096, NULL),
			 rnbd_bdev_info(b)->secure_erase ? -EROFS : -EOPNOTSUPP);
	ck_assert_int_eq(io(e, b, RNBD_OP_READ, 0, 0, 4096, buf), 0);
	ck_assert_int_eq(io(e, b, RNBD_OP_FLUSH, 0, 0, 0, NULL), 0);
}

/* Many bios at once: more than the ring's SQ and CQ, so some get parked. */
static void check_many_in_flight(struct env *e, struct rnbd_bdev *b, unsigned int n)
{
	uint8_t *data = aligned_alloc(4096, n * 4096ull), *back = aligned_alloc(4096, n * 4096ull);
	uint64_t seed = 42;
	struct batch bt;

	ck_assert(data && back);
	fill(data, n * 4096ull, &seed);
	memset(back, 0, n * 4096ull);
	batch_init(&bt, e, n);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_int_eq(batch_add(&bt, b, RNBD_OP_WRITE,
					   i % 3 ? RNBD_F_FUA : RNBD_F_PREFLUSH | RNBD_F_FUA,
					   i * 4096ull, 4096, data + i * 4096ull), 0);
	ck_assert_int_eq(batch_wait(&bt), 0);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_int_eq(batch_add(&bt, b, RNBD_OP_READ, 0, i * 4096ull, 4096,
					   back + i * 4096ull), 0);
	ck_assert_int_eq(batch_wait(&bt), 0);
	ck_assert(!memcmp(data, back, n * 4096ull));
	batch_free(&bt);
	free(data);
	free(back);
}

static uint64_t file_blocks(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (uint64_t)st.st_blocks;
}

/* Discard and write-zeroes really deallocate (or keep) the file's blocks. */
static void check_file_space(struct env *e, struct rnbd_bdev *b, const char *path)
{
	uint8_t *buf = malloc(MiB);
	uint64_t seed = 7, full, empty;

	ck_assert_ptr_nonnull(buf);
	fill(buf, MiB, &seed);
	ck_assert_int_eq(io(e, b, RNBD_OP_DISCARD, 0, 0, MiB, NULL), 0);
	empty = file_blocks(path);
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE, RNBD_F_FUA, 0, MiB, buf), 0);
	full = file_blocks(path);
	ck_assert_uint_ge(full, empty + MiB / 512);
	/* NOUNMAP: zeroes, still allocated */
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE_ZEROES, RNBD_F_NOUNMAP, 0, MiB, NULL), 0);
	ck_assert_int_eq(io(e, b, RNBD_OP_READ, 0, 0, MiB, buf), 0);
	ck_assert(all_zero(buf, MiB));
	ck_assert_uint_ge(file_blocks(path), full);
	/* without NOUNMAP: a hole */
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE_ZEROES, 0, 0, MiB, NULL), 0);
	ck_assert_uint_le(file_blocks(path), empty);
	fill(buf, MiB, &seed);
	ck_assert_int_eq(io(e, b, RNBD_OP_WRITE, 0, 0, MiB, buf), 0);
	ck_assert_int_eq(io(e, b, RNBD_OP_DISCARD, 0, 0, MiB, NULL), 0);
	ck_assert_uint_le(file_blocks(path), empty);
	ck_assert_int_eq(io(e, b, RNBD_OP_READ, 0, 0, MiB, buf), 0);
	ck_assert(all_zero(buf, MiB));
	free(buf);
}

/* ------------------------------------------------------------------ */
/* Memory backend */

START_TEST(parse_helpers)
{
	enum rnbd_bdev_type t;
	enum rnbd_io_engine g;

	ck_assert_int_eq(rnbd_bdev_type_parse("memory", &t), 0);
	ck_assert_int_eq(t, RNBD_BDEV_MEMORY);
	ck_assert_int_eq(rnbd_bdev_type_parse("file", &t), 0);
	ck_assert_int_eq(t, RNBD_BDEV_FILE);
	ck_assert_int_eq(rnbd_bdev_type_parse("blockdev", &t), 0);
	ck_assert_int_eq(t, RNBD_BDEV_BLOCKDEV);
	ck_assert_int_eq(rnbd_bdev_type_parse("disk", &t), -EINVAL);
	ck_assert_errmsg_has("disk");
	ck_assert_int_eq(rnbd_bdev_type_parse(NULL, &t), -EINVAL);
	ck_assert_int_eq(rnbd_io_engine_parse("uring", &g), 0);
	ck_assert_int_eq(g, RNBD_IO_URING);
	ck_assert_int_eq(rnbd_io_engine_parse("sync", &g), 0);
	ck_assert_int_eq(g, RNBD_IO_SYNC);
	ck_assert_int_eq(rnbd_io_engine_parse("aio", &g), -EINVAL);
	for (int i = RNBD_BDEV_MEMORY; i <= RNBD_BDEV_BLOCKDEV; i++) {
		ck_assert_int_eq(rnbd_bdev_type_parse(rnbd_bdev_type_str(i), &t), 0);
		ck_assert_int_eq(t, i);
	}
	ck_assert_str_eq(rnbd_bdev_type_str(42), "unknown");
}
END_TEST

START_TEST(memory_size_limits)
{
	struct rnbd_bdev_conf c = { .type = RNBD_BDEV_MEMORY, .fd = -1 };
	struct rnbd_bdev *b = (void *)1;

	c.size = 0;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	ck_assert_ptr_null(b);
	ck_assert_errmsg_has("1 TiB");
	c.size = TiB + 4096;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	c.size = 8 * MiB + 512;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	c.size = 4096;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), 0);
	rnbd_bdev_close(b);
	c.engine = 7;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	c.engine = RNBD_IO_SYNC;
	c.type = 9;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	rnbd_bdev_close(NULL);
}
END_TEST

static long rss_pages(void)
{
	long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &rss), 2);
	fclose(f);
	return rss;
}

/* 1 TiB costs nothing until written; its last block works. */
START_TEST(memory_one_tib_sparse)
{
	long before = rss_pages(), page = sysconf(_SC_PAGESIZE);
	struct rnbd_bdev *b = open_mem(TiB, false);
	uint8_t w[8192], r[8192];
	uint64_t seed = 3;

	fill(w, sizeof(w), &seed);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_READ, 0, TiB - 8192, 8192, r), 0);
	ck_assert(all_zero(r, sizeof(r)));
	ck_assert_int_eq(io(NULL, b, RNBD_OP_WRITE, 0, TiB - 8192, 8192, w), 0);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_WRITE, 0, 0, 4096, w), 0);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_WRITE, 0, TiB / 2 + 60 * KiB, 8192, w), 0);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_READ, 0, TiB - 8192, 8192, r), 0);
	ck_assert(!memcmp(w, r, sizeof(w)));
	ck_assert_int_eq(io(NULL, b, RNBD_OP_READ, 0, TiB / 2 + 60 * KiB, 8192, r), 0);
	ck_assert(!memcmp(w, r, sizeof(w)));
	ck_assert_int_eq(io(NULL, b, RNBD_OP_READ, 0, TiB - 4096, 8192, r), -EINVAL);
	/* three writes: four 64 KiB chunks and three 32 KiB tables */
	ck_assert_int_lt((rss_pages() - before) * page, (long)(4 * MiB));
	rnbd_bdev_close(b);
}
END_TEST

START_TEST(memory_geometry)
{
	struct rnbd_bdev *b = open_mem(64 * MiB, false);
	const struct rnbd_bdev_info *i = rnbd_bdev_info(b);

	ck_assert_uint_eq(i->size, 64 * MiB);
	ck_assert_uint_eq(i->logical_block_size, 512);
	ck_assert_uint_eq(i->physical_block_size, 4096);
	ck_assert_uint_eq(i->max_hw_sectors, 2048);
	ck_assert_uint_ge(i->max_discard_sectors, 2048);
	ck_assert_uint_le(i->max_discard_sectors, UINT32_MAX >> 9);
	ck_assert_uint_ge(i->max_write_zeroes_sectors, 2048);
	ck_assert_uint_le(i->max_write_zeroes_sectors, UINT32_MAX >> 9);
	ck_assert_uint_eq(i->discard_granularity % 4096, 0);
	ck_assert(!i->write_cache);
	ck_assert(!i->fua);
	ck_assert(!i->rotational);
	ck_assert(i->secure_erase);
	ck_assert(!i->readonly);
	rnbd_bdev_close(b);
}
END_TEST

/* Never-written ranges, discards and write-zeroes, at and across chunk edges. */
START_TEST(memory_holes_and_zeroes)
{
	struct rnbd_bdev *b = open_mem(MiB, false);
	uint8_t *w = malloc(256 * KiB), *r = malloc(256 * KiB);
	uint64_t seed = 11;

	ck_assert(w && r);
	memset(r, 0xee, 256 * KiB);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_READ, 0, 0, 256 * KiB, r), 0);
	ck_assert(all_zero(r, 256 * KiB));
	/* chunks 0..3 written, then the middle of chunk 1 and all of chunk 2 discarded */
	fill(w, 256 * KiB, &seed);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_WRITE, RNBD_F_FUA, 0, 256 * KiB, w), 0);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_DISCARD, 0, 96 * KiB, 96 * KiB, NULL), 0);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_READ, 0, 0, 256 * KiB, r), 0);
	ck_assert(!memcmp(r, w, 96 * KiB));
	ck_assert(all_zero(r + 96 * KiB, 96 * KiB));
	ck_assert(!memcmp(r + 192 * KiB, w + 192 * KiB, 64 * KiB));
	/* write-zeroes with NOUNMAP over a hole and data, then without */
	ck_assert_int_eq(io(NULL, b, RNBD_OP_WRITE_ZEROES, RNBD_F_NOUNMAP, 120 * KiB, 100 * KiB,
			    NULL), 0);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_READ, 0, 0, 256 * KiB, r), 0);
	ck_assert(all_zero(r + 96 * KiB, 124 * KiB));
	ck_assert(!memcmp(r + 220 * KiB, w + 220 * KiB, 36 * KiB));
	ck_assert_int_eq(io(NULL, b, RNBD_OP_WRITE_ZEROES, 0, 0, 512, NULL), 0);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_READ, 0, 0, 4096, r), 0);
	ck_assert(all_zero(r, 512));
	ck_assert(!memcmp(r + 512, w + 512, 4096 - 512));
	/* secure erase, then everything back to zero */
	ck_assert_int_eq(io(NULL, b, RNBD_OP_SECURE_ERASE, 0, 0, 128 * KiB, NULL), 0);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_DISCARD, 0, 128 * KiB, MiB - 128 * KiB, NULL), 0);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_READ, 0, 0, 256 * KiB, r), 0);
	ck_assert(all_zero(r, 256 * KiB));
	ck_assert_int_eq(io(NULL, b, RNBD_OP_FLUSH, RNBD_F_FUA, 0, 0, NULL), 0);
	free(w);
	free(r);
	rnbd_bdev_close(b);
}
END_TEST

/* The pieces of a lend, one after the other, into out; their total length. */
static uint64_t lend_gather(const struct rtrs_lend *l, uint8_t *out)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < l->nseg; i++) {
		memcpy(out + n, l->seg[i].base, l->seg[i].len);
		n += l->seg[i].len;
	}
	return n;
}

/*
 * Reads lent from the memory backend's chunks: the right bytes in the
 * right pieces, holes as unpinned zeroes, too many pieces refused, and the
 * lent memory kept alive (ASan would see a use after free, LSan a leak)
 * across a discard and a close, while a secure erase wipes it at once.
 */
START_TEST(memory_lend)
{
	struct rnbd_bdev *b = open_mem(2 * MiB, false);
	uint8_t *w = malloc(2 * MiB), *r = malloc(2 * MiB), *want = malloc(2 * MiB);
	struct rtrs_lend l, l2, l3;
	unsigned int holes = 0;
	uint64_t seed = 5, off = 32 * KiB + 512;
	struct tfile t;

	ck_assert(w && r && want);
	ck_assert(rnbd_bdev_can_lend(b));
	fill(w, 2 * MiB, &seed);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_WRITE, 0, 0, 2 * MiB, w), 0);
	ck_assert_int_eq(io(NULL, b, RNBD_OP_DISCARD, 0, 192 * KiB, 64 * KiB, NULL), 0);
	memcpy(want, w, 2 * MiB);
	memset(want + 192 * KiB, 0, 64 * KiB);

	/* 1 MiB from an unaligned offset: 17 pieces, one of them the hole */
	ck_assert_int_eq(rnbd_bdev_lend(b, off, MiB, &l), 0);
	ck_assert_uint_eq(l.nseg, 17);
	ck_assert_uint_eq(lend_gather(&l, r), MiB);
	ck_assert(!memcmp(r, want + off, MiB));
	for (unsigned int i = 0; i < l.nseg; i++)
		holes += !l.seg[i].ref;
	ck_assert_uint_eq(holes, 1);
	/* one piece more than a lend holds; nothing stays pinned (LSan) */
	ck_assert_int_eq(rnbd_bdev_lend(b, 512, MiB + 64 * KiB, &l2), -E2BIG);
	ck_assert_int_eq(rnbd_bdev_lend(b, 2 * MiB - 512, 1024, &l2), -EINVAL);
	ck_assert_int_eq(rnbd_bdev_lend(b, 100, 512, &l2), -EINVAL);

	/* a discard does not free what is lent; the device reads zeroes */
	ck_assert_int_eq(io(NULL, b, RNBD_OP_DISCARD, 0, 0, 2 * MiB, NULL), 0);
	ck_assert_uint_eq(lend_gather(&l, r), MiB);
	ck_assert(!memcmp(r, want + off, MiB));
	ck_assert_int_eq(io(NULL, b, RNBD_OP_READ, 0, 0, 2 * MiB, r), 0);
	ck_assert(all_zero(r, 2 * MiB));
	rtrs_lend_put(&l);

	/* a secure erase wipes a lent chunk at once */
	ck_assert_int_eq(io(NULL, b, RNBD_OP_WRITE, 0, 0, 2 * MiB, w), 0);
	ck_assert_int_eq(rnbd_bdev_lend(b, 320 * KiB, 64 * KiB, &l2), 0);
	ck_assert_uint_eq(l2.nseg, 1);
	ck_assert(!memcmp(l2.seg[0].base, w + 320 * KiB, 64 * KiB));
	ck_assert_int_eq(io(NULL, b, RNBD_OP_SECURE_ERASE, 0, 320 * KiB, 64 * KiB, NULL), 0);
	ck_assert(all_zero(l2.seg[0].base, 64 * KiB));
	rtrs_lend_put(&l2);

	/* the device closes while a read is lent: its chunks outlive it */
	ck_assert_int_eq(rnbd_bdev_lend(b, MiB, MiB, &l3), 0);
	rnbd_bdev_close(b);
	ck_assert_uint_eq(lend_gather(&l3, r), MiB);
	ck_assert(!memcmp(r, w + MiB, MiB));
	rtrs_lend_put(&l3);

	/* a file's data is not in this process: nothing to lend */
	tfile_make(&t, MiB);
	b = open_fd_bdev(RNBD_BDEV_FILE, t.path, RNBD_IO_SYNC, false);
	ck_assert(!rnbd_bdev_can_lend(b));
	ck_assert_int_eq(rnbd_bdev_lend(b, 0, 4096, &l), -EOPNOTSUPP);
	rnbd_bdev_close(b);
	tfile_rm(&t);
	free(w);
	free(r);
	free(want);
}
END_TEST

START_TEST(memory_model)
{
	/* not a multiple of the chunk size: the last chunk is short */
	struct rnbd_bdev *b = open_mem(4 * MiB + 12 * KiB, false);
	struct model m;

	model_init(&m, NULL, b, 0x1234567);
	ck_assert(m.secure_erase);
	model_run(&m, 800);
	model_free(&m);
	rnbd_bdev_close(b);
}
END_TEST

START_TEST(memory_bad_input_and_readonly)
{
	struct rnbd_bdev *b = open_mem(MiB, false);
	struct env e;

	check_bad_input(NULL, b);
	rnbd_bdev_close(b);
	b = open_mem(MiB, true);
	check_readonly(NULL, b);
	rnbd_bdev_close(b);
	/* memory completes inside submit on a loop thread too */
	env_init(&e, true);
	b = open_mem(MiB, false);
	check_bad_input(&e, b);
	rnbd_bdev_close(b);
	ck_assert_int_eq(env_fini(&e), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* File backend */

START_TEST(file_open_errors)
{
	struct rnbd_bdev_conf c = { .type = RNBD_BDEV_FILE, .dirfd = AT_FDCWD, .fd = -1 };
	struct rnbd_bdev *b = NULL;
	char dir[256], path[320];
	int fd, dfd;

	tmpdir_make(dir, sizeof(dir));
	c.path = "/nonexistent/rnbd-disk";
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -ENOENT);
	ck_assert_errmsg_has("rnbd-disk");
	c.path = NULL;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	/* empty, and not a multiple of 512 */
	fd = tmpfile_make(dir, 0, path, sizeof(path));
	c.path = path;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	ck_assert_errmsg_has("multiple of 512");
	ck_assert_int_eq(ftruncate(fd, 1000), 0);
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	/* wrong kinds */
	ck_assert_int_eq(ftruncate(fd, MiB), 0);
	c.type = RNBD_BDEV_BLOCKDEV;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -ENOTBLK);
	ck_assert_errmsg_has("not a block device");
	c.path = "/dev/null";
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -ENOTBLK);
	c.type = RNBD_BDEV_FILE;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	ck_assert_errmsg_has("not a regular file");
	c.path = dir;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EISDIR);	/* O_RDWR on a directory */
	/* a given fd is taken over: closed on failure too */
	c.path = NULL;
	c.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(c.fd, 0);
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	ck_assert_int_eq(fcntl(c.fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	c.fd = open(path, O_PATH | O_CLOEXEC);
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	/* ... and closed by rnbd_bdev_close on success */
	c.fd = fd;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), 0);
	rnbd_bdev_close(b);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	/* relative to a directory fd */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	c.fd = -1;
	c.dirfd = dfd;
	c.path = strrchr(path, '/') + 1;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), 0);
	ck_assert_uint_eq(rnbd_bdev_info(b)->size, MiB);
	rnbd_bdev_close(b);
	close(dfd);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(file_geometry)
{
	struct tfile t;
	struct rnbd_bdev *b;
	const struct rnbd_bdev_info *i;

	tfile_make(&t, 3 * MiB + 512);
	b = open_fd_bdev(RNBD_BDEV_FILE, t.path, RNBD_IO_URING, false);
	i = rnbd_bdev_info(b);
	ck_assert_uint_eq(i->size, 3 * MiB + 512);
	ck_assert_uint_eq(i->logical_block_size, 512);
	ck_assert_uint_eq(i->physical_block_size, 4096);
	ck_assert_uint_gt(i->max_hw_sectors, 0);
	ck_assert_uint_gt(i->max_discard_sectors, 0);
	ck_assert_uint_le(i->max_discard_sectors, UINT32_MAX >> 9);
	ck_assert_uint_gt(i->max_write_zeroes_sectors, 0);
	ck_assert_uint_ge(i->discard_granularity, 512);
	ck_assert(i->write_cache);
	ck_assert(i->fua);
	ck_assert(!i->secure_erase);
	ck_assert(!i->readonly);
	rnbd_bdev_close(b);
	tfile_rm(&t);
}
END_TEST

static void file_case(enum rnbd_io_engine eng, bool with_loop)
{
	struct tfile t;
	struct rnbd_bdev *b;
	struct model m;
	struct env e;
	int warned;

	capture_start();
	env_init(&e, with_loop);
	tfile_make(&t, 4 * MiB + 1536);
	b = open_fd_bdev(RNBD_BDEV_FILE, t.path, eng, false);
	model_init(&m, &e, b, 0xfeed + eng);
	model_run(&m, 600);
	model_free(&m);
	check_bad_input(&e, b);
	ck_assert_int_eq(io(&e, b, RNBD_OP_SECURE_ERASE, 0, 0, 4096, NULL), -EOPNOTSUPP);
	check_file_space(&e, b, t.path);
	if (with_loop)
		check_many_in_flight(&e, b, 1000);
	rnbd_bdev_close(b);
	tfile_rm(&t);
	ck_assert_int_eq(env_fini(&e), 0);
	/* uring without a ring says so, once; with a ring it never falls back */
	warned = capture_end();
	if (eng != RNBD_IO_URING || with_loop)
		ck_assert_int_eq(warned, 0);
	else if (!nofork())
		ck_assert_int_eq(warned, 1);
}

START_TEST(file_sync_engine)
{
	file_case(RNBD_IO_SYNC, false);
}
END_TEST

START_TEST(file_uring_engine)
{
	file_case(RNBD_IO_URING, true);
}
END_TEST

/* uring selected, no ring on this thread: completes synchronously instead. */
START_TEST(file_uring_without_ring)
{
	file_case(RNBD_IO_URING, false);
}
END_TEST

START_TEST(file_readonly)
{
	struct rnbd_bdev_conf c = { .type = RNBD_BDEV_FILE, .dirfd = AT_FDCWD };
	struct rnbd_bdev *b;
	struct tfile t;
	struct env e;

	env_init(&e, true);
	tfile_make(&t, MiB);
	b = open_fd_bdev(RNBD_BDEV_FILE, t.path, RNBD_IO_URING, true);
	check_readonly(&e, b);
	rnbd_bdev_close(b);
	/* an fd opened read-only makes a read-only bdev */
	c.fd = open(t.path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), 0);
	check_readonly(&e, b);
	rnbd_bdev_close(b);
	tfile_rm(&t);
	ck_assert_int_eq(env_fini(&e), 0);
}
END_TEST

/* The file shrank under us: a read that runs into EOF is an I/O error, not zeroes. */
START_TEST(file_shrunk_read_is_eio)
{
	static const enum rnbd_io_engine engines[] = { RNBD_IO_SYNC, RNBD_IO_URING };
	uint8_t *buf = malloc(64 * KiB);

	ck_assert_ptr_nonnull(buf);
	for (int k = 0; k < 2; k++) {
		struct rnbd_bdev *b;
		struct tfile t;
		struct env e;

		env_init(&e, engines[k] == RNBD_IO_URING);
		tfile_make(&t, MiB);
		b = open_fd_bdev(RNBD_BDEV_FILE, t.path, engines[k], false);
		ck_assert_int_eq(truncate(t.path, MiB - 32 * KiB), 0);
		ck_assert_int_eq(io(&e, b, RNBD_OP_READ, 0, MiB - 64 * KiB, 64 * KiB, buf), -EIO);
		ck_assert_int_eq(io(&e, b, RNBD_OP_READ, 0, MiB - 4096, 4096, buf), -EIO);
		ck_assert_int_eq(io(&e, b, RNBD_OP_READ, 0, 0, 64 * KiB, buf), 0);
		rnbd_bdev_close(b);
		tfile_rm(&t);
		ck_assert_int_eq(env_fini(&e), 0);
	}
	free(buf);
}
END_TEST

/* tmpfs punches holes but has no ZERO_RANGE: -EOPNOTSUPP per bio, not at open. */
START_TEST(file_fallocate_unsupported)
{
	static const enum rnbd_io_engine engines[] = { RNBD_IO_SYNC, RNBD_IO_URING };
	struct statfs sfs;
	char dir[256] = "/dev/shm/rnbd-backend-XXXXXX", path[320];

	if (statfs("/dev/shm", &sfs) || sfs.f_type != TMPFS_MAGIC || !mkdtemp(dir)) {
		printf("skipping file_fallocate_unsupported: no tmpfs at /dev/shm\n");
		return;
	}
	close(tmpfile_make(dir, MiB, path, sizeof(path)));
	for (int k = 0; k < 2; k++) {
		struct rnbd_bdev *b;
		uint8_t buf[4096];
		struct env e;

		env_init(&e, engines[k] == RNBD_IO_URING);
		b = open_fd_bdev(RNBD_BDEV_FILE, path, engines[k], false);
		ck_assert_uint_gt(rnbd_bdev_info(b)->max_write_zeroes_sectors, 0);
		memset(buf, 0x5a, sizeof(buf));
		ck_assert_int_eq(io(&e, b, RNBD_OP_WRITE, 0, 0, 4096, buf), 0);
		/* first from the filesystem, then remembered */
		ck_assert_int_eq(io(&e, b, RNBD_OP_WRITE_ZEROES, RNBD_F_NOUNMAP, 0, 4096, NULL),
				 -EOPNOTSUPP);
		ck_assert_int_eq(io(&e, b, RNBD_OP_WRITE_ZEROES, RNBD_F_NOUNMAP, 0, 4096, NULL),
				 -EOPNOTSUPP);
		ck_assert_int_eq(io(&e, b, RNBD_OP_DISCARD, 0, 0, 4096, NULL), 0);
		ck_assert_int_eq(io(&e, b, RNBD_OP_READ, 0, 0, 4096, buf), 0);
		ck_assert(all_zero(buf, sizeof(buf)));
		rnbd_bdev_close(b);
		ck_assert_int_eq(env_fini(&e), 0);
	}
	unlink(path);
	rmdir(dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The loop thread's ring */

START_TEST(loop_init_twice_and_fini_drains)
{
	struct tfile t;
	struct rnbd_bdev *b;
	struct batch bt;
	uv_loop_t other;
	uint8_t *buf;
	struct env e;

	env_init(&e, true);
	ck_assert_int_eq(rnbd_backend_loop_init(&e.loop), 0);
	ck_assert_int_eq(uv_loop_init(&other), 0);
	ck_assert_int_eq(rnbd_backend_loop_init(&other), -EBUSY);
	ck_assert_int_eq(uv_loop_close(&other), 0);

	tfile_make(&t, MiB);
	b = open_fd_bdev(RNBD_BDEV_FILE, t.path, RNBD_IO_URING, false);
	buf = calloc(64, 4096);
	batch_init(&bt, &e, 64);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(batch_add(&bt, b, i % 2 ? RNBD_OP_READ : RNBD_OP_WRITE,
					   RNBD_F_PREFLUSH, i * 4096ull, 4096, buf + i * 4096), 0);
	ck_assert_uint_eq(bt.w.pending, 64);	/* nothing ran yet: the loop did not */
	/* fini completes them without the loop running */
	rnbd_backend_loop_fini();
	ck_assert_uint_eq(bt.w.pending, 0);
	for (int i = 0; i < 64; i++) {
		ck_assert_int_eq(bt.io[i].ndone, 1);
		ck_assert_int_eq(bt.io[i].err, 0);
	}
	/* after fini the thread has no ring: synchronous */
	bt.w.loop = NULL;
	bt.n = 0;
	ck_assert_int_eq(batch_add(&bt, b, RNBD_OP_READ, 0, 0, 4096, buf), 0);
	ck_assert_uint_eq(bt.w.pending, 0);
	ck_assert_int_eq(batch_wait(&bt), 0);
	run_out(&e.loop);
	ck_assert_int_eq(uv_loop_close(&e.loop), 0);
	batch_free(&bt);
	free(buf);
	rnbd_bdev_close(b);
	tfile_rm(&t);
}
END_TEST

/* As with kernel.io_uring_disabled: loop init still works, I/O is synchronous. */
START_TEST(uring_unavailable_falls_back)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(insns) / sizeof(insns[0]), .filter = insns };
	struct rnbd_bdev *b;
	uint8_t buf[4096];
	struct tfile t;
	struct env e;

	if (nofork()) {
		printf("skipping uring_unavailable_falls_back: needs CK_FORK\n");
		return;
	}
	/* only this forked test process loses io_uring */
	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
	capture_start();
	env_init(&e, true);
	ck_assert_int_eq(atomic_load(&no_uring), 1);
	tfile_make(&t, MiB);
	b = open_fd_bdev(RNBD_BDEV_FILE, t.path, RNBD_IO_URING, false);
	memset(buf, 0x33, sizeof(buf));
	/* io() with a loop still sees done() inside submit here */
	e.has_loop = false;
	ck_assert_int_eq(io(&e, b, RNBD_OP_WRITE, RNBD_F_FUA, 4096, 4096, buf), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(io(&e, b, RNBD_OP_READ, 0, 4096, 4096, buf), 0);
	ck_assert_uint_eq(buf[4095], 0x33);
	ck_assert_int_eq(io(&e, b, RNBD_OP_FLUSH, 0, 0, 0, NULL), 0);
	e.has_loop = true;
	rnbd_bdev_close(b);
	tfile_rm(&t);
	ck_assert_int_eq(env_fini(&e), 0);
	ck_assert_int_eq(capture_end(), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads, each with its own loop, on one bdev */

#define CC_THREADS	4
#define CC_BLOCK	4096u
#define CC_OWNED	(2 * MiB)	/* block i belongs to thread i % CC_THREADS */
#define CC_CHAOS	(512 * KiB)	/* after it: everybody, unchecked */
#define CC_BATCH	8

struct worker {
	pthread_t th;
	struct rnbd_bdev *b;
	bool with_loop;
	bool secure_erase;
	unsigned int idx;
	unsigned int iters;
	int errors;
	char why[160];
};

static void worker_fail(struct worker *w, const char *what, long long a, int b)
{
	if (!w->errors++)
		snprintf(w->why, sizeof(w->why), "thread %u: %s %lld %d", w->idx, what, a, b);
}

static void *worker_main(void *arg)
{
	enum { NOWN = CC_OWNED / CC_BLOCK / CC_THREADS };
	struct worker *w = arg;
	uint8_t *shadow = calloc(NOWN, CC_BLOCK);
	uint8_t *bufs = aligned_alloc(4096, (CC_BATCH + 1) * CC_BLOCK);
	uint8_t *chaos = aligned_alloc(4096, 128 * KiB);
	uint64_t seed = 0x9e3779b97f4a7c15ull * (w->idx + 1);
	struct batch bt;
	struct env e;
	int ret;

	e.has_loop = w->with_loop;
	if (w->with_loop && (uv_loop_init(&e.loop) || rnbd_backend_loop_init(&e.loop))) {
		worker_fail(w, "loop init", 0, 0);
		return NULL;
	}
	batch_init(&bt, &e, 2 * CC_BATCH + 2);
	for (unsigned int it = 0; it < w->iters; it++) {
		unsigned int first = rnd(&seed) % (NOWN - CC_BATCH);
		uint64_t coff = CC_OWNED + (rnd(&seed) % (CC_CHAOS / (64 * KiB))) * 64 * KiB;
		unsigned int cwhat = rnd(&seed) % 5;

		/* a batch on own blocks, interleaved with the other threads' in each chunk */
		for (unsigned int k = 0; k < CC_BATCH; k++) {
			unsigned int n = first + k;
			uint64_t off = ((uint64_t)n * CC_THREADS + w->idx) * CC_BLOCK;
			uint8_t *sh = shadow + (size_t)n * CC_BLOCK;

			switch (rnd(&seed) % 4) {
			case 0:
			case 1:
				fill(sh, CC_BLOCK, &seed);
				memcpy(bufs + k * CC_BLOCK, sh, CC_BLOCK);
				ret = batch_add(&bt, w->b, RNBD_OP_WRITE, k % 2 ? RNBD_F_FUA : 0,
						off, CC_BLOCK, bufs + k * CC_BLOCK);
				break;
			case 2:
				memset(sh, 0, CC_BLOCK);
				ret = batch_add(&bt, w->b, RNBD_OP_DISCARD, 0, off, CC_BLOCK, NULL);
				break;
			default:
				memset(sh, 0, CC_BLOCK);
				ret = batch_add(&bt, w->b, RNBD_OP_WRITE_ZEROES,
						k % 2 ? RNBD_F_NOUNMAP : 0, off, CC_BLOCK, NULL);
				break;
			}
			if (ret)
				worker_fail(w, "submit at", (long long)off, ret);
		}
		/* and one whole-chunk op on the shared area, racing the others */
		switch (cwhat) {
		case 0:
			fill(chaos, 64 * KiB, &seed);
			ret = batch_add(&bt, w->b, RNBD_OP_WRITE, 0, coff, 64 * KiB, chaos);
			break;
		case 1:
			ret = batch_add(&bt, w->b, RNBD_OP_READ, 0, coff, 64 * KiB,
					chaos + 64 * KiB);
			break;
		case 2:
			ret = batch_add(&bt, w->b, RNBD_OP_DISCARD, 0, coff, 64 * KiB, NULL);
			break;
		case 3:
			ret = batch_add(&bt, w->b, w->secure_erase ? RNBD_OP_SECURE_ERASE :
					RNBD_OP_WRITE_ZEROES, 0, coff, 64 * KiB, NULL);
			break;
		default:
			ret = batch_add(&bt, w->b, RNBD_OP_WRITE_ZEROES, RNBD_F_NOUNMAP,
					coff + 4096, 32 * KiB, NULL);
			break;
		}
		if (ret)
			worker_fail(w, "chaos submit", (long long)coff, ret);
		ret = batch_wait(&bt);
		if (ret)
			worker_fail(w, "batch", it, ret);

		for (unsigned int k = 0; k < CC_BATCH; k++) {
			uint64_t off = ((uint64_t)(first + k) * CC_THREADS + w->idx) * CC_BLOCK;

			ret = batch_add(&bt, w->b, RNBD_OP_READ, 0, off, CC_BLOCK,
					bufs + k * CC_BLOCK);
			if (ret)
				worker_fail(w, "read submit", (long long)off, ret);
		}
		ret = batch_wait(&bt);
		if (ret)
			worker_fail(w, "read batch", it, ret);
		for (unsigned int k = 0; k < CC_BATCH; k++)
			if (memcmp(bufs + k * CC_BLOCK, shadow + (size_t)(first + k) * CC_BLOCK,
				   CC_BLOCK))
				worker_fail(w, "data mismatch at own block", first + k, it);
	}
	/* all own blocks, once more */
	for (unsigned int n = 0; n < NOWN; n++) {
		uint64_t off = ((uint64_t)n * CC_THREADS + w->idx) * CC_BLOCK;

		if (batch_add(&bt, w->b, RNBD_OP_READ, 0, off, CC_BLOCK, bufs) || batch_wait(&bt) ||
		    memcmp(bufs, shadow + (size_t)n * CC_BLOCK, CC_BLOCK))
			worker_fail(w, "final check at own block", n, 0);
	}
	batch_free(&bt);
	if (w->with_loop && env_fini(&e))
		worker_fail(w, "loop close", 0, 0);
	free(shadow);
	free(bufs);
	free(chaos);
	return NULL;
}

static void run_workers(struct rnbd_bdev *b, bool with_loop, unsigned int iters)
{
	struct worker w[CC_THREADS];

	for (unsigned int i = 0; i < CC_THREADS; i++) {
		w[i] = (struct worker){
			.b = b, .with_loop = with_loop, .idx = i, .iters = iters,
			.secure_erase = rnbd_bdev_info(b)->secure_erase,
		};
		ck_assert_int_eq(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
	}
	for (unsigned int i = 0; i < CC_THREADS; i++)
		pthread_join(w[i].th, NULL);
	for (unsigned int i = 0; i < CC_THREADS; i++)
		ck_assert_msg(!w[i].errors, "%d errors, first: %s", w[i].errors, w[i].why);
}

START_TEST(concurrent_memory)
{
	struct rnbd_bdev *b = open_mem(CC_OWNED + CC_CHAOS, false);

	run_workers(b, true, 400);
	rnbd_bdev_close(b);
}
END_TEST

START_TEST(concurrent_file)
{
	static const enum rnbd_io_engine engines[] = { RNBD_IO_URING, RNBD_IO_SYNC };

	capture_start();
	for (int k = 0; k < 2; k++) {
		struct rnbd_bdev *b;
		struct tfile t;

		tfile_make(&t, CC_OWNED + CC_CHAOS);
		b = open_fd_bdev(RNBD_BDEV_FILE, t.path, engines[k], false);
		run_workers(b, engines[k] == RNBD_IO_URING, 150);
		rnbd_bdev_close(b);
		tfile_rm(&t);
	}
	ck_assert_int_eq(capture_end(), 0);	/* every thread had its ring */
}
END_TEST

/* ------------------------------------------------------------------ */
/* Block device (a loop device) */

static uint64_t sysfs_num(dev_t rdev, const char *attr)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/%s", major(rdev), minor(rdev),
		 attr);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

START_TEST(blockdev_geometry_and_errors)
{
	struct rnbd_bdev_conf c = { .type = RNBD_BDEV_BLOCKDEV, .dirfd = AT_FDCWD, .fd = -1 };
	const struct rnbd_bdev_info *i;
	struct rnbd_bdev *b = NULL;
	struct loopdev l;
	struct stat st;
	uint64_t dmax;
	struct env e;

	if (!loopdev_make(&l, 8 * MiB))
		return;
	ck_assert_int_eq(fstat(l.fd, &st), 0);
	c.path = l.path;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), 0);
	i = rnbd_bdev_info(b);
	ck_assert_uint_eq(i->size, 8 * MiB);
	ck_assert_uint_eq(i->logical_block_size, 512);
	ck_assert_uint_ge(i->physical_block_size, 512);
	ck_assert_uint_eq(i->max_hw_sectors, sysfs_num(st.st_rdev, "max_hw_sectors_kb") * 2);
	dmax = sysfs_num(st.st_rdev, "discard_max_bytes") >> 9;
	ck_assert_uint_eq(i->max_discard_sectors, dmax > UINT32_MAX >> 9 ? UINT32_MAX >> 9 : dmax);
	dmax = sysfs_num(st.st_rdev, "write_zeroes_max_bytes") >> 9;
	ck_assert_uint_eq(i->max_write_zeroes_sectors,
			  dmax > UINT32_MAX >> 9 ? UINT32_MAX >> 9 : dmax);
	ck_assert_uint_eq(i->rotational, !!sysfs_num(st.st_rdev, "rotational"));
	ck_assert(!i->readonly);
	ck_assert(!i->secure_erase);	/* loop has no secure erase */
	ck_assert_int_eq(io(NULL, b, RNBD_OP_SECURE_ERASE, 0, 0, 4096, NULL), -EOPNOTSUPP);
	check_bad_input(NULL, b);
	rnbd_bdev_close(b);
	/* a block device is not a file */
	c.type = RNBD_BDEV_FILE;
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), -EINVAL);
	ck_assert_errmsg_has("use type blockdev");
	/* read-only, through an fd handed over */
	c.type = RNBD_BDEV_BLOCKDEV;
	c.readonly = true;
	c.path = NULL;
	c.fd = open(l.path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(rnbd_bdev_open(&c, &b), 0);
	env_init(&e, true);
	check_readonly(&e, b);
	ck_assert_int_eq(env_fini(&e), 0);
	rnbd_bdev_close(b);
	loopdev_rm(&l);
}
END_TEST

static void blockdev_case(enum rnbd_io_engine eng)
{
	struct rnbd_bdev *b;
	struct loopdev l;
	struct model m;
	struct env e;

	if (!loopdev_make(&l, 8 * MiB))
		return;
	printf("blockdev case (%s engine) on %s\n", eng == RNBD_IO_URING ? "uring" : "sync",
	       l.path);
	capture_start();
	env_init(&e, eng == RNBD_IO_URING);
	b = open_fd_bdev(RNBD_BDEV_BLOCKDEV, l.path, eng, false);
	ck_assert_uint_gt(rnbd_bdev_info(b)->max_discard_sectors, 0);
	model_init(&m, &e, b, 0xb10c + eng);
	m.unaligned_bufs = true;	/* O_DIRECT: misaligned buffers need bouncing */
	model_run(&m, 500);
	model_free(&m);
	if (eng == RNBD_IO_URING)
		check_many_in_flight(&e, b, 700);
	rnbd_bdev_close(b);
	ck_assert_int_eq(env_fini(&e), 0);
	ck_assert_int_eq(capture_end(), 0);
	loopdev_rm(&l);
}

START_TEST(blockdev_sync_engine)
{
	blockdev_case(RNBD_IO_SYNC);
}
END_TEST

START_TEST(blockdev_uring_engine)
{
	blockdev_case(RNBD_IO_URING);
}
END_TEST

static Suite *backend_suite(void)
{
	Suite *s = suite_create("backend");
	TCase *tc = tcase_create("backend");

	tcase_set_timeout(tc, 45);
	tcase_add_test(tc, parse_helpers);
	tcase_add_test(tc, memory_size_limits);
	tcase_add_test(tc, memory_one_tib_sparse);
	tcase_add_test(tc, memory_geometry);
	tcase_add_test(tc, memory_holes_and_zeroes);
	tcase_add_test(tc, memory_lend);
	tcase_add_test(tc, memory_model);
	tcase_add_test(tc, memory_bad_input_and_readonly);
	tcase_add_test(tc, file_open_errors);
	tcase_add_test(tc, file_geometry);
	tcase_add_test(tc, file_sync_engine);
	tcase_add_test(tc, file_uring_engine);
	tcase_add_test(tc, file_uring_without_ring);
	tcase_add_test(tc, file_readonly);
	tcase_add_test(tc, file_shrunk_read_is_eio);
	tcase_add_test(tc, file_fallocate_unsupported);
	tcase_add_test(tc, loop_init_twice_and_fini_drains);
	tcase_add_test(tc, uring_unavailable_falls_back);
	tcase_add_test(tc, concurrent_memory);
	tcase_add_test(tc, concurrent_file);
	tcase_add_test(tc, blockdev_geometry_and_errors);
	tcase_add_test(tc, blockdev_sync_engine);
	tcase_add_test(tc, blockdev_uring_engine);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(backend_suite)
