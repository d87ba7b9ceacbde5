// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One io_uring per loop thread.
 *
 * Batching: getting SQEs only fills the SQ and starts a uv_prepare handle;
 * its callback, which libuv runs once per iteration just before it blocks
 * for I/O, submits everything queued with one io_uring_enter().  A full SQ
 * is submitted on the spot.  Bios submitted from a prepare callback that
 * runs after ours in the same iteration wait for the next wakeup; the server
 * submits from socket and mailbox callbacks, which run before it.
 *
 * Completions: the kernel signals an eventfd registered with the ring; a
 * uv_poll on it reaps every CQE and hands each to its bio's backend.  That
 * poll handle is referenced only while CQEs are owed, so an idle ring does
 * not keep uv_run() from returning, and a busy one does.
 *
 * Back-pressure: never more SQEs in flight than the CQ holds (so no CQE
 * overflow), and a bio that finds no room is parked in FIFO order and
 * issued again as completions free room.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bdev-impl.h"
#include "uring.h"
#include "util/err.h"
#include "util/log.h"

#define RING_ENTRIES	256
#define TAG_MASK	((uintptr_t)7)	/* bios are 8-byte aligned */

struct rnbd_uring {
	struct io_uring ring;
	uv_loop_t *loop;
	uv_poll_t poll;
	uv_prepare_t prepare;
	int efd;
	unsigned int inflight;		/* SQEs handed out whose CQE is not reaped yet */
	unsigned int max_inflight;	/* the CQ size */
	struct list_head parked;
	bool unparking;
	bool finishing;
	bool dead;			/* ring torn down, handles closing */
	int open_handles;
};

static _Thread_local struct rnbd_uring *cur;

struct rnbd_uring *rnbd_uring_current(void)
{
	return cur;
}

uv_loop_t *rnbd_uring_loop(const struct rnbd_uring *r)
{
	return r->loop;
}

static void on_prepare(uv_prepare_t *h);

static void submit_sq(struct rnbd_uring *r)
{
	int ret;

	do
		ret = io_uring_submit(&r->ring);
	while (ret == -EINTR);
	/* -EAGAIN/-EBUSY: the kernel is short of something; the SQEs stay queued */
	if (ret < 0 && ret != -EAGAIN && ret != -EBUSY)
		rnbd_log_err("io_uring_submit: %s", strerror(-ret));
}

static bool room(struct rnbd_uring *r, unsigned int n)
{
	if (r->dead || r->inflight + n > r->max_inflight)
		return false;
	if (io_uring_sq_space_left(&r->ring) < n)
		submit_sq(r);
	return io_uring_sq_space_left(&r->ring) >= n;
}

int rnbd_uring_get_sqes(struct rnbd_uring *r, struct io_uring_sqe **sqe, unsigned int n)
{
	if ((!list_empty(&r->parked) && !r->unparking) || !room(r, n))
		return -EBUSY;
	for (unsigned int i = 0; i < n; i++)
		sqe[i] = io_uring_get_sqe(&r->ring);
	r->inflight += n;
	uv_ref((uv_handle_t *)&r->poll);
	if (!uv_is_active((uv_handle_t *)&r->prepare))
		uv_prepare_start(&r->prepare, on_prepare);
	return 0;
}

void rnbd_uring_set_data(struct io_uring_sqe *sqe, struct rnbd_bio *bio, unsigned int tag)
{
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)bio | (tag & TAG_MASK)));
}

void rnbd_uring_park(struct rnbd_uring *r, struct rnbd_bio *bio)
{
	list_add_tail(&bio->link, &r->parked);
	if (!uv_is_active((uv_handle_t *)&r->prepare))
		uv_prepare_start(&r->prepare, on_prepare);
}

static void unpark(struct rnbd_uring *r)
{
	r->unparking = true;
	while (!list_empty(&r->parked) && room(r, RNBD_URING_MAX_SQES)) {
		struct rnbd_bio *bio = list_first_entry(&r->parked, struct rnbd_bio, link);

		list_del(&bio->link);
		bio->bdev->ops->uring_issue(r, bio);
	}
	r->unparking = false;
}

/* A completion may submit more I/O or even end the ring (loop fini from done()). */
static void reap(struct rnbd_uring *r)
{
	struct io_uring_cqe *cqe;

	while (!r->dead && !io_uring_peek_cqe(&r->ring, &cqe)) {
		uintptr_t ud = (uintptr_t)io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		struct rnbd_bio *bio = (struct rnbd_bio *)(uintptr_t)(ud & ~TAG_MASK);

		io_uring_cqe_seen(&r->ring, cqe);
		r->inflight--;
		bio->bdev->ops->uring_cqe(r, bio, (unsigned int)(ud & TAG_MASK), res);
	}
}

