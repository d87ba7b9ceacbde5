// SPDX-License-Identifier: LGPL-2.1-or-later
/* Thread-local error messages and the log handler. */
#include <errno.h>
#include <pthread.h>

#include "check-main.h"
#include "util/err.h"
#include "util/log.h"

static void *other_thread(void *arg)
{
	(void)arg;
	/* a fresh thread starts with an empty message and keeps its own */
	ck_assert_str_eq(rnbd_errmsg(), "");
	rnbd_err_set(-EIO, "thread error");
	return NULL;
}

START_TEST(errmsg_per_thread)
{
	pthread_t t;

	ck_assert_int_eq(rnbd_err_set(-EINVAL, "bad %s %d", "value", 42), -EINVAL);
	ck_assert_str_eq(rnbd_errmsg(), "bad value 42");
	ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_str_eq(rnbd_errmsg(), "bad value 42");
	ck_assert_int_eq(rnbd_err_prefix(-ENOENT, "open %s: ", "/x"), -ENOENT);
	ck_assert_str_eq(rnbd_errmsg(), "open /x: bad value 42");
}
END_TEST

struct captured {
	int calls;
	enum rnbd_log_level level;
	char msg[64];
};

static void capture(void *opaque, enum rnbd_log_level level, const char *msg)
{
	struct captured *c = opaque;

	c->calls++;
	c->level = level;
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

START_TEST(log_handler_filters)
{
	struct captured c = { 0 };

	rnbd_log_err("dropped without a handler");
	rnbd_log_set_handler(capture, &c, RNBD_LOG_WARN);
	rnbd_log_info("filtered %d", 1);
	ck_assert_int_eq(c.calls, 0);
	rnbd_log_warn("path %s down", "p0");
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(c.level, RNBD_LOG_WARN);
	ck_assert_str_eq(c.msg, "path p0 down");
	rnbd_log_set_handler(NULL, NULL, RNBD_LOG_DEBUG);
	rnbd_log_err("dropped again");
	ck_assert_int_eq(c.calls, 1);
}
END_TEST

START_TEST(version_string)
{
	ck_assert_str_eq(rnbd_version(), RNBD_VERSION);
}
END_TEST

static Suite *err_log_suite(void)
{
	Suite *s = suite_create("err-log");
	TCase *tc = tcase_create("util");

	tcase_add_test(tc, errmsg_per_thread);
	tcase_add_test(tc, log_handler_filters);
	tcase_add_test(tc, version_string);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(err_log_suite)
