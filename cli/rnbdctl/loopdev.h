/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loop devices over the FUSE files of mapped devices. */
#ifndef RNBDCTL_LOOPDEV_H
#define RNBDCTL_LOOPDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Attach file to a free loop device with direct I/O (no second page cache)
 * and the device's logical block size; node gets "/dev/loopN".  Returns N.
 */
int loopdev_attach(const char *file, uint32_t block_size, bool readonly, char *node,
		   size_t len);
/* Detach loop N; with force, even while it is open (it goes when closed). */
int loopdev_detach(int n, bool force);
/* Let loop N see a new size of its file. */
int loopdev_set_capacity(int n);

#endif
