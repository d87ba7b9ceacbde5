/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON over Unix sockets, as the front-ends talk to their daemons: one
 * request per connection, a JSON object and a newline each way.
 */
#ifndef RNBD_CLI_IPC_H
#define RNBD_CLI_IPC_H

#include <json-c/json.h>
#include <stdbool.h>

/* Listening socket at path, 0600, its directory made 0755. */
int ipc_listen(const char *path);

/*
 * Accept one connection; *req is its request, or NULL with *rep already an
 * error reply (peer not allowed, no or bad JSON).  Returns the fd to answer
 * on, or -1.
 */
int ipc_accept(int lfd, json_object **req, json_object **rep);
/* Send rep (consumed) and close fd. */
void ipc_answer(int fd, json_object *rep);

/* Connect to path, send req, wait up to timeout_ms for the reply. */
int ipc_call(const char *path, json_object *req, int timeout_ms, json_object **rep);

json_object *ipc_ok(void);
json_object *ipc_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *ipc_str(json_object *o, const char *key);
bool ipc_int(json_object *o, const char *key, int64_t *out);
void ipc_add_str(json_object *o, const char *key, const char *v);
void ipc_add_int(json_object *o, const char *key, int64_t v);

#endif
