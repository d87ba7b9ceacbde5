// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "hist.h"

#define RELAXED memory_order_relaxed

unsigned int hist_bucket(uint64_t v)
{
	unsigned int msb, shift;

	if (v < HIST_SUB)
		return (unsigned int)v;
	msb = 63u - (unsigned int)__builtin_clzll(v);
	if (msb >= HIST_MAX_BITS)
		return HIST_BUCKETS - 1;
	shift = msb - HIST_SUB_BITS;
	/* (v >> shift) is in [SUB, 2 SUB): the linear step within the octave */
	return (shift + 1) * HIST_SUB + (unsigned int)(v >> shift) - HIST_SUB;
}

uint64_t hist_bucket_width(unsigned int idx)
{
	return idx < HIST_SUB ? 1 : 1ull << (idx / HIST_SUB - 1);
}

uint64_t hist_bucket_low(unsigned int idx)
{
	if (idx < HIST_SUB)
		return idx;
	return (uint64_t)(idx % HIST_SUB + HIST_SUB) << (idx / HIST_SUB - 1);
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	atomic_store_explicit(&h->min, UINT64_MAX, RELAXED);
}

void hist_add(struct hist *h, uint64_t v)
{
	uint64_t m;

	atomic_fetch_add_explicit(&h->b[hist_bucket(v)], 1, RELAXED);
	atomic_fetch_add_explicit(&h->count, 1, RELAXED);
	atomic_fetch_add_explicit(&h->sum, v, RELAXED);
	/* the extremes rarely move: read first, write only a new one */
	m = atomic_load_explicit(&h->min, RELAXED);
	while (v < m && !atomic_compare_exchange_weak_explicit(&h->min, &m, v, RELAXED, RELAXED))
		;
	m = atomic_load_explicit(&h->max, RELAXED);
	while (v > m && !atomic_compare_exchange_weak_explicit(&h->max, &m, v, RELAXED, RELAXED))
		;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	for (unsigned int i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_percentile(const struct hist *h, double pct)
{
	uint64_t n = h->count, rank, seen = 0;

	if (!n)
		return 0;
	if (pct <= 0)
		return h->min;
	if (pct >= 100)
		return h->max;
	/* the smallest value with at least pct% of the samples at or below it */
	rank = (uint64_t)(pct / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			/* the middle of the bucket, but never outside what was seen */
			uint64_t v = hist_bucket_low(i) + hist_bucket_width(i) / 2;

			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
