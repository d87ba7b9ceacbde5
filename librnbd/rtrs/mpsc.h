/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Intrusive multi-producer single-consumer queue (Dmitry Vyukov's design):
 * push is one atomic exchange, wait-free, from any thread; only the owning
 * loop pops.  pop() may return NULL while a producer is between its exchange
 * and its link; that producer wakes the consumer afterwards, so nothing is
 * lost as long as every push is followed by a wake-up.
 */
#ifndef RNBD_RTRS_MPSC_H
#define RNBD_RTRS_MPSC_H

#include <stdatomic.h>
#include <stddef.h>

struct mpsc_node {
	_Atomic(struct mpsc_node *) next;
};

struct mpsc_queue {
	_Atomic(struct mpsc_node *) head;	/* producers' end */
	struct mpsc_node *tail;			/* consumer's end */
	struct mpsc_node stub;
};

static inline void mpsc_init(struct mpsc_queue *q)
{
	atomic_init(&q->stub.next, NULL);
	atomic_init(&q->head, &q->stub);
	q->tail = &q->stub;
}

static inline void mpsc_push(struct mpsc_queue *q, struct mpsc_node *n)
{
	struct mpsc_node *prev;

	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	prev = atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

static inline struct mpsc_node *mpsc_pop(struct mpsc_queue *q)
{
	struct mpsc_node *tail = q->tail;
	struct mpsc_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);

	if (tail == &q->stub) {
		if (!next)
			return NULL;
		q->tail = next;
		tail = next;
		next = atomic_load_explicit(&next->next, memory_order_acquire);
	}
	if (next) {
		q->tail = next;
		return tail;
	}
	if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
		return NULL;	/* a producer is mid-push */
	mpsc_push(q, &q->stub);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (next) {
		q->tail = next;
		return tail;
	}
	return NULL;
}

#endif
