/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rnbdctl's side of the session daemons: find, start and ask them. */
#ifndef RNBDCTL_SESSD_H
#define RNBDCTL_SESSD_H

#include <json-c/json.h>

#include "target.h"

/*
 * Send req to the daemon of session name and wait for its reply.  0 with
 * *rep, or a negative errno with the message kept (-ENXIO: no such daemon).
 */
int sessd_call(const char *name, json_object *req, json_object **rep);
/* Ask every daemon for "list"; an array of their replies' "session" with
 * "devices" folded in. */
json_object *sessd_list_all(void);
/* After a reply with "exiting_pid": wait (bounded) until that daemon is gone. */
void sessd_wait_exit(json_object *rep);
/* Map t through its session's daemon, starting the daemon if needed. */
int sessd_map(const struct target *t, json_object **dev);

#endif
