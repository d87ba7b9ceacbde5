// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One RNBD session on the server: SESS_INFO, OPEN, CLOSE and IO
 * (rnbd-wire.md 3, 5), and the device slots its ids name.
 *
 * A slot is pinned by its inflight counter.  An I/O adds itself, then looks
 * at the state; CLOSE marks the slot CLOSING, then looks at the counter.
 * Both are sequentially consistent, so either the I/O sees CLOSING and backs
 * out, or CLOSE sees it and waits for it: the last one out finishes the close.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rnbd-msg.h"
#include "srv.h"
#include "util/err.h"
#include "util/log.h"

struct rnbd_srv_sess *srv_sess_new(struct rnbd_srv *srv, struct rtrs_srv_sess *rtrs)
{
	struct rnbd_srv_sess *sess = calloc(1, sizeof(*sess));

	if (!sess)
		return NULL;
	sess->nblocks = (srv->max_devices + SLOTS_PER_BLOCK - 1) / SLOTS_PER_BLOCK;
	sess->blocks = calloc(sess->nblocks, sizeof(*sess->blocks));
	if (!sess->blocks) {
		free(sess);
		return NULL;
	}
	sess->srv = srv;
	sess->rtrs = rtrs;
	snprintf(sess->name, sizeof(sess->name), "%s", rtrs_srv_sess_name(rtrs));
	pthread_mutex_init(&sess->lock, NULL);
	list_init(&sess->link);
	return sess;
}

struct rnbd_slot *srv_sess_slot(struct rnbd_srv_sess *sess, uint32_t id)
{
	struct rnbd_slot *block;

	if (id / SLOTS_PER_BLOCK >= sess->nblocks)
		return NULL;
	block = atomic_load_explicit(&sess->blocks[id / SLOTS_PER_BLOCK], memory_order_acquire);
	return block ? &block[id % SLOTS_PER_BLOCK] : NULL;
}

/* The session is gone and RTRS has answered all its ops: close everything. */
void srv_sess_free(struct rnbd_srv_sess *sess)
{
	struct rnbd_srv *srv = sess->srv;

	pthread_mutex_lock(&srv->lock);
	for (uint32_t b = 0; b < sess->nblocks; b++) {
		struct rnbd_slot *block = atomic_load(&sess->blocks[b]);

		for (unsigned int i = 0; block && i < SLOTS_PER_BLOCK; i++) {
			int st = atomic_load(&block[i].state);

			if (st == SLOT_OPEN || st == SLOT_CLOSING)
				srv_dev_put(srv, block[i].dev, block[i].mode);
		}
		free(block);
	}
	pthread_mutex_unlock(&srv->lock);
	pthread_mutex_destroy(&sess->lock);
	free(sess->blocks);
	free(sess);
}

/*
 * Let go of the device of a CLOSING slot whose close was claimed, with
 * srv->lock held.  Returns the CLOSE to answer (NULL for a force close): the
 * caller answers it once it holds no lock, as RTRS may run the response, and
 * whatever a failed send sets off, on this thread.
 */
static struct rtrs_srv_op *finish_close_locked(struct rnbd_srv *srv, struct rnbd_slot *slot)
{
	struct rtrs_srv_op *op = slot->close_op;

	srv_dev_put(srv, slot->dev, slot->mode);
	/* with the put, under srv->lock: snap_devs() must never see a freed dev */
	slot->dev = NULL;
	slot->close_op = NULL;
	/* a force-closed id stays reserved: its client still believes in it */
	atomic_store(&slot->state, slot->forcing ? SLOT_FORCED : SLOT_FREE);
	return op;
}

/* Whoever takes close_claim finishes the close: the closer or the last I/O. */
static bool close_claim(struct rnbd_slot *slot)
{
	return atomic_exchange(&slot->close_claim, false);
}

/* Finish a close claimed with no lock held, and answer its CLOSE. */
static void close_finish(struct rnbd_srv_sess *sess, struct rnbd_slot *slot)
{
	struct rnbd_srv *srv = sess->srv;
	struct rtrs_srv_op *op;

	pthread_mutex_lock(&srv->lock);
	op = finish_close_locked(srv, slot);
	pthread_mutex_unlock(&srv->lock);
	if (op)
		rtrs_srv_resp(op, 0);
}

