// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A FUSE file system with one file per mapped device, for loop devices to
 * sit on.  Small requests are answered asynchronously from librnbd's
 * completion callbacks, so a few FUSE threads keep a deep queue busy; their
 * write data is copied, because libfuse reuses a thread's buffer as soon as
 * the callback returns.  A FUSE thread waits for a big request instead and
 * answers it itself: its write data is sent from libfuse's buffer without a
 * copy, and the copy of its read data into the kernel does not hold up the
 * librnbd loop that completed it.
 */
/* 3.12: fuse_session_loop_mt() takes the fuse_loop_cfg_*() config; under an
 * older FUSE_USE_VERSION it reads that config as the old struct */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse_lowlevel.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusefs.h"

#define MAX_IO (1u << 20)
/* enough to wait for the big requests of a deep queue: loop's 1 MiB
 * requests arrive as two of 512 KiB (128 segments) */
#define LOOP_THREADS 16
#define WAIT_MIN (128u << 10)	/* the smallest request a FUSE thread waits for */

/* submit()'s how */
#define F_READ 1u		/* answer with the data read into buf */
#define F_WAIT 2u		/* the calling thread waits for the completion and answers */
#define F_BORROWED 4u		/* buf is libfuse's (F_WAIT only): not ours to free */

struct entry {
	bool used;
	char name[32];
	struct rnbd_dev *dev;
	uint64_t size;
	bool readonly;
};

struct fusefs {
	struct fuse_session *se;
	pthread_t thread;
	pthread_mutex_t lock;
	struct entry e[FUSEFS_MAX];
	char mountpoint[256];
};

/* One FUSE request in flight in librnbd. */
struct freq {
	struct rnbd_io io;
	struct iovec iov;
	fuse_req_t req;
	void *buf;
	size_t size;
	unsigned int how;
	sem_t *waiting;		/* F_WAIT: posted on completion */
	int err;
};

static struct fusefs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The entry of ino with its device pinned by the caller holding nothing:
 * entries are only removed after the loop device on them is gone. */
static struct entry *entry_of(struct fusefs *fs, fuse_ino_t ino)
{
	unsigned int i = (unsigned int)(ino - 2);

	if (ino < 2 || i >= FUSEFS_MAX || !fs->e[i].used)
		return NULL;
	return &fs->e[i];
}

