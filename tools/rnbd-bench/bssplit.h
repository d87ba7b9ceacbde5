/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Block sizes and how often each is used, fio's bssplit:
 * "512/20:1k/16:4k" is 20% 512-byte, 16% 1 KiB and the rest 4 KiB requests.
 */
#ifndef RNBD_BENCH_BSSPLIT_H
#define RNBD_BENCH_BSSPLIT_H

#include <stddef.h>
#include <stdint.h>

#define BSSPLIT_MAX 64
#define BS_MIN 512u
#define BS_MAX (16u << 20)

struct bssplit {
	unsigned int n;
	uint32_t size[BSSPLIT_MAX];
	unsigned int pct[BSSPLIT_MAX];	/* sums to 100 */
	uint32_t min, max;
	uint32_t by_pct[100];		/* the size to use for each percentile */
};

/*
 * Parse SIZE/PCT[:SIZE/PCT...].  As in fio, entries without a percentage
 * share what the others leave of 100, and when all have one but they add up
 * to less than 100, the last size takes the rest.  Sizes are multiples of
 * 512 up to 16 MiB.  0, or -EINVAL with a message in err.
 */
int bssplit_parse(const char *s, struct bssplit *out, char *err, size_t errlen);

/* One size for every request; 0, or -EINVAL with a message in err. */
int bssplit_single(struct bssplit *out, uint64_t bs, char *err, size_t errlen);

/* The size of a request, from a uniformly random number. */
static inline uint32_t bssplit_pick(const struct bssplit *b, uint64_t rnd)
{
	return b->by_pct[rnd % 100];
}

#endif
