/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An event-loop thread: one uv_loop_t, a mailbox other threads post to, and
 * helpers to run a function on the loop and wait for it.
 *
 * RTRS runs one of these per connection id: loop 0 owns cid 0 of every path
 * (handshakes, heartbeats, admin messages) and the session state machine;
 * loop w owns cid w of every path.  Everything a loop owns is touched only
 * by that loop's thread, so the I/O path takes no locks.
 */
#ifndef RNBD_RTRS_LOOP_H
#define RNBD_RTRS_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

#include "mpsc.h"

struct rtrs_loop;

struct rtrs_loop_msg {
	struct mpsc_node node;
	void (*fn)(struct rtrs_loop *loop, struct rtrs_loop_msg *msg);
};

struct rtrs_loop {
	uv_loop_t uv;
	uv_async_t wake;
	struct mpsc_queue mbox;
	pthread_t thread;
	unsigned int idx;
	bool started;
	bool stopping;
	char name[16];
	/* Called on the loop after each mailbox drain, e.g. to flush corked sends. */
	void (*after_drain)(struct rtrs_loop *loop);
	void *owner;
};

int rtrs_loop_start(struct rtrs_loop *loop, unsigned int idx, const char *name, void *owner);

/* Post msg to the loop (any thread); msg->fn runs on the loop thread. */
void rtrs_loop_post(struct rtrs_loop *loop, struct rtrs_loop_msg *msg);

/* Whether the calling thread is this loop's thread. */
bool rtrs_loop_is_current(const struct rtrs_loop *loop);

/* The loop the calling thread runs, or NULL. */
struct rtrs_loop *rtrs_loop_current(void);

/*
 * Run fn(arg) on the loop and return its result.  Runs inline when called
 * from the loop itself; otherwise posts and waits.  Not for the I/O path.
 */
int rtrs_loop_call(struct rtrs_loop *loop, int (*fn)(void *arg), void *arg);

/*
 * Stop the loop and join its thread.  Every handle still open on the loop is
 * closed first; owners must have released what their handles point to.
 */
void rtrs_loop_stop(struct rtrs_loop *loop);

/* Monotonic clock in nanoseconds. */
uint64_t rtrs_now_ns(void);

#endif
