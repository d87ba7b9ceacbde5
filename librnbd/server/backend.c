// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Backend front door: picks the implementation, and checks every bio before
 * an implementation sees it, so that none of them has to trust the caller.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "rnbd/rnbd-proto.h"
#include "bdev-impl.h"
#include "uring.h"
#include "util/err.h"
#include "util/log.h"

static const char *const type_names[] = {
	[RNBD_BDEV_MEMORY] = "memory",
	[RNBD_BDEV_FILE] = "file",
	[RNBD_BDEV_BLOCKDEV] = "blockdev",
};

const char *rnbd_bdev_type_str(enum rnbd_bdev_type t)
{
	return (unsigned int)t <= RNBD_BDEV_BLOCKDEV ? type_names[t] : "unknown";
}

int rnbd_bdev_type_parse(const char *s, enum rnbd_bdev_type *out)
{
	for (unsigned int i = 0; i <= RNBD_BDEV_BLOCKDEV; i++) {
		if (s && !strcmp(s, type_names[i])) {
			*out = i;
			return 0;
		}
	}
	return rnbd_err_set(-EINVAL, "unknown backend type '%s' (memory, file, blockdev)",
			    s ? s : "");
}

int rnbd_io_engine_parse(const char *s, enum rnbd_io_engine *out)
{
	if (s && (!strcmp(s, "uring") || !strcmp(s, "io_uring"))) {
		*out = RNBD_IO_URING;
		return 0;
	}
	if (s && !strcmp(s, "sync")) {
		*out = RNBD_IO_SYNC;
		return 0;
	}
	return rnbd_err_set(-EINVAL, "unknown io engine '%s' (uring, sync)", s ? s : "");
}

int rnbd_bdev_open(const struct rnbd_bdev_conf *conf, struct rnbd_bdev **out)
{
	*out = NULL;
	if (conf->engine != RNBD_IO_URING && conf->engine != RNBD_IO_SYNC)
		return rnbd_err_set(-EINVAL, "unknown io engine %d", (int)conf->engine);
	switch (conf->type) {
	case RNBD_BDEV_MEMORY:
		return rnbd_bdev_memory_open(conf, out);
	case RNBD_BDEV_FILE:
	case RNBD_BDEV_BLOCKDEV:
		return rnbd_bdev_fd_open(conf, out);
	}
	return rnbd_err_set(-EINVAL, "unknown backend type %d", (int)conf->type);
}

void rnbd_bdev_close(struct rnbd_bdev *b)
{
	if (b)
		b->ops->close(b);
}

const struct rnbd_bdev_info *rnbd_bdev_info(const struct rnbd_bdev *b)
{
	return &b->info;
}

static bool op_writes(uint32_t op)
{
	return op == RNBD_OP_WRITE || op == RNBD_OP_DISCARD || op == RNBD_OP_WRITE_ZEROES ||
	       op == RNBD_OP_SECURE_ERASE;
}

static int range_check(const struct rnbd_bdev_info *info, uint64_t offset, uint32_t len)
{
	if ((offset | len) & (info->logical_block_size - 1))
		return rnbd_err_set(-EINVAL, "offset %llu len %u not aligned to %u",
				    (unsigned long long)offset, len, info->logical_block_size);
	if (offset > info->size || len > info->size - offset)
		return rnbd_err_set(-EINVAL, "offset %llu len %u beyond the end (%llu)",
				    (unsigned long long)offset, len,
				    (unsigned long long)info->size);
	return 0;
}

/* The caller is supposed to have checked all this; a bad bio must still not reach storage. */
static int bio_check(const struct rnbd_bdev *b, const struct rnbd_bio *bio)
{
	const struct rnbd_bdev_info *info = &b->info;
	int ret;

	switch (bio->op) {
	case RNBD_OP_READ:
	case RNBD_OP_WRITE:
	case RNBD_OP_FLUSH:
	case RNBD_OP_DISCARD:
	case RNBD_OP_WRITE_ZEROES:
		break;
	case RNBD_OP_SECURE_ERASE:
		if (!info->secure_erase)
			return rnbd_err_set(-EOPNOTSUPP, "secure erase not supported by this %s",
					    rnbd_bdev_type_str(b->type));
		break;
	default:
		return rnbd_err_set(-EOPNOTSUPP, "unknown op %u", bio->op);
	}
	if (op_writes(bio->op) && info->readonly)
		return rnbd_err_set(-EROFS, "write op %u on a read-only %s", bio->op,
				    rnbd_bdev_type_str(b->type));
	if (bio->op == RNBD_OP_FLUSH)
		return 0;
	ret = range_check(info, bio->offset, bio->len);
	if (ret)
		return ret;
	if ((bio->op == RNBD_OP_READ || bio->op == RNBD_OP_WRITE) && bio->len && !bio->buf)
		return rnbd_err_set(-EINVAL, "no buffer");
	return 0;
}

bool rnbd_bdev_can_lend(const struct rnbd_bdev *b)
{
	return b->ops->lend;
}

int rnbd_bdev_lend(struct rnbd_bdev *b, uint64_t offset, uint32_t len, struct rtrs_lend *l)
{
	int ret;

	if (!b->ops->lend)
		return rnbd_err_set(-EOPNOTSUPP, "a %s cannot lend its data",
				    rnbd_bdev_type_str(b->type));
	ret = range_check(&b->info, offset, len);
	return ret ? ret : b->ops->lend(b, offset, len, l);
}

int rnbd_bdev_submit(struct rnbd_bdev *b, struct rnbd_bio *bio)
{
	int ret;

	if (!b || !bio || !bio->done)
		return rnbd_err_set(-EINVAL, "submit without bdev, bio or done callback");
	ret = bio_check(b, bio);
	if (ret)
		return ret;
	list_init(&bio->link);
	bio->bdev = b;
	bio->step = 0;
	bio->err = 0;
	bio->xfer = 0;
	bio->bounce = NULL;
	/* Nothing to move; some syscalls (fallocate) would even call it invalid. */
	if (!bio->len && bio->op != RNBD_OP_FLUSH) {
		bio->done(bio, 0);
		return 0;
	}
	return b->ops->submit(b, bio);
}

int rnbd_backend_loop_init(uv_loop_t *loop)
{
	return rnbd_uring_init(loop);
}

void rnbd_backend_loop_fini(void)
{
	rnbd_uring_fini();
}

void rnbd_backend_warn_no_ring(void)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;

	if (!atomic_flag_test_and_set(&warned))
		rnbd_log_warn("io_uring engine without a ring on this thread (loop init not called "
			      "or io_uring unavailable): doing I/O synchronously");
}
