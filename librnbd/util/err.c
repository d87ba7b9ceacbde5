// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdio.h>
#include <string.h>

#include "rnbd/rnbd.h"
#include "err.h"

static _Thread_local char errmsg[RNBD_ERRMSG_MAX];

const char *rnbd_errmsg(void)
{
	return errmsg;
}

int rnbd_err_vset(int err, const char *fmt, va_list ap)
{
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	return err;
}

int rnbd_err_set(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rnbd_err_vset(err, fmt, ap);
	va_end(ap);
	return err;
}

int rnbd_err_prefix(int err, const char *fmt, ...)
{
	char old[RNBD_ERRMSG_MAX];
	va_list ap;
	int n;

	memcpy(old, errmsg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(errmsg))
		snprintf(errmsg + n, sizeof(errmsg) - n, "%s", old);
	return err;
}
