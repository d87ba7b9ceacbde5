// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rnbd-bench's parts without I/O (tools/rnbd-bench): sizes, bssplit lists,
 * the command line and the latency histogram's percentiles.
 */
#include <errno.h>

#include "check-main.h"

#include "bssplit.h"
#include "hist.h"
#include "opts.h"
#include "size.h"

#define IONOS "512/20:1k/16:2k/9:4k/12:8k/19:16k/10:32k/8:64k/4"

/* ---- sizes ---- */

START_TEST(size_units)
{
	static const struct { const char *s; uint64_t v; } ok[] = {
		{ "0", 0 }, { "4096", 4096 }, { "4k", 4096 }, { "4K", 4096 }, { "4kb", 4096 },
		{ "4KiB", 4096 }, { "1m", 1 << 20 }, { "1M", 1 << 20 }, { "2g", 2ull << 30 },
		{ "1t", 1ull << 40 }, { "16e", 0 },
	};
	static const char *const bad[] = { "", "k", "-1", "4x", "4kk", "4 k", "1.5k", "4kib2" };
	uint64_t v;
	char buf[24];

	for (unsigned int i = 0; i < sizeof(ok) / sizeof(ok[0]) - 1; i++) {
		ck_assert_msg(size_parse(ok[i].s, &v) == 0, "%s", ok[i].s);
		ck_assert_uint_eq(v, ok[i].v);
	}
	/* 16 EiB is one more than 64 bits hold */
	ck_assert_int_eq(size_parse("16e", &v), -ERANGE);
	ck_assert_int_eq(size_parse("99999999999999999999", &v), -ERANGE);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(size_parse(bad[i], &v) == -EINVAL, "'%s' parsed", bad[i]);
	ck_assert_str_eq(size_str(4096, buf, sizeof(buf)), "4k");
	ck_assert_str_eq(size_str(1 << 20, buf, sizeof(buf)), "1M");
	ck_assert_str_eq(size_str(1536, buf, sizeof(buf)), "1536");
	ck_assert_str_eq(size_str(0, buf, sizeof(buf)), "0");
}
END_TEST

/* ---- bssplit ---- */

static unsigned int share(const struct bssplit *b, uint32_t size)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < 100; i++)
		n += b->by_pct[i] == size;
	return n;
}

