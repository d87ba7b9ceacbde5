// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rnbd-bench: a load generator in the manner of fio, for rnbd:// devices
 * (librnbd) and nbd:// ones (libnbd), so that both protocols are measured by
 * the same workload in the same run.  See doc/performance.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rnbd/rnbd.h>

#include "engine.h"
#include "opts.h"
#include "progress.h"
#include "report.h"
#include "target.h"

#define EXIT_IO 1
#define EXIT_USAGE 2
#define TICK_NS 1000000000ull		/* the progress line's period */
#define POLL_NS 100000000ull		/* how often the end of the jobs is noticed */

static int usage_error(const char *msg)
{
	fprintf(stderr, "rnbd-bench: %s\n(rnbd-bench --help lists the options)\n", msg);
	return EXIT_USAGE;
}

/*
 * Wait for the phase's jobs to end, drawing the progress line on a terminal;
 * SIGINT or SIGTERM ends the run early (its results are still reported).
 * The jobs end by themselves: their time is up, or their watchdog fires.
 */
static void watch(struct engine *e, const sigset_t *sigs, bool tty)
{
	struct progress prev, cur;
	uint64_t next = now_ns() + TICK_NS;

	progress_sample(e, &prev);
	while (atomic_load(&e->jobs_left)) {
		uint64_t now = now_ns(), wait = POLL_NS;
		struct timespec ts;

		/* without a terminal there is no tick to wake for */
		if (tty)
			wait = next > now ? next - now : 0;
		if (wait > POLL_NS)
			wait = POLL_NS;
		ts = (struct timespec){ .tv_sec = 0, .tv_nsec = (long)wait };
		if (sigtimedwait(sigs, NULL, &ts) > 0) {
			fprintf(stderr, "%srnbd-bench: stopping early\n", tty ? "\n" : "");
			engine_stop(e);
		}
		if (tty && now_ns() >= next) {
			progress_sample(e, &cur);
			progress_line(stdout, e, &prev, &cur);
			prev = cur;
			next += TICK_NS;
		}
	}
	if (tty)
		progress_clear(stdout);
}

static int run(struct engine *e, const sigset_t *sigs)
{
	const struct bench_opts *o = e->o;
	bool tty = isatty(STDOUT_FILENO);
	int ret, joined;

	ret = engine_start(e, false);
	watch(e, sigs, tty && !ret);
	joined = engine_join(e);
	if (ret || joined || !o->verify || o->read_pct == 100)
		return ret ? ret : joined;
	if (tty)
		fprintf(stderr, "rnbd-bench: reading the region back to verify it\n");
	ret = engine_start(e, true);
	watch(e, sigs, false);
	joined = engine_join(e);
	return ret ? ret : joined;
}

int main(int argc, char **argv)
{
	static struct bench_result res;	/* large: histograms */
	const struct target_ops *ops;
	struct target_geom geom;
	struct bench_opts o;
	struct engine e;
	char err[512];
	sigset_t sigs;
	void *target;
	int ret, status;

	ret = opts_parse(&o, argc, argv, err, sizeof(err));
	if (ret == OPTS_HELP) {
		fputs(opts_usage, stdout);
		return 0;
	}
	if (ret == OPTS_VERSION) {
		printf("rnbd-bench %s (librnbd %s)\n", RNBD_VERSION, rnbd_version());
		return 0;
	}
	if (ret < 0)
		return usage_error(err);
	ops = target_for_uri(o.uri);
	if (!ops) {
		snprintf(err, sizeof(err), "%s: not an rnbd:// or nbd:// URI%s", o.uri,
			 target_for_uri("nbd://") ? "" : " (built without libnbd: rnbd:// only)");
		return usage_error(err);
	}
	if (!o.seed_set)
		o.seed = now_ns() ^ (uint64_t)getpid();

	/* before any thread exists: the signals come to watch() only */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	ret = ops->open(o.uri, o.jobs, &target, &geom, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "rnbd-bench: %s\n", err);
		return EXIT_IO;
	}
	ret = opts_fit_device(&o, geom.size, geom.block_size, err, sizeof(err));
	if (ret) {
		ops->close(target);
		return usage_error(err);
	}
	ret = engine_init(&e, &o, ops, target, err, sizeof(err));
	if (ret) {
		status = ret == -EINVAL ? usage_error(err) : EXIT_IO;
		if (ret != -EINVAL)
			fprintf(stderr, "rnbd-bench: %s\n", err);
		goto out;
	}

	ret = run(&e, &sigs);
	report_collect(&res, &e);
	if (o.json)
		report_json(stdout, &o, &res);
	else
		report_text(stdout, &o, &res);
	if (res.error)
		fprintf(stderr, "rnbd-bench: %s\n", res.error);
	status = ret || res.mismatches ? EXIT_IO : 0;
	if (!engine_idle(&e)) {
		/* the target may still write into our buffers: free nothing */
		fprintf(stderr, "rnbd-bench: requests are still in flight, exiting\n");
		fflush(NULL);
		_exit(EXIT_IO);
	}
out:
	engine_fini(&e);
	ops->close(target);
	return status;
}
