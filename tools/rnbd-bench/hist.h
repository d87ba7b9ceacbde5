/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Log-linear latency histogram (as HdrHistogram): values below 64 have a
 * bucket each; above, every power of two is cut into 64 equal buckets, so a
 * percentile is off by at most 1/64 (1.6%) of its value and no sample is
 * stored.  Counters are atomic: completions of one job may run on several
 * library threads at once.
 */
#ifndef RNBD_BENCH_HIST_H
#define RNBD_BENCH_HIST_H

#include <stdatomic.h>
#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
/* values from 2^40 (18 minutes in ns) on share the last bucket */
#define HIST_MAX_BITS 40
#define HIST_BUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	_Atomic uint64_t count, sum, min, max;
	_Atomic uint64_t b[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
/* dst += src; neither may change meanwhile */
void hist_merge(struct hist *dst, const struct hist *src);
/* The value below which pct percent of the samples are (0 when empty). */
uint64_t hist_percentile(const struct hist *h, double pct);
double hist_mean(const struct hist *h);

/* The bucket of v, and the range [low, low + width) a bucket covers. */
unsigned int hist_bucket(uint64_t v);
uint64_t hist_bucket_low(unsigned int idx);
uint64_t hist_bucket_width(unsigned int idx);

#endif
