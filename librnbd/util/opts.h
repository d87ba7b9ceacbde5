/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Public option structs start with their size, so that fields can be added
 * at the end: a caller built against an older, shorter struct still works
 * and the fields it does not know are 0.
 */
#ifndef RNBD_UTIL_OPTS_H
#define RNBD_UTIL_OPTS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Copy the caller's struct of src_size bytes into dst (ours, dst_size
 * bytes), zero-filling what it lacks.  -EINVAL with a message naming what
 * when src_size is below the first release's min_size or above ours.
 */
int rnbd_opts_take(void *dst, size_t dst_size, const void *src, size_t src_size,
		   size_t min_size, const char *what);

/* The sndbuf/rcvbuf of an option struct as the socket options take them:
 * 0, or -EINVAL with a message when one is above INT_MAX. */
int rnbd_opts_sockbufs(uint32_t sndbuf, uint32_t rcvbuf, int *snd, int *rcv);

#endif
