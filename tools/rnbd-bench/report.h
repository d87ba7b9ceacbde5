/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The results: gathered from the jobs, printed as text or as JSON. */
#ifndef RNBD_BENCH_REPORT_H
#define RNBD_BENCH_REPORT_H

#include <stdio.h>

#include "engine.h"

enum { R_READ, R_WRITE, R_TOTAL };

struct bench_result {
	const char *proto;
	double secs;			/* the measured window */
	struct hist lat[3];		/* read, write, both */
	uint64_t bytes[3];
	bool verified;			/* --verify ran */
	uint64_t sectors_checked, mismatches;
	/*
	 * The process's peak resident memory, and how much of it the request
	 * buffers are: the rest is the protocol library's (its session, its
	 * connections) and the program's.
	 */
	uint64_t max_rss, buf_bytes;
	const char *error;		/* NULL: none */
};

/* After engine_join(): sum the jobs up. */
void report_collect(struct bench_result *r, struct engine *e);
void report_text(FILE *f, const struct bench_opts *o, const struct bench_result *r);
/* 0, or -ENOMEM */
int report_json(FILE *f, const struct bench_opts *o, const struct bench_result *r);

#endif
