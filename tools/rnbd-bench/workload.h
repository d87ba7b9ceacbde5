/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The workload generator: which request comes next (read or write, where,
 * how large).  Pure arithmetic, safe to call from any thread for different
 * wl_state; a stream shared by several states is advanced atomically.
 */
#ifndef RNBD_BENCH_WORKLOAD_H
#define RNBD_BENCH_WORKLOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bssplit.h"

struct workload {
	bool random;
	unsigned int read_pct;		/* 100: reads only, 0: writes only */
	const struct bssplit *bs;
	uint32_t align;			/* random offsets are multiples of this */
	bool once;			/* sequential: stop at the stream's end */
};

/* A range of the device that requests walk (sequential) or hit (random). */
struct wl_stream {
	uint64_t lo, hi;		/* bytes [lo, hi) */
	_Atomic uint64_t next;		/* sequential: next offset, from lo */
};

struct wl_state {
	uint64_t rng;
	struct wl_stream *stream;
};

struct wl_op {
	bool write;
	uint64_t offset;
	uint32_t len;
};

/* A non-zero state from a seed and an index: runs differ by seed only. */
uint64_t wl_seed(uint64_t seed, uint64_t idx);

static inline uint64_t wl_rand(uint64_t *s)
{
	/* xorshift64*: fast, and plenty for offsets and sizes */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* The next request into op; false when a `once` workload is done. */
bool wl_next(const struct workload *w, struct wl_state *st, struct wl_op *op);

#endif
