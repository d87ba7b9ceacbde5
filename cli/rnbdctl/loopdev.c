// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "loopdev.h"
#include "rnbd/rnbd.h"

#define ATTACH_TRIES 16

int loopdev_attach(const char *file, uint32_t block_size, bool readonly, char *node,
		   size_t len)
{
	struct loop_config cfg = {
		.block_size = block_size,
		.info.lo_flags = LO_FLAGS_DIRECT_IO | (readonly ? LO_FLAGS_READ_ONLY : 0),
	};
	int ctl, fd, lfd, n = -1, err = 0;

	fd = open(file, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_DIRECT);
	if (fd < 0)
		return -errno;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	cfg.fd = (uint32_t)fd;
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", file);
	/* another program may take the free device between the two calls */
	for (int i = 0; i < ATTACH_TRIES; i++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			err = -errno;
			break;
		}
		snprintf(node, len, "/dev/loop%d", n);
		lfd = open(node, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			err = -errno;
			break;
		}
		err = ioctl(lfd, LOOP_CONFIGURE, &cfg) ? -errno : 0;
		close(lfd);
		if (err != -EBUSY)
			break;
	}
	close(ctl);
	close(fd);
	return err ? err : n;
}

int loopdev_detach(int n, bool force)
{
	char node[32];
	struct loop_info64 info;
	int fd, err;

	snprintf(node, sizeof(node), "/dev/loop%d", n);
	fd = open(node, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = ioctl(fd, LOOP_CLR_FD) ? -errno : 0;
	/* open elsewhere: let the kernel detach it when the last user closes */
	if (err == -EBUSY && force && !ioctl(fd, LOOP_GET_STATUS64, &info)) {
		info.lo_flags |= LO_FLAGS_AUTOCLEAR;
		err = ioctl(fd, LOOP_SET_STATUS64, &info) ? -errno : 0;
	}
	close(fd);
	return err;
}

int loopdev_set_capacity(int n)
{
	char node[32];
	int fd, err;

	snprintf(node, sizeof(node), "/dev/loop%d", n);
	fd = open(node, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = ioctl(fd, LOOP_SET_CAPACITY, 0) ? -errno : 0;
	close(fd);
	return err;
}
