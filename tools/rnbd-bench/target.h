/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a protocol backend provides to the engine: open a device, give each
 * job its own queue, and move one request asynchronously.  The backend calls
 * slot_recycle() when a request completes and slot_retire() when the slot
 * is not resubmitted (engine.h).
 */
#ifndef RNBD_BENCH_TARGET_H
#define RNBD_BENCH_TARGET_H

#include <stddef.h>
#include <stdint.h>

struct slot;
struct job;

struct target_geom {
	uint64_t size;			/* bytes */
	uint32_t block_size;		/* offsets and lengths are multiples */
};

struct target_ops {
	const char *proto;		/* "rnbd", "nbd" */
	size_t slot_priv;		/* bytes the backend keeps in each slot */
	/* Connect; 0, or a negative errno with a message in err. */
	int (*open)(const char *uri, unsigned int jobs, void **t, struct target_geom *g,
		    char *err, size_t errlen);
	/* The queue of job idx (0 .. jobs-1), used by that job's thread. */
	int (*job_open)(void *t, unsigned int idx, void **tj, char *err, size_t errlen);
	/*
	 * Start the slot's request (slot->op, slot->buf).  0: a completion
	 * will follow; a negative errno: it will not, and errmsg() says why.
	 */
	int (*submit)(void *tj, struct slot *s);
	const char *(*errmsg)(void);
	/*
	 * Run the job's completions on its own thread until it has nothing
	 * in flight (job_inflight() is 0); 0 or a negative errno.  NULL when
	 * completions arrive on the backend's threads.
	 */
	int (*drive)(void *tj, struct job *j);
	void (*job_close)(void *tj);
	void (*close)(void *t);
};

extern const struct target_ops target_rnbd;
extern const struct target_ops target_nbd;

/* The backend for a URI's scheme; NULL when none handles it. */
const struct target_ops *target_for_uri(const char *uri);

#endif
