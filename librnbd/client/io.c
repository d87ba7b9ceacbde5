// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Client I/O: rnbd_io to RTRS requests carrying an rnbd_msg_io.  A request
 * within the device's limits is one RTRS request built in the rnbd_io's
 * private area, without allocating; a larger one is split into parts that
 * are allocated together.  A PREFLUSH write is a FLUSH, then the write:
 * kernel 6.1 servers do not know the PREFLUSH flag.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "util/endian.h"
#include "util/err.h"

struct part {
	struct rtrs_clt_io rio;
	uint8_t msg[RNBD_IO_LEN];
	struct io_priv *owner;
	struct iovec *iov;		/* slice of the caller's iovec */
};

struct split {
	unsigned int nparts;
	struct part parts[];
};

/* What librnbd keeps in rnbd_io.priv. */
struct io_priv {
	struct part one;		/* the request, or the flush before it */
	struct rnbd_dev *dev;
	struct rnbd_io *io;
	struct split *split;
	_Atomic unsigned int remaining;
	_Atomic int err;
	bool flushing;			/* the PREFLUSH flush is out */
};

_Static_assert(sizeof(struct io_priv) <= sizeof(((struct rnbd_io *)0)->priv),
	       "struct io_priv fits in rnbd_io.priv");

static struct io_priv *priv_of(struct rnbd_io *io)
{
	return (struct io_priv *)io->priv;
}

/* Called by RTRS before each (re)send: put in the device's current id. */
int io_prep(struct rtrs_clt_io *rio)
{
	struct part *p = container_of(rio, struct part, rio);
	struct rnbd_dev *d = p->owner->dev;

	switch (atomic_load(&d->state)) {
	case DEV_OPEN:
	case DEV_CLOSING:
		put_le32(p->msg + offsetof(struct rnbd_msg_io, device_id), atomic_load(&d->id));
		return 0;
	case DEV_REOPENING:
		return -EAGAIN;
	}
	return -EIO;
}

static void dev_io_put(struct rnbd_dev *d)
{
	if (atomic_fetch_sub(&d->inflight, 1) != 1)
		return;
	pthread_mutex_lock(&d->lock);
	pthread_cond_broadcast(&d->drained);
	pthread_mutex_unlock(&d->lock);
}

static void finish(struct io_priv *ip)
{
	struct rnbd_io *io = ip->io;
	struct rnbd_dev *d = ip->dev;
	int err = atomic_load(&ip->err);

	free(ip->split);
	ip->split = NULL;
	io->done(io, err);
	dev_io_put(d);
}

static int send_parts(struct io_priv *ip);

static void part_done(struct rtrs_clt_io *rio, int err)
{
	struct part *p = container_of(rio, struct part, rio);
	struct io_priv *ip = p->owner;
	int zero = 0;

	if (err)
		atomic_compare_exchange_strong(&ip->err, &zero, err);
	if (atomic_fetch_sub(&ip->remaining, 1) != 1)
		return;
	if (ip->flushing) {
		ip->flushing = false;
		if (!atomic_load(&ip->err)) {
			err = send_parts(ip);
			if (!err)
				return;
			atomic_store(&ip->err, err);
		}
	}
	finish(ip);
}

static void part_init(struct part *p, struct io_priv *ip, uint32_t op, uint32_t flags,
		      uint64_t off, uint32_t len, struct iovec *iov, unsigned int iovcnt)
{
	struct rnbd_req_io req = {
		.sector = off >> RNBD_SECTOR_SHIFT,
		.rw = op | flags,
		.bi_size = op == RNBD_OP_FLUSH ? 0 : len,
	};
	bool data = rnbd_op_has_data(op);

	rnbd_req_io_encode(&req, p->msg, sizeof(p->msg));
	p->owner = ip;
	p->iov = iov;
	p->rio = (struct rtrs_clt_io){
		.read = rnbd_op_is_rtrs_read(op),
		.usr = p->msg,
		.usr_len = RNBD_IO_LEN,
		.iov = data ? iov : NULL,
		.iovcnt = data ? iovcnt : 0,
		.data_len = data ? len : 0,
		.done = part_done,
		.prep = io_prep,
	};
}

/* Largest piece of one request on the wire for this op. */
static uint64_t piece(const struct rnbd_dev_info *info, uint32_t op)
{
	uint64_t lim = UINT32_MAX - (UINT32_MAX % info->logical_block_size);

	switch (op) {
	case RNBD_OP_READ:
	case RNBD_OP_WRITE:
		return info->max_io_size;
	case RNBD_OP_WRITE_ZEROES:
		if ((uint64_t)info->max_write_zeroes_sectors << 9 < lim)
			lim = (uint64_t)info->max_write_zeroes_sectors << 9;
		break;
	default:
		if ((uint64_t)info->max_discard_sectors << 9 < lim)
			lim = (uint64_t)info->max_discard_sectors << 9;
	}
	return lim - lim % info->logical_block_size;
}

