// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "size.h"

static const char units[] = "kmgtpe";
static const char shown[] = "kMGTPE";

int size_parse(const char *s, uint64_t *out)
{
	const char *u;
	uint64_t v = 0;
	unsigned int shift = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - (unsigned int)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned int)(*s - '0');
	}
	if (*s) {
		u = strchr(units, tolower((unsigned char)*s));
		if (!u)
			return -EINVAL;
		shift = 10 * (unsigned int)(u - units + 1);
		s++;
		/* fio takes "k", "kb" and "kib" alike, all powers of 1024 */
		if (*s == 'i' || *s == 'I')
			s++;
		if (*s == 'b' || *s == 'B')
			s++;
		if (*s)
			return -EINVAL;
	}
	if (shift && v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

const char *size_str(uint64_t v, char *buf, unsigned int len)
{
	unsigned int i = 0;

	while (v && i < sizeof(shown) - 1 && !(v & 1023)) {
		v >>= 10;
		i++;
	}
	if (i)
		snprintf(buf, len, "%llu%c", (unsigned long long)v, shown[i - 1]);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}
