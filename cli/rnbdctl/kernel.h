/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's rnbd-client, driven through sysfs as the IONOS rnbd tool
 * does (the files are described in doc/architecture.md).  Every path is
 * under $RNBD_SYSROOT when that is set, so tests can give a fake tree.
 */
#ifndef RNBDCTL_KERNEL_H
#define RNBDCTL_KERNEL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "target.h"

/* Whether rnbd_client is loaded (modprobe'd on first use by kernel_map). */
bool kernel_present(void);
int kernel_map(const struct target *t, json_object **dev);
/* Arrays of devices and of sessions (each with its "paths" and "devices"). */
json_object *kernel_devices(void);
json_object *kernel_sessions(void);

/* dev is "rnbdN" or "/dev/rnbdN". */
int kernel_unmap(const char *dev, bool force);
int kernel_remap(const char *dev);
int kernel_resize(const char *dev, uint64_t bytes);

int kernel_path_add(const char *sess, const char *addr);
/* path is a paths/ directory name; op "reconnect", "disconnect" or "remove_path". */
int kernel_path_op(const char *sess, const char *path, const char *op);
int kernel_set_policy(const char *sess, const char *policy);

#endif