/* An I/O leaves slot: the last one out of a CLOSING slot may finish it. */
static void slot_leave(struct rnbd_srv_sess *sess, struct rnbd_slot *slot)
{
	if (atomic_fetch_sub(&slot->inflight, 1) == 1 &&
	    atomic_load(&slot->state) == SLOT_CLOSING && close_claim(slot))
		close_finish(sess, slot);
}

static struct rnbd_slot *slot_get(struct rnbd_srv_sess *sess, uint32_t id)
{
	struct rnbd_slot *slot = srv_sess_slot(sess, id);

	if (!slot)
		return NULL;
	atomic_fetch_add(&slot->inflight, 1);
	if (atomic_load(&slot->state) == SLOT_OPEN)
		return slot;
	slot_leave(sess, slot);
	return NULL;
}

/*
 * Start closing an OPEN slot (sess->lock held); op, if any, is answered when
 * done.  True when no I/O is left and the caller claimed the close: it must
 * finish it, under srv->lock; otherwise the last I/O out does.
 */
static bool begin_close(struct rnbd_slot *slot, struct rtrs_srv_op *op, bool forcing)
{
	slot->forcing = forcing;
	slot->close_op = op;
	atomic_store(&slot->close_claim, true);
	atomic_store(&slot->state, SLOT_CLOSING);
	return !atomic_load(&slot->inflight) && close_claim(slot);
}

static int process_sess_info(struct rnbd_srv_sess *sess, struct rtrs_srv_op *op, bool read,
			     void *data, uint32_t data_len, const void *usr, uint16_t usr_len)
{
	struct rnbd_req_sess_info req;
	struct rnbd_rsp_sess_info rsp;
	int ret;

	ret = rnbd_req_sess_info_decode(usr, usr_len, &req);
	if (ret)
		return ret;
	if (!read || data_len < RNBD_SESS_INFO_RSP_LEN)
		return rnbd_err_set(-EINVAL, "SESS_INFO with a %u-byte reply buffer", data_len);
	rsp.ver = req.ver < RNBD_PROTO_VER_MAJOR ? req.ver : RNBD_PROTO_VER_MAJOR;
	atomic_store(&sess->ver, rsp.ver);
	memset(data, 0, data_len);
	rnbd_rsp_sess_info_encode(&rsp, data, data_len);
	rtrs_srv_resp(op, 0);
	return 0;
}

static void fill_open_rsp(struct rnbd_slot *slot, uint32_t id, struct rnbd_rsp_open *rsp)
{
	const struct rnbd_bdev_info *info = slot->dev->info;

	memset(rsp, 0, sizeof(*rsp));
	rsp->device_id = id;
	rsp->nsectors = info->size >> RNBD_SECTOR_SHIFT;
	rsp->max_hw_sectors = info->max_hw_sectors;
	rsp->max_write_zeroes_sectors = info->max_write_zeroes_sectors;
	rsp->max_discard_sectors = info->max_discard_sectors;
	rsp->discard_granularity = info->discard_granularity;
	rsp->discard_alignment = info->discard_alignment;
	rsp->physical_block_size = (uint16_t)info->physical_block_size;
	rsp->logical_block_size = (uint16_t)info->logical_block_size;
	rsp->max_segments = RTRS_MAX_SEGMENTS;
	rsp->secure_discard = info->secure_erase;
	/* 6.12 clients enable FUA only together with WRITEBACK */
	if (info->write_cache)
		rsp->cache_policy = RNBD_WRITEBACK | (info->fua ? RNBD_FUA : 0);
}

