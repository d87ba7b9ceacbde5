// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "size.h"

const char opts_usage[] =
	"usage: rnbd-bench [OPTIONS] URI\n"
	"  URI: rnbd://HOST[:PORT]/DEVICE (librnbd), nbd://HOST[:PORT][/EXPORT] or\n"
	"       nbd+unix:///[EXPORT]?socket=PATH (libnbd)\n"
	"  --rw MODE          read, write, randread, randwrite, randrw[:READ_PERCENT]\n"
	"                     (default randread; randrw is 50% reads)\n"
	"  --bs SIZE|SPLIT    request size (default 4k), or sizes and shares as\n"
	"                     --bssplit takes them\n"
	"  --bssplit SPLIT    sizes and shares, e.g. 512/20:4k/50:64k/30\n"
	"  --iodepth N        requests in flight per job (default 1)\n"
	"  --jobs N           threads, each with its own queue (default 1)\n"
	"  --runtime SECONDS  how long to measure (default 10)\n"
	"  --ramp SECONDS     run this long first without counting (default 0)\n"
	"  --size SIZE        bytes of the device to use (default: to its end)\n"
	"  --offset SIZE      where that region starts (default 0)\n"
	"  --once             read or write: go over the region once (each job its\n"
	"                     share), then stop, or at --runtime if that comes first\n"
	"  --verify           write self-checking blocks, check every read, and read\n"
	"                     back the whole region after a run that wrote\n"
	"  --seed N           random seed (default: from the clock)\n"
	"  --json             results as one JSON object\n"
	"  -h, --help         this help;  -V, --version\n"
	"Exit status: 0 ok, 1 an I/O error or a verify mismatch, 2 bad usage.\n";

enum {
	O_RW = 256, O_BS, O_BSSPLIT, O_IODEPTH, O_JOBS, O_RUNTIME, O_RAMP, O_SIZE, O_OFFSET,
	O_VERIFY, O_SEED, O_JSON, O_ONCE,
};

static const struct option longopts[] = {
	{ "rw", required_argument, NULL, O_RW },
	{ "bs", required_argument, NULL, O_BS },
	{ "bssplit", required_argument, NULL, O_BSSPLIT },
	{ "iodepth", required_argument, NULL, O_IODEPTH },
	{ "jobs", required_argument, NULL, O_JOBS },
	{ "numjobs", required_argument, NULL, O_JOBS },
	{ "runtime", required_argument, NULL, O_RUNTIME },
	{ "ramp", required_argument, NULL, O_RAMP },
	{ "size", required_argument, NULL, O_SIZE },
	{ "offset", required_argument, NULL, O_OFFSET },
	{ "verify", no_argument, NULL, O_VERIFY },
	{ "seed", required_argument, NULL, O_SEED },
	{ "json", no_argument, NULL, O_JSON },
	{ "once", no_argument, NULL, O_ONCE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

__attribute__((format(printf, 3, 4)))
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_uint(const char *opt, const char *arg, unsigned int min, unsigned int max,
		      unsigned int *out, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (!*arg || *arg == '-' || *end || errno || v < min || v > max)
		return bad(err, errlen, "%s %s: a whole number from %u to %u", opt, arg, min, max);
	*out = (unsigned int)v;
	return 0;
}

static int parse_rw(struct bench_opts *o, const char *arg, char *err, size_t errlen)
{
	static const struct { const char *name; bool random; unsigned int read_pct; } modes[] = {
		{ "read", false, 100 }, { "write", false, 0 }, { "randread", true, 100 },
		{ "randwrite", true, 0 }, { "randrw", true, 50 },
	};
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);

	for (unsigned int i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strlen(modes[i].name) != len || strncmp(arg, modes[i].name, len))
			continue;
		o->rw = modes[i].name;
		o->random = modes[i].random;
		o->read_pct = modes[i].read_pct;
		if (!colon)
			return 0;
		if (strcmp(o->rw, "randrw"))
			return bad(err, errlen, "--rw %s: only randrw takes a read percentage", arg);
		if (parse_uint("", colon + 1, 0, 100, &o->read_pct, err, errlen))
			return bad(err, errlen, "--rw %s: the read percentage is a whole number "
				   "from 0 to 100", arg);
		return 0;
	}
	return bad(err, errlen,
		   "--rw %s: not one of read, write, randread, randwrite, randrw[:READ_PERCENT]",
		   arg);
}

static int parse_secs(const char *opt, const char *arg, bool zero_ok, double *out, char *err,
		      size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	/* v == v: NaN is not a time */
	if (!*arg || *end || errno || v != v || v < 0 || (!zero_ok && v == 0) || v > RUNTIME_MAX)
		return bad(err, errlen, "%s %s: seconds, %s to %.0f", opt, arg,
			   zero_ok ? "0" : "more than 0", RUNTIME_MAX);
	*out = v;
	return 0;
}

static int parse_region(const char *opt, const char *arg, uint64_t *out, char *err,
			size_t errlen)
{
	int ret = size_parse(arg, out);

	if (ret == -ERANGE)
		return bad(err, errlen, "%s %s: too large", opt, arg);
	if (ret)
		return bad(err, errlen, "%s %s: not a size (like 4096, 64k, 1G)", opt, arg);
	if (*out % BS_MIN)
		return bad(err, errlen, "%s %s: not a multiple of 512", opt, arg);
	return 0;
}

static void set_defaults(struct bench_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->rw = "randread";
	o->random = true;
	o->read_pct = 100;
	o->iodepth = 1;
	o->jobs = 1;
	o->runtime = 10;
}

