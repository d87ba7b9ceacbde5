/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What rnbdctl prints: JSON for programs, aligned tables for people. */
#ifndef RNBDCTL_OUTPUT_H
#define RNBDCTL_OUTPUT_H

#include <json-c/json.h>
#include <stdint.h>

enum col_kind { COL_STR, COL_INT, COL_SIZE, COL_COUNT };

struct column {
	const char *key;	/* field of each row; COL_COUNT: an array's length */
	const char *head;
	enum col_kind kind;
};

/* o as pretty JSON and a newline. */
void out_json(json_object *o);
/* One line per row of the array, headed, columns aligned; "-" for null. */
void out_table(json_object *rows, const struct column *cols, unsigned int ncols);
/* "key: value" lines for one object, arrays as counts. */
void out_fields(json_object *o);
/* 1536 -> "1.5K", 1 << 30 -> "1G". */
void out_size(uint64_t bytes, char *buf, size_t len);
/* "1G", "512M", "4096", "8s" (512-byte sectors); -EINVAL if not a size. */
int out_size_parse(const char *s, uint64_t *out);

#endif
