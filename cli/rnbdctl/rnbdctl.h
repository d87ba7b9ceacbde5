/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What rnbdctl's pieces share: the run directory, errors, access modes. */
#ifndef RNBDCTL_H
#define RNBDCTL_H

#include <stdbool.h>
#include <stddef.h>

#include "rnbd/rnbd.h"

/* RUNDIR/sub (or RUNDIR for NULL), RUNDIR being $RNBD_RUN_DIR or /run/rnbd. */
void rnbdctl_rundir(char *buf, size_t len, const char *sub);
int rnbdctl_mkdirs(const char *dir);

int rnbdctl_mode_parse(const char *s, enum rnbd_access_mode *out);
const char *rnbdctl_mode_str(enum rnbd_access_mode m);

/* Keep a message for the user and return err (a negative errno). */
int rnbdctl_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *rnbdctl_errmsg(void);

/* `rnbdctl session-daemon ...`: what rnbdctl starts, never the user. */
int rnbdctl_session_daemon(int argc, char **argv);

#endif
