/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Library logging.  The library never prints: messages go to the handler the
 * application installs with rnbd_log_set_handler(), or nowhere.
 */
#ifndef RNBD_UTIL_LOG_H
#define RNBD_UTIL_LOG_H

#include "rnbd/rnbd.h"

void rnbd_log(enum rnbd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define rnbd_log_err(...)	rnbd_log(RNBD_LOG_ERR, __VA_ARGS__)
#define rnbd_log_warn(...)	rnbd_log(RNBD_LOG_WARN, __VA_ARGS__)
#define rnbd_log_info(...)	rnbd_log(RNBD_LOG_INFO, __VA_ARGS__)
#define rnbd_log_debug(...)	rnbd_log(RNBD_LOG_DEBUG, __VA_ARGS__)

#endif
