// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/resource.h>

#include "report.h"
#include "size.h"

static const char *const dir_name[] = { "read", "write", "total" };

void report_collect(struct bench_result *r, struct engine *e)
{
	struct rusage ru;

	memset(r, 0, sizeof(*r));
	r->proto = e->ops->proto;
	r->secs = (double)e->window_ns / 1e9;
	for (int d = 0; d < 3; d++)
		hist_init(&r->lat[d]);
	for (unsigned int i = 0; i < e->o->jobs; i++) {
		for (int d = 0; d < 2; d++) {
			hist_merge(&r->lat[d], &e->jobs[i].st[d].lat);
			hist_merge(&r->lat[R_TOTAL], &e->jobs[i].st[d].lat);
			r->bytes[d] += e->jobs[i].st[d].bytes;
			r->bytes[R_TOTAL] += e->jobs[i].st[d].bytes;
		}
	}
	r->verified = e->o->verify;
	r->sectors_checked = e->sectors_checked;
	r->mismatches = e->mismatches;
	r->error = atomic_load(&e->err) ? e->errmsg : NULL;
	r->buf_bytes = e->buf_bytes;
	if (!getrusage(RUSAGE_SELF, &ru))
		r->max_rss = (uint64_t)ru.ru_maxrss * 1024;	/* Linux: KiB */
}

static double rate(uint64_t n, double secs)
{
	return secs > 0 ? (double)n / secs : 0;
}

/* "812ns", "12.3us", "4.56ms", "1.20s" */
static const char *lat_str(double ns, char *buf, size_t len)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

static void describe_bs(const struct bench_opts *o, char *buf, size_t len)
{
	size_t used = 0;
	char s[24];

	if (o->bs.n == 1) {
		snprintf(buf, len, "%s", size_str(o->bs.size[0], s, sizeof(s)));
		return;
	}
	buf[0] = '\0';
	for (unsigned int i = 0; i < o->bs.n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s/%u", i ? ":" : "",
					 size_str(o->bs.size[i], s, sizeof(s)), o->bs.pct[i]);
}

void report_text(FILE *f, const struct bench_opts *o, const struct bench_result *r)
{
	char bs[BSSPLIT_MAX * 16], a[16], b[16], c[16], d[16];

	describe_bs(o, bs, sizeof(bs));
	fprintf(f, "%s (%s): %s", o->uri, r->proto, o->rw);
	if (o->read_pct % 100)
		fprintf(f, ":%u", o->read_pct);
	fprintf(f, " bs %s, iodepth %u, %u job%s, %.1f s\n", bs, o->iodepth, o->jobs,
		o->jobs > 1 ? "s" : "", r->secs);
	for (int dir = 0; dir < 3; dir++) {
		const struct hist *h = &r->lat[dir];

		/* a one-direction run needs no total line */
		if (!h->count || (dir == R_TOTAL && (!r->lat[R_READ].count ||
						     !r->lat[R_WRITE].count)))
			continue;
		fprintf(f, "  %-5s  IOPS %10.0f  MB/s %9.1f  lat mean %8s  p50 %8s  p99 %8s  "
			"p99.9 %8s\n", dir_name[dir], rate(h->count, r->secs),
			rate(r->bytes[dir], r->secs) / 1e6, lat_str(hist_mean(h), a, sizeof(a)),
			lat_str((double)hist_percentile(h, 50), b, sizeof(b)),
			lat_str((double)hist_percentile(h, 99), c, sizeof(c)),
			lat_str((double)hist_percentile(h, 99.9), d, sizeof(d)));
	}
	if (!r->lat[R_TOTAL].count)
		fprintf(f, "  no request completed in the measured time\n");
	if (r->verified)
		fprintf(f, "  verify: %" PRIu64 " sectors checked, %" PRIu64 " mismatches\n",
			r->sectors_checked, r->mismatches);
	fprintf(f, "  memory: peak RSS %.1f MiB, of which request buffers %.1f MiB\n",
		(double)r->max_rss / 1048576, (double)r->buf_bytes / 1048576);
}

static json_object *dir_json(const struct bench_result *r, int dir)
{
	const struct hist *h = &r->lat[dir];
	json_object *o = json_object_new_object(), *lat = json_object_new_object();

	json_object_object_add(o, "ops", json_object_new_uint64(h->count));
	json_object_object_add(o, "bytes", json_object_new_uint64(r->bytes[dir]));
	json_object_object_add(o, "iops", json_object_new_double(rate(h->count, r->secs)));
	json_object_object_add(o, "mbps", json_object_new_double(rate(r->bytes[dir], r->secs) / 1e6));
	json_object_object_add(lat, "mean", json_object_new_double(hist_mean(h)));
	json_object_object_add(lat, "min", json_object_new_uint64(h->count ? h->min : 0));
	json_object_object_add(lat, "max", json_object_new_uint64(h->max));
	json_object_object_add(lat, "p50", json_object_new_uint64(hist_percentile(h, 50)));
	json_object_object_add(lat, "p99", json_object_new_uint64(hist_percentile(h, 99)));
	json_object_object_add(lat, "p99.9", json_object_new_uint64(hist_percentile(h, 99.9)));
	json_object_object_add(o, "lat_ns", lat);
	return o;
}

int report_json(FILE *f, const struct bench_opts *o, const struct bench_result *r)
{
	json_object *j = json_object_new_object(), *split = json_object_new_array(), *mem;
	const char *text;

	if (!j || !split)
		return -ENOMEM;
	json_object_object_add(j, "uri", json_object_new_string(o->uri));
	json_object_object_add(j, "protocol", json_object_new_string(r->proto));
	json_object_object_add(j, "rw", json_object_new_string(o->rw));
	json_object_object_add(j, "read_pct", json_object_new_int((int)o->read_pct));
	for (unsigned int i = 0; i < o->bs.n; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "bs", json_object_new_int64(o->bs.size[i]));
		json_object_object_add(e, "pct", json_object_new_int((int)o->bs.pct[i]));
		json_object_array_add(split, e);
	}
	json_object_object_add(j, "bssplit", split);
	json_object_object_add(j, "iodepth", json_object_new_int((int)o->iodepth));
	json_object_object_add(j, "jobs", json_object_new_int((int)o->jobs));
	json_object_object_add(j, "offset", json_object_new_uint64(o->offset));
	json_object_object_add(j, "size", json_object_new_uint64(o->size));
	json_object_object_add(j, "seed", json_object_new_uint64(o->seed));
	json_object_object_add(j, "ramp_s", json_object_new_double(o->ramp));
	json_object_object_add(j, "runtime_s", json_object_new_double(r->secs));
	for (int d = 0; d < 3; d++)
		json_object_object_add(j, dir_name[d], dir_json(r, d));
	if (r->verified) {
		json_object *v = json_object_new_object();

		json_object_object_add(v, "sectors_checked",
				       json_object_new_uint64(r->sectors_checked));
		json_object_object_add(v, "mismatches", json_object_new_uint64(r->mismatches));
		json_object_object_add(j, "verify", v);
	}
	mem = json_object_new_object();
	json_object_object_add(mem, "max_rss", json_object_new_uint64(r->max_rss));
	json_object_object_add(mem, "buffers", json_object_new_uint64(r->buf_bytes));
	json_object_object_add(j, "memory", mem);
	json_object_object_add(j, "error", r->error ? json_object_new_string(r->error) : NULL);
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	fprintf(f, "%s\n", text);
	json_object_put(j);
	return 0;
}
