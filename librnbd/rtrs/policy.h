/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Multipath path choice (rtrs-wire.md 15), as a pure function over a
 * snapshot of the paths so that it can be tested with made-up numbers.
 */
#ifndef RNBD_RTRS_POLICY_H
#define RNBD_RTRS_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "rnbd/rtrs-proto.h"
#include "rtrs.h"

struct rtrs_mp_cand {
	bool up;		/* CONNECTED and usable from this loop */
	uint64_t inflight;
	uint64_t latency_ns;
};

/* A set of path slots, e.g. those already tried for one request. */
struct rtrs_path_mask {
	uint64_t w[(MAX_PATHS_NUM + 63) / 64];
};

static inline bool rtrs_path_mask_has(const struct rtrs_path_mask *m, unsigned int i)
{
	return m->w[i / 64] & (1ull << (i % 64));
}

static inline void rtrs_path_mask_set(struct rtrs_path_mask *m, unsigned int i)
{
	m->w[i / 64] |= 1ull << (i % 64);
}

/*
 * Pick one of the n candidates that is up and not in tried, or -1.
 * Round-robin continues after *cursor (and moves it); min-inflight and
 * min-latency take the smallest value, the lowest index on a tie.
 */
int rtrs_mp_pick(enum rtrs_mp_policy policy, const struct rtrs_mp_cand *cand, unsigned int n,
		 const struct rtrs_path_mask *tried, unsigned int *cursor);

#endif