/* The lowest free id, allocating its block; NULL when the session is full. */
/* The lowest free id below max_devices, as the kernel's idr_alloc would. */
static int slot_alloc(struct rnbd_srv_sess *sess, struct rnbd_slot **slot, uint32_t *id)
{
	unsigned int max = sess->srv->max_devices;

	for (uint32_t b = 0; b < sess->nblocks; b++) {
		struct rnbd_slot *block = atomic_load(&sess->blocks[b]);

		if (!block) {
			block = calloc(SLOTS_PER_BLOCK, sizeof(*block));
			if (!block)
				return rnbd_err_set(-ENOMEM, "out of memory for device slots");
			atomic_store_explicit(&sess->blocks[b], block, memory_order_release);
		}
		for (unsigned int i = 0; i < SLOTS_PER_BLOCK && b * SLOTS_PER_BLOCK + i < max; i++) {
			if (atomic_load(&block[i].state) == SLOT_FREE &&
			    !atomic_load(&block[i].inflight)) {
				*id = b * SLOTS_PER_BLOCK + i;
				*slot = &block[i];
				return 0;
			}
		}
	}
	return rnbd_err_set(-ENOSPC, "session %s has %u devices open", sess->name, max);
}

static struct rnbd_slot *slot_by_name(struct rnbd_srv_sess *sess, const char *name,
				      uint32_t *id)
{
	for (uint32_t b = 0; b < sess->nblocks; b++) {
		struct rnbd_slot *block = atomic_load(&sess->blocks[b]);

		for (unsigned int i = 0; block && i < SLOTS_PER_BLOCK; i++) {
			if (atomic_load(&block[i].state) == SLOT_OPEN &&
			    !strcmp(block[i].name, name)) {
				*id = b * SLOTS_PER_BLOCK + i;
				return &block[i];
			}
		}
	}
	return NULL;
}

static int process_open(struct rnbd_srv_sess *sess, struct rtrs_srv_op *op, bool read,
			void *data, uint32_t data_len, const void *usr, uint16_t usr_len)
{
	struct rnbd_srv *srv = sess->srv;
	struct rnbd_req_open req;
	struct rnbd_rsp_open rsp;
	struct rnbd_srv_dev *dev;
	struct rnbd_slot *slot;
	bool opened = false;
	uint32_t id = 0;
	int ret;

	ret = rnbd_req_open_decode(usr, usr_len, &req);
	if (ret)
		return ret;
	if (!read || data_len < RNBD_OPEN_RSP_LEN)
		return rnbd_err_set(-EINVAL, "OPEN with a %u-byte reply buffer", data_len);
	/* in the order of srv.h: the device list, then the slots */
	pthread_mutex_lock(&srv->lock);
	pthread_mutex_lock(&sess->lock);
	/* the kernel's rule: the same name in one session is the same id */
	slot = slot_by_name(sess, req.dev_name, &id);
	if (!slot) {
		ret = srv_dev_get(srv, sess->name, req.dev_name, req.access_mode, &dev);
		if (!ret) {
			ret = slot_alloc(sess, &slot, &id);
			if (ret)
				srv_dev_put(srv, dev, req.access_mode);
		}
		if (ret) {
			pthread_mutex_unlock(&sess->lock);
			pthread_mutex_unlock(&srv->lock);
			rnbd_log_info("rnbd server: session %s: OPEN %s %s refused: %s",
				      sess->name, req.dev_name,
				      rnbd_access_mode_str(req.access_mode), rnbd_errmsg());
			return ret;
		}
		slot->dev = dev;
		slot->mode = req.access_mode;
		slot->forcing = false;
		memcpy(slot->name, req.dev_name, sizeof(slot->name));
		atomic_store(&slot->reads, 0);
		atomic_store(&slot->writes, 0);
		atomic_store(&slot->bytes_read, 0);
		atomic_store(&slot->bytes_written, 0);
		atomic_store(&slot->state, SLOT_OPEN);
		opened = true;
	}
	fill_open_rsp(slot, id, &rsp);
	pthread_mutex_unlock(&sess->lock);
	pthread_mutex_unlock(&srv->lock);
	if (opened)
		rnbd_log_info("rnbd server: session %s: device %u is %s (%s)", sess->name, id,
			      req.dev_name, rnbd_access_mode_str(req.access_mode));
	memset(data, 0, data_len);
	rnbd_rsp_open_encode(&rsp, data, data_len);
	rtrs_srv_resp(op, 0);
	return 0;
}

