// SPDX-License-Identifier: LGPL-2.1-or-later
#include "workload.h"

uint64_t wl_seed(uint64_t seed, uint64_t idx)
{
	/* splitmix64 of both: neighbouring indices get unrelated states */
	uint64_t z = seed + (idx + 1) * 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return z ? z : 1;
}

bool wl_next(const struct workload *w, struct wl_state *st, struct wl_op *op)
{
	struct wl_stream *s = st->stream;
	uint64_t span = s->hi - s->lo, r = wl_rand(&st->rng);

	op->len = bssplit_pick(w->bs, r >> 8);
	if (w->read_pct == 100)
		op->write = false;
	else if (w->read_pct == 0)
		op->write = true;
	else
		op->write = (r >> 40) % 100 >= w->read_pct;

	if (w->random) {
		uint64_t slots = (span - op->len) / w->align + 1;

		op->offset = s->lo + wl_rand(&st->rng) % slots * w->align;
		return true;
	}
	op->offset = atomic_fetch_add_explicit(&s->next, op->len, memory_order_relaxed);
	if (w->once) {
		if (op->offset >= span)
			return false;
		/* the stream's last request is cut to what is left */
		if (op->len > span - op->offset)
			op->len = (uint32_t)(span - op->offset);
	} else {
		op->offset %= span;
		/* a request that would cross the end starts over at the beginning */
		if (op->len > span - op->offset)
			op->offset = 0;
	}
	op->offset += s->lo;
	return true;
}