static void stat_of(struct fusefs *fs, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0700;
		st->st_nlink = 2;
		return;
	}
	pthread_mutex_lock(&fs->lock);
	st->st_mode = S_IFREG | (fs->e[ino - 2].readonly ? 0400 : 0600);
	st->st_size = (off_t)fs->e[ino - 2].size;
	pthread_mutex_unlock(&fs->lock);
	st->st_nlink = 1;
	st->st_blksize = 4096;
	st->st_blocks = st->st_size / 512;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->max_write = MAX_IO;
	conn->max_read = MAX_IO;
	/* loop's direct I/O arrives as background requests: let many through */
	conn->max_background = 256;
	conn->congestion_threshold = 192;
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fusefs *fs = fs_of(req);
	struct fuse_entry_param ep = { .attr_timeout = 1, .entry_timeout = 1 };
	unsigned int i;

	if (parent != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < FUSEFS_MAX; i++)
		if (fs->e[i].used && !strcmp(fs->e[i].name, name))
			break;
	pthread_mutex_unlock(&fs->lock);
	if (i == FUSEFS_MAX) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	ep.ino = i + 2;
	stat_of(fs, ep.ino, &ep.attr);
	fuse_reply_entry(req, &ep);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fusefs *fs = fs_of(req);
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && !entry_of(fs, ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_of(fs, ino, &st);
	fuse_reply_attr(req, &st, 1);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fusefs *fs = fs_of(req);
	char *buf = calloc(1, size);
	size_t used = 0;

	(void)fi;
	if (ino != FUSE_ROOT_ID || !buf) {
		free(buf);
		fuse_reply_err(req, ino != FUSE_ROOT_ID ? ENOTDIR : ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	for (unsigned int i = (unsigned int)off; i < FUSEFS_MAX; i++) {
		struct stat st = { .st_ino = i + 2, .st_mode = S_IFREG };
		size_t n;

		if (!fs->e[i].used)
			continue;
		n = fuse_add_direntry(req, buf + used, size - used, fs->e[i].name, &st, i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct entry *e = entry_of(fs_of(req), ino);

	if (!e) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (e->readonly && (fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* no page cache in FUSE: loop's direct I/O goes straight to us */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static void freq_answer(struct freq *f, int err)
{
	if (err)
		fuse_reply_err(f->req, -err);
	else if (f->how & F_READ)
		fuse_reply_buf(f->req, f->buf, f->size);
	else if (f->size)
		fuse_reply_write(f->req, f->size);
	else
		fuse_reply_err(f->req, 0);
	if (!(f->how & F_BORROWED))
		free(f->buf);
	free(f);
}

static void freq_done(struct rnbd_io *io, int err)
{
	struct freq *f = io->opaque;

	if (f->waiting) {
		/* the waiter frees f as soon as it wakes */
		f->err = err;
		sem_post(f->waiting);
	} else {
		freq_answer(f, err);
	}
}

/* Send op on ino's device and answer req from its completion, or, with
 * F_WAIT, once it completed. */
static void submit(fuse_req_t req, fuse_ino_t ino, uint32_t op, uint32_t flags, uint64_t off,
		   uint64_t len, void *buf, unsigned int how)
{
	struct entry *e = entry_of(fs_of(req), ino);
	struct freq *f = calloc(1, sizeof(*f));
	sem_t done;
	int ret;

	if (!e || !f) {
		free(f);
		if (!(how & F_BORROWED))
			free(buf);
		fuse_reply_err(req, e ? ENOMEM : ENOENT);
		return;
	}
	f->req = req;
	f->buf = buf;
	f->size = op == RNBD_OP_READ || op == RNBD_OP_WRITE ? len : 0;
	f->how = how;
	f->iov = (struct iovec){ buf, len };
	f->io = (struct rnbd_io){
		.op = op, .flags = flags, .offset = off, .len = len,
		.iov = buf ? &f->iov : NULL, .iovcnt = buf ? 1 : 0,
		.done = freq_done, .opaque = f,
	};
	if (how & F_WAIT) {
		sem_init(&done, 0, 0);
		f->waiting = &done;
	}
	ret = rnbd_dev_submit(e->dev, &f->io);
	if (!ret && (how & F_WAIT)) {
		while (sem_wait(&done) && errno == EINTR)
			;
		ret = f->err;
	}
	if (how & F_WAIT)
		sem_destroy(&done);
	if (ret || (how & F_WAIT))
		freq_answer(f, ret);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct entry *e = entry_of(fs_of(req), ino);
	void *buf;

	(void)fi;
	if (!e) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* a read that starts at or crosses the end returns what is there */
	if ((uint64_t)off >= e->size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > e->size - (uint64_t)off)
		size = e->size - (uint64_t)off;
	buf = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
	submit(req, ino, RNBD_OP_READ, 0, (uint64_t)off, size, buf,
	       F_READ | (size >= WAIT_MIN ? F_WAIT : 0));
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	void *buf;

	(void)fi;
	if (size >= WAIT_MIN) {
		/* librnbd only reads the data it sends */
		submit(req, ino, RNBD_OP_WRITE, 0, (uint64_t)off, size, (void *)(uintptr_t)data,
		       F_WAIT | F_BORROWED);
		return;
	}
	buf = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
	if (buf)
		memcpy(buf, data, size);
	submit(req, ino, RNBD_OP_WRITE, 0, (uint64_t)off, size, buf, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	submit(req, ino, RNBD_OP_FLUSH, 0, 0, 0, NULL, 0);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

/* How loop turns DISCARD and WRITE_ZEROES into fallocate(2). */
static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	(void)fi;
	if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		submit(req, ino, RNBD_OP_DISCARD, 0, (uint64_t)off, (uint64_t)len, NULL, 0);
	else if ((mode & ~FALLOC_FL_KEEP_SIZE) == FALLOC_FL_ZERO_RANGE)
		submit(req, ino, RNBD_OP_WRITE_ZEROES, RNBD_F_NOUNMAP, (uint64_t)off,
		       (uint64_t)len, NULL, 0);
	else
		fuse_reply_err(req, EOPNOTSUPP);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.fallocate = op_fallocate,
};

static void *loop_thread(void *arg)
{
	struct fusefs *fs = arg;
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();

	fuse_loop_cfg_set_clone_fd(cfg, 1);
	fuse_loop_cfg_set_max_threads(cfg, LOOP_THREADS);
	/* libfuse ends a worker that finds more idle ones than this, and starts
	 * one when none is idle: with a lower bound every request would start
	 * a thread and end one */
	fuse_loop_cfg_set_idle_threads(cfg, LOOP_THREADS);
	fuse_session_loop_mt(fs->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return NULL;
}

int fusefs_start(const char *mountpoint, struct fusefs **out)
{
	/* max_read is a mount option: the kernel's, which init() may only lower */
	char *argv[] = { "rnbdctl", "-o", "fsname=rnbd,subtype=rnbd,allow_other,max_read=1048576",
			 NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fusefs *fs = calloc(1, sizeof(*fs));
	int err;

	if (!fs)
		return -ENOMEM;
	pthread_mutex_init(&fs->lock, NULL);
	snprintf(fs->mountpoint, sizeof(fs->mountpoint), "%s", mountpoint);
	if (mkdir(mountpoint, 0700) && errno != EEXIST) {
		err = -errno;
		goto fail;
	}
	fs->se = fuse_session_new(&args, &ops, sizeof(ops), fs);
	if (!fs->se) {
		err = -EIO;
		goto fail;
	}
	if (fuse_session_mount(fs->se, mountpoint)) {
		err = -EIO;
		fuse_session_destroy(fs->se);
		goto fail;
	}
	err = -pthread_create(&fs->thread, NULL, loop_thread, fs);
	if (err) {
		fuse_session_unmount(fs->se);
		fuse_session_destroy(fs->se);
		goto fail;
	}
	*out = fs;
	return 0;
fail:
	pthread_mutex_destroy(&fs->lock);
	free(fs);
	return err;
}

void fusefs_stop(struct fusefs *fs)
{
	fuse_session_exit(fs->se);
	/* unmounting wakes the threads blocked reading /dev/fuse */
	fuse_session_unmount(fs->se);
	pthread_join(fs->thread, NULL);
	fuse_session_destroy(fs->se);
	rmdir(fs->mountpoint);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

int fusefs_add(struct fusefs *fs, struct rnbd_dev *dev, uint64_t size, bool readonly,
	       char *file, size_t len)
{
	int idx = -ENOSPC;

	pthread_mutex_lock(&fs->lock);
	for (unsigned int i = 0; i < FUSEFS_MAX; i++) {
		struct entry *e = &fs->e[i];

		if (e->used)
			continue;
		*e = (struct entry){ .used = true, .dev = dev, .size = size, .readonly = readonly };
		snprintf(e->name, sizeof(e->name), "dev%u", i);
		snprintf(file, len, "%s/%s", fs->mountpoint, e->name);
		idx = (int)i;
		break;
	}
	pthread_mutex_unlock(&fs->lock);
	return idx;
}

void fusefs_remove(struct fusefs *fs, int idx)
{
	pthread_mutex_lock(&fs->lock);
	fs->e[idx].used = false;
	pthread_mutex_unlock(&fs->lock);
	fuse_lowlevel_notify_inval_entry(fs->se, FUSE_ROOT_ID, fs->e[idx].name,
					 strlen(fs->e[idx].name));
}

void fusefs_resize(struct fusefs *fs, int idx, uint64_t size)
{
	pthread_mutex_lock(&fs->lock);
	fs->e[idx].size = size;
	pthread_mutex_unlock(&fs->lock);
	fuse_lowlevel_notify_inval_inode(fs->se, (fuse_ino_t)idx + 2, 0, 0);
}
