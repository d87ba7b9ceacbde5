// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output.h"

void out_json(json_object *o)
{
	if (json_object_is_type(o, json_type_array) && !json_object_array_length(o)) {
		puts("[]");
		return;
	}
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_SPACED |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
}

void out_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	unsigned int u = 0;
	uint64_t whole = bytes, rem = 0;

	while (whole >= 1024 && u < sizeof(units) - 2) {
		rem = whole % 1024;
		whole /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
	else if (!rem || whole >= 100)
		snprintf(buf, len, "%" PRIu64 "%c", whole, units[u]);
	else
		snprintf(buf, len, "%.1f%c", (double)whole + (double)rem / 1024, units[u]);
}

int out_size_parse(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'S': shift = 9; break;
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	default: return -EINVAL;
	}
	if (*end && end[1] && strcasecmp(end + 1, "iB") && strcasecmp(end + 1, "B"))
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static void cell(json_object *row, const struct column *c, char *buf, size_t len)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(row, c->key, &v) || !v) {
		snprintf(buf, len, "-");
		return;
	}
	switch (c->kind) {
	case COL_SIZE:
		out_size((uint64_t)json_object_get_int64(v), buf, len);
		break;
	case COL_COUNT:
		snprintf(buf, len, "%zu", json_object_is_type(v, json_type_array) ?
						  json_object_array_length(v) : (size_t)0);
		break;
	case COL_INT:
		snprintf(buf, len, "%" PRId64, json_object_get_int64(v));
		break;
	default:
		snprintf(buf, len, "%s", json_object_get_string(v));
		break;
	}
}

void out_table(json_object *rows, const struct column *cols, unsigned int ncols)
{
	size_t n = json_object_array_length(rows);
	size_t width[16];
	char buf[512];

	for (unsigned int c = 0; c < ncols && c < 16; c++) {
		width[c] = strlen(cols[c].head);
		for (size_t r = 0; r < n; r++) {
			cell(json_object_array_get_idx(rows, r), &cols[c], buf, sizeof(buf));
			if (strlen(buf) > width[c])
				width[c] = strlen(buf);
		}
	}
	for (unsigned int c = 0; c < ncols && c < 16; c++)
		printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, cols[c].head,
		       c + 1 < ncols ? "  " : "\n");
	for (size_t r = 0; r < n; r++) {
		for (unsigned int c = 0; c < ncols && c < 16; c++) {
			cell(json_object_array_get_idx(rows, r), &cols[c], buf, sizeof(buf));
			printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, buf,
			       c + 1 < ncols ? "  " : "\n");
		}
	}
}

void out_fields(json_object *o)
{
	json_object_object_foreach(o, key, v) {
		if (json_object_is_type(v, json_type_array) || json_object_is_type(v, json_type_object))
			continue;
		if (!strcmp(key, "size") && v) {
			char sz[32];

			out_size((uint64_t)json_object_get_int64(v), sz, sizeof(sz));
			printf("%-20s %s (%" PRId64 " bytes)\n", key, sz, json_object_get_int64(v));
		} else {
			printf("%-20s %s\n", key, v ? json_object_get_string(v) : "-");
		}
	}
}
