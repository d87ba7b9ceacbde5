// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Client devices: OPEN, CLOSE and the re-OPEN after a reconnect
 * (rnbd-wire.md 5.2, 5.6, 5.8), over admin messages on cid 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/log.h"

void admin_init(struct admin_req *ar)
{
	memset(ar, 0, sizeof(*ar));
	pthread_mutex_init(&ar->lock, NULL);
	pthread_cond_init(&ar->cond, NULL);
}

void admin_fini(struct admin_req *ar)
{
	pthread_mutex_destroy(&ar->lock);
	pthread_cond_destroy(&ar->cond);
}

static void admin_done(struct rtrs_clt_io *io, int err)
{
	struct admin_req *ar = container_of(io, struct admin_req, io);

	if (ar->cb) {
		ar->cb(ar, err);
		return;
	}
	pthread_mutex_lock(&ar->lock);
	ar->err = err;
	ar->done = true;
	pthread_cond_signal(&ar->cond);
	pthread_mutex_unlock(&ar->lock);
}

/*
 * Send ar (usr and its length already in io) as an admin message; with
 * wait, block until the reply and return its errno.  A reply buffer of
 * rsp is used for read-direction messages.
 */
int admin_send(struct rnbd_sess *s, struct admin_req *ar, bool wait)
{
	int ret;

	ar->io.admin = true;
	ar->io.usr = ar->usr;
	ar->io.done = admin_done;
	if (ar->io.read) {
		ar->iov = (struct iovec){ ar->rsp, ar->io.data_len };
		ar->io.iov = &ar->iov;
		ar->io.iovcnt = 1;
	} else {
		ar->io.iov = NULL;
		ar->io.iovcnt = 0;
		ar->io.data_len = 0;
	}
	ar->done = false;
	ret = rtrs_clt_request(s->rtrs, &ar->io);
	if (ret || !wait)
		return ret;
	pthread_mutex_lock(&ar->lock);
	while (!ar->done)
		pthread_cond_wait(&ar->cond, &ar->lock);
	pthread_mutex_unlock(&ar->lock);
	return ar->err;
}

int admin_sess_info_prepare(struct admin_req *ar)
{
	struct rnbd_req_sess_info req = { .ver = RNBD_PROTO_VER_MAJOR };
	int len = rnbd_req_sess_info_encode(&req, ar->usr, sizeof(ar->usr));

	if (len < 0)
		return len;
	ar->io.usr_len = (uint16_t)len;
	ar->io.read = true;
	ar->io.data_len = RNBD_SESS_INFO_RSP_LEN;
	return 0;
}

static int open_prepare(struct admin_req *ar, const char *path, uint8_t mode)
{
	struct rnbd_req_open req = { .access_mode = mode };
	int len;

	snprintf(req.dev_name, sizeof(req.dev_name), "%s", path);
	len = rnbd_req_open_encode(&req, ar->usr, sizeof(ar->usr));
	if (len < 0)
		return len;
	ar->io.usr_len = (uint16_t)len;
	ar->io.read = true;
	ar->io.data_len = RNBD_OPEN_RSP_LEN;
	return 0;
}

static int close_prepare(struct admin_req *ar, uint32_t id)
{
	struct rnbd_req_close req = { .device_id = id };
	int len = rnbd_req_close_encode(&req, ar->usr, sizeof(ar->usr));

	if (len < 0)
		return len;
	ar->io.usr_len = (uint16_t)len;
	ar->io.read = false;
	return 0;
}

static void close_bg_done(struct admin_req *ar, int err)
{
	(void)err;
	admin_fini(ar);
	free(ar);
}

