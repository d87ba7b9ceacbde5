/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /etc/rnbd/rnbdtab (or $RNBD_TAB): one map per line, written as the
 * arguments of `rnbdctl map`, split at blanks, with '...' and "..." for
 * arguments that hold blanks; '#' starts a comment.
 */
#ifndef RNBDCTL_RNBDTAB_H
#define RNBDCTL_RNBDTAB_H

#define RNBDTAB_DEFAULT "/etc/rnbd/rnbdtab"

/*
 * fn(argc, argv) for each line, argv[0] being "map".  A missing file is an
 * empty one; a line that does not split (an open quote) is reported and
 * skipped.  Returns 0, a negative errno if the file cannot be read, or
 * -EINVAL after the other lines when a line was skipped.
 */
int rnbdtab_foreach(int (*fn)(int argc, char **argv, void *opaque), void *opaque);

/* Split line in place into at most max words; -EINVAL on an open quote. */
int rnbdtab_split(char *line, char **argv, int max);

#endif
