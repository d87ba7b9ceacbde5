/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Storage backends of the RNBD server: what turns an RNBD IO into storage
 * I/O.  Three kinds: "memory" (sparse, in this process), "file" and
 * "blockdev" (io_uring, or plain pread/pwrite with io_engine "sync").
 *
 * A backend instance (struct rnbd_bdev) is shared by every session that
 * opened the same storage; it is thread-safe.  I/O is submitted on an event
 * loop thread and completes on the same thread, through bio->done(), which
 * may run before rnbd_bdev_submit() returns (memory backend) or later from
 * the loop (io_uring completions).  Each loop thread that submits I/O first
 * calls rnbd_backend_loop_init() on itself.
 */
#ifndef RNBD_SERVER_BACKEND_H
#define RNBD_SERVER_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util/list.h"

enum rnbd_bdev_type {
	RNBD_BDEV_MEMORY,
	RNBD_BDEV_FILE,
	RNBD_BDEV_BLOCKDEV,
};

enum rnbd_io_engine {
	RNBD_IO_URING,
	RNBD_IO_SYNC,		/* pread/pwrite/fdatasync on the loop thread */
};

/* The largest memory backend: its first-level table is sized for this. */
#define RNBD_BDEV_MEMORY_MAX (1ull << 40)

/* How to open a backend. */
struct rnbd_bdev_conf {
	enum rnbd_bdev_type type;
	const char *path;		/* file/blockdev: opened with O_RDWR (or O_RDONLY) */
	int dirfd;			/* path relative to this (AT_FDCWD: absolute) */
	int fd;				/* >= 0: an fd already opened (resolved path); taken over */
	uint64_t size;			/* memory: size in bytes (multiple of 4096) */
	bool readonly;
	enum rnbd_io_engine engine;
};

/* What OPEN_RSP advertises; sizes in bytes unless said otherwise. */
struct rnbd_bdev_info {
	uint64_t size;
	uint32_t logical_block_size;
	uint32_t physical_block_size;
	uint32_t max_hw_sectors;		/* 512-byte sectors */
	uint32_t max_discard_sectors;		/* 0: no discard */
	uint32_t discard_granularity;
	uint32_t discard_alignment;
	uint32_t max_write_zeroes_sectors;	/* 0: no write-zeroes */
	bool secure_erase;
	bool write_cache;			/* volatile cache: FLUSH/FUA matter */
	bool fua;
	bool rotational;
	bool readonly;				/* the storage itself refuses writes */
};

struct rnbd_bdev;
struct rnbd_bio;

typedef void (*rnbd_bio_done_fn)(struct rnbd_bio *bio, int err);

/*
 * One I/O.  op is RNBD_OP_* and flags RNBD_F_* (rnbd-proto.h):
 *   READ, WRITE       len bytes at offset, to/from buf
 *   FLUSH             persist what was written (offset/len ignored)
 *   DISCARD           deallocate len bytes at offset (reads then return zeroes)
 *   WRITE_ZEROES      zero len bytes at offset; RNBD_F_NOUNMAP keeps them allocated
 *   SECURE_ERASE      -EOPNOTSUPP unless the storage supports it
 * RNBD_F_FUA: the write is durable when done() runs; RNBD_F_PREFLUSH: flush
 * first.  offset and len are multiples of the logical block size and inside
 * the device (the caller checks).  done() gets 0 or a negative errno.
 */
struct rnbd_bio {
	uint32_t op;
	uint32_t flags;
	uint64_t offset;
	uint32_t len;
	void *buf;
	rnbd_bio_done_fn done;
	void *priv;
	/* private to the backend */
	struct list_head link;
	int step;
	int err;
	struct rnbd_bdev *bdev;
	uint32_t xfer;		/* bytes moved so far: short transfers resume here */
	void *bounce;		/* O_DIRECT copy of an unaligned buf */
};

int rnbd_bdev_open(const struct rnbd_bdev_conf *conf, struct rnbd_bdev **out);
void rnbd_bdev_close(struct rnbd_bdev *b);
const struct rnbd_bdev_info *rnbd_bdev_info(const struct rnbd_bdev *b);

/* 0: done() will be (or has been) called once; <0: it will not. */
int rnbd_bdev_submit(struct rnbd_bdev *b, struct rnbd_bio *bio);

struct rtrs_lend;

/*
 * A read answered from the backend's own memory instead of copied into a
 * buffer: l gets the pieces of [offset, offset + len), each pinned until
 * l->put() gives it back (see struct rtrs_lend), however the data changes
 * or is discarded meanwhile.  Only backends whose data sits in this
 * process can (rnbd_bdev_can_lend()); -E2BIG when the range takes more
 * pieces than l holds.  Either way the caller may submit a READ bio
 * instead.  Checks as rnbd_bdev_submit().
 */
bool rnbd_bdev_can_lend(const struct rnbd_bdev *b);
int rnbd_bdev_lend(struct rnbd_bdev *b, uint64_t offset, uint32_t len, struct rtrs_lend *l);

/* Per loop thread resources (the io_uring ring), on that thread. */
int rnbd_backend_loop_init(uv_loop_t *loop);
void rnbd_backend_loop_fini(void);

/* Parse "memory" / "file" / "blockdev", "uring" / "sync". */
int rnbd_bdev_type_parse(const char *s, enum rnbd_bdev_type *out);
int rnbd_io_engine_parse(const char *s, enum rnbd_io_engine *out);
const char *rnbd_bdev_type_str(enum rnbd_bdev_type t);

#endif