static void on_prepare(uv_prepare_t *h)
{
	struct rnbd_uring *r = container_of(h, struct rnbd_uring, prepare);

	unpark(r);
	if (io_uring_sq_ready(&r->ring))
		submit_sq(r);
	if (!io_uring_sq_ready(&r->ring) && list_empty(&r->parked))
		uv_prepare_stop(h);
}

static void on_eventfd(uv_poll_t *h, int status, int events)
{
	struct rnbd_uring *r = container_of(h, struct rnbd_uring, poll);
	uint64_t v;

	(void)events;
	if (status < 0)
		rnbd_log_warn("io_uring eventfd poll: %s", uv_strerror(status));
	/* Reset first: a CQE posted after this read signals again. */
	if (read(r->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		rnbd_log_warn("io_uring eventfd read: %s", strerror(errno));
	reap(r);
	if (r->dead)
		return;
	unpark(r);
	if (!r->inflight)
		uv_unref((uv_handle_t *)&r->poll);
}

static void on_close(uv_handle_t *h)
{
	struct rnbd_uring *r = h->data;

	if (--r->open_handles)
		return;
	close(r->efd);
	free(r);
}

static void teardown(struct rnbd_uring *r)
{
	r->dead = true;
	io_uring_unregister_eventfd(&r->ring);
	io_uring_queue_exit(&r->ring);
	r->open_handles = 2;
	uv_close((uv_handle_t *)&r->poll, on_close);
	uv_close((uv_handle_t *)&r->prepare, on_close);
}

int rnbd_uring_init(uv_loop_t *loop)
{
	struct io_uring_params p;
	struct rnbd_uring *r;
	int ret;

	if (cur)
		return cur->loop == loop ? 0 :
		       rnbd_err_set(-EBUSY, "this thread already has a ring for another loop");
	r = calloc(1, sizeof(*r));
	if (!r)
		return rnbd_err_set(-ENOMEM, "io_uring: out of memory");
	memset(&p, 0, sizeof(p));
	ret = io_uring_queue_init_params(RING_ENTRIES, &r->ring, &p);
	if (ret < 0) {
		/* e.g. kernel.io_uring_disabled, seccomp, RLIMIT_MEMLOCK on old kernels */
		rnbd_log_warn("io_uring_queue_init: %s; this thread's file I/O is synchronous",
			      strerror(-ret));
		free(r);
		return 0;
	}
	r->max_inflight = p.cq_entries;
	r->loop = loop;
	list_init(&r->parked);
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		ret = rnbd_err_set(-errno, "eventfd: %s", strerror(errno));
		goto err_ring;
	}
	ret = io_uring_register_eventfd(&r->ring, r->efd);
	if (ret < 0) {
		rnbd_err_set(ret, "io_uring_register_eventfd: %s", strerror(-ret));
		goto err_efd;
	}
	ret = uv_poll_init(loop, &r->poll, r->efd);
	if (ret) {
		rnbd_err_set(ret, "uv_poll_init: %s", uv_strerror(ret));
		goto err_efd;
	}
	uv_prepare_init(loop, &r->prepare);
	r->poll.data = r;
	r->prepare.data = r;
	ret = uv_poll_start(&r->poll, UV_READABLE, on_eventfd);
	if (ret) {
		rnbd_err_set(ret, "uv_poll_start: %s", uv_strerror(ret));
		teardown(r);
		return ret;
	}
	uv_unref((uv_handle_t *)&r->poll);
	cur = r;
	return 0;

err_efd:
	close(r->efd);
err_ring:
	io_uring_queue_exit(&r->ring);
	free(r);
	return ret;
}

void rnbd_uring_fini(void)
{
	struct rnbd_uring *r = cur;
	int ret;

	if (!r || r->finishing)
		return;
	r->finishing = true;
	/* Completions may submit more; wait until the ring is quiet. */
	while (r->inflight || !list_empty(&r->parked)) {
		unpark(r);
		do
			ret = io_uring_submit_and_wait(&r->ring, 1);
		while (ret == -EINTR);
		if (ret < 0 && ret != -EAGAIN && ret != -EBUSY) {
			rnbd_log_err("io_uring: cannot wait for %u in-flight I/Os: %s", r->inflight,
				     strerror(-ret));
			break;
		}
		reap(r);
	}
	cur = NULL;
	teardown(r);
}
