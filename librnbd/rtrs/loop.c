// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "rnbd/rnbd.h"
#include "util/err.h"

static _Thread_local struct rtrs_loop *current_loop;

uint64_t rtrs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void drain(uv_async_t *h)
{
	struct rtrs_loop *loop = h->data;
	struct mpsc_node *n;

	while ((n = mpsc_pop(&loop->mbox))) {
		struct rtrs_loop_msg *msg = (struct rtrs_loop_msg *)n;

		msg->fn(loop, msg);
	}
	if (loop->after_drain)
		loop->after_drain(loop);
}

static void *loop_thread(void *arg)
{
	struct rtrs_loop *loop = arg;

	current_loop = loop;
	pthread_setname_np(pthread_self(), loop->name);
	uv_run(&loop->uv, UV_RUN_DEFAULT);
	current_loop = NULL;
	return NULL;
}

int rtrs_loop_start(struct rtrs_loop *loop, unsigned int idx, const char *name, void *owner)
{
	int ret;

	memset(loop, 0, sizeof(*loop));
	loop->idx = idx;
	loop->owner = owner;
	snprintf(loop->name, sizeof(loop->name), "%s", name);
	mpsc_init(&loop->mbox);
	ret = uv_loop_init(&loop->uv);
	if (ret)
		return rnbd_err_set(ret, "uv_loop_init: %s", uv_strerror(ret));
	ret = uv_async_init(&loop->uv, &loop->wake, drain);
	if (ret) {
		uv_loop_close(&loop->uv);
		return rnbd_err_set(ret, "uv_async_init: %s", uv_strerror(ret));
	}
	loop->wake.data = loop;
	ret = pthread_create(&loop->thread, NULL, loop_thread, loop);
	if (ret) {
		uv_close((uv_handle_t *)&loop->wake, NULL);
		uv_run(&loop->uv, UV_RUN_DEFAULT);
		uv_loop_close(&loop->uv);
		return rnbd_err_set(-ret, "cannot start thread %s: %s", name, strerror(ret));
	}
	loop->started = true;
	return 0;
}

void rtrs_loop_post(struct rtrs_loop *loop, struct rtrs_loop_msg *msg)
{
	mpsc_push(&loop->mbox, &msg->node);
	/* libuv 1.44's uv_async_send() first reads the handle's pending flag
	 * without a barrier and returns if it is set.  Without this fence the
	 * store that links our node can be ordered after that read (store to
	 * load, allowed even on x86): the loop clears the flag, drains, does
	 * not see the node yet, and the wake-up we skipped is lost for good. */
	atomic_thread_fence(memory_order_seq_cst);
	uv_async_send(&loop->wake);
}

bool rtrs_loop_is_current(const struct rtrs_loop *loop)
{
	return current_loop == loop;
}

struct rtrs_loop *rtrs_loop_current(void)
{
	return current_loop;
}

struct call_msg {
	struct rtrs_loop_msg msg;
	int (*fn)(void *arg);
	void *arg;
	int ret;
	bool done;
	char errmsg[RNBD_ERRMSG_MAX];	/* fn's message, which is the loop thread's */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void call_on_loop(struct rtrs_loop *loop, struct rtrs_loop_msg *m)
{
	struct call_msg *c = (struct call_msg *)m;
	int ret;

	(void)loop;
	rnbd_err_set(0, "%s", "");
	ret = c->fn(c->arg);
	if (ret < 0)
		snprintf(c->errmsg, sizeof(c->errmsg), "%s", rnbd_errmsg());
	pthread_mutex_lock(&c->lock);
	c->ret = ret;
	c->done = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

int rtrs_loop_call(struct rtrs_loop *loop, int (*fn)(void *arg), void *arg)
{
	struct call_msg c = { .msg.fn = call_on_loop, .fn = fn, .arg = arg };

	if (rtrs_loop_is_current(loop))
		return fn(arg);
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	rtrs_loop_post(loop, &c.msg);
	pthread_mutex_lock(&c.lock);
	while (!c.done)
		pthread_cond_wait(&c.cond, &c.lock);
	pthread_mutex_unlock(&c.lock);
	pthread_mutex_destroy(&c.lock);
	pthread_cond_destroy(&c.cond);
	if (c.ret < 0)
		rnbd_err_set(c.ret, "%s", c.errmsg[0] ? c.errmsg : strerror(-c.ret));
	return c.ret;
}

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void stop_on_loop(struct rtrs_loop *loop, struct rtrs_loop_msg *m)
{
	(void)m;
	loop->stopping = true;
	uv_walk(&loop->uv, close_any, NULL);
}

void rtrs_loop_stop(struct rtrs_loop *loop)
{
	struct rtrs_loop_msg msg = { .fn = stop_on_loop };

	if (!loop->started)
		return;
	rtrs_loop_post(loop, &msg);
	pthread_join(loop->thread, NULL);
	uv_loop_close(&loop->uv);
	loop->started = false;
}
