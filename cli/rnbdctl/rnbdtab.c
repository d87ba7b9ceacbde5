// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnbdctl.h"
#include "rnbdtab.h"

#define MAX_WORDS 32

int rnbdtab_split(char *line, char **argv, int max)
{
	char *r = line, *w = line;
	int n = 0;

	for (;;) {
		char quote = 0;

		while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
			r++;
		if (!*r || *r == '#')
			return n;
		if (n == max)
			return -E2BIG;
		argv[n++] = w;
		for (; *r && (quote || (*r != ' ' && *r != '\t' && *r != '\n' && *r != '\r')); r++) {
			if (!quote && (*r == '\'' || *r == '"'))
				quote = *r;
			else if (quote && *r == quote)
				quote = 0;
			else
				*w++ = *r;
		}
		if (quote)
			return -EINVAL;
		/* r is at a blank or the end, and w <= r: end the word there */
		if (*r)
			r++;
		*w++ = '\0';
	}
}

int rnbdtab_foreach(int (*fn)(int argc, char **argv, void *opaque), void *opaque)
{
	const char *path = getenv("RNBD_TAB");
	char *line = NULL, *argv[MAX_WORDS + 2];
	size_t cap = 0;
	unsigned int lineno = 0, bad = 0;
	FILE *f;
	int ret = 0;

	if (!path || !*path)
		path = RNBDTAB_DEFAULT;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : rnbdctl_err(-errno, "%s: %s", path, strerror(errno));
	while (!ret && getline(&line, &cap, f) > 0) {
		int n;

		lineno++;
		argv[0] = "map";
		n = rnbdtab_split(line, argv + 1, MAX_WORDS);
		if (n < 0) {
			fprintf(stderr, "rnbdctl: %s:%u: %s\n", path, lineno,
				n == -E2BIG ? "too many words" : "unmatched quote");
			bad++;
			continue;
		}
		if (n) {
			argv[n + 1] = NULL;
			ret = fn(n + 1, argv, opaque);
		}
	}
	free(line);
	fclose(f);
	/* the other lines are mapped, but a line skipped is a failure too */
	if (!ret && bad)
		ret = rnbdctl_err(-EINVAL, "%s: %u line%s not mapped", path, bad,
				  bad == 1 ? "" : "s");
	return ret;
}
