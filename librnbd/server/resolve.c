// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rnbd/rnbd-proto.h"
#include "resolve.h"
#include "util/err.h"

#define SESSNAME_TAG "%SESSNAME%"

/* Copy src to dst collapsing every run of '/' into one. */
static int collapse(const char *src, char *dst, size_t len)
{
	size_t n = 0;

	for (; *src; src++) {
		if (*src == '/' && n && dst[n - 1] == '/')
			continue;
		if (n + 1 >= len)
			return -EINVAL;
		dst[n++] = *src;
	}
	dst[n] = '\0';
	return 0;
}

int rnbd_resolve_root(const char *search_path, const char *sessname, char *out, size_t len)
{
	const char *tag = strstr(search_path, SESSNAME_TAG);
	char buf[RNBD_PATH_MAX];
	int n;

	if (tag)
		n = snprintf(buf, sizeof(buf), "%.*s/%s/", (int)(tag - search_path), search_path,
			     sessname);
	else
		n = snprintf(buf, sizeof(buf), "%s/", search_path);
	if (n < 0 || (size_t)n >= sizeof(buf) || collapse(buf, out, len))
		return rnbd_err_set(-EINVAL, "search path for session %s is too long", sessname);
	return 0;
}

int rnbd_resolve_normalise(const char *dev_name, char *out, size_t len)
{
	const char *c;

	if (!dev_name[0])
		return rnbd_err_set(-EINVAL, "empty device name");
	if (strstr(dev_name, ".."))
		return rnbd_err_set(-EINVAL, "device name '%s' contains '..'", dev_name);
	c = dev_name + strspn(dev_name, "/");
	if (!*c)
		return rnbd_err_set(-EINVAL, "device name '%s' is nothing but slashes", dev_name);
	if (collapse(c, out, len))
		return rnbd_err_set(-EINVAL, "device name '%s' is too long", dev_name);
	/* "./a" and "a/./b" would be "a" and "a/b" to open(), not to fnmatch() */
	for (c = out; c; c = strchr(c, '/')) {
		c += *c == '/';
		if (c[0] == '.' && (c[1] == '/' || !c[1]))
			return rnbd_err_set(-EINVAL, "device name '%s' has a '.' component",
					    dev_name);
	}
	return 0;
}

int rnbd_resolve_name(const char *root, const char *dev_name, char *rel, size_t len)
{
	if (!dev_name[0])
		return rnbd_err_set(-EINVAL, "empty device name");
	if (strstr(dev_name, ".."))
		return rnbd_err_set(-EINVAL, "device name '%s' contains '..'", dev_name);
	if (strlen(root) + strlen(dev_name) >= RNBD_PATH_MAX)
		return rnbd_err_set(-EINVAL, "device path too long");
	while (*dev_name == '/')
		dev_name++;
	if (!*dev_name)
		return rnbd_err_set(-EINVAL, "device name names the search path itself");
	if (collapse(dev_name, rel, len))
		return rnbd_err_set(-EINVAL, "device path too long");
	return 0;
}

int rnbd_resolve_open(const char *root, const char *rel, bool readonly)
{
	struct open_how how = {
		.flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int dirfd, fd, err;

	dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return rnbd_err_set(-errno, "search path %s: %s", root, strerror(errno));
	fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	err = errno;
	close(dirfd);
	if (fd >= 0)
		return fd;
	if (err == EXDEV)
		return rnbd_err_set(-EXDEV, "%s leads out of the search path %s", rel, root);
	if (err == ENOSYS)
		return rnbd_err_set(-ENOSYS, "openat2 is not available: cannot open %s safely",
				    rel);
	return rnbd_err_set(-err, "%s%s: %s", root, rel, strerror(err));
}
