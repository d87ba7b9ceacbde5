/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rnbd-bench's command line, parsed and checked, without any I/O. */
#ifndef RNBD_BENCH_OPTS_H
#define RNBD_BENCH_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bssplit.h"

#define IODEPTH_MAX 4096u
#define JOBS_MAX 256u
#define RUNTIME_MAX 1e6		/* seconds, about 11 days */

struct bench_opts {
	const char *uri;
	const char *rw;			/* "randrw" (the name, without ":MIX") */
	bool random;
	unsigned int read_pct;		/* 100 reads only, 0 writes only */
	struct bssplit bs;
	unsigned int iodepth, jobs;
	double runtime, ramp;		/* seconds */
	uint64_t size;			/* 0: from offset to the device's end */
	uint64_t offset;
	uint64_t seed;
	bool seed_set;			/* else the caller picks one */
	bool once;			/* sequential: one pass over the region */
	bool verify, json;
};

enum { OPTS_RUN, OPTS_HELP, OPTS_VERSION };

/*
 * Parse argv into o.  OPTS_RUN, OPTS_HELP or OPTS_VERSION; -EINVAL with a
 * message in err for anything wrong.  Uses getopt_long (resets optind).
 */
int opts_parse(struct bench_opts *o, int argc, char **argv, char *err, size_t errlen);

/*
 * Fit the region to a device of dev_size bytes and block_size-byte blocks:
 * fills o->size when not given.  0, or -EINVAL with a message in err.
 */
int opts_fit_device(struct bench_opts *o, uint64_t dev_size, uint32_t block_size, char *err,
		    size_t errlen);

extern const char opts_usage[];

#endif