/* Take the geometry of an OPEN_RSP; on a malformed one, CLOSE what it opened. */
int dev_apply_open_rsp(struct rnbd_dev *d, const struct admin_req *ar)
{
	struct rnbd_sess *s = d->sess;
	uint32_t max_io = s->max_io_size;
	struct rnbd_rsp_open rsp;
	int ret;

	ret = rnbd_rsp_open_decode(ar->rsp, sizeof(ar->rsp), &rsp);
	if (ret) {
		/* the kernel client, too, closes a device it cannot set up */
		struct admin_req *cl = malloc(sizeof(*cl));

		rnbd_err_prefix(ret, "bad OPEN_RSP for %s: ", d->path);
		if (cl) {
			admin_init(cl);
			cl->cb = close_bg_done;
			if (close_prepare(cl, get_le32(ar->rsp + 4)) || admin_send(s, cl, false))
				close_bg_done(cl, 0);
		}
		return ret;
	}
	pthread_mutex_lock(&d->lock);
	d->info = (struct rnbd_dev_info){
		.device_id = rsp.device_id,
		.size = rsp.nsectors << RNBD_SECTOR_SHIFT,
		.logical_block_size = rsp.logical_block_size,
		.physical_block_size = rsp.physical_block_size,
		.max_io_size = max_io - max_io % rsp.logical_block_size,
		.max_discard_sectors = rsp.max_discard_sectors,
		.discard_granularity = rsp.discard_granularity,
		.max_write_zeroes_sectors = rsp.max_write_zeroes_sectors,
		.secure_erase = rsp.secure_discard && rsp.max_discard_sectors,
		.write_cache = rsp.cache_policy & RNBD_WRITEBACK,
		.fua = rsp.cache_policy & RNBD_FUA,
		.readonly = d->mode == RNBD_ACCESS_RO,
	};
	pthread_mutex_unlock(&d->lock);
	atomic_store(&d->id, rsp.device_id);
	return 0;
}

/* What the server means by the errnos of a refused OPEN (rnbd-serve's and the kernel's). */
static const char *open_err_hint(int err)
{
	switch (err) {
	case -ENOENT: return " (no such export or file on the server)";
	case -EXDEV: return " (a link out of the server's search path)";
	case -EINVAL: return " (a name the server refuses, such as one with '..')";
	case -EPERM: return " (refused by the server's rules, or open rw elsewhere)";
	case -EACCES: return " (the export is read-only)";
	case -ENOSPC: return " (the session has as many devices open as the server allows)";
	default: return "";
	}
}

int rnbd_dev_open(struct rnbd_sess *s, const char *path, enum rnbd_access_mode mode,
		  struct rnbd_dev **out)
{
	struct list_head *pos, *tmp;
	struct admin_req ar;
	struct rnbd_dev *d;
	int ret;

	if ((unsigned int)mode > RNBD_ACCESS_MIGRATION)
		return rnbd_err_set(-EINVAL, "unknown access mode %d", mode);
	if (!path[0] || strlen(path) >= RNBD_NAME_MAX)
		return rnbd_err_set(-EINVAL, "device path empty or longer than %d bytes",
				    RNBD_NAME_MAX - 1);
	pthread_mutex_lock(&s->lock);
	list_for_each_safe(pos, tmp, &s->devs) {
		if (!strcmp(list_entry(pos, struct rnbd_dev, link)->path, path)) {
			pthread_mutex_unlock(&s->lock);
			return rnbd_err_set(-EEXIST, "%s is already open in session %s", path,
					    s->name);
		}
	}
	pthread_mutex_unlock(&s->lock);
	d = calloc(1, sizeof(*d));
	if (!d)
		return rnbd_err_set(-ENOMEM, "no memory for a device");
	d->sess = s;
	d->mode = mode;
	snprintf(d->path, sizeof(d->path), "%s", path);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->drained, NULL);
	admin_init(&d->reopen);
	admin_init(&ar);
	ret = open_prepare(&ar, path, mode);
	if (!ret)
		ret = admin_send(s, &ar, true);
	if (ret)
		rnbd_err_set(ret, "OPEN %s (%s) on %s: %s%s", path, rnbd_access_mode_str(mode),
			     s->name, strerror(-ret), open_err_hint(ret));
	else
		ret = dev_apply_open_rsp(d, &ar);
	admin_fini(&ar);
	if (ret) {
		admin_fini(&d->reopen);
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->drained);
		free(d);
		return ret;
	}
	atomic_store(&d->state, DEV_OPEN);
	pthread_mutex_lock(&s->lock);
	list_add_tail(&d->link, &s->devs);
	pthread_mutex_unlock(&s->lock);
	*out = d;
	return 0;
}

