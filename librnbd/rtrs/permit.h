/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Permits: queue_depth credits per client session, shared by every path and
 * loop.  A lock-free bitmap; a permit number is the request's buf_id on the
 * wire.
 */
#ifndef RNBD_RTRS_PERMIT_H
#define RNBD_RTRS_PERMIT_H

#include <stdatomic.h>
#include <stdint.h>

struct rtrs_permits {
	_Atomic uint64_t *map;		/* bit set = taken */
	uint32_t nr;
	uint32_t words;
	_Atomic uint32_t used;
};

int rtrs_permits_init(struct rtrs_permits *p, uint32_t nr);
void rtrs_permits_free(struct rtrs_permits *p);
/* A free permit, or -1.  hint spreads callers over the words. */
int rtrs_permit_get(struct rtrs_permits *p, uint32_t hint);
void rtrs_permit_put(struct rtrs_permits *p, uint32_t id);

#endif
