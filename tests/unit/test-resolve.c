// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Device names to files (server/resolve.c): the root a session's names are
 * relative to, the kernel's name rules, and the final confined open, against
 * a real directory tree with escaping and non-escaping symlinks.  Every
 * refusal is checked by its errno and by its message.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check-main.h"
#include "proto/rtrs-msg.h"
#include "server/resolve.h"

static char tmp[64];
static char root[128];	/* tmp + "/root/", as rnbd_resolve_root makes it */

static void put_file(const char *rel, const char *content)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void put_dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	ck_assert_msg(mkdir(path, 0700) == 0, "%s: %s", path, strerror(errno));
}

static void put_link(const char *rel, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	ck_assert_msg(symlink(target, path) == 0, "%s: %s", path, strerror(errno));
}

/*
 * tmp/secret                       what no name may reach
 * tmp/root/                        the search path
 *   f, sub/g, dir/                 plain contents
 *   l1 -> l2 -> sub/g              a chain that stays inside
 *   up -> ..   out -> ../secret    relative escapes
 *   etc -> /etc                    an absolute escape
 *   abs -> tmp/root/f              absolute, but pointing inside
 *   self -> self                   a loop
 * tmp/sess/s1/vol, tmp/x/f         for %SESSNAME%
 */
static void setup(void)
{
	char abs_target[160];

	snprintf(tmp, sizeof(tmp), "/tmp/rnbd-resolve.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(root, sizeof(root), "%s/root/", tmp);
	put_file("secret", "secret");
	put_dir("root");
	put_file("root/f", "inside-f");
	put_dir("root/sub");
	put_file("root/sub/g", "inside-g");
	put_dir("root/dir");
	put_link("root/l1", "l2");
	put_link("root/l2", "sub/g");
	put_link("root/up", "..");
	put_link("root/out", "../secret");
	put_link("root/etc", "/etc");
	snprintf(abs_target, sizeof(abs_target), "%sf", root);
	put_link("root/abs", abs_target);
	put_link("root/self", "self");
	put_dir("sess");
	put_dir("sess/s1");
	put_file("sess/s1/vol", "s1-vol");
	put_dir("x");
	put_file("x/f", "x-f");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* The fd is the file holding exactly `content`, opened in the right mode. */
static void assert_fd_is(int fd, const char *content, bool readonly)
{
	char buf[64] = { 0 };
	int fl = fcntl(fd, F_GETFL);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf) - 1, 0), (ssize_t)strlen(content));
	ck_assert_str_eq(buf, content);
	ck_assert_int_eq(fl & O_ACCMODE, readonly ? O_RDONLY : O_RDWR);
	/* a daemon that forks helpers must not leak exported storage into them */
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/* ------------------------------------------------------------------ */

static const struct {
	const char *search, *sess, *root;
} root_cases[] = {
	/* the kernel's example: the part after %SESSNAME% is dropped */
	{ "/run/rnbd/%SESSNAME%/x", "s1", "/run/rnbd/s1/" },
	{ "/srv/exports", "s1", "/srv/exports/" },
	{ "/srv/exports/", "s1", "/srv/exports/" },
	{ "/", "s1", "/" },
	{ "//srv///exports//", "s1", "/srv/exports/" },
	{ "%SESSNAME%", "s1", "/s1/" },
	{ "/a/%SESSNAME%", "s1", "/a/s1/" },
	/* only the first tag counts: everything after it goes */
	{ "/a/%SESSNAME%/%SESSNAME%", "s1", "/a/s1/" },
	/* without a tag the session name plays no part */
	{ "/srv/exports", "../x", "/srv/exports/" },
	/* with one it is pasted as is: the RTRS layer keeps such names out */
	{ "/srv/%SESSNAME%", "../x", "/srv/../x/" },
};

START_TEST(root_table)
{
	char out[RNBD_PATH_MAX];

	for (size_t i = 0; i < sizeof(root_cases) / sizeof(root_cases[0]); i++) {
		memset(out, 'Z', sizeof(out));
		ck_assert_msg(rnbd_resolve_root(root_cases[i].search, root_cases[i].sess, out,
						sizeof(out)) == 0,
			      "case %zu: %s", i, rnbd_errmsg());
		ck_assert_msg(!strcmp(out, root_cases[i].root), "case %zu: '%s' + '%s' gave '%s'",
			      i, root_cases[i].search, root_cases[i].sess, out);
	}
}
END_TEST

