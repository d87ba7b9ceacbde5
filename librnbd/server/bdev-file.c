// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The "file" and "blockdev" backends: both are an fd; they differ in the
 * geometry they report and in how space is freed or zeroed (fallocate on a
 * file, BLKDISCARD/BLKZEROOUT/BLKSECDISCARD on a block device).
 *
 * A regular file goes through the page cache, which is a volatile write
 * cache: FLUSH is fdatasync() and FUA is RWF_DSYNC.  A block device is used
 * with O_DIRECT, so the only cache is the device's own; buffers the device
 * cannot DMA to (misaligned) go through an aligned bounce buffer.
 *
 * With the io_uring engine, reads, writes, flushes and fallocate go through
 * the calling loop thread's ring; the block device ioctls, which io_uring
 * cannot issue, run on libuv's thread pool.  With the sync engine, or on a
 * thread without a ring, everything runs inside rnbd_bdev_submit().
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rnbd/rnbd-proto.h"
#include "bdev-impl.h"
#include "uring.h"
#include "util/err.h"
#include "util/log.h"

/* What a file advertises for discard/write-zeroes: big, and fits bio->len. */
#define FILE_MAX_ZERO_SECTORS	(1u << (30 - 9))
/* Largest byte count that bio->len can carry, in sectors. */
#define LEN_MAX_SECTORS		(UINT32_MAX >> 9)

enum { TAG_MAIN, TAG_PREFLUSH };

struct fd_bdev {
	struct rnbd_bdev b;
	int fd;
	bool blk;
	uintptr_t dma_mask;		/* O_DIRECT: buffer address alignment - 1 */
	/* fallocate modes the filesystem turned out not to support */
	atomic_bool no_punch;
	atomic_bool no_zero_range;
};

struct fd_work {
	uv_work_t req;
	struct fd_bdev *f;
	struct rnbd_bio *bio;
	int err;
};

static struct fd_bdev *fd_of(struct rnbd_bdev *b)
{
	return container_of(b, struct fd_bdev, b);
}

static bool is_space_op(uint32_t op)
{
	return op == RNBD_OP_DISCARD || op == RNBD_OP_WRITE_ZEROES || op == RNBD_OP_SECURE_ERASE;
}

static int falloc_mode(const struct rnbd_bio *bio)
{
	if (bio->op == RNBD_OP_WRITE_ZEROES && (bio->flags & RNBD_F_NOUNMAP))
		return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
}

static atomic_bool *falloc_unsupported(struct fd_bdev *f, int mode)
{
	return mode & FALLOC_FL_ZERO_RANGE ? &f->no_zero_range : &f->no_punch;
}

/* Remember EOPNOTSUPP so later bios skip the syscall. */
static int falloc_failed(struct fd_bdev *f, int mode, int err)
{
	if (err == -EOPNOTSUPP)
		atomic_store_explicit(falloc_unsupported(f, mode), true, memory_order_relaxed);
	return err;
}

static void *io_buf(const struct rnbd_bio *bio)
{
	return bio->bounce ? bio->bounce : bio->buf;
}

static void fd_complete(struct rnbd_bio *bio, int err)
{
	if (bio->bounce) {
		if (!err && bio->op == RNBD_OP_READ)
			memcpy(bio->buf, bio->bounce, bio->len);
		free(bio->bounce);
		bio->bounce = NULL;
	}
	bio->done(bio, err);
}

/* ------------------------------------------------------------------ */
/* Synchronous engine (also the thread-pool side of the ring engine) */

