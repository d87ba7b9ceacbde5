// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bssplit.h"
#include "size.h"

static int check_bs(uint64_t bs, const char *what, char *err, size_t errlen)
{
	if (bs < BS_MIN || bs > BS_MAX || bs % BS_MIN) {
		snprintf(err, errlen, "%s: a block size is a multiple of 512 from 512 to 16M", what);
		return -EINVAL;
	}
	return 0;
}

/* Spread the percentages over by_pct[] and note the extremes. */
static void fill_table(struct bssplit *b)
{
	unsigned int p = 0;

	b->min = BS_MAX;
	b->max = 0;
	for (unsigned int i = 0; i < b->n; i++) {
		for (unsigned int k = 0; k < b->pct[i]; k++)
			b->by_pct[p++] = b->size[i];
		if (b->pct[i] && b->size[i] < b->min)
			b->min = b->size[i];
		if (b->pct[i] && b->size[i] > b->max)
			b->max = b->size[i];
	}
}

int bssplit_single(struct bssplit *out, uint64_t bs, char *err, size_t errlen)
{
	char what[32];
	int ret;

	snprintf(what, sizeof(what), "%llu", (unsigned long long)bs);
	ret = check_bs(bs, what, err, errlen);
	if (ret)
		return ret;
	memset(out, 0, sizeof(*out));
	out->n = 1;
	out->size[0] = (uint32_t)bs;
	out->pct[0] = 100;
	fill_table(out);
	return 0;
}

/* One "SIZE[/PCT]" entry; *pct is -1 when the entry gives none. */
static int parse_entry(char *e, uint32_t *size, int *pct, char *err, size_t errlen)
{
	char *slash = strchr(e, '/');
	uint64_t bs;
	char *end;
	long p;

	*pct = -1;
	if (slash) {
		*slash = '\0';
		if (slash[1]) {
			errno = 0;
			p = strtol(slash + 1, &end, 10);
			if (*end || errno || p < 0 || p > 100) {
				snprintf(err, errlen, "'%s/%s': the percentage is a whole number 0 to 100",
					 e, slash + 1);
				return -EINVAL;
			}
			*pct = (int)p;
		}
	}
	if (size_parse(e, &bs)) {
		snprintf(err, errlen, "'%s' is not a size", e);
		return -EINVAL;
	}
	if (check_bs(bs, e, err, errlen))
		return -EINVAL;
	*size = (uint32_t)bs;
	return 0;
}

int bssplit_parse(const char *s, struct bssplit *out, char *err, size_t errlen)
{
	unsigned int given = 0, unset = 0, share, extra;
	int pcts[BSSPLIT_MAX];
	char *copy, *rest, *e;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	copy = strdup(s);
	if (!copy) {
		snprintf(err, errlen, "no memory");
		return -ENOMEM;
	}
	rest = copy;
	while ((e = strsep(&rest, ":"))) {
		if (!*e) {
			snprintf(err, errlen, "'%s': an empty entry", s);
			ret = -EINVAL;
			goto out;
		}
		if (out->n == BSSPLIT_MAX) {
			snprintf(err, errlen, "more than %d block sizes", BSSPLIT_MAX);
			ret = -EINVAL;
			goto out;
		}
		ret = parse_entry(e, &out->size[out->n], &pcts[out->n], err, errlen);
		if (ret)
			goto out;
		if (pcts[out->n] < 0)
			unset++;
		else
			given += (unsigned int)pcts[out->n];
		out->n++;
	}
	if (unset ? given >= 100 : given > 100) {
		snprintf(err, errlen, "'%s': the percentages add up to %u%s", s, given,
			 unset ? ", leaving nothing for the entries without one" : ", over 100");
		ret = -EINVAL;
		goto out;
	}
	/* fio gives what a full list leaves of 100 to its last size: so do we */
	if (!unset)
		pcts[out->n - 1] += (int)(100 - given);
	/* what is left goes to the entries without a percentage, the first
	 * ones getting the odd points */
	share = unset ? (100 - given) / unset : 0;
	extra = unset ? (100 - given) % unset : 0;
	for (unsigned int i = 0; i < out->n; i++) {
		if (pcts[i] >= 0) {
			out->pct[i] = (unsigned int)pcts[i];
			continue;
		}
		out->pct[i] = share + (extra ? 1 : 0);
		if (extra)
			extra--;
	}
	fill_table(out);
out:
	free(copy);
	return ret;
}