START_TEST(bssplit_ionos)
{
	static const uint32_t sizes[] = { 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536 };
	/* it adds up to 98: as fio, the last size takes the other 2 */
	static const unsigned int pcts[] = { 20, 16, 9, 12, 19, 10, 8, 6 };
	struct bssplit b;
	char err[256];

	ck_assert_int_eq(bssplit_parse(IONOS, &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.n, 8);
	for (unsigned int i = 0; i < 8; i++) {
		ck_assert_uint_eq(b.size[i], sizes[i]);
		ck_assert_uint_eq(b.pct[i], pcts[i]);
		ck_assert_uint_eq(share(&b, sizes[i]), pcts[i]);
	}
	ck_assert_uint_eq(b.min, 512);
	ck_assert_uint_eq(b.max, 65536);
	/* every random number picks one of the sizes */
	for (uint64_t r = 0; r < 1000; r++)
		ck_assert_uint_eq(bssplit_pick(&b, r), b.by_pct[r % 100]);
}
END_TEST

START_TEST(bssplit_shares)
{
	struct bssplit b;
	char err[256];

	/* entries without a percentage share the rest; the first get the odd points */
	ck_assert_int_eq(bssplit_parse("4k/10:8k:16k:64k", &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.pct[0], 10);
	ck_assert_uint_eq(b.pct[1], 30);
	ck_assert_uint_eq(b.pct[2], 30);
	ck_assert_uint_eq(b.pct[3], 30);
	ck_assert_int_eq(bssplit_parse("4k/1:8k:16k:32k", &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.pct[1] + b.pct[2] + b.pct[3], 99);
	ck_assert_uint_eq(b.pct[1], 33);
	/* a lone size is all of it; "4k/" is a size without percentage */
	ck_assert_int_eq(bssplit_parse("3k", &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.pct[0], 100);
	ck_assert_uint_eq(share(&b, 3072), 100);
	ck_assert_int_eq(bssplit_parse("4k/:8k/50", &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.pct[0], 50);
	/* a 0% size is never used, and not the minimum */
	ck_assert_int_eq(bssplit_parse("512/0:4k/100", &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.min, 4096);
	ck_assert_uint_eq(share(&b, 512), 0);
	ck_assert_int_eq(bssplit_single(&b, 1 << 20, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.min, 1 << 20);
	ck_assert_uint_eq(share(&b, 1 << 20), 100);
}
END_TEST

START_TEST(bssplit_errors)
{
	static const struct { const char *s, *why; } bad[] = {
		{ "", "empty entry" },
		{ "4k/50::8k/50", "empty entry" },
		{ "4k/60:8k/50", "110, over 100" },
		{ "4k/100:8k", "leaving nothing" },
		{ "4k/x", "whole number 0 to 100" },
		{ "4k/101", "whole number 0 to 100" },
		{ "4k/-1", "whole number 0 to 100" },
		{ "4q/100", "not a size" },
		{ "1000/100", "multiple of 512" },
		{ "32M/100", "multiple of 512 from 512 to 16M" },
		{ "0/100", "multiple of 512" },
	};
	struct bssplit b;
	char err[256], many[64 * 8 + 16] = "";

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(bssplit_parse(bad[i].s, &b, err, sizeof(err)) == -EINVAL, "'%s'",
			      bad[i].s);
		ck_assert_msg(strstr(err, bad[i].why), "'%s': '%s' lacks '%s'", bad[i].s, err,
			      bad[i].why);
	}
	for (unsigned int i = 0; i < BSSPLIT_MAX + 1; i++)
		strcat(many, i ? ":4k" : "4k");
	ck_assert_int_eq(bssplit_parse(many, &b, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "more than 64"));
	ck_assert_int_eq(bssplit_single(&b, 100, err, sizeof(err)), -EINVAL);
}
END_TEST

/* ---- command line ---- */

static int parse(struct bench_opts *o, char *err, const char *args)
{
	static char buf[1024];
	char *argv[64] = { "rnbd-bench" };
	int argc = 1;

	snprintf(buf, sizeof(buf), "%s", args);
	for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	err[0] = '\0';
	return opts_parse(o, argc, argv, err, 256);
}

START_TEST(opts_defaults)
{
	struct bench_opts o;
	char err[256];

	ck_assert_int_eq(parse(&o, err, "rnbd://h/d"), OPTS_RUN);
	ck_assert_str_eq(o.uri, "rnbd://h/d");
	ck_assert_str_eq(o.rw, "randread");
	ck_assert(o.random);
	ck_assert_uint_eq(o.read_pct, 100);
	ck_assert_uint_eq(o.bs.n, 1);
	ck_assert_uint_eq(o.bs.size[0], 4096);
	ck_assert_uint_eq(o.iodepth, 1);
	ck_assert_uint_eq(o.jobs, 1);
	ck_assert(o.runtime == 10);
	ck_assert(o.ramp == 0);
	ck_assert_uint_eq(o.size, 0);
	ck_assert_uint_eq(o.offset, 0);
	ck_assert(!o.verify && !o.json && !o.seed_set);
	ck_assert_int_eq(parse(&o, err, "--help"), OPTS_HELP);
	ck_assert_int_eq(parse(&o, err, "-V"), OPTS_VERSION);
}
END_TEST

START_TEST(opts_all)
{
	struct bench_opts o;
	char err[256];

	ck_assert_int_eq(parse(&o, err, "--rw randrw:70 --bssplit " IONOS " --iodepth 128 "
			       "--jobs 4 --runtime 2.5 --ramp 1 --size 1G --offset 64k --verify "
			       "--seed 42 --json nbd://h:10809/e"), OPTS_RUN);
	ck_assert_str_eq(o.rw, "randrw");
	ck_assert(o.random);
	ck_assert_uint_eq(o.read_pct, 70);
	ck_assert_uint_eq(o.bs.n, 8);
	ck_assert_uint_eq(o.iodepth, 128);
	ck_assert_uint_eq(o.jobs, 4);
	ck_assert(o.runtime == 2.5);
	ck_assert(o.ramp == 1);
	ck_assert_uint_eq(o.size, 1ull << 30);
	ck_assert_uint_eq(o.offset, 65536);
	ck_assert(o.verify && o.json && o.seed_set);
	ck_assert_uint_eq(o.seed, 42);
	ck_assert_str_eq(o.uri, "nbd://h:10809/e");

	/* each mode; options after the URI too; --numjobs as fio spells it */
	ck_assert_int_eq(parse(&o, err, "rnbd://h/d --rw read --bs 1M --numjobs 2"), OPTS_RUN);
	ck_assert(!o.random);
	ck_assert_uint_eq(o.read_pct, 100);
	ck_assert_uint_eq(o.bs.size[0], 1 << 20);
	ck_assert_uint_eq(o.jobs, 2);
	ck_assert_int_eq(parse(&o, err, "--rw write x"), OPTS_RUN);
	ck_assert(!o.random);
	ck_assert_uint_eq(o.read_pct, 0);
	ck_assert_int_eq(parse(&o, err, "--rw randwrite x"), OPTS_RUN);
	ck_assert(o.random);
	ck_assert_uint_eq(o.read_pct, 0);
	ck_assert_int_eq(parse(&o, err, "--rw randrw x"), OPTS_RUN);
	ck_assert_uint_eq(o.read_pct, 50);
	ck_assert_int_eq(parse(&o, err, "--rw randrw:0 x"), OPTS_RUN);
	ck_assert_uint_eq(o.read_pct, 0);
	/* --bs takes a list as --bssplit does */
	ck_assert_int_eq(parse(&o, err, "--bs " IONOS " x"), OPTS_RUN);
	ck_assert_uint_eq(o.bs.n, 8);
	ck_assert_uint_eq(o.bs.max, 65536);
	ck_assert_int_eq(parse(&o, err, "--bs 4k/50:64k/50 x"), OPTS_RUN);
	ck_assert_uint_eq(o.bs.n, 2);
	ck_assert_int_eq(parse(&o, err, "--seed 0x10 x"), OPTS_RUN);
	ck_assert_uint_eq(o.seed, 16);
}
END_TEST

START_TEST(opts_errors)
{
	static const struct { const char *args, *why; } bad[] = {
		{ "", "no URI" },
		{ "a b", "one URI only" },
		{ "--bogus x", "unknown option '--bogus'" },
		{ "-z x", "unknown option '-z'" },
		{ "x --iodepth", "--iodepth needs a value" },
		{ "--rw foo x", "--rw foo: not one of" },
		{ "--rw randreadx x", "not one of" },
		{ "--rw read:50 x", "only randrw takes" },
		{ "--rw randrw: x", "read percentage" },
		{ "--rw randrw:101 x", "read percentage" },
		{ "--rw randrw:5x x", "read percentage" },
		{ "--bs 4q x", "--bs 4q: not a size" },
		{ "--bs 1000 x", "--bs 1000: a multiple of 512" },
		{ "--bs 0 x", "--bs 0: a multiple of 512" },
		{ "--bs 32M x", "from 512 to 16M" },
		{ "--bssplit 4k/60:8k/60 x", "--bssplit '4k/60:8k/60': the percentages add up to 120" },
		{ "--bs 4k --bssplit 4k x", "one or the other" },
		{ "--bs 4k/60:8k/60 x", "--bs '4k/60:8k/60': the percentages add up to 120" },
		{ "--iodepth 0 x", "--iodepth 0: a whole number from 1 to 4096" },
		{ "--iodepth 4097 x", "from 1 to 4096" },
		{ "--iodepth -1 x", "--iodepth -1" },
		{ "--iodepth 1.5 x", "--iodepth 1.5" },
		{ "--jobs 0 x", "--jobs 0: a whole number from 1 to 256" },
		{ "--jobs 99999999999999999999 x", "--jobs" },
		{ "--runtime 0 x", "--runtime 0: seconds, more than 0" },
		{ "--runtime abc x", "--runtime abc" },
		{ "--runtime nan x", "--runtime nan" },
		{ "--runtime 1e7 x", "--runtime 1e7" },
		{ "--ramp -1 x", "--ramp -1: seconds, 0 to" },
		{ "--size 0 x", "--size 0: must not be 0" },
		{ "--size 1000 x", "--size 1000: not a multiple of 512" },
		{ "--size 99999999999999999999 x", "--size 99999999999999999999: too large" },
		{ "--offset 1k1 x", "--offset 1k1: not a size" },
		{ "--offset 100 x", "--offset 100: not a multiple of 512" },
		{ "--size 4k --bs 8k x", "--size 4k is smaller than a 8k request" },
		{ "--seed -3 x", "--seed -3" },
	};
	struct bench_opts o;
	char err[256];

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(&o, err, bad[i].args) == -EINVAL, "'%s' parsed", bad[i].args);
		ck_assert_msg(strstr(err, bad[i].why), "'%s': '%s' lacks '%s'", bad[i].args, err,
			      bad[i].why);
	}
}
END_TEST

START_TEST(opts_device)
{
	struct bench_opts o;
	char err[256];

	/* the region defaults to the rest of the device */
	ck_assert_int_eq(parse(&o, err, "--offset 1M x"), OPTS_RUN);
	ck_assert_int_eq(opts_fit_device(&o, 4 << 20, 512, err, sizeof(err)), 0);
	ck_assert_uint_eq(o.size, 3 << 20);
	ck_assert_int_eq(parse(&o, err, "--offset 1M --size 3M x"), OPTS_RUN);
	ck_assert_int_eq(opts_fit_device(&o, 4 << 20, 1, err, sizeof(err)), 0);

	ck_assert_int_eq(parse(&o, err, "--offset 4M x"), OPTS_RUN);
	ck_assert_int_eq(opts_fit_device(&o, 4 << 20, 512, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--offset 4M: the device has only 4M bytes"));
	ck_assert_int_eq(parse(&o, err, "--offset 1M --size 4M x"), OPTS_RUN);
	ck_assert_int_eq(opts_fit_device(&o, 4 << 20, 512, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "beyond the device's 4M bytes"));
	ck_assert_int_eq(parse(&o, err, "--bs 1M x"), OPTS_RUN);
	ck_assert_int_eq(opts_fit_device(&o, 512 << 10, 512, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "smaller than a 1M request"));
	/* 4 KiB blocks: 512-byte requests and offsets do not fit */
	ck_assert_int_eq(parse(&o, err, "--bssplit 512/50:4k/50 x"), OPTS_RUN);
	ck_assert_int_eq(opts_fit_device(&o, 4 << 20, 4096, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "a 512 request is not a multiple"));
	ck_assert_int_eq(parse(&o, err, "--offset 512 x"), OPTS_RUN);
	ck_assert_int_eq(opts_fit_device(&o, 4 << 20, 4096, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--offset 512: not a multiple"));
}
END_TEST

/* ---- histogram ---- */

START_TEST(hist_buckets)
{
	unsigned int prev = 0;

	/* exact below 64, then contiguous, monotonic, and each value inside its bucket */
	for (uint64_t v = 0; v < 64; v++)
		ck_assert_uint_eq(hist_bucket(v), v);
	for (uint64_t v = 1; v < (1u << 20); v += 1 + v / 300) {
		unsigned int b = hist_bucket(v);

		ck_assert_uint_ge(b, prev);
		ck_assert_uint_le(b, prev + 1);
		ck_assert_uint_le(hist_bucket_low(b), v);
		ck_assert_uint_gt(hist_bucket_low(b) + hist_bucket_width(b), v);
		/* the bucket is at most 1/64 of its values wide */
		ck_assert_uint_le(hist_bucket_width(b) * 64, hist_bucket_low(b) + 64);
		prev = b;
	}
	for (unsigned int b = 1; b < HIST_BUCKETS; b++)
		ck_assert_uint_eq(hist_bucket_low(b - 1) + hist_bucket_width(b - 1),
				  hist_bucket_low(b));
	/* beyond the range: the last bucket */
	ck_assert_uint_eq(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1);
	ck_assert_uint_eq(hist_bucket(1ull << HIST_MAX_BITS), HIST_BUCKETS - 1);
	ck_assert_uint_eq(hist_bucket((1ull << HIST_MAX_BITS) - 1), HIST_BUCKETS - 1);
}
END_TEST

static struct hist h1, h2;

static void near(uint64_t got, double want)
{
	ck_assert_msg(got >= want * (1 - 1.0 / 64) && got <= want * (1 + 1.0 / 64),
		      "%llu is not within 1/64 of %.0f", (unsigned long long)got, want);
}

START_TEST(hist_percentiles)
{
	hist_init(&h1);
	ck_assert_uint_eq(hist_percentile(&h1, 50), 0);
	ck_assert(hist_mean(&h1) == 0);

	/* 1 us .. 100 ms, uniform: pN is N% of the way */
	for (uint64_t v = 1; v <= 100000; v++)
		hist_add(&h1, v * 1000);
	ck_assert_uint_eq(h1.count, 100000);
	ck_assert_uint_eq(h1.min, 1000);
	ck_assert_uint_eq(h1.max, 100000000);
	near(hist_percentile(&h1, 50), 50e6);
	near(hist_percentile(&h1, 99), 99e6);
	near(hist_percentile(&h1, 99.9), 99.9e6);
	near(hist_percentile(&h1, 1), 1e6);
	ck_assert(hist_mean(&h1) == 50000.5 * 1000);
	/* the ends are the extremes seen, not a bucket's middle */
	ck_assert_uint_eq(hist_percentile(&h1, 100), 100000000);
	ck_assert_uint_eq(hist_percentile(&h1, 0), 1000);

	/* a tail: 990 fast ones and 10 slow ones */
	hist_init(&h2);
	for (int i = 0; i < 990; i++)
		hist_add(&h2, 20000);
	for (int i = 0; i < 10; i++)
		hist_add(&h2, 5000000);
	near(hist_percentile(&h2, 50), 20000);
	near(hist_percentile(&h2, 99), 20000);
	near(hist_percentile(&h2, 99.9), 5000000);
	/* one value: every percentile is it */
	hist_init(&h2);
	hist_add(&h2, 123456);
	ck_assert_uint_eq(hist_percentile(&h2, 50), 123456);
	ck_assert_uint_eq(hist_percentile(&h2, 99.9), 123456);
	/* small values are exact */
	hist_init(&h2);
	for (uint64_t v = 1; v <= 40; v++)
		hist_add(&h2, v);
	ck_assert_uint_eq(hist_percentile(&h2, 50), 20);
	ck_assert_uint_eq(hist_percentile(&h2, 100), 40);
}
END_TEST

START_TEST(hist_merging)
{
	hist_init(&h1);
	hist_init(&h2);
	for (uint64_t v = 1; v <= 1000; v++)
		hist_add(v % 2 ? &h1 : &h2, v * 1000);
	hist_merge(&h1, &h2);
	ck_assert_uint_eq(h1.count, 1000);
	ck_assert_uint_eq(h1.min, 1000);
	ck_assert_uint_eq(h1.max, 1000000);
	ck_assert_uint_eq(h1.sum, 500500 * 1000ull);
	near(hist_percentile(&h1, 50), 500000);
	near(hist_percentile(&h1, 99), 990000);
	/* an empty one changes nothing */
	hist_init(&h2);
	hist_merge(&h1, &h2);
	ck_assert_uint_eq(h1.min, 1000);
	ck_assert_uint_eq(h1.count, 1000);
}
END_TEST

static Suite *bench_suite(void)
{
	Suite *s = suite_create("bench");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, size_units);
	tcase_add_test(tc, bssplit_ionos);
	tcase_add_test(tc, bssplit_shares);
	tcase_add_test(tc, bssplit_errors);
	tcase_add_test(tc, opts_defaults);
	tcase_add_test(tc, opts_all);
	tcase_add_test(tc, opts_errors);
	tcase_add_test(tc, opts_device);
	suite_add_tcase(s, tc);
	tc = tcase_create("hist");
	tcase_add_test(tc, hist_buckets);
	tcase_add_test(tc, hist_percentiles);
	tcase_add_test(tc, hist_merging);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(bench_suite)
