// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "size.h"
#include "verify.h"

/* --verify keeps 4 bytes per sector: 128 MiB for a 16 GiB region */
#define VMAP_MAX_REGION (16ull << 30)
/* mismatches printed one by one; the rest are counted */
#define MISMATCH_REPORTS 10

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void engine_fail(struct engine *e, int err, const char *fmt, ...)
{
	int none = 0;
	va_list ap;

	pthread_mutex_lock(&e->lock);
	if (atomic_compare_exchange_strong(&e->err, &none, err)) {
		va_start(ap, fmt);
		vsnprintf(e->errmsg, sizeof(e->errmsg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&e->lock);
	engine_stop(e);
}

void engine_stop(struct engine *e)
{
	uint64_t now = now_ns(), end = atomic_load(&e->t_end);

	while (now < end && !atomic_compare_exchange_weak(&e->t_end, &end, now))
		;
}

static void report_mismatch(struct engine *e, uint64_t off, enum verify_bad bad, uint64_t found,
			    uint32_t expect)
{
	uint64_t n = atomic_fetch_add(&e->mismatches, 1);

	if (n >= MISMATCH_REPORTS)
		return;
	pthread_mutex_lock(&e->lock);
	fprintf(stderr, "rnbd-bench: verify: sector at %" PRIu64 ": %s", off, verify_bad_str(bad));
	if (bad == VERIFY_MISPLACED)
		fprintf(stderr, " (written for offset %" PRIu64 ")", found);
	else if (bad == VERIFY_STALE)
		fprintf(stderr, " (seed %" PRIu64 ", expected %" PRIu32 ")", found, expect);
	fprintf(stderr, "%s\n", n + 1 == MISMATCH_REPORTS ? "; further ones only counted" : "");
	pthread_mutex_unlock(&e->lock);
}

/*
 * A read is checked sector by sector; a write's sectors now hold its seed.
 * No other request touches them meanwhile: with --verify each slot owns
 * its part of the region, so this runs in that slot's order.
 */
static void verify_done(struct engine *e, struct slot *s, bool ok)
{
	uint64_t first = (s->op.offset - e->o->offset) / VERIFY_SECTOR;
	uint32_t n = s->op.len / VERIFY_SECTOR;

	if (s->op.write) {
		/* a failed write may have reached some sectors, or none */
		for (uint32_t i = 0; i < n; i++)
			e->vmap[first + i] = ok ? s->seed : 0;
		return;
	}
	if (!ok)
		return;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = s->op.offset + (uint64_t)i * VERIFY_SECTOR, found;
		enum verify_bad bad = verify_sector((uint8_t *)s->buf + i * VERIFY_SECTOR, off,
						    e->vmap[first + i], &found);

		if (bad != VERIFY_OK)
			report_mismatch(e, off, bad, found, e->vmap[first + i]);
	}
	atomic_fetch_add_explicit(&e->sectors_checked, n, memory_order_relaxed);
}

static void slot_complete(struct slot *s, int err, uint64_t t_done)
{
	struct job *j = s->job;
	struct engine *e = j->eng;
	struct dir_stats *st = &j->st[s->op.write];

	atomic_fetch_add_explicit(&j->completions, 1, memory_order_relaxed);
	if (e->vmap)
		verify_done(e, s, !err);
	if (err) {
		engine_fail(e, err, "%s of %" PRIu32 " bytes at %" PRIu64 " failed: %s",
			    s->op.write ? "write" : "read", s->op.len, s->op.offset,
			    strerror(-err));
		return;
	}
	/* requests that started in the ramp or ended after the run are not counted */
	if (!e->recording || s->t_start < atomic_load_explicit(&e->t_ramp_end, memory_order_relaxed) ||
	    t_done > atomic_load_explicit(&e->t_end, memory_order_relaxed))
		return;
	hist_add(&st->lat, t_done - s->t_start);
	atomic_fetch_add_explicit(&st->bytes, s->op.len, memory_order_relaxed);
}

/* 0: the slot's next request is in flight; otherwise it has none. */
static int slot_issue(struct slot *s)
{
	struct job *j = s->job;
	struct engine *e = j->eng;
	int ret;

	if (atomic_load_explicit(&e->err, memory_order_relaxed) ||
	    now_ns() >= atomic_load_explicit(&e->t_end, memory_order_relaxed))
		return 1;
	if (!wl_next(e->wl, &s->wl, &s->op))
		return 1;
	if (e->vmap && s->op.write) {
		s->seed = (uint32_t)wl_rand(&s->wl.rng) | 1;	/* 0 is "unknown" */
		verify_fill(s->buf, s->op.offset, s->op.len, s->seed);
	}
	s->t_start = now_ns();
	ret = e->ops->submit(j->tjob, s);
	if (ret)
		engine_fail(e, ret, "cannot submit a %" PRIu32 "-byte %s at %" PRIu64 ": %s",
			    s->op.len, s->op.write ? "write" : "read", s->op.offset,
			    e->ops->errmsg());
	return ret;
}

bool slot_recycle(struct slot *s, int err, uint64_t t_done)
{
	slot_complete(s, err, t_done);
	return slot_issue(s) == 0;
}

void slot_retire(struct slot *s)
{
	struct job *j = s->job;

	if (atomic_fetch_sub(&j->inflight, 1) == 1)
		sem_post(&j->idle);
}

int job_watchdog(struct job *j, uint64_t *last_count, uint64_t *last_ns)
{
	uint64_t c = atomic_load(&j->completions), now = now_ns();

	if (c != *last_count || !*last_ns) {
		*last_count = c;
		*last_ns = now;
		return 0;
	}
	if (now - *last_ns < STALL_S * 1000000000ull)
		return 0;
	engine_fail(j->eng, -ETIMEDOUT, "job %u: no request completed for %d s", j->idx, STALL_S);
	return -ETIMEDOUT;
}

/* Completions come on the target's threads: sleep until the last one. */
static int job_wait_idle(struct job *j)
{
	uint64_t count = 0, since = 0;

	for (;;) {
		struct timespec ts;
		int ret;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec++;
		if (!sem_timedwait(&j->idle, &ts))
			return 0;
		if (errno != ETIMEDOUT && errno != EINTR)
			return -errno;
		ret = job_watchdog(j, &count, &since);
		if (ret)
			return ret;
	}
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct engine *e = j->eng;

	/* the first completions may come before the last slot is out */
	atomic_store(&j->inflight, e->o->iodepth);
	for (unsigned int i = 0; i < e->o->iodepth; i++)
		if (slot_issue(job_slot(j, i)))
			slot_retire(job_slot(j, i));
	j->result = e->ops->drive ? e->ops->drive(j->tjob, j) : job_wait_idle(j);
	j->t_finished = now_ns();
	atomic_fetch_sub(&e->jobs_left, 1);
	return NULL;
}

/* --verify: each slot of the run gets a part of the region to itself. */
static int split_region(struct engine *e, char *err, size_t errlen)
{
	const struct bench_opts *o = e->o;
	uint64_t nslots = (uint64_t)o->jobs * o->iodepth;
	uint64_t unit = e->run_wl.align, part = o->size / nslots / unit * unit;
	char a[24], b[24];

	if (o->size > VMAP_MAX_REGION) {
		snprintf(err, errlen, "--verify remembers every 512-byte sector: a region of "
			 "%s bytes is too large, give --size up to %s", size_str(o->size, a, 24),
			 size_str(VMAP_MAX_REGION, b, 24));
		return -EINVAL;
	}
	if (part < o->bs.max) {
		snprintf(err, errlen, "--verify gives each of the %" PRIu64 " requests in flight "
			 "its own part of the region: %s bytes are too few for %s requests",
			 nslots, size_str(o->size, a, 24), size_str(o->bs.max, b, 24));
		return -EINVAL;
	}
	e->vmap = calloc(o->size / VERIFY_SECTOR, sizeof(*e->vmap));
	if (!e->vmap) {
		snprintf(err, errlen, "no memory for the --verify map");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < e->njobs; i++) {
		struct job *j = &e->jobs[i];

		j->streams = calloc(o->iodepth, sizeof(*j->streams));
		if (!j->streams) {
			snprintf(err, errlen, "no memory");
			return -ENOMEM;
		}
		for (unsigned int k = 0; k < o->iodepth; k++) {
			uint64_t lo = o->offset + ((uint64_t)i * o->iodepth + k) * part;

			j->streams[k] = (struct wl_stream){ .lo = lo, .hi = lo + part };
			job_slot(j, k)->wl.stream = &j->streams[k];
		}
	}
	return 0;
}

static int init_job(struct engine *e, struct job *j, unsigned int idx, char *err, size_t errlen)
{
	const struct bench_opts *o = e->o;
	uint64_t part = o->size / o->jobs / e->run_wl.align * e->run_wl.align;
	size_t buf_len = (o->bs.max + 4095) & ~(size_t)4095;
	int ret;

	j->eng = e;
	j->idx = idx;
	for (int d = 0; d < 2; d++)
		hist_init(&j->st[d].lat);
	if (sem_init(&j->idle, 0, 0))
		return -errno;
	if (o->once) {
		/* one pass: each job its own share, the last one up to the end */
		j->stream = (struct wl_stream){ .lo = o->offset + idx * part,
						.hi = o->offset + (idx + 1) * part };
		if (idx == o->jobs - 1)
			j->stream.hi = o->offset + o->size;
	} else {
		/* jobs start apart, so that sequential ones do not read the same blocks */
		j->stream = (struct wl_stream){ .lo = o->offset, .hi = o->offset + o->size };
		atomic_store(&j->stream.next, (uint64_t)idx * part);
	}
	j->stride = (sizeof(struct slot) + e->ops->slot_priv + 15) & ~(size_t)15;
	j->slots = calloc(o->iodepth, j->stride);
	if (!j->slots)
		return -ENOMEM;
	for (unsigned int i = 0; i < o->iodepth; i++) {
		struct slot *s = job_slot(j, i);

		s->job = j;
		s->wl = (struct wl_state){
			.rng = wl_seed(o->seed, (uint64_t)idx * o->iodepth + i),
			.stream = &j->stream,
		};
		s->buf = aligned_alloc(4096, buf_len);
		if (!s->buf)
			return -ENOMEM;
		e->buf_bytes += buf_len;
		/* what plain writes carry: not zeroes, which some backends skip */
		memset(s->buf, 0x5a, buf_len);
	}
	ret = e->ops->job_open(e->target, idx, &j->tjob, err, errlen);
	/* -EINVAL is for options that do not fit; a failed connection is no such thing */
	return ret == -EINVAL ? -EIO : ret;
}

int engine_init(struct engine *e, const struct bench_opts *o, const struct target_ops *ops,
		void *target, char *err, size_t errlen)
{
	int ret;

	memset(e, 0, sizeof(*e));
	e->o = o;
	e->ops = ops;
	e->target = target;
	pthread_mutex_init(&e->lock, NULL);
	e->run_wl = (struct workload){
		.random = o->random, .read_pct = o->read_pct, .bs = &o->bs, .align = o->bs.min,
		.once = o->once,
	};
	/* reading back walks each part once, in the largest requests of the run */
	bssplit_single(&e->check_bs, o->bs.max, err, errlen);
	e->check_wl = (struct workload){
		.read_pct = 100, .bs = &e->check_bs, .align = o->bs.max, .once = true,
	};
	e->njobs = o->jobs;
	e->jobs = calloc(o->jobs, sizeof(*e->jobs));
	if (!e->jobs) {
		snprintf(err, errlen, "no memory");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < o->jobs; i++) {
		ret = init_job(e, &e->jobs[i], i, err, errlen);
		if (ret) {
			if (ret == -ENOMEM)
				snprintf(err, errlen, "no memory for %u slots", o->iodepth);
			return ret;
		}
	}
	return o->verify ? split_region(e, err, errlen) : 0;
}

int engine_start(struct engine *e, bool check)
{
	const struct bench_opts *o = e->o;
	int ret;

	e->wl = check ? &e->check_wl : &e->run_wl;
	e->recording = !check;
	e->t_start = now_ns();
	atomic_store(&e->t_ramp_end, e->t_start + (uint64_t)(o->ramp * 1e9));
	atomic_store(&e->t_end, check ? UINT64_MAX :
		     e->t_start + (uint64_t)((o->ramp + o->runtime) * 1e9));
	atomic_store(&e->jobs_left, e->njobs);
	for (unsigned int i = 0; i < e->njobs; i++) {
		struct job *j = &e->jobs[i];

		if (check)
			for (unsigned int k = 0; k < o->iodepth; k++)
				atomic_store(&j->streams[k].next, 0);
		ret = pthread_create(&j->thread, NULL, job_main, j);
		if (ret) {
			/* the jobs already running stop soon and are joined */
			engine_fail(e, -ret, "cannot start a thread: %s", strerror(ret));
			atomic_fetch_sub(&e->jobs_left, e->njobs - i);
			e->njobs = i;
			return -ret;
		}
	}
	return 0;
}

int engine_join(struct engine *e)
{
	int ret = 0;

	uint64_t ramp_end = atomic_load(&e->t_ramp_end), end = atomic_load(&e->t_end), last = 0;

	for (unsigned int i = 0; i < e->njobs; i++) {
		pthread_join(e->jobs[i].thread, NULL);
		if (!ret)
			ret = e->jobs[i].result;
		if (e->jobs[i].t_finished > last)
			last = e->jobs[i].t_finished;
	}
	/* stopped early (--once done, a signal, an error), maybe even in the
	 * ramp: the window is shorter, or none */
	if (last < end)
		end = last;
	if (e->recording)
		e->window_ns = end > ramp_end ? end - ramp_end : 0;
	return ret ? ret : atomic_load(&e->err);
}

bool engine_idle(struct engine *e)
{
	for (unsigned int i = 0; i < e->njobs; i++)
		if (job_inflight(&e->jobs[i]))
			return false;
	return true;
}

void engine_fini(struct engine *e)
{
	for (unsigned int i = 0; e->jobs && i < e->o->jobs; i++) {
		struct job *j = &e->jobs[i];

		if (j->tjob)
			e->ops->job_close(j->tjob);
		for (unsigned int k = 0; j->slots && k < e->o->iodepth; k++)
			free(job_slot(j, k)->buf);
		free(j->slots);
		free(j->streams);
		if (j->eng)
			sem_destroy(&j->idle);
	}
	free(e->jobs);
	free(e->vmap);
	pthread_mutex_destroy(&e->lock);
}
