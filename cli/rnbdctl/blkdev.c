// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkdev.h"

/* Whether any process but this one holds path open, as fuser(1) looks. */
static bool open_elsewhere(const char *path)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;
	bool found = false;
	pid_t self = getpid();

	while (proc && !found && (p = readdir(proc))) {
		char dir[300], link[PATH_MAX], target[PATH_MAX];
		struct dirent *f;
		DIR *fds;

		if (p->d_name[0] < '1' || p->d_name[0] > '9' || atoi(p->d_name) == self)
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s/fd", p->d_name);
		fds = opendir(dir);
		while (fds && !found && (f = readdir(fds))) {
			ssize_t n;

			if (f->d_name[0] == '.')
				continue;
			snprintf(link, sizeof(link), "%s/%s", dir, f->d_name);
			n = readlink(link, target, sizeof(target) - 1);
			if (n > 0) {
				target[n] = '\0';
				found = !strcmp(target, path);
			}
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
	return found;
}

static bool busy_now(const char *node)
{
	int fd;

	/* O_EXCL on a block device fails while it is mounted or claimed */
	fd = open(node, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return errno == EBUSY;
	close(fd);
	return open_elsewhere(node);
}

/*
 * A probe (udev's blkid, lsblk, another loop set-up trying each device)
 * holds a device for an instant, and the claim of a file system can
 * outlive its umount by a moment (seen once: umount returned and unmap
 * still found the device busy): look again for up to a second.
 */
bool blkdev_busy(const char *node)
{
	for (int i = 0; i < 10; i++) {
		if (!busy_now(node))
			return false;
		usleep(100 * 1000);
	}
	return true;
}
