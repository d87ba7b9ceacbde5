// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdlib.h>

#include "permit.h"

int rtrs_permits_init(struct rtrs_permits *p, uint32_t nr)
{
	p->nr = nr;
	p->words = (nr + 63) / 64;
	p->map = calloc(p->words, sizeof(*p->map));
	if (!p->map)
		return -ENOMEM;
	/* Bits past nr in the last word are permanently taken. */
	if (nr % 64)
		atomic_store(&p->map[p->words - 1], ~0ull << (nr % 64));
	atomic_store(&p->used, 0);
	return 0;
}

void rtrs_permits_free(struct rtrs_permits *p)
{
	free((void *)p->map);
	p->map = NULL;
}

int rtrs_permit_get(struct rtrs_permits *p, uint32_t hint)
{
	for (uint32_t k = 0; k < p->words; k++) {
		uint32_t w = (hint + k) % p->words;
		uint64_t v = atomic_load_explicit(&p->map[w], memory_order_relaxed);

		while (~v) {
			unsigned int bit = __builtin_ctzll(~v);

			if (atomic_compare_exchange_weak_explicit(&p->map[w], &v, v | (1ull << bit),
								  memory_order_acquire,
								  memory_order_relaxed)) {
				atomic_fetch_add_explicit(&p->used, 1, memory_order_relaxed);
				return (int)(w * 64 + bit);
			}
		}
	}
	return -1;
}

void rtrs_permit_put(struct rtrs_permits *p, uint32_t id)
{
	atomic_fetch_sub_explicit(&p->used, 1, memory_order_relaxed);
	atomic_fetch_and_explicit(&p->map[id / 64], ~(1ull << (id % 64)), memory_order_release);
}