START_TEST(root_lengths)
{
	static char search[RNBD_PATH_MAX + 8], out[RNBD_PATH_MAX];

	/* search + "/" must fit in PATH_MAX with its NUL: 4094 does, 4095 not */
	memset(search, 'a', sizeof(search));
	search[0] = '/';
	search[RNBD_PATH_MAX - 2] = '\0';
	ck_assert_msg(rnbd_resolve_root(search, "s", out, sizeof(out)) == 0, "%s", rnbd_errmsg());
	ck_assert_uint_eq(strlen(out), RNBD_PATH_MAX - 1);
	ck_assert_int_eq(out[RNBD_PATH_MAX - 2], '/');
	search[RNBD_PATH_MAX - 2] = 'a';
	search[RNBD_PATH_MAX - 1] = '\0';
	ck_assert_int_eq(rnbd_resolve_root(search, "s", out, sizeof(out)), -EINVAL);
	ck_assert_errmsg_has("search path for session s is too long");
	/* a session name that makes it too long, with %SESSNAME% */
	memset(search, 'a', sizeof(search));
	memcpy(search, "/%SESSNAME%", 11);
	search[11] = '\0';
	{
		char sess[RNBD_PATH_MAX];

		memset(sess, 'b', sizeof(sess));
		sess[RNBD_PATH_MAX - 4] = '\0';	/* "/" + "/" + sess + "/" = 4095 */
		ck_assert_int_eq(rnbd_resolve_root(search, sess, out, sizeof(out)), 0);
		ck_assert_uint_eq(strlen(out), RNBD_PATH_MAX - 2);	/* "//" collapsed */
		sess[RNBD_PATH_MAX - 4] = 'b';
		sess[RNBD_PATH_MAX - 3] = '\0';
		ck_assert_int_eq(rnbd_resolve_root(search, sess, out, sizeof(out)), -EINVAL);
		/* the message names the session, cut short by the message buffer */
		ck_assert_errmsg_has("search path for session bbbb");
	}
	/* the caller's buffer is respected as well */
	ck_assert_int_eq(rnbd_resolve_root("/srv/exports", "s", out, 14), 0);
	ck_assert_str_eq(out, "/srv/exports/");
	ck_assert_int_eq(rnbd_resolve_root("/srv/exports", "s", out, 13), -EINVAL);
	ck_assert_errmsg_has("too long");
}
END_TEST

/* ------------------------------------------------------------------ */

static const struct {
	const char *root, *name;
	int err;
	const char *rel_or_msg;		/* the rel on success, a message part on error */
} name_cases[] = {
	{ "/run/rnbd/s1/", "sda", 0, "sda" },
	{ "/", "/dev/ram0", 0, "dev/ram0" },
	{ "/", "dev/ram0", 0, "dev/ram0" },
	{ "/srv/", "///a//b///c", 0, "a/b/c" },
	{ "/srv/", "a/", 0, "a/" },
	{ "/srv/", "./a", 0, "./a" },
	{ "/srv/", ".a", 0, ".a" },
	{ "/srv/", "a.b", 0, "a.b" },
	{ "/srv/", "", -EINVAL, "empty device name" },
	{ "/srv/", "..", -EINVAL, "device name '..' contains '..'" },
	{ "/srv/", "../etc/passwd", -EINVAL, "contains '..'" },
	{ "/srv/", "/../etc/passwd", -EINVAL, "contains '..'" },
	{ "/srv/", "a/../../b", -EINVAL, "contains '..'" },
	{ "/srv/", "a/..", -EINVAL, "contains '..'" },
	/* the kernel refuses ".." anywhere, even where it is no component */
	{ "/srv/", "a..b", -EINVAL, "device name 'a..b' contains '..'" },
	{ "/srv/", "...", -EINVAL, "contains '..'" },
	{ "/srv/", "/", -EINVAL, "device name names the search path itself" },
	{ "/srv/", "////", -EINVAL, "names the search path itself" },
};

START_TEST(name_table)
{
	char rel[RNBD_PATH_MAX];

	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		int ret = rnbd_resolve_name(name_cases[i].root, name_cases[i].name, rel,
					    sizeof(rel));

		ck_assert_msg(ret == name_cases[i].err, "case %zu ('%s'): %d, not %d (%s)", i,
			      name_cases[i].name, ret, name_cases[i].err, rnbd_errmsg());
		if (ret)
			ck_assert_msg(strstr(rnbd_errmsg(), name_cases[i].rel_or_msg),
				      "case %zu: '%s' lacks '%s'", i, rnbd_errmsg(),
				      name_cases[i].rel_or_msg);
		else
			ck_assert_msg(!strcmp(rel, name_cases[i].rel_or_msg),
				      "case %zu: '%s' gave '%s'", i, name_cases[i].name, rel);
	}
}
END_TEST

