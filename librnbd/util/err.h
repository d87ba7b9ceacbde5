/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Error reporting: functions return 0 or a negative errno and leave a
 * human-readable message in a thread-local buffer (rnbd_errmsg()).
 */
#ifndef RNBD_UTIL_ERR_H
#define RNBD_UTIL_ERR_H

#include <stdarg.h>

#define RNBD_ERRMSG_MAX 512

/* Record a message for the calling thread and return err, for tail calls:
 * `return rnbd_err_set(-EINVAL, "bad size %u", sz);` */
int rnbd_err_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rnbd_err_vset(int err, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Prefix the current message with more context ("open /x: " + old). */
int rnbd_err_prefix(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
