// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rnbd:// through librnbd's asynchronous API.  One session for all jobs (the
 * library spreads requests over its per-CPU connections, as the kernel's
 * client does); each completion resubmits its slot from the library's
 * thread, with no hand-off to the job's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rnbd/rnbd.h>

#include "engine.h"
#include "target.h"

struct rnbd_target {
	struct rnbd_sess *sess;
	struct rnbd_dev *dev;
};

struct rnbd_slot {
	struct rnbd_io io;
	struct iovec iov;
};

static void on_log(void *opaque, enum rnbd_log_level level, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "rnbd-bench: librnbd: %s%s\n", level == RNBD_LOG_ERR ? "error: " : "", msg);
}

static int t_open(const char *uri, unsigned int jobs, void **out, struct target_geom *g,
		  char *err, size_t errlen)
{
	struct rnbd_target *t = calloc(1, sizeof(*t));
	struct rnbd_dev_info info;
	int ret;

	(void)jobs;
	if (!t)
		return -ENOMEM;
	rnbd_log_set_handler(on_log, NULL, RNBD_LOG_WARN);
	ret = rnbd_open_uri(uri, NULL, &t->sess, &t->dev);
	if (ret) {
		snprintf(err, errlen, "%s: %s", uri, rnbd_errmsg());
		free(t);
		return ret;
	}
	ret = rnbd_dev_get_info(t->dev, &info);
	if (ret) {
		snprintf(err, errlen, "%s: %s", uri, rnbd_errmsg());
		rnbd_sess_close(t->sess);
		free(t);
		return ret;
	}
	g->size = info.size;
	g->block_size = info.logical_block_size;
	*out = t;
	return 0;
}

static int t_job_open(void *t, unsigned int idx, void **tj, char *err, size_t errlen)
{
	(void)idx;
	(void)err;
	(void)errlen;
	*tj = t;
	return 0;
}

static void on_done(struct rnbd_io *io, int err)
{
	struct slot *s = io->opaque;

	if (!slot_recycle(s, err, now_ns()))
		slot_retire(s);
}

static int t_submit(void *tj, struct slot *s)
{
	struct rnbd_target *t = tj;
	struct rnbd_slot *rs = (struct rnbd_slot *)s->priv;

	rs->iov = (struct iovec){ s->buf, s->op.len };
	rs->io = (struct rnbd_io){
		.op = s->op.write ? RNBD_OP_WRITE : RNBD_OP_READ,
		.offset = s->op.offset,
		.len = s->op.len,
		.iov = &rs->iov,
		.iovcnt = 1,
		.done = on_done,
		.opaque = s,
	};
	return rnbd_dev_submit(t->dev, &rs->io);
}

static void t_job_close(void *tj)
{
	(void)tj;
}

static void t_close(void *p)
{
	struct rnbd_target *t = p;

	rnbd_dev_close(t->dev);
	rnbd_sess_close(t->sess);
	free(t);
}

const struct target_ops target_rnbd = {
	.proto = "rnbd",
	.slot_priv = sizeof(struct rnbd_slot),
	.open = t_open,
	.job_open = t_job_open,
	.submit = t_submit,
	.errmsg = rnbd_errmsg,
	.job_close = t_job_close,
	.close = t_close,
};