int rnbd_dev_get_info(struct rnbd_dev *d, struct rnbd_dev_info *info)
{
	pthread_mutex_lock(&d->lock);
	*info = d->info;
	pthread_mutex_unlock(&d->lock);
	info->device_id = atomic_load(&d->id);
	return 0;
}

int rnbd_dev_remap(struct rnbd_dev *d)
{
	struct admin_req ar;
	int expected = DEV_FAILED;
	int ret;

	if (atomic_load(&d->state) == DEV_CLOSING)
		return rnbd_err_set(-ENODEV, "%s is being closed", d->path);
	admin_init(&ar);
	ret = open_prepare(&ar, d->path, d->mode);
	if (!ret)
		ret = admin_send(d->sess, &ar, true);
	if (ret)
		rnbd_err_set(ret, "OPEN %s again: %s%s", d->path, strerror(-ret), open_err_hint(ret));
	else
		ret = dev_apply_open_rsp(d, &ar);
	admin_fini(&ar);
	if (!ret)
		atomic_compare_exchange_strong(&d->state, &expected, DEV_OPEN);
	return ret;
}

int rnbd_dev_close(struct rnbd_dev *d)
{
	struct rnbd_sess *s = d->sess;
	int prev = atomic_exchange(&d->state, DEV_CLOSING);
	struct admin_req ar;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	while (atomic_load(&d->inflight))
		pthread_cond_wait(&d->drained, &d->lock);
	pthread_mutex_unlock(&d->lock);
	/* a device the server no longer knows (failed re-open) needs no CLOSE */
	if (prev == DEV_OPEN) {
		admin_init(&ar);
		ret = close_prepare(&ar, atomic_load(&d->id));
		if (!ret)
			ret = admin_send(s, &ar, true);
		if (ret)
			rnbd_err_set(ret, "CLOSE %s: %s", d->path, strerror(-ret));
		admin_fini(&ar);
	}
	pthread_mutex_lock(&s->lock);
	list_del(&d->link);
	pthread_mutex_unlock(&s->lock);
	/* a re-open still out answers into d: it must be back first */
	while (__atomic_load_n(&d->reopen_busy, __ATOMIC_ACQUIRE))
		usleep(1000);
	admin_fini(&d->reopen);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->drained);
	free(d);
	return ret;
}

static void reopen_done(struct admin_req *ar, int err)
{
	struct rnbd_dev *d = ar->dev;
	struct rnbd_sess *s = d->sess;
	int expected = DEV_REOPENING;

	if (!err)
		err = dev_apply_open_rsp(d, ar);
	if (err)
		rnbd_log_warn("%s: re-opening %s failed: %s", s->name, d->path, strerror(-err));
	atomic_compare_exchange_strong(&d->state, &expected, err ? DEV_FAILED : DEV_OPEN);
	__atomic_store_n(&d->reopen_busy, false, __ATOMIC_RELEASE);
	if (atomic_fetch_sub(&s->reopen_pending, 1) == 1) {
		rtrs_clt_resume(s->rtrs);
		if (s->event)
			s->event(s->opaque, RNBD_SESS_RECONNECTED);
	}
}

/* Loop 0, after a reconnect: OPEN d again, without waiting. */
void dev_reopen(struct rnbd_dev *d)
{
	struct rnbd_sess *s = d->sess;
	struct admin_req *ar = &d->reopen;

	if (d->reopen_busy || open_prepare(ar, d->path, d->mode))
		return;
	d->reopen_busy = true;
	ar->cb = reopen_done;
	ar->dev = d;
	atomic_fetch_add(&s->reopen_pending, 1);
	if (admin_send(s, ar, false)) {
		d->reopen_busy = false;
		atomic_fetch_sub(&s->reopen_pending, 1);
		atomic_store(&d->state, DEV_FAILED);
	}
}
