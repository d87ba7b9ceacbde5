/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared main() and helpers for the Check suites: one suite per file. */
#ifndef RNBD_TESTS_CHECK_MAIN_H
#define RNBD_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnbd/rnbd.h"

/* Build a byte array from a string of hex pairs ("52 54 01 00"). */
static inline size_t hex_to_bytes(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*hex) {
		unsigned int v;

		if (*hex == ' ' || *hex == '\n') {
			hex++;
			continue;
		}
		ck_assert_int_eq(sscanf(hex, "%2x", &v), 1);
		ck_assert_uint_lt(n, cap);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

/* The thread's error message must mention `needle`. */
#define ck_assert_errmsg_has(needle) \
	ck_assert_msg(strstr(rnbd_errmsg(), (needle)), "errmsg '%s' lacks '%s'", rnbd_errmsg(), \
		      (needle))

#define CHECK_MAIN(suite_fn)                                          \
	int main(void)                                                \
	{                                                             \
		SRunner *sr = srunner_create(suite_fn());             \
		int failed;                                           \
		srunner_run_all(sr, CK_NORMAL);                       \
		failed = srunner_ntests_failed(sr);                   \
		srunner_free(sr);                                     \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;          \
	}

#endif