/* Checks that need every option: each one alone was fine. */
static int check_combination(struct bench_opts *o, const char *bs, const char *split, char *err,
			     size_t errlen)
{
	if (bs && split)
		return bad(err, errlen, "--bs %s and --bssplit %s: give one or the other", bs,
			   split);
	if (o->once && o->random)
		return bad(err, errlen, "--once goes over the region in order: --rw read or write, "
			   "not %s", o->rw);
	if (!bs && !split)
		return bssplit_single(&o->bs, 4096, err, errlen);
	if (o->size && o->size < o->bs.max) {
		char a[24], b[24];

		return bad(err, errlen, "--size %s is smaller than a %s request",
			   size_str(o->size, a, 24), size_str(o->bs.max, b, 24));
	}
	return 0;
}

int opts_parse(struct bench_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	const char *bs_arg = NULL, *split_arg = NULL;
	int c, ret = 0;

	set_defaults(o);
	optind = 0;	/* GNU: start over, the tests parse many command lines */
	optopt = 0;
	opterr = 0;
	while (!ret && (c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
		/* what getopt stopped at, for the message */
		char opt[64];

		if (optopt && optopt < 256)
			snprintf(opt, sizeof(opt), "-%c", optopt);
		else
			snprintf(opt, sizeof(opt), "%s", argv[optind - 1]);
		switch (c) {
		case O_RW: ret = parse_rw(o, optarg, err, errlen); break;
		case O_BS: {
			char why[256];
			uint64_t v;

			bs_arg = optarg;
			/* fio's spelling: --bs also takes a list, as --bssplit does */
			if (strpbrk(optarg, "/:")) {
				if (bssplit_parse(optarg, &o->bs, why, sizeof(why)))
					ret = bad(err, errlen, "--bs %s", why);
			} else if (size_parse(optarg, &v))
				ret = bad(err, errlen, "--bs %s: not a size (like 512, 4k, 1M)",
					  optarg);
			else if (bssplit_single(&o->bs, v, err, errlen))
				ret = bad(err, errlen, "--bs %s: a multiple of 512 from 512 to 16M",
					  optarg);
			break;
		}
		case O_BSSPLIT: {
			char why[256];

			split_arg = optarg;
			if (bssplit_parse(optarg, &o->bs, why, sizeof(why)))
				ret = bad(err, errlen, "--bssplit %s", why);
			break;
		}
		case O_IODEPTH:
			ret = parse_uint("--iodepth", optarg, 1, IODEPTH_MAX, &o->iodepth, err,
					 errlen);
			break;
		case O_JOBS:
			ret = parse_uint("--jobs", optarg, 1, JOBS_MAX, &o->jobs, err, errlen);
			break;
		case O_RUNTIME:
			ret = parse_secs("--runtime", optarg, false, &o->runtime, err, errlen);
			break;
		case O_RAMP: ret = parse_secs("--ramp", optarg, true, &o->ramp, err, errlen); break;
		case O_SIZE:
			ret = parse_region("--size", optarg, &o->size, err, errlen);
			if (!ret && !o->size)
				ret = bad(err, errlen, "--size %s: must not be 0", optarg);
			break;
		case O_OFFSET: ret = parse_region("--offset", optarg, &o->offset, err, errlen); break;
		case O_VERIFY: o->verify = true; break;
		case O_SEED: {
			char *end;

			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			o->seed_set = true;
			if (!*optarg || *optarg == '-' || *end || errno)
				ret = bad(err, errlen, "--seed %s: a whole number", optarg);
			break;
		}
		case O_JSON: o->json = true; break;
		case O_ONCE: o->once = true; break;
		case 'h': return OPTS_HELP;
		case 'V': return OPTS_VERSION;
		case ':':
			ret = bad(err, errlen, "%s needs a value", opt);
			break;
		default:
			ret = bad(err, errlen, "unknown option '%s'", opt);
			break;
		}
	}
	if (ret)
		return ret;
	if (optind != argc - 1)
		return bad(err, errlen, "%s", optind >= argc ? "no URI given" : "one URI only");
	o->uri = argv[optind];
	return check_combination(o, bs_arg, split_arg, err, errlen);
}

int opts_fit_device(struct bench_opts *o, uint64_t dev_size, uint32_t block_size, char *err,
		    size_t errlen)
{
	char a[24], b[24], c[24];

	if (o->offset >= dev_size)
		return bad(err, errlen, "--offset %s: the device has only %s bytes",
			   size_str(o->offset, a, 24), size_str(dev_size, b, 24));
	if (!o->size)
		o->size = dev_size - o->offset;
	if (o->size > dev_size - o->offset)
		return bad(err, errlen, "--offset %s + --size %s: beyond the device's %s bytes",
			   size_str(o->offset, a, 24), size_str(o->size, b, 24),
			   size_str(dev_size, c, 24));
	if (o->size < o->bs.max)
		return bad(err, errlen, "the region (%s bytes) is smaller than a %s request",
			   size_str(o->size, a, 24), size_str(o->bs.max, b, 24));
	if (o->offset % block_size)
		return bad(err, errlen, "--offset %s: not a multiple of the device's %u-byte blocks",
			   size_str(o->offset, a, 24), block_size);
	for (unsigned int i = 0; i < o->bs.n; i++)
		if (o->bs.size[i] % block_size)
			return bad(err, errlen, "a %s request is not a multiple of the device's "
				   "%u-byte blocks", size_str(o->bs.size[i], a, 24), block_size);
	return 0;
}