static int process_close(struct rnbd_srv_sess *sess, struct rtrs_srv_op *op, bool read,
			 void *data, uint32_t data_len, const void *usr, uint16_t usr_len)
{
	struct rnbd_req_close req;
	struct rnbd_slot *slot;
	int ret;

	ret = rnbd_req_close_decode(usr, usr_len, &req);
	if (ret)
		return ret;
	/* CLOSE has no reply data: a read must not send the buffer's old bytes */
	if (read)
		memset(data, 0, data_len);
	pthread_mutex_lock(&sess->lock);
	slot = srv_sess_slot(sess, req.device_id);
	if (slot && atomic_load(&slot->state) == SLOT_OPEN) {
		bool finish = begin_close(slot, op, false);

		/* srv->lock comes before sess->lock (srv.h): take it after */
		pthread_mutex_unlock(&sess->lock);
		if (finish)
			close_finish(sess, slot);
		return 0;
	}
	/* unknown ids are answered with success, as the kernel does; a
	 * force-closed one is released now that its client let go */
	if (slot && atomic_load(&slot->state) == SLOT_FORCED)
		atomic_store(&slot->state, SLOT_FREE);
	pthread_mutex_unlock(&sess->lock);
	rtrs_srv_resp(op, 0);
	return 0;
}

/* srv->lock held: it keeps sess on the list, and comes before sess->lock. */
int srv_sess_force_close(struct rnbd_srv_sess *sess, uint32_t id)
{
	struct rnbd_slot *slot;

	pthread_mutex_lock(&sess->lock);
	slot = srv_sess_slot(sess, id);
	if (!slot || atomic_load(&slot->state) != SLOT_OPEN) {
		pthread_mutex_unlock(&sess->lock);
		return rnbd_err_set(-ENOENT, "session %s has no device %u open", sess->name, id);
	}
	rnbd_log_info("rnbd server: session %s: force-closing device %u (%s)", sess->name, id,
		      slot->name);
	/* a force close has no op to answer, so none is answered under the locks */
	if (begin_close(slot, NULL, true))
		finish_close_locked(sess->srv, slot);
	pthread_mutex_unlock(&sess->lock);
	return 0;
}

static void io_done(struct rnbd_bio *bio, int err)
{
	struct rnbd_req *req = container_of(bio, struct rnbd_req, bio);
	struct rnbd_srv_sess *sess = req->sess;
	struct rnbd_slot *slot = req->slot;
	struct rtrs_srv_op *op = req->op;

	/*
	 * Out of the slot first, as the kernel's rnbd_endio() puts before it
	 * answers: once the last op is answered RTRS may end the session, and
	 * srv_sess_free() free the slot under us.  The op (and req with it)
	 * may be reused once answered.
	 */
	slot_leave(sess, slot);
	rtrs_srv_resp(op, err);
}

/* Whether the device can do op, and the range is inside it. */
static int io_check(struct rnbd_slot *slot, const struct rnbd_req_io *io, bool read,
		    uint32_t data_len)
{
	const struct rnbd_bdev_info *info = slot->dev->info;
	uint32_t op = rnbd_io_op(io->rw);
	uint64_t off = io->sector << RNBD_SECTOR_SHIFT;
	int ret;

	if (rnbd_op_is_rtrs_read(op) != read)
		return rnbd_err_set(-EINVAL, "%s sent as an RTRS %s", rnbd_op_str(op),
				    read ? "read" : "write");
	ret = rnbd_req_io_check_data_len(io, data_len);
	if (ret)
		return ret;
	if (op == RNBD_OP_FLUSH)
		return 0;
	if (op != RNBD_OP_READ && slot->mode == RNBD_ACCESS_RO)
		return rnbd_err_set(-EROFS, "%s on device %s opened read-only", rnbd_op_str(op),
				    slot->name);
	if ((off | io->bi_size) & (info->logical_block_size - 1))
		return rnbd_err_set(-EINVAL, "%s at %llu + %u is not aligned to %u bytes",
				    rnbd_op_str(op), (unsigned long long)off, io->bi_size,
				    info->logical_block_size);
	if (off > info->size || io->bi_size > info->size - off)
		return rnbd_err_set(-ERANGE, "%s at %llu + %u is beyond the end (%llu)",
				    rnbd_op_str(op), (unsigned long long)off, io->bi_size,
				    (unsigned long long)info->size);
	if ((op == RNBD_OP_DISCARD && !info->max_discard_sectors) ||
	    (op == RNBD_OP_WRITE_ZEROES && !info->max_write_zeroes_sectors) ||
	    (op == RNBD_OP_SECURE_ERASE && !info->secure_erase))
		return rnbd_err_set(-EOPNOTSUPP, "%s is not supported by %s", rnbd_op_str(op),
				    slot->name);
	return 0;
}

