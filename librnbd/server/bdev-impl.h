/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What backend.c shares with the backend implementations: the common head
 * of every struct rnbd_bdev and the per-kind operations.
 */
#ifndef RNBD_SERVER_BDEV_IMPL_H
#define RNBD_SERVER_BDEV_IMPL_H

#include "backend.h"

struct rnbd_uring;

struct rnbd_bdev_ops {
	/*
	 * The bio passed rnbd_bdev_submit()'s checks: op is known, the range
	 * is aligned and inside the device, len > 0 unless op is FLUSH, and
	 * the bdev is writable if op writes.  Same contract as submit.
	 */
	int (*submit)(struct rnbd_bdev *b, struct rnbd_bio *bio);
	void (*close)(struct rnbd_bdev *b);
	/* Optional: rnbd_bdev_lend() of a range that passed its checks. */
	int (*lend)(struct rnbd_bdev *b, uint64_t offset, uint32_t len, struct rtrs_lend *l);
	/* io_uring engine: queue the bio's next SQEs on r, or park it there. */
	void (*uring_issue)(struct rnbd_uring *r, struct rnbd_bio *bio);
	/* One CQE of the bio (tag: what rnbd_uring_tag() put in user_data). */
	void (*uring_cqe)(struct rnbd_uring *r, struct rnbd_bio *bio, unsigned int tag, int res);
};

/* Embedded first in every backend's own struct. */
struct rnbd_bdev {
	const struct rnbd_bdev_ops *ops;
	struct rnbd_bdev_info info;
	enum rnbd_bdev_type type;
	enum rnbd_io_engine engine;
};

int rnbd_bdev_memory_open(const struct rnbd_bdev_conf *conf, struct rnbd_bdev **out);
int rnbd_bdev_fd_open(const struct rnbd_bdev_conf *conf, struct rnbd_bdev **out);

/* Logs, once per process, that a uring bdev ran synchronously on a thread without a ring. */
void rnbd_backend_warn_no_ring(void);

#endif