/* Slice [skip, skip+len) of the caller's iovec into out; returns the count. */
static unsigned int iov_slice(const struct iovec *iov, unsigned int n, uint64_t skip,
			      uint64_t len, struct iovec *out)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		out[k].iov_base = (char *)iov[i].iov_base + skip;
		out[k].iov_len = l - skip < len ? l - skip : len;
		len -= out[k].iov_len;
		skip = 0;
		k++;
	}
	return k;
}

/* Send the data parts of ip's request (after any PREFLUSH flush). */
static int send_parts(struct io_priv *ip)
{
	struct rnbd_io *io = ip->io;
	struct rnbd_dev_info info;
	struct rtrs_clt_sess *rs = ip->dev->sess->rtrs;
	uint32_t flags = io->flags & ~RNBD_F_PREFLUSH;
	uint64_t max, n;
	int ret;

	rnbd_dev_get_info(ip->dev, &info);
	if (io->flags & RNBD_F_FUA)
		flags |= RNBD_F_SYNC;
	if (io->op == RNBD_OP_READ)
		flags |= RNBD_F_SYNC;
	max = io->op == RNBD_OP_FLUSH ? 1 : piece(&info, io->op);
	n = io->op == RNBD_OP_FLUSH ? 1 : (io->len + max - 1) / max;
	if (n <= 1) {
		part_init(&ip->one, ip, io->op, flags, io->offset, (uint32_t)io->len,
			  (struct iovec *)io->iov, io->iovcnt);
		atomic_store(&ip->remaining, 1);
		return rtrs_clt_request(rs, &ip->one.rio);
	}
	ip->split = calloc(1, sizeof(*ip->split) +
			   n * (sizeof(struct part) + io->iovcnt * sizeof(struct iovec)));
	if (!ip->split)
		return rnbd_err_set(-ENOMEM, "no memory to split a %llu-byte request",
				    (unsigned long long)io->len);
	ip->split->nparts = (unsigned int)n;
	atomic_store(&ip->remaining, (unsigned int)n);
	for (uint64_t i = 0; i < n; i++) {
		struct part *p = &ip->split->parts[i];
		struct iovec *slice = (struct iovec *)&ip->split->parts[n] + i * io->iovcnt;
		uint64_t off = i * max, len = io->len - off < max ? io->len - off : max;
		unsigned int cnt = rnbd_op_has_data(io->op) ?
			iov_slice(io->iov, io->iovcnt, off, len, slice) : 0;

		part_init(p, ip, io->op, flags, io->offset + off, (uint32_t)len, slice, cnt);
		p->rio.spread = true;
		ret = rtrs_clt_request(rs, &p->rio);
		if (ret && !i) {
			free(ip->split);
			ip->split = NULL;
			return ret;
		}
		if (ret) {
			/* the parts already out complete; count the rest as failed */
			int zero = 0;

			atomic_compare_exchange_strong(&ip->err, &zero, ret);
			if (atomic_fetch_sub(&ip->remaining, (unsigned int)(n - i)) == n - i)
				finish(ip);
			return 0;
		}
	}
	return 0;
}

static int check_io(struct rnbd_dev *d, const struct rnbd_io *io, const struct rnbd_dev_info *info)
{
	uint64_t total = 0;

	switch (io->op) {
	case RNBD_OP_FLUSH:
		return 0;
	case RNBD_OP_READ:
	case RNBD_OP_WRITE:
		for (unsigned int i = 0; i < io->iovcnt; i++)
			total += io->iov[i].iov_len;
		if (total != io->len)
			return rnbd_err_set(-EINVAL, "iovec holds %llu bytes, len is %llu",
					    (unsigned long long)total, (unsigned long long)io->len);
		break;
	case RNBD_OP_DISCARD:
	case RNBD_OP_SECURE_ERASE:
	case RNBD_OP_WRITE_ZEROES:
		break;
	default:
		return rnbd_err_set(-EOPNOTSUPP, "unknown op %u", io->op);
	}
	if (io->op != RNBD_OP_READ && info->readonly)
		return rnbd_err_set(-EROFS, "%s is open read-only", d->path);
	if ((io->offset | io->len) % info->logical_block_size)
		return rnbd_err_set(-EINVAL, "%s at %llu + %llu is not aligned to %u bytes",
				    rnbd_op_str(io->op), (unsigned long long)io->offset,
				    (unsigned long long)io->len, info->logical_block_size);
	if (io->offset > info->size || io->len > info->size - io->offset)
		return rnbd_err_set(-ERANGE, "%s at %llu + %llu is beyond the end (%llu)",
				    rnbd_op_str(io->op), (unsigned long long)io->offset,
				    (unsigned long long)io->len, (unsigned long long)info->size);
	if ((io->op == RNBD_OP_DISCARD && !info->max_discard_sectors) ||
	    (io->op == RNBD_OP_WRITE_ZEROES && !info->max_write_zeroes_sectors) ||
	    (io->op == RNBD_OP_SECURE_ERASE && !info->secure_erase))
		return rnbd_err_set(-EOPNOTSUPP, "%s: the server does not offer %s", d->path,
				    rnbd_op_str(io->op));
	return 0;
}

