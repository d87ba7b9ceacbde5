/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the libFuzzer harnesses: an input cursor that hands out
 * parameters and leaves the rest as the message, exact-size heap copies, and
 * checks that abort() so that libFuzzer records the input as a crash.
 */
#ifndef RNBD_TESTS_FUZZ_COMMON_H
#define RNBD_TESTS_FUZZ_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnbd/rnbd.h"
#include "util/endian.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                           \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: check failed: %s (errmsg '%s')\n", \
				__FILE__, __LINE__, #cond, rnbd_errmsg());         \
			abort();                                                   \
		}                                                                  \
	} while (0)

/* Decoders promise a message with every error; a stale one would hide a
 * path that forgot to set it, so clear it before each call. */
static inline void fuzz_errmsg_clear(void)
{
	rnbd_err_set(0, "%s", "");
}

static inline void fuzz_check_err(int ret)
{
	FUZZ_CHECK(ret < 0);
	FUZZ_CHECK(rnbd_errmsg()[0] != '\0');
}

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/*
 * Parameters read past the end of the input are 0 rather than a reason to
 * skip it: even the shortest inputs then reach a decoder (with len 0).
 */
static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = in->p[0];
		in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t v = fuzz_u8(in);

	return v | (uint16_t)fuzz_u8(in) << 8;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v = fuzz_u16(in);

	return v | (uint32_t)fuzz_u16(in) << 16;
}

/* An encoder's output buffer, sized exactly, so an over-write traps too. */
static inline uint8_t *fuzz_alloc(size_t len)
{
	uint8_t *buf = malloc(len);

	FUZZ_CHECK(buf || !len);
	return buf;
}

/*
 * libFuzzer's own buffer is larger than the input it passes, so an
 * over-read of it goes unseen; a copy of exactly len bytes makes ASan trap
 * on the first byte past the message.  ASan's malloc(0) is a distinct
 * zero-sized block, so a decoder that reads anything at len 0 traps too.
 */
static inline uint8_t *fuzz_dup(const void *p, size_t len)
{
	uint8_t *copy = fuzz_alloc(len);

	if (len)
		memcpy(copy, p, len);
	return copy;
}

#endif
