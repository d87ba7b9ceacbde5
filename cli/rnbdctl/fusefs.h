/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The FUSE file system that exposes a session's mapped devices as files. */
#ifndef RNBDCTL_FUSEFS_H
#define RNBDCTL_FUSEFS_H

#include <stdbool.h>
#include <stddef.h>

#include "rnbd/rnbd.h"

#define FUSEFS_MAX 256

struct fusefs;

/* Mount at mountpoint (made if missing) and serve from a thread. */
int fusefs_start(const char *mountpoint, struct fusefs **out);
/* Unmount and stop; every file must be gone from loop devices first. */
void fusefs_stop(struct fusefs *fs);

/* A file for dev; its path into file.  Returns its index. */
int fusefs_add(struct fusefs *fs, struct rnbd_dev *dev, uint64_t size, bool readonly,
	       char *file, size_t len);
void fusefs_remove(struct fusefs *fs, int idx);
void fusefs_resize(struct fusefs *fs, int idx, uint64_t size);

#endif