int rnbd_dev_submit(struct rnbd_dev *d, struct rnbd_io *io)
{
	struct io_priv *ip = priv_of(io);
	struct rnbd_dev_info info;
	int ret;

	if (atomic_load(&d->state) == DEV_CLOSING)
		return rnbd_err_set(-ENODEV, "%s is being closed", d->path);
	rnbd_dev_get_info(d, &info);
	ret = check_io(d, io, &info);
	if (ret)
		return ret;
	memset(ip, 0, sizeof(*ip));
	ip->dev = d;
	ip->io = io;
	atomic_fetch_add(&d->inflight, 1);
	if (io->flags & RNBD_F_PREFLUSH && io->op != RNBD_OP_FLUSH) {
		ip->flushing = true;
		part_init(&ip->one, ip, RNBD_OP_FLUSH, RNBD_F_SYNC | RNBD_F_FUA, 0, 0, NULL, 0);
		atomic_store(&ip->remaining, 1);
		ret = rtrs_clt_request(d->sess->rtrs, &ip->one.rio);
	} else {
		ret = send_parts(ip);
	}
	if (ret)
		dev_io_put(d);
	return ret;
}

/* ---- synchronous wrappers ---- */

struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int err;
};

static void sync_done(struct rnbd_io *io, int err)
{
	struct sync_wait *w = io->opaque;

	pthread_mutex_lock(&w->lock);
	w->err = err;
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* What a completion's errno usually means, for the message of a sync call. */
static const char *io_err_hint(int err)
{
	switch (err) {
	case -ENOTCONN: return " (the server does not have the device open: remap it)";
	case -ECONNABORTED: return " (every path to the server failed)";
	case -EIO: return " (the server's storage failed, or no path came back in time)";
	case -ERANGE: return " (beyond the end of the device)";
	case -EROFS: return " (the device is open read-only)";
	default: return "";
	}
}

static int sync_io(struct rnbd_dev *d, uint32_t op, uint32_t flags, void *buf, uint64_t len,
		   uint64_t off)
{
	struct sync_wait w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct iovec iov = { buf, len };
	struct rnbd_io io = {
		.op = op, .flags = flags, .offset = off, .len = len,
		.iov = buf ? &iov : NULL, .iovcnt = buf ? 1 : 0,
		.done = sync_done, .opaque = &w,
	};
	int ret = rnbd_dev_submit(d, &io);

	if (ret)
		return ret;
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	if (w.err)
		rnbd_err_set(w.err, "%s of %llu bytes at %llu on %s: %s%s", rnbd_op_str(op),
			     (unsigned long long)len, (unsigned long long)off, d->path,
			     strerror(-w.err), io_err_hint(w.err));
	return w.err;
}

int rnbd_dev_pread(struct rnbd_dev *d, void *buf, size_t len, uint64_t offset)
{
	return sync_io(d, RNBD_OP_READ, 0, buf, len, offset);
}

int rnbd_dev_pwrite(struct rnbd_dev *d, const void *buf, size_t len, uint64_t offset)
{
	return sync_io(d, RNBD_OP_WRITE, 0, (void *)buf, len, offset);
}

int rnbd_dev_flush(struct rnbd_dev *d)
{
	return sync_io(d, RNBD_OP_FLUSH, 0, NULL, 0, 0);
}

int rnbd_dev_discard(struct rnbd_dev *d, uint64_t offset, uint64_t len)
{
	return sync_io(d, RNBD_OP_DISCARD, 0, NULL, len, offset);
}

int rnbd_dev_write_zeroes(struct rnbd_dev *d, uint64_t offset, uint64_t len, uint32_t flags)
{
	return sync_io(d, RNBD_OP_WRITE_ZEROES, flags & RNBD_F_NOUNMAP, NULL, len, offset);
}
