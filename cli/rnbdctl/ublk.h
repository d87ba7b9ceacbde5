/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A mapped device as /dev/ublkbN, served through the kernel's ublk_drv:
 * the kernel hands each block request to a queue thread here over
 * io_uring, which passes it to librnbd and commits the result.
 */
#ifndef RNBDCTL_UBLK_H
#define RNBDCTL_UBLK_H

#include <stdbool.h>
#include <stddef.h>

#include "rnbd/rnbd.h"

struct ublkdev;

/* Whether ublk_drv is there (loaded on first use where modprobe can). */
bool ublk_available(void);

/* Make and start the device; node gets "/dev/ublkbN" once it exists. */
int ublkdev_add(struct rnbd_dev *dev, bool readonly, struct ublkdev **out, char *node,
		size_t len);
/* Stop and delete it: in-flight requests finish first. */
void ublkdev_del(struct ublkdev *u);

#endif