static int sync_rw(struct fd_bdev *f, struct rnbd_bio *bio)
{
	bool wr = bio->op == RNBD_OP_WRITE;
	int flags = wr && (bio->flags & RNBD_F_FUA) ? RWF_DSYNC : 0;
	uint8_t *buf = io_buf(bio);

	while (bio->xfer < bio->len) {
		struct iovec iov = { buf + bio->xfer, bio->len - bio->xfer };
		off_t pos = (off_t)(bio->offset + bio->xfer);
		ssize_t n;

		n = wr ? pwritev2(f->fd, &iov, 1, pos, flags) : preadv(f->fd, &iov, 1, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;	/* the range is inside the device: no EOF here */
		bio->xfer += (uint32_t)n;
	}
	return 0;
}

static int sync_space(struct fd_bdev *f, const struct rnbd_bio *bio)
{
	int mode;

	if (f->blk) {
		uint64_t range[2] = { bio->offset, bio->len };
		unsigned long req = bio->op == RNBD_OP_DISCARD ? BLKDISCARD :
				    bio->op == RNBD_OP_SECURE_ERASE ? BLKSECDISCARD : BLKZEROOUT;

		return ioctl(f->fd, req, range) ? -errno : 0;
	}
	mode = falloc_mode(bio);
	if (!fallocate(f->fd, mode, (off_t)bio->offset, (off_t)bio->len))
		return 0;
	return falloc_failed(f, mode, -errno);
}

static int sync_op(struct fd_bdev *f, struct rnbd_bio *bio)
{
	switch (bio->op) {
	case RNBD_OP_READ:
		return sync_rw(f, bio);
	case RNBD_OP_WRITE:
		if ((bio->flags & RNBD_F_PREFLUSH) && fdatasync(f->fd))
			return -errno;
		return sync_rw(f, bio);
	case RNBD_OP_FLUSH:
		return fdatasync(f->fd) ? -errno : 0;
	default:
		return sync_space(f, bio);
	}
}

static void work_run(uv_work_t *req)
{
	struct fd_work *w = container_of(req, struct fd_work, req);

	w->err = sync_space(w->f, w->bio);
}

static void work_done(uv_work_t *req, int status)
{
	struct fd_work *w = container_of(req, struct fd_work, req);
	struct rnbd_bio *bio = w->bio;
	int err = status < 0 ? status : w->err;

	free(w);
	fd_complete(bio, err);
}

static int queue_work(struct fd_bdev *f, struct rnbd_bio *bio, uv_loop_t *loop)
{
	struct fd_work *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return rnbd_err_set(-ENOMEM, "blockdev: out of memory");
	w->f = f;
	w->bio = bio;
	ret = uv_queue_work(loop, &w->req, work_run, work_done);
	if (ret) {
		free(w);
		return rnbd_err_set(ret, "uv_queue_work: %s", uv_strerror(ret));
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* io_uring engine */

static void fd_uring_issue(struct rnbd_uring *r, struct rnbd_bio *bio)
{
	struct fd_bdev *f = fd_of(bio->bdev);
	/* A short write resumes without flushing again: xfer > 0 means it was. */
	bool preflush = bio->op == RNBD_OP_WRITE && (bio->flags & RNBD_F_PREFLUSH) && !bio->xfer;
	struct io_uring_sqe *sqe[RNBD_URING_MAX_SQES], *s;
	unsigned int n = preflush ? 2 : 1;
	uint8_t *buf = io_buf(bio);

	if (rnbd_uring_get_sqes(r, sqe, n)) {
		rnbd_uring_park(r, bio);
		return;
	}
	s = sqe[0];
	if (preflush) {
		io_uring_prep_fsync(s, f->fd, IORING_FSYNC_DATASYNC);
		s->flags |= IOSQE_IO_LINK;
		rnbd_uring_set_data(s, bio, TAG_PREFLUSH);
		s = sqe[1];
	}
	switch (bio->op) {
	case RNBD_OP_READ:
		io_uring_prep_read(s, f->fd, buf + bio->xfer, bio->len - bio->xfer,
				   bio->offset + bio->xfer);
		break;
	case RNBD_OP_WRITE:
		io_uring_prep_write(s, f->fd, buf + bio->xfer, bio->len - bio->xfer,
				    bio->offset + bio->xfer);
		if (bio->flags & RNBD_F_FUA)
			s->rw_flags = RWF_DSYNC;
		break;
	case RNBD_OP_FLUSH:
		io_uring_prep_fsync(s, f->fd, IORING_FSYNC_DATASYNC);
		break;
	default:
		/* files only: block device space ops go to the thread pool */
		io_uring_prep_fallocate(s, f->fd, falloc_mode(bio), (off_t)bio->offset,
					(off_t)bio->len);
		break;
	}
	rnbd_uring_set_data(s, bio, TAG_MAIN);
	bio->step = (int)n;
}

static void fd_uring_cqe(struct rnbd_uring *r, struct rnbd_bio *bio, unsigned int tag, int res)
{
	struct fd_bdev *f = fd_of(bio->bdev);
	bool rw = bio->op == RNBD_OP_READ || bio->op == RNBD_OP_WRITE;

	if (tag == TAG_PREFLUSH) {
		/* the cause, rather than the -ECANCELED of the write linked to it */
		if (res < 0)
			bio->err = res;
	} else if (rw && res > 0) {
		bio->xfer += (uint32_t)res;
	} else if (rw && !res) {
		if (!bio->err)
			bio->err = -EIO;
	} else if (res < 0 && !bio->err) {
		bio->err = is_space_op(bio->op) ? falloc_failed(f, falloc_mode(bio), res) : res;
	}
	if (--bio->step)
		return;
	if (rw && !bio->err && bio->xfer < bio->len) {
		fd_uring_issue(r, bio);
		return;
	}
	fd_complete(bio, bio->err);
}

/* ------------------------------------------------------------------ */

static int fd_submit(struct rnbd_bdev *b, struct rnbd_bio *bio)
{
	struct fd_bdev *f = fd_of(b);
	bool space = is_space_op(bio->op);
	struct rnbd_uring *r = NULL;

	if (space && !f->blk &&
	    atomic_load_explicit(falloc_unsupported(f, falloc_mode(bio)), memory_order_relaxed)) {
		bio->done(bio, -EOPNOTSUPP);
		return 0;
	}
	if (!space && bio->op != RNBD_OP_FLUSH && ((uintptr_t)bio->buf & f->dma_mask)) {
		size_t align = f->dma_mask + 1 < 4096 ? 4096 : f->dma_mask + 1;

		if (posix_memalign(&bio->bounce, align, bio->len))
			return rnbd_err_set(-ENOMEM, "blockdev: no memory for a bounce buffer");
		if (bio->op == RNBD_OP_WRITE)
			memcpy(bio->bounce, bio->buf, bio->len);
	}
	if (b->engine == RNBD_IO_URING) {
		r = rnbd_uring_current();
		if (!r)
			rnbd_backend_warn_no_ring();
	}
	if (r && space && f->blk)
		return queue_work(f, bio, rnbd_uring_loop(r));
	if (r)
		fd_uring_issue(r, bio);
	else
		fd_complete(bio, sync_op(f, bio));
	return 0;
}

/* The last opener is gone: what it wrote reaches the storage before we
 * let go, so that a server stopping cleanly loses nothing. */
static void fd_close(struct rnbd_bdev *b)
{
	struct fd_bdev *f = fd_of(b);

	if (!b->info.readonly && fdatasync(f->fd))
		rnbd_log_warn("flush on close: %s", strerror(errno));
	close(f->fd);
	free(f);
}

static const struct rnbd_bdev_ops fd_ops = {
	.submit = fd_submit,
	.close = fd_close,
	.uring_issue = fd_uring_issue,
	.uring_cqe = fd_uring_cqe,
};

/* ------------------------------------------------------------------ */
/* Geometry */

static bool sysfs_str(const char *dir, const char *attr, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return true;
}

static bool sysfs_u64(const char *dir, const char *attr, uint64_t *v)
{
	char buf[64], *end;

	if (!sysfs_str(dir, attr, buf, sizeof(buf)))
		return false;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return !errno && end != buf && !*end;
}

/* bytes → sectors a bio can carry, a whole number of logical blocks */
static uint32_t limit_sectors(uint64_t bytes, uint32_t lbs)
{
	uint64_t s = bytes >> 9;

	if (s > LEN_MAX_SECTORS)
		s = LEN_MAX_SECTORS;
	return (uint32_t)s & ~(lbs / 512 - 1);
}

/*
 * Limits from /sys/dev/block/MAJ:MIN; a partition has no queue directory of
 * its own and uses its disk's.  A missing attribute gets a default that is
 * safe to advertise: no discard or write-zeroes (the client then never
 * sends them), a volatile write cache (the client sends flushes), 128 KiB
 * I/Os, not rotational.
 */
static void blk_sysfs_limits(struct fd_bdev *f, dev_t rdev)
{
	struct rnbd_bdev_info *info = &f->b.info;
	char dev[64], queue[96], s[64];
	uint64_t v;

	snprintf(dev, sizeof(dev), "/sys/dev/block/%u:%u", major(rdev), minor(rdev));
	snprintf(queue, sizeof(queue), "%s/queue", dev);
	if (access(queue, F_OK))
		snprintf(queue, sizeof(queue), "%s/../queue", dev);

	info->max_hw_sectors = 256;
	if (sysfs_u64(queue, "max_hw_sectors_kb", &v) && v)
		info->max_hw_sectors = limit_sectors(v * 1024, info->logical_block_size);
	if (sysfs_u64(queue, "discard_max_bytes", &v))
		info->max_discard_sectors = limit_sectors(v, info->logical_block_size);
	info->discard_granularity = info->physical_block_size;
	if (sysfs_u64(queue, "discard_granularity", &v) && v && v <= UINT32_MAX)
		info->discard_granularity = (uint32_t)v;
	if (sysfs_u64(dev, "discard_alignment", &v) && v <= UINT32_MAX)
		info->discard_alignment = (uint32_t)v;
	if (sysfs_u64(queue, "write_zeroes_max_bytes", &v))
		info->max_write_zeroes_sectors = limit_sectors(v, info->logical_block_size);
	info->write_cache = !sysfs_str(queue, "write_cache", s, sizeof(s)) ||
			    strcmp(s, "write through");
	/* RWF_DSYNC gives FUA semantics whether or not the device has FUA */
	info->fua = info->write_cache;
	info->rotational = sysfs_u64(queue, "rotational", &v) && v;
	f->dma_mask = info->logical_block_size - 1;
	if (sysfs_u64(queue, "dma_alignment", &v) && v < 65536 && !(v & (v + 1)))
		f->dma_mask = (uintptr_t)v;
}

static int blk_geometry(struct fd_bdev *f, const struct stat *st, const char *name)
{
	struct rnbd_bdev_info *info = &f->b.info;
	unsigned int pbs = 0;
	uint64_t size = 0;
	int lbs = 0, ro = 0, fl;

	if (ioctl(f->fd, BLKGETSIZE64, &size) || ioctl(f->fd, BLKSSZGET, &lbs) ||
	    ioctl(f->fd, BLKPBSZGET, &pbs) || ioctl(f->fd, BLKROGET, &ro))
		return rnbd_err_set(-errno, "%s: block device geometry: %s", name, strerror(errno));
	if (lbs < 512 || lbs > 65536 || (lbs & (lbs - 1)))
		return rnbd_err_set(-EINVAL, "%s: odd logical block size %d", name, lbs);
	if (!size || size % (unsigned int)lbs)
		return rnbd_err_set(-EINVAL, "%s: size %llu is not a positive multiple of %d",
				    name, (unsigned long long)size, lbs);
	info->size = size;
	info->logical_block_size = (uint32_t)lbs;
	info->physical_block_size = pbs >= (unsigned int)lbs ? pbs : (uint32_t)lbs;
	info->readonly |= !!ro;
	blk_sysfs_limits(f, st->st_rdev);
	/*
	 * No sysfs attribute tells whether secure erase works.  The ioctl
	 * checks support before it reads its argument, so a NULL argument
	 * answers EOPNOTSUPP or EFAULT and erases nothing.  (Kernels before
	 * 5.19 check discard support only: then a secure erase that is
	 * advertised can still complete with -EOPNOTSUPP.)
	 */
	if (!info->readonly)
		info->secure_erase = ioctl(f->fd, BLKSECDISCARD, NULL) && errno == EFAULT;

	fl = fcntl(f->fd, F_GETFL);
	if (fl < 0 || fcntl(f->fd, F_SETFL, fl | O_DIRECT)) {
		/* then the page cache is in the way: a volatile cache like a file's */
		rnbd_log_warn("%s: no O_DIRECT (%s), using the page cache", name, strerror(errno));
		f->dma_mask = 0;
		info->write_cache = true;
		info->fua = true;
	}
	return 0;
}

static int file_geometry(struct fd_bdev *f, const struct stat *st, const char *name)
{
	struct rnbd_bdev_info *info = &f->b.info;
	blksize_t bs = st->st_blksize;

	if (st->st_size <= 0 || st->st_size % 512)
		return rnbd_err_set(-EINVAL, "%s: size %lld is not a positive multiple of 512",
				    name, (long long)st->st_size);
	info->size = (uint64_t)st->st_size;
	info->logical_block_size = 512;
	info->physical_block_size = 4096;
	info->max_hw_sectors = 2048;
	/* Advertised blindly; EOPNOTSUPP from the filesystem shows up per bio. */
	info->max_discard_sectors = FILE_MAX_ZERO_SECTORS;
	info->max_write_zeroes_sectors = FILE_MAX_ZERO_SECTORS;
	info->discard_granularity = bs >= 512 && bs <= (1 << 20) && !(bs & (bs - 1)) ?
				    (uint32_t)bs : 4096;
	info->write_cache = true;
	info->fua = true;
	return 0;
}

int rnbd_bdev_fd_open(const struct rnbd_bdev_conf *conf, struct rnbd_bdev **out)
{
	bool blk = conf->type == RNBD_BDEV_BLOCKDEV;
	const char *name = conf->path ? conf->path : "fd";
	struct fd_bdev *f;
	struct stat st;
	int fd = conf->fd, fl, ret;

	if (fd < 0) {
		if (!conf->path)
			return rnbd_err_set(-EINVAL, "%s backend: neither path nor fd",
					    rnbd_bdev_type_str(conf->type));
		fd = openat(conf->dirfd, conf->path,
			    (conf->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0)
			return rnbd_err_set(-errno, "open %s: %s", name, strerror(errno));
	}
	/* From here on the fd is ours, also when failing. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fstat(fd, &st)) {
		ret = rnbd_err_set(-errno, "%s: %s", name, strerror(errno));
		goto err_fd;
	}
	if (fl & O_PATH) {
		ret = rnbd_err_set(-EINVAL, "%s: an O_PATH fd cannot do I/O", name);
		goto err_fd;
	}
	if (blk && !S_ISBLK(st.st_mode)) {
		ret = rnbd_err_set(-ENOTBLK, "%s: not a block device%s", name,
				   S_ISREG(st.st_mode) ? " (a regular file: use type file)" : "");
		goto err_fd;
	}
	if (!blk && !S_ISREG(st.st_mode)) {
		ret = rnbd_err_set(-EINVAL, "%s: not a regular file%s", name,
				   S_ISBLK(st.st_mode) ?
				   " (a block device: use type blockdev)" : "");
		goto err_fd;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		ret = rnbd_err_set(-ENOMEM, "%s: out of memory", name);
		goto err_fd;
	}
	f->fd = fd;
	f->blk = blk;
	f->b.ops = &fd_ops;
	f->b.type = conf->type;
	f->b.engine = conf->engine;
	f->b.info.readonly = conf->readonly || (fl & O_ACCMODE) == O_RDONLY;
	ret = blk ? blk_geometry(f, &st, name) : file_geometry(f, &st, name);
	if (ret) {
		free(f);
		goto err_fd;
	}
	*out = &f->b;
	return 0;

err_fd:
	close(fd);
	return ret;
}
