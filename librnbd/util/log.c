// SPDX-License-Identifier: LGPL-2.1-or-later
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static rnbd_log_fn sink_fn;
static void *sink_opaque;
/* Checked without the lock so that filtered messages cost one load. */
static atomic_int sink_max = -1;

void rnbd_log_set_handler(rnbd_log_fn fn, void *opaque, enum rnbd_log_level max)
{
	pthread_mutex_lock(&sink_lock);
	sink_fn = fn;
	sink_opaque = opaque;
	atomic_store(&sink_max, fn ? (int)max : -1);
	pthread_mutex_unlock(&sink_lock);
}

void rnbd_log(enum rnbd_log_level level, const char *fmt, ...)
{
	rnbd_log_fn fn;
	void *opaque;
	char msg[1024];
	va_list ap;

	if ((int)level > atomic_load_explicit(&sink_max, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&sink_lock);
	fn = sink_fn;
	opaque = sink_opaque;
	pthread_mutex_unlock(&sink_lock);
	if (fn)
		fn(opaque, level, msg);
}

static void stderr_sink(void *opaque, enum rnbd_log_level level, const char *msg)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	(void)opaque;
	fprintf(stderr, "librnbd: %s: %s\n", names[level], msg);
}

/* RNBD_LOG: a program that sets no handler can still be watched. */
__attribute__((constructor)) static void log_from_env(void)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	const char *v = getenv("RNBD_LOG");

	for (unsigned int i = 0; v && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(v, names[i]))
			rnbd_log_set_handler(stderr_sink, NULL, (enum rnbd_log_level)i);
}
