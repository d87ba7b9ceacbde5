/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * librnbd public API.
 *
 * Conventions: every function returns 0 (or a non-negative count) on success
 * and a negative errno on failure, with a human-readable message for the
 * calling thread in rnbd_errmsg().  When a function that takes a completion
 * callback fails, the callback is never called.  The library never prints,
 * never exits and installs no signal handler.
 */
#ifndef RNBD_RNBD_H
#define RNBD_RNBD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RNBD_API __attribute__((visibility("default")))
#else
#define RNBD_API
#endif

/* Version of the library ("0.1.0"). */
RNBD_API const char *rnbd_version(void);

/* Message describing the last error of the calling thread ("" if none). */
RNBD_API const char *rnbd_errmsg(void);

enum rnbd_log_level {
	RNBD_LOG_ERR,
	RNBD_LOG_WARN,
	RNBD_LOG_INFO,
	RNBD_LOG_DEBUG,
};

typedef void (*rnbd_log_fn)(void *opaque, enum rnbd_log_level level, const char *msg);

/*
 * Route library log messages up to max_level to fn (NULL: drop them, the
 * default).  fn may be called from any library thread, concurrently.
 */
RNBD_API void rnbd_log_set_handler(rnbd_log_fn fn, void *opaque, enum rnbd_log_level max_level);

#ifdef __cplusplus
}
#endif

#endif /* RNBD_RNBD_H */