START_TEST(name_lengths)
{
	static char name[RNBD_PATH_MAX + 8], rel[RNBD_PATH_MAX];
	const char *r = "/r/";

	/* root + name below PATH_MAX: 3 + 4092 = 4095 passes, 4096 does not */
	memset(name, 'n', sizeof(name));
	name[RNBD_PATH_MAX - 1 - strlen(r)] = '\0';
	ck_assert_msg(rnbd_resolve_name(r, name, rel, sizeof(rel)) == 0, "%s", rnbd_errmsg());
	ck_assert_uint_eq(strlen(rel), RNBD_PATH_MAX - 1 - strlen(r));
	name[RNBD_PATH_MAX - 1 - strlen(r)] = 'n';
	name[RNBD_PATH_MAX - strlen(r)] = '\0';
	ck_assert_int_eq(rnbd_resolve_name(r, name, rel, sizeof(rel)), -EINVAL);
	ck_assert_errmsg_has("device path too long");
	/* the leading '/' counts towards the limit before it is dropped */
	name[0] = '/';
	name[RNBD_PATH_MAX - strlen(r)] = 'n';
	name[RNBD_PATH_MAX - 1 - strlen(r)] = '\0';
	ck_assert_int_eq(rnbd_resolve_name(r, name, rel, sizeof(rel)), 0);
	ck_assert_uint_eq(strlen(rel), RNBD_PATH_MAX - 2 - strlen(r));
	/* a "//" run counts in full too, even though it collapses */
	name[1] = '/';
	name[RNBD_PATH_MAX - 1 - strlen(r)] = 'n';
	name[RNBD_PATH_MAX - strlen(r)] = '\0';
	ck_assert_int_eq(rnbd_resolve_name(r, name, rel, sizeof(rel)), -EINVAL);
	ck_assert_errmsg_has("device path too long");
	/* a rel buffer too small for the collapsed name */
	ck_assert_int_eq(rnbd_resolve_name(r, "abcd", rel, 5), 0);
	ck_assert_str_eq(rel, "abcd");
	ck_assert_int_eq(rnbd_resolve_name(r, "abcd", rel, 4), -EINVAL);
	ck_assert_errmsg_has("device path too long");
	ck_assert_int_eq(rnbd_resolve_name(r, "//a//b", rel, 4), 0);
	ck_assert_str_eq(rel, "a/b");
}
END_TEST

/* ------------------------------------------------------------------ */

static const struct {
	const char *rel;
	bool readonly;
	int err;
	const char *content_or_msg;	/* the file's content, or a message part */
} open_cases[] = {
	{ "f", false, 0, "inside-f" },
	{ "f", true, 0, "inside-f" },
	{ "sub/g", false, 0, "inside-g" },
	{ "l1", false, 0, "inside-g" },			/* a chain inside */
	{ "sub/../f", true, 0, "inside-f" },		/* ".." that stays inside */
	{ "./f", true, 0, "inside-f" },
	{ "up/secret", true, -EXDEV, "up/secret leads out of the search path" },
	{ "up/root/f", true, -EXDEV, "leads out of the search path" },
	{ "out", true, -EXDEV, "out leads out of the search path" },
	{ "etc/passwd", true, -EXDEV, "etc/passwd leads out of the search path" },
	{ "../secret", true, -EXDEV, "leads out of the search path" },
	{ "sub/../../secret", true, -EXDEV, "leads out of the search path" },
	{ "/etc/passwd", true, -EXDEV, "leads out of the search path" },
	/* RESOLVE_BENEATH refuses absolute symlinks even when they point inside */
	{ "abs", true, -EXDEV, "abs leads out of the search path" },
	{ "missing", true, -ENOENT, "root/missing: No such file or directory" },
	{ "sub/missing", false, -ENOENT, "No such file or directory" },
	{ "self", true, -ELOOP, "self: Too many levels of symbolic links" },
	{ "dir", false, -EISDIR, "dir: Is a directory" },
	{ "f/", true, -ENOTDIR, "Not a directory" },
	{ "f/x", true, -ENOTDIR, "Not a directory" },
};

START_TEST(open_table)
{
	for (size_t i = 0; i < sizeof(open_cases) / sizeof(open_cases[0]); i++) {
		int fd = rnbd_resolve_open(root, open_cases[i].rel, open_cases[i].readonly);

		if (open_cases[i].err) {
			ck_assert_msg(fd == open_cases[i].err, "case %zu ('%s'): %d, not %d (%s)", i,
				      open_cases[i].rel, fd, open_cases[i].err, rnbd_errmsg());
			ck_assert_msg(strstr(rnbd_errmsg(), open_cases[i].content_or_msg),
				      "case %zu: '%s' lacks '%s'", i, rnbd_errmsg(),
				      open_cases[i].content_or_msg);
			continue;
		}
		ck_assert_msg(fd >= 0, "case %zu ('%s'): %s", i, open_cases[i].rel, rnbd_errmsg());
		assert_fd_is(fd, open_cases[i].content_or_msg, open_cases[i].readonly);
	}
}
END_TEST

