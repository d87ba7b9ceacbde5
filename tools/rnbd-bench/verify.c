// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stddef.h>
#include <string.h>

#include "verify.h"
#include "workload.h"

#define MAGIC 0x72626e63u	/* "rbnc" */

struct hdr {
	uint32_t magic;
	uint32_t sum;		/* FNV-1a of the rest of the sector */
	uint64_t offset;
	uint32_t seed;
	uint32_t zero;
};

#define BODY (VERIFY_SECTOR - sizeof(struct hdr))
_Static_assert(BODY % 8 == 0, "the body is filled 8 bytes at a time");

static uint32_t fnv1a(const uint8_t *p, size_t len, uint32_t h)
{
	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static uint32_t checksum(const struct hdr *h, const uint8_t *body)
{
	return fnv1a(body, BODY, fnv1a((const uint8_t *)&h->offset,
				       sizeof(*h) - offsetof(struct hdr, offset), 2166136261u));
}

static void fill_sector(uint8_t *s, uint64_t off, uint32_t seed)
{
	struct hdr h = { .magic = MAGIC, .offset = off, .seed = seed };
	uint64_t rng = wl_seed(seed, off);

	for (size_t i = 0; i < BODY; i += 8) {
		uint64_t v = wl_rand(&rng);

		memcpy(s + sizeof(h) + i, &v, 8);
	}
	h.sum = checksum(&h, s + sizeof(h));
	memcpy(s, &h, sizeof(h));
}

void verify_fill(void *buf, uint64_t off, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i += VERIFY_SECTOR)
		fill_sector((uint8_t *)buf + i, off + i, seed);
}

static int all_zero(const uint8_t *s)
{
	for (unsigned int i = 0; i < VERIFY_SECTOR; i++)
		if (s[i])
			return 0;
	return 1;
}

enum verify_bad verify_sector(const void *sector, uint64_t off, uint32_t expect,
			      uint64_t *found)
{
	const uint8_t *s = sector;
	uint8_t want[VERIFY_SECTOR];
	struct hdr h;

	*found = 0;
	if (expect) {
		fill_sector(want, off, expect);
		if (!memcmp(s, want, VERIFY_SECTOR))
			return VERIFY_OK;
	}
	if (all_zero(s))
		return expect ? VERIFY_ZEROES : VERIFY_OK;
	memcpy(&h, s, sizeof(h));
	if (h.magic != MAGIC || h.zero)
		return VERIFY_FOREIGN;
	if (h.offset != off) {
		*found = h.offset;
		return VERIFY_MISPLACED;
	}
	if (h.sum != checksum(&h, s + sizeof(h)))
		return VERIFY_CORRUPT;
	if (expect) {
		*found = h.seed;
		return VERIFY_STALE;
	}
	return VERIFY_OK;
}

const char *verify_bad_str(enum verify_bad b)
{
	switch (b) {
	case VERIFY_OK: return "ok";
	case VERIFY_ZEROES: return "zeroes where data was written (a lost write)";
	case VERIFY_FOREIGN: return "not a block rnbd-bench wrote";
	case VERIFY_MISPLACED: return "the block of another offset";
	case VERIFY_CORRUPT: return "checksum mismatch";
	case VERIFY_STALE: return "an older write's data";
	}
	return "?";
}
