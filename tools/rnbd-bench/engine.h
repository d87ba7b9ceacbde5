/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine: jobs (one thread each) keep iodepth requests in flight on a
 * target, draw them from the workload, check them (--verify) and count
 * them.  A slot is one request of a job; it goes around for the whole run.
 */
#ifndef RNBD_BENCH_ENGINE_H
#define RNBD_BENCH_ENGINE_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hist.h"
#include "opts.h"
#include "target.h"
#include "workload.h"

/* A job that sees no completion for this long gives up (a hung target). */
#define STALL_S 60

struct slot {
	struct job *job;
	struct wl_state wl;
	struct wl_op op;
	uint32_t seed;			/* --verify: the pattern this write carries */
	uint64_t t_start;		/* ns, CLOCK_MONOTONIC */
	void *buf;
	/* for a backend that defers completions to its drive() */
	struct slot *next;
	int err;
	uint64_t t_done;
	_Alignas(16) unsigned char priv[];	/* ops->slot_priv bytes */
};

struct dir_stats {
	struct hist lat;		/* ns; its count is the requests */
	_Atomic uint64_t bytes;
};

struct job {
	struct engine *eng;
	unsigned int idx;
	void *tjob;
	struct wl_stream stream;	/* shared by the slots (no --verify) */
	struct wl_stream *streams;	/* --verify: one per slot */
	unsigned char *slots;
	size_t stride;
	struct dir_stats st[2];		/* read, write */
	_Atomic unsigned int inflight;
	_Atomic uint64_t completions;	/* every one, counted or not: the watchdog's */
	sem_t idle;			/* posted when inflight drops to 0 */
	pthread_t thread;
	int result;
	uint64_t t_finished;		/* when its last request came back */
};

struct engine {
	const struct bench_opts *o;
	const struct target_ops *ops;
	void *target;
	struct workload run_wl;		/* the timed run */
	struct workload check_wl;	/* --verify: reading the region back */
	struct bssplit check_bs;
	const struct workload *wl;	/* the phase's */
	bool recording;
	uint32_t *vmap;			/* --verify: seed of each sector's last write */
	uint64_t t_start;
	_Atomic uint64_t t_ramp_end, t_end;
	uint64_t window_ns;		/* what the timed run measured, once joined */
	_Atomic unsigned int jobs_left;
	pthread_mutex_t lock;		/* errmsg, and the mismatch report */
	_Atomic int err;		/* the first error */
	char errmsg[512];
	_Atomic uint64_t sectors_checked, mismatches;
	struct job *jobs;
	unsigned int njobs;
	uint64_t buf_bytes;		/* the slots' data buffers, all jobs */
};

static inline struct slot *job_slot(struct job *j, unsigned int i)
{
	return (struct slot *)(j->slots + (size_t)i * j->stride);
}

static inline unsigned int job_inflight(struct job *j)
{
	return atomic_load(&j->inflight);
}

uint64_t now_ns(void);

/*
 * Allocate jobs, slots and buffers and open each job's queue.  0; -EINVAL
 * with a message in err when the options do not fit (--verify on too small
 * or too large a region); another negative errno when the target fails.
 */
int engine_init(struct engine *e, const struct bench_opts *o, const struct target_ops *ops,
		void *target, char *err, size_t errlen);
/* Start the timed run, or (check, --verify only) the read-back, on every job. */
int engine_start(struct engine *e, bool check);
/* Stop early: requests in flight complete, none is started. */
void engine_stop(struct engine *e);
/* Wait for every job of the phase; 0, or the first job's error. */
int engine_join(struct engine *e);
/*
 * After engine_join(): whether every request came back.  When one did not
 * (a hung or broken target), the target may still write into the buffers,
 * and nothing may be freed.
 */
bool engine_idle(struct engine *e);
void engine_fini(struct engine *e);

/* Record an error (the first one is kept) and stop the run. */
__attribute__((format(printf, 3, 4)))
void engine_fail(struct engine *e, int err, const char *fmt, ...);

/* For backends: a completion; true when the slot went out again. */
bool slot_recycle(struct slot *s, int err, uint64_t t_done);
/* For backends: the slot is idle until the phase ends. */
void slot_retire(struct slot *s);
/* For drive(): -ETIMEDOUT when no completion came for STALL_S. */
int job_watchdog(struct job *j, uint64_t *last_count, uint64_t *last_ns);

#endif
