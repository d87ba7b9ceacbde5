/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Blocking send/recv of exactly len bytes, for the benchmark peers. */
#ifndef RNBD_BENCH_FULL_IO_H
#define RNBD_BENCH_FULL_IO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* 0, or -1 on EOF or error */
static inline int full_io(int fd, void *buf, size_t len, bool out)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = out ? send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL) :
				  recv(fd, (char *)buf + done, len - done, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

#endif
