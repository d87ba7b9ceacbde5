// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rnbdctl.h"

void rnbdctl_rundir(char *buf, size_t len, const char *sub)
{
	const char *base = getenv("RNBD_RUN_DIR");

	if (!base || !*base)
		base = "/run/rnbd";
	if (sub)
		snprintf(buf, len, "%s/%s", base, sub);
	else
		snprintf(buf, len, "%s", base);
}

int rnbdctl_mkdirs(const char *dir)
{
	char tmp[512];

	if (strlen(dir) >= sizeof(tmp))
		return -ENAMETOOLONG;
	strcpy(tmp, dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int rnbdctl_mode_parse(const char *s, enum rnbd_access_mode *out)
{
	if (!strcmp(s, "ro"))
		*out = RNBD_ACCESS_RO;
	else if (!strcmp(s, "rw"))
		*out = RNBD_ACCESS_RW;
	else if (!strcmp(s, "migration"))
		*out = RNBD_ACCESS_MIGRATION;
	else
		return -EINVAL;
	return 0;
}

const char *rnbdctl_mode_str(enum rnbd_access_mode m)
{
	return m == RNBD_ACCESS_RO ? "ro" : m == RNBD_ACCESS_RW ? "rw" : "migration";
}

static __thread char errbuf[512];

int rnbdctl_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return err;
}

const char *rnbdctl_errmsg(void)
{
	return errbuf;
}
