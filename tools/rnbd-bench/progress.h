/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The live line on a terminal: rates over the last second, overwritten. */
#ifndef RNBD_BENCH_PROGRESS_H
#define RNBD_BENCH_PROGRESS_H

#include <stdio.h>

#include "engine.h"

struct progress {
	uint64_t t;
	uint64_t ops[2], bytes[2];
};

void progress_sample(struct engine *e, struct progress *p);
/* Print the rates between two samples over the previous line. */
void progress_line(FILE *f, struct engine *e, const struct progress *prev,
		   const struct progress *cur);
/* Erase the line, before the summary. */
void progress_clear(FILE *f);

#endif
