// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nbd:// and nbd+unix:// through libnbd's asynchronous API: one handle (one
 * connection) per job, driven by the job's thread with nbd_poll().  libnbd
 * runs completion callbacks with the handle locked and forbids calls on the
 * handle from them, so a callback only queues its slot; the job resubmits
 * it as soon as nbd_poll() returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <libnbd.h>

#include "engine.h"
#include "target.h"

#define POLL_MS 1000		/* how often an idle job checks its watchdog */

struct nbd_target {
	const char *uri;
	struct nbd_handle *first;	/* job 0's, opened to learn the size */
};

struct nbd_job {
	struct nbd_handle *h;
	struct slot *done;		/* completed, not yet resubmitted */
};

static int nbd_err(void)
{
	int e = nbd_get_errno();

	return e ? -e : -EIO;
}

static struct nbd_handle *connect_uri(const char *uri, char *err, size_t errlen, int *ret)
{
	struct nbd_handle *h = nbd_create();

	if (!h) {
		snprintf(err, errlen, "%s", nbd_get_error());
		*ret = nbd_err();
		return NULL;
	}
	if (nbd_connect_uri(h, uri) == -1) {
		snprintf(err, errlen, "%s: %s", uri, nbd_get_error());
		*ret = nbd_err();
		nbd_close(h);
		return NULL;
	}
	return h;
}

static int t_open(const char *uri, unsigned int jobs, void **out, struct target_geom *g,
		  char *err, size_t errlen)
{
	struct nbd_target *t = calloc(1, sizeof(*t));
	int64_t size, bs;
	int ret = 0;

	(void)jobs;
	if (!t)
		return -ENOMEM;
	t->uri = uri;
	t->first = connect_uri(uri, err, errlen, &ret);
	if (!t->first) {
		free(t);
		return ret;
	}
	size = nbd_get_size(t->first);
	bs = nbd_get_block_size(t->first, LIBNBD_SIZE_MINIMUM);
	if (size < 0 || bs < 0) {
		snprintf(err, errlen, "%s: %s", uri, nbd_get_error());
		ret = nbd_err();
		nbd_close(t->first);
		free(t);
		return ret;
	}
	g->size = (uint64_t)size;
	g->block_size = bs > 0 ? (uint32_t)bs : 1;	/* 0: the server did not say */
	*out = t;
	return 0;
}

static int t_job_open(void *p, unsigned int idx, void **tj, char *err, size_t errlen)
{
	struct nbd_target *t = p;
	struct nbd_job *j = calloc(1, sizeof(*j));
	int ret = 0;

	if (!j)
		return -ENOMEM;
	if (idx == 0) {
		j->h = t->first;
		t->first = NULL;
	} else {
		j->h = connect_uri(t->uri, err, errlen, &ret);
		if (!j->h) {
			free(j);
			return ret;
		}
	}
	*tj = j;
	return 0;
}

/* Runs inside nbd_poll(), on the job's thread, with the handle locked. */
static int on_done(void *user_data, int *error)
{
	struct slot *s = user_data;
	struct nbd_job *j = s->job->tjob;

	s->t_done = now_ns();
	s->err = -*error;
	s->next = j->done;
	j->done = s;
	return 1;	/* retire the command: nothing else asks about it */
}

static int t_submit(void *tj, struct slot *s)
{
	struct nbd_job *j = tj;
	nbd_completion_callback cb = { .callback = on_done, .user_data = s };
	int64_t cookie;

	if (s->op.write)
		cookie = nbd_aio_pwrite(j->h, s->buf, s->op.len, s->op.offset, cb, 0);
	else
		cookie = nbd_aio_pread(j->h, s->buf, s->op.len, s->op.offset, cb, 0);
	return cookie < 0 ? nbd_err() : 0;
}

static int t_drive(void *tj, struct job *job)
{
	struct nbd_job *j = tj;
	uint64_t count = 0, since = 0;

	while (job_inflight(job)) {
		int r = nbd_poll(j->h, POLL_MS);

		if (r < 0) {
			engine_fail(job->eng, nbd_err(), "job %u: %s", job->idx, nbd_get_error());
			return -EIO;
		}
		while (j->done) {
			struct slot *s = j->done;

			j->done = s->next;
			if (!slot_recycle(s, s->err, s->t_done))
				slot_retire(s);
		}
		if (job_watchdog(job, &count, &since))
			return -ETIMEDOUT;
	}
	return 0;
}

static const char *t_errmsg(void)
{
	return nbd_get_error();
}

static void t_job_close(void *tj)
{
	struct nbd_job *j = tj;

	nbd_shutdown(j->h, 0);
	nbd_close(j->h);
	free(j);
}

static void t_close(void *p)
{
	struct nbd_target *t = p;

	if (t->first)
		nbd_close(t->first);
	free(t);
}

const struct target_ops target_nbd = {
	.proto = "nbd",
	.open = t_open,
	.job_open = t_job_open,
	.submit = t_submit,
	.errmsg = t_errmsg,
	.drive = t_drive,
	.job_close = t_job_close,
	.close = t_close,
};
