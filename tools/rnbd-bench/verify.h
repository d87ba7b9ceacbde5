/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Self-checking data for --verify.  Every 512-byte sector written starts with
 * a header (magic, checksum, its own offset, the seed of the write) and goes
 * on with bytes generated from seed and offset.  A sector read back is
 * compared with what its last write put there when this run knows it, or
 * else checked for a valid header (or zeroes: never written).
 */
#ifndef RNBD_BENCH_VERIFY_H
#define RNBD_BENCH_VERIFY_H

#include <stdint.h>

#define VERIFY_SECTOR 512u

enum verify_bad {
	VERIFY_OK,
	VERIFY_ZEROES,		/* expected data, found zeroes: a write was lost */
	VERIFY_FOREIGN,		/* no header: not written by rnbd-bench */
	VERIFY_MISPLACED,	/* a valid sector of another offset */
	VERIFY_CORRUPT,		/* header fine, checksum not */
	VERIFY_STALE,		/* a valid sector of an older write */
};

/* Fill len bytes (whole sectors) for the device offset off. */
void verify_fill(void *buf, uint64_t off, uint32_t len, uint32_t seed);

/*
 * Check one sector read at off against expect (the seed of its last write,
 * 0: not known).  VERIFY_OK, or what is wrong; *found gets the seed or
 * offset the sector names, for the report.
 */
enum verify_bad verify_sector(const void *sector, uint64_t off, uint32_t expect,
			      uint64_t *found);

const char *verify_bad_str(enum verify_bad b);

#endif
