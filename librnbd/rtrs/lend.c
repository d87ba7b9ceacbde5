// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Lent read data (struct rtrs_lend, transport.h): passing the description
 * on, giving the pieces back, and copying them out for a transport that
 * cannot send from them.
 */
#include <string.h>

#include "transport.h"

void rtrs_lend_move(struct rtrs_lend *dst, const struct rtrs_lend *src)
{
	dst->nseg = src->nseg < RTRS_LEND_SEGS ? src->nseg : RTRS_LEND_SEGS;
	dst->put = src->put;
	memcpy(dst->seg, src->seg, dst->nseg * sizeof(dst->seg[0]));
}

void rtrs_lend_put(const struct rtrs_lend *l)
{
	for (unsigned int i = 0; i < l->nseg && i < RTRS_LEND_SEGS; i++)
		if (l->seg[i].ref)
			l->put(l->seg[i].ref);
}

void rtrs_lend_copy(const struct rtrs_lend *l, void *dst)
{
	uint8_t *p = dst;

	for (unsigned int i = 0; i < l->nseg && i < RTRS_LEND_SEGS; i++) {
		memcpy(p, l->seg[i].base, l->seg[i].len);
		p += l->seg[i].len;
	}
}