/*
 * Reads smaller than this are copied even when the backend could lend:
 * pinning and giving back pieces costs more than copying a few pages
 * (4 KiB random reads at depth 32: 7-10% more IOPS copied; 16 KiB even;
 * from 32 KiB on lending wins, and 1 MiB reads gain about a tenth).
 */
#define LEND_MIN	(32 * 1024)

static int process_io(struct rnbd_srv_sess *sess, struct rtrs_srv_op *op, bool read,
		      void *data, uint32_t data_len, const void *usr, uint16_t usr_len)
{
	struct rnbd_req *req = rtrs_srv_op_priv(op);
	struct rnbd_req_io io;
	struct rnbd_slot *slot;
	uint32_t rnbd_op;
	int ret;

	ret = rnbd_req_io_decode(usr, usr_len, &io);
	if (ret)
		return ret;
	slot = slot_get(sess, io.device_id);
	if (!slot)
		return rnbd_err_set(-ENOTCONN, "device id %u is not open", io.device_id);
	ret = io_check(slot, &io, read, data_len);
	if (ret) {
		slot_leave(sess, slot);
		return ret;
	}
	rnbd_op = rnbd_io_op(io.rw);
	if (rnbd_op == RNBD_OP_READ) {
		atomic_fetch_add_explicit(&slot->reads, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&slot->bytes_read, io.bi_size, memory_order_relaxed);
	} else if (rnbd_op != RNBD_OP_FLUSH) {
		atomic_fetch_add_explicit(&slot->writes, 1, memory_order_relaxed);
		if (rnbd_op == RNBD_OP_WRITE)
			atomic_fetch_add_explicit(&slot->bytes_written, io.bi_size,
						  memory_order_relaxed);
	}
	/* Straight from the backend's memory when it lends (the memory
	 * backend): one copy less; failing that, read into the op's buffer. */
	if (rnbd_op == RNBD_OP_READ && io.bi_size >= LEND_MIN &&
	    rnbd_bdev_can_lend(slot->dev->bdev)) {
		struct rtrs_lend lend;

		if (!rnbd_bdev_lend(slot->dev->bdev, io.sector << RNBD_SECTOR_SHIFT, io.bi_size,
				    &lend)) {
			slot_leave(sess, slot);
			rtrs_srv_resp_lent(op, &lend);
			return 0;
		}
	}
	req->op = op;
	req->slot = slot;
	req->sess = sess;
	req->bio = (struct rnbd_bio){
		.op = rnbd_op,
		.flags = io.rw & ~RNBD_OP_MASK,
		.offset = io.sector << RNBD_SECTOR_SHIFT,
		.len = io.bi_size,
		.buf = data,
		.done = io_done,
	};
	ret = rnbd_bdev_submit(slot->dev->bdev, &req->bio);
	if (ret)
		slot_leave(sess, slot);
	return ret;
}

int srv_sess_request(struct rnbd_srv_sess *sess, struct rtrs_srv_op *op, bool read, void *data,
		     uint32_t data_len, const void *usr, uint16_t usr_len)
{
	int type = rnbd_msg_type_peek(usr, usr_len);

	switch (type) {
	case RNBD_MSG_IO:
		return process_io(sess, op, read, data, data_len, usr, usr_len);
	case RNBD_MSG_SESS_INFO:
		return process_sess_info(sess, op, read, data, data_len, usr, usr_len);
	case RNBD_MSG_OPEN:
		return process_open(sess, op, read, data, data_len, usr, usr_len);
	case RNBD_MSG_CLOSE:
		return process_close(sess, op, read, data, data_len, usr, usr_len);
	}
	if (type >= 0)
		rnbd_err_set(-EINVAL, "unknown RNBD message type %d", type);
	return -EINVAL;
}