START_TEST(open_missing_root)
{
	char bad[160];

	snprintf(bad, sizeof(bad), "%s/nosuch/", tmp);
	ck_assert_int_eq(rnbd_resolve_open(bad, "f", true), -ENOENT);
	ck_assert_errmsg_has("search path ");
	ck_assert_errmsg_has("nosuch/: No such file or directory");
	/* a root that is a file is no directory */
	snprintf(bad, sizeof(bad), "%sf", root);
	ck_assert_int_eq(rnbd_resolve_open(bad, "x", true), -ENOTDIR);
	ck_assert_errmsg_has("Not a directory");
}
END_TEST

/* The three steps as the server chains them, name by name. */
static int resolve(const char *search, const char *sess, const char *name, bool readonly)
{
	char r[RNBD_PATH_MAX], rel[RNBD_PATH_MAX];
	int ret = rnbd_resolve_root(search, sess, r, sizeof(r));

	if (!ret)
		ret = rnbd_resolve_name(r, name, rel, sizeof(rel));
	return ret ? ret : rnbd_resolve_open(r, rel, readonly);
}

START_TEST(chained_attacks)
{
	char search[160];

	snprintf(search, sizeof(search), "%s//root", tmp);
	assert_fd_is(resolve(search, "s1", "/f", true), "inside-f", true);
	assert_fd_is(resolve(search, "s1", "sub//g", false), "inside-g", false);
	ck_assert_int_eq(resolve(search, "s1", "../secret", true), -EINVAL);
	ck_assert_errmsg_has("contains '..'");
	ck_assert_int_eq(resolve(search, "s1", "/../secret", true), -EINVAL);
	ck_assert_errmsg_has("contains '..'");
	ck_assert_int_eq(resolve(search, "s1", "a..b", true), -EINVAL);
	ck_assert_errmsg_has("contains '..'");
	/* the leading '/' is dropped: an absolute name is looked up beneath */
	ck_assert_int_eq(resolve(search, "s1", "/nosuch/x", true), -ENOENT);
	ck_assert_errmsg_has("root/nosuch/x: No such file or directory");
	ck_assert_int_eq(resolve(search, "s1", "/etc/passwd", true), -EXDEV);
	ck_assert_errmsg_has("etc/passwd leads out of the search path");
	ck_assert_int_eq(resolve(search, "s1", "up/secret", true), -EXDEV);
	ck_assert_int_eq(resolve(search, "s1", "/", true), -EINVAL);
	ck_assert_errmsg_has("names the search path itself");
	ck_assert_int_eq(resolve(search, "s1", "////", true), -EINVAL);
	ck_assert_int_eq(resolve(search, "s1", "", true), -EINVAL);
	ck_assert_errmsg_has("empty device name");
}
END_TEST

START_TEST(sessname_roots)
{
	char search[160];

	snprintf(search, sizeof(search), "%s/sess/%%SESSNAME%%/ignored", tmp);
	assert_fd_is(resolve(search, "s1", "vol", false), "s1-vol", false);
	ck_assert_int_eq(resolve(search, "s2", "vol", true), -ENOENT);
	ck_assert_errmsg_has("search path ");
	/*
	 * The root is opened with ordinary resolution: a session name "../x"
	 * would lead to tmp/x.  What keeps it out is RTRS, which refuses such
	 * a name before any session exists.
	 */
	assert_fd_is(resolve(search, "../x", "f", true), "x-f", true);
	ck_assert_int_eq(rtrs_sessname_check("../x"), -EINVAL);
	ck_assert_errmsg_has("contains '/' or '.'");
	ck_assert_int_eq(rtrs_sessname_check("x.y"), -EINVAL);
	ck_assert_int_eq(rtrs_sessname_check(""), -EINVAL);
	ck_assert_errmsg_has("empty session name");
	ck_assert_int_eq(rtrs_sessname_check("s1"), 0);
	/* names of the session's directory are confined like any other */
	ck_assert_int_eq(resolve(search, "s1", "../s1/vol", true), -EINVAL);
}
END_TEST

static Suite *resolve_suite(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("resolve");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, root_table);
	tcase_add_test(tc, root_lengths);
	tcase_add_test(tc, name_table);
	tcase_add_test(tc, name_lengths);
	tcase_add_test(tc, open_table);
	tcase_add_test(tc, open_missing_root);
	tcase_add_test(tc, chained_attacks);
	tcase_add_test(tc, sessname_roots);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(resolve_suite)
