/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A one-shot result an API thread waits for while a loop works. */
#ifndef RNBD_RTRS_COMPLETION_H
#define RNBD_RTRS_COMPLETION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

struct rtrs_completion {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int ret;
	char msg[256];		/* why, for the waiter's rnbd_errmsg() */
};

static inline void rtrs_completion_init(struct rtrs_completion *c)
{
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->done = false;
	c->ret = 0;
	c->msg[0] = '\0';
}

static inline void rtrs_completion_done_msg(struct rtrs_completion *c, int ret, const char *msg)
{
	pthread_mutex_lock(&c->lock);
	snprintf(c->msg, sizeof(c->msg), "%s", msg ? msg : "");
	c->ret = ret;
	c->done = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static inline void rtrs_completion_done(struct rtrs_completion *c, int ret)
{
	pthread_mutex_lock(&c->lock);
	c->ret = ret;
	c->done = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Wait for done() and return its value; the completion can then be freed. */
static inline int rtrs_completion_wait(struct rtrs_completion *c)
{
	int ret;

	pthread_mutex_lock(&c->lock);
	while (!c->done)
		pthread_cond_wait(&c->cond, &c->lock);
	ret = c->ret;
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	return ret;
}

#endif
