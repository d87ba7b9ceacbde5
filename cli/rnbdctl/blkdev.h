/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the daemon asks of the block devices it made, whatever made them. */
#ifndef RNBDCTL_BLKDEV_H
#define RNBDCTL_BLKDEV_H

#include <stdbool.h>

/* Whether node is mounted, claimed, or open by a process other than us,
 * and stays so for a second. */
bool blkdev_busy(const char *node);

#endif
