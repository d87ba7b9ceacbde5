/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sizes as fio writes them: "4096", "4k", "1M", "2GiB" (powers of 1024). */
#ifndef RNBD_BENCH_SIZE_H
#define RNBD_BENCH_SIZE_H

#include <stdint.h>

/* 0, -EINVAL (not a size) or -ERANGE (does not fit 64 bits). */
int size_parse(const char *s, uint64_t *out);

/* "4k", "1M", "1536": the shortest exact form (24 bytes are enough). */
const char *size_str(uint64_t v, char *buf, unsigned int len);

#endif
