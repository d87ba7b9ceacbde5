// SPDX-License-Identifier: LGPL-2.1-or-later
#include "progress.h"

void progress_sample(struct engine *e, struct progress *p)
{
	*p = (struct progress){ .t = now_ns() };
	for (unsigned int i = 0; i < e->njobs; i++) {
		for (int d = 0; d < 2; d++) {
			p->ops[d] += atomic_load_explicit(&e->jobs[i].st[d].lat.count,
							  memory_order_relaxed);
			p->bytes[d] += atomic_load_explicit(&e->jobs[i].st[d].bytes,
							    memory_order_relaxed);
		}
	}
}

void progress_line(FILE *f, struct engine *e, const struct progress *prev,
		   const struct progress *cur)
{
	static const char *const name[] = { "read", "write" };
	uint64_t ramp_end = atomic_load(&e->t_ramp_end);
	/* nothing is counted before the ramp's end: rates are from there */
	double dt = (double)(cur->t - (prev->t > ramp_end ? prev->t : ramp_end)) / 1e9;

	if (cur->t < ramp_end || dt < 0.5) {
		fprintf(f, "\r[ramp %.1f/%.1f s]\033[K", (double)(cur->t - e->t_start) / 1e9,
			e->o->ramp);
		fflush(f);
		return;
	}
	fprintf(f, "\r[%3.0f/%.0f s]", (double)(cur->t - ramp_end) / 1e9, e->o->runtime);
	for (int d = 0; d < 2; d++) {
		/* a direction the workload never takes is not shown */
		if ((d == 0 && e->o->read_pct == 0) || (d == 1 && e->o->read_pct == 100))
			continue;
		fprintf(f, " %s %.0f IOPS %.1f MB/s", name[d],
			dt > 0 ? (double)(cur->ops[d] - prev->ops[d]) / dt : 0,
			dt > 0 ? (double)(cur->bytes[d] - prev->bytes[d]) / dt / 1e6 : 0);
	}
	fprintf(f, "\033[K");
	fflush(f);
}

void progress_clear(FILE *f)
{
	fprintf(f, "\r\033[K");
	fflush(f);
}
