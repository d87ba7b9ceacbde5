/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device names to files, confined to dev_search_path (rnbd-wire.md 5.3,
 * 5.4, and 10.8): the kernel's rules ("..", lengths, %SESSNAME%), then the
 * final open with openat2(RESOLVE_BENEATH) so that no component, symlinks
 * included, leads out of the search path.
 */
#ifndef RNBD_SERVER_RESOLVE_H
#define RNBD_SERVER_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The directory OPEN names are relative to: the search path, or with
 * %SESSNAME% the part before it + "/" + sessname (the rest is dropped, as
 * the kernel does), with runs of '/' collapsed.  -EINVAL if too long.
 */
int rnbd_resolve_root(const char *search_path, const char *sessname, char *out, size_t len);

/*
 * The one spelling of an OPEN name that rules and exports are matched
 * against, so that no other spelling of the same path slips past a rule:
 * leading '/' dropped, runs of '/' collapsed.  -EINVAL for an empty name,
 * one of slashes only, ".." anywhere (the kernel's rule), a "." component,
 * or one that does not fit in len.
 */
int rnbd_resolve_normalise(const char *dev_name, char *out, size_t len);

/*
 * Check an OPEN name by the kernel's rules and turn it into a path relative
 * to the root: -EINVAL for an empty name, any "..", or a full path of 4096
 * bytes or more.  A leading '/' is dropped ("/dev/ram0" under "/" is
 * "dev/ram0").
 */
int rnbd_resolve_name(const char *root, const char *dev_name, char *rel, size_t len);

/*
 * Open root/rel (O_RDWR, or O_RDONLY with readonly) without leaving root:
 * -EXDEV (with a message saying so) when a symlink or ".." would escape,
 * -ENOENT, -EACCES, ... as open(2) says otherwise.  Returns the fd.
 */
int rnbd_resolve_open(const char *root, const char *rel, bool readonly);

#endif
