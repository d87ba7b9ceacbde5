// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The server's OPEN path below the session (server/dev.c): which name the
 * rules see, read-only names over shared storage, export types, memory
 * exports by their whole name, and the checks of a configuration.  Each
 * test drives srv_dev_get() on a server without RTRS, as the fuzz harness
 * of the server does, with the configuration set through
 * rnbd_srv_reconfigure() so that its checks run too.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check-main.h"
#include "server/srv.h"

#define SESS "s1"

static char tmp[64];
static char img[160];		/* tmp/img: an 8 KiB file */
static char dir[96];		/* tmp/dir: the search path */
static struct rnbd_srv srv;

static void put_file(const char *path, off_t size)
{
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
}

static void setup(void)
{
	char path[256];

	snprintf(tmp, sizeof(tmp), "/tmp/rnbd-serve-dev.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(dir, sizeof(dir), "%s/dir", tmp);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/secret", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/secret/x", dir);
	put_file(path, 8192);
	snprintf(path, sizeof(path), "%s/pub", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/pub/y", dir);
	put_file(path, 8192);
	/* the same inode as an export path and under the search path */
	snprintf(img, sizeof(img), "%s/img", dir);
	put_file(img, 8192);

	srv = (struct rnbd_srv){ .max_devices = 16, .conf = calloc(1, sizeof(struct srv_conf)) };
	ck_assert_ptr_nonnull(srv.conf);
	pthread_mutex_init(&srv.lock, NULL);
	list_init(&srv.devs);
	list_init(&srv.sessions);
}

static void teardown(void)
{
	struct rnbd_srv_conf none = { 0 };
	char cmd[128];

	/* an empty configuration unpins every memory device */
	ck_assert_int_eq(rnbd_srv_reconfigure(&srv, &none), 0);
	ck_assert_msg(list_empty(&srv.devs), "a device is left open");
	free(srv.conf);
	pthread_mutex_destroy(&srv.lock);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

static void configure(const char *search, const struct rnbd_export_conf *e, unsigned int ne,
		      const struct rnbd_rule_conf *r, unsigned int nr)
{
	struct rnbd_srv_conf c = {
		.dev_search_path = search, .exports = e, .nexports = ne, .rules = r, .nrules = nr,
	};

	ck_assert_msg(rnbd_srv_reconfigure(&srv, &c) == 0, "%s", rnbd_errmsg());
}

static int get(const char *name, uint8_t mode, struct rnbd_srv_dev **dev)
{
	struct rnbd_srv_dev *unused;
	int ret;

	pthread_mutex_lock(&srv.lock);
	ret = srv_dev_get(&srv, SESS, name, mode, dev ? dev : &unused);
	pthread_mutex_unlock(&srv.lock);
	return ret;
}

static void put(struct rnbd_srv_dev *dev, uint8_t mode)
{
	pthread_mutex_lock(&srv.lock);
	srv_dev_put(&srv, dev, mode);
	pthread_mutex_unlock(&srv.lock);
}

/* ------------------------------------------------------------------ */

START_TEST(rules_see_the_normal_name)
{
	static const struct rnbd_rule_conf rules[] = {
		{ .sessions = "*", .devices = "secret/*", .max_mode = -1 },
		{ .sessions = "*", .devices = "vm/disk", .max_mode = RNBD_ACCESS_RO },
	};
	static const struct rnbd_export_conf exports[] = {
		{ .name = "vm/disk", .type = RNBD_EXPORT_MEMORY, .size = 1 << 20 },
	};
	static const char *const denied[] = {
		"secret/x", "/secret/x", "secret//x", "//secret///x", "/secret/nosuch",
	};
	static const char *const invalid[] = {
		"./secret/x", "secret/./x", "secret/.", ".", "/./secret/x", "secret/../pub/y",
		"secret..x", "", "/", "///",
	};
	struct rnbd_srv_dev *a, *b, *m;

	configure(dir, exports, 1, rules, 2);
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		ck_assert_msg(get(denied[i], RNBD_ACCESS_RO, NULL) == -EPERM, "'%s' got past",
			      denied[i]);
		ck_assert_errmsg_has("may not open secret/");
	}
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		ck_assert_msg(get(invalid[i], RNBD_ACCESS_RO, NULL) == -EINVAL, "'%s': %s",
			      invalid[i], rnbd_errmsg());
	/* every spelling of an allowed name is the same storage */
	ck_assert_msg(get("pub/y", RNBD_ACCESS_RW, &a) == 0, "%s", rnbd_errmsg());
	ck_assert_msg(get("//pub///y", RNBD_ACCESS_RO, &b) == 0, "%s", rnbd_errmsg());
	ck_assert_ptr_eq(a, b);
	/* the writer is counted on it whatever the spelling */
	ck_assert_int_eq(get("/pub/y", RNBD_ACCESS_RW, NULL), -EPERM);
	put(b, RNBD_ACCESS_RO);
	put(a, RNBD_ACCESS_RW);
	/* exports are found, and ruled, by the normal name too */
	ck_assert_int_eq(get("/vm//disk", RNBD_ACCESS_RW, NULL), -EPERM);
	ck_assert_errmsg_has("may open vm/disk ro at most");
	ck_assert_msg(get("/vm//disk", RNBD_ACCESS_RO, &m) == 0, "%s", rnbd_errmsg());
	ck_assert_str_eq(m->path, "vm/disk");
	put(m, RNBD_ACCESS_RO);
}
END_TEST

START_TEST(readonly_name_over_shared_storage)
{
	struct rnbd_export_conf exports[] = {
		{ .name = "rw", .type = RNBD_EXPORT_FILE, .path = img },
		{ .name = "ro", .type = RNBD_EXPORT_FILE, .path = img, .readonly = true },
	};
	struct rnbd_srv_dev *w, *r, *p;

	configure(dir, exports, 2, NULL, 0);
	/* opened read-write first, through the other export */
	ck_assert_msg(get("rw", RNBD_ACCESS_RW, &w) == 0, "%s", rnbd_errmsg());
	ck_assert_int_eq(get("ro", RNBD_ACCESS_RW, NULL), -EACCES);
	ck_assert_errmsg_has("ro is read-only");
	ck_assert_int_eq(get("ro", RNBD_ACCESS_MIGRATION, NULL), -EACCES);
	ck_assert_msg(get("ro", RNBD_ACCESS_RO, &r) == 0, "%s", rnbd_errmsg());
	put(r, RNBD_ACCESS_RO);
	put(w, RNBD_ACCESS_RW);
	ck_assert(list_empty(&srv.devs));

	/* ... or through a name under the search path */
	ck_assert_msg(get("img", RNBD_ACCESS_MIGRATION, &p) == 0, "%s", rnbd_errmsg());
	ck_assert_int_eq(get("ro", RNBD_ACCESS_MIGRATION, NULL), -EACCES);
	put(p, RNBD_ACCESS_MIGRATION);

	/* read-only first: writers through writable names still get in, counted together */
	ck_assert_msg(get("ro", RNBD_ACCESS_RO, &r) == 0, "%s", rnbd_errmsg());
	ck_assert(r->info->readonly);
	ck_assert_msg(get("rw", RNBD_ACCESS_RW, &w) == 0, "%s", rnbd_errmsg());
	ck_assert(!w->info->readonly);
	ck_assert_int_eq(get("img", RNBD_ACCESS_RW, NULL), -EPERM);
	ck_assert_msg(get("/img", RNBD_ACCESS_MIGRATION, &p) == 0, "%s", rnbd_errmsg());
	ck_assert_ptr_eq(p, w);
	ck_assert_uint_eq(w->open_write_cnt, 2);
	ck_assert_int_eq(get("img", RNBD_ACCESS_MIGRATION, NULL), -EPERM);
	ck_assert_int_eq(get("ro", RNBD_ACCESS_RW, NULL), -EACCES);
	put(p, RNBD_ACCESS_MIGRATION);
	put(w, RNBD_ACCESS_RW);
	put(r, RNBD_ACCESS_RO);
	ck_assert(list_empty(&srv.devs));
}
END_TEST

START_TEST(readonly_memory_export)
{
	static const struct rnbd_export_conf rw[] = {
		{ .name = "m", .type = RNBD_EXPORT_MEMORY, .size = 1 << 20 },
	};
	static const struct rnbd_export_conf ro[] = {
		{ .name = "m", .type = RNBD_EXPORT_MEMORY, .size = 1 << 20, .readonly = true },
	};
	struct rnbd_srv_dev *a, *b;

	configure(NULL, rw, 1, NULL, 0);
	ck_assert_msg(get("m", RNBD_ACCESS_RW, &a) == 0, "%s", rnbd_errmsg());
	/* a reload that makes it read-only holds for the OPENs that follow */
	configure(NULL, ro, 1, NULL, 0);
	ck_assert_int_eq(get("m", RNBD_ACCESS_MIGRATION, NULL), -EACCES);
	ck_assert_errmsg_has("m is read-only");
	ck_assert_msg(get("m", RNBD_ACCESS_RO, &b) == 0, "%s", rnbd_errmsg());
	ck_assert_ptr_eq(a, b);
	put(b, RNBD_ACCESS_RO);
	put(a, RNBD_ACCESS_RW);
}
END_TEST

START_TEST(export_type_is_enforced)
{
	struct rnbd_export_conf exports[] = {
		{ .name = "b", .type = RNBD_EXPORT_BLOCKDEV, .path = img },
		{ .name = "f", .type = RNBD_EXPORT_FILE, .path = "/dev/loop0", .readonly = true },
		{ .name = "d", .type = RNBD_EXPORT_FILE, .path = dir, .readonly = true },
	};
	struct rnbd_srv_dev *p;
	struct stat st;

	configure(dir, exports, 3, NULL, 0);
	ck_assert_int_eq(get("b", RNBD_ACCESS_RO, NULL), -ENOTBLK);
	ck_assert_errmsg_has("export b has type blockdev, but ");
	ck_assert_errmsg_has("/img is a regular file");
	/* also when the file is open already, as a file */
	ck_assert_msg(get("img", RNBD_ACCESS_RO, &p) == 0, "%s", rnbd_errmsg());
	ck_assert_int_eq(get("b", RNBD_ACCESS_RO, NULL), -ENOTBLK);
	put(p, RNBD_ACCESS_RO);
	ck_assert_int_eq(get("d", RNBD_ACCESS_RO, NULL), -ENOTBLK);
	ck_assert_errmsg_has("export d: ");
	ck_assert_errmsg_has("is neither a block device nor a regular file");
	if (stat("/dev/loop0", &st) || !S_ISBLK(st.st_mode) || access("/dev/loop0", R_OK))
		return;
	ck_assert_int_eq(get("f", RNBD_ACCESS_RO, NULL), -EINVAL);
	ck_assert_errmsg_has("export f has type file, but /dev/loop0 is a block device");
	ck_assert(list_empty(&srv.devs));
}
END_TEST

START_TEST(memory_exports_by_whole_name)
{
	char n1[RNBD_NAME_MAX], n2[RNBD_NAME_MAX];
	struct rnbd_export_conf exports[] = {
		{ .name = n1, .type = RNBD_EXPORT_MEMORY, .size = 1 << 20 },
		{ .name = n2, .type = RNBD_EXPORT_MEMORY, .size = 2 << 20 },
	};
	struct rnbd_srv_dev *a, *b;

	/* the longest names there are, alike but for their last byte */
	memset(n1, 'n', sizeof(n1));
	n1[RNBD_NAME_MAX - 1] = '\0';
	memcpy(n2, n1, sizeof(n2));
	n2[RNBD_NAME_MAX - 2] = '2';
	configure(NULL, exports, 2, NULL, 0);
	ck_assert_msg(get(n1, RNBD_ACCESS_RW, &a) == 0, "%s", rnbd_errmsg());
	ck_assert_msg(get(n2, RNBD_ACCESS_RW, &b) == 0, "%s", rnbd_errmsg());
	ck_assert_ptr_ne(a, b);
	ck_assert_uint_eq(a->info->size, 1 << 20);
	ck_assert_uint_eq(b->info->size, 2 << 20);
	put(a, RNBD_ACCESS_RW);
	put(b, RNBD_ACCESS_RW);
}
END_TEST

static char last_warning[512];

static void on_log(void *opaque, enum rnbd_log_level level, const char *msg)
{
	(void)opaque;
	if (level == RNBD_LOG_WARN)
		snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

START_TEST(memory_export_follows_its_configuration)
{
	struct rnbd_export_conf m = { .name = "m", .type = RNBD_EXPORT_MEMORY, .size = 1 << 20 };
	struct rnbd_srv_dev *a, *b;

	configure(NULL, &m, 1, NULL, 0);
	ck_assert_msg(get("m", RNBD_ACCESS_RW, &a) == 0, "%s", rnbd_errmsg());
	/* another size while it exists: kept, and said so */
	m.size = 4 << 20;
	rnbd_log_set_handler(on_log, NULL, RNBD_LOG_WARN);
	configure(NULL, &m, 1, NULL, 0);
	rnbd_log_set_handler(NULL, NULL, RNBD_LOG_ERR);
	ck_assert_msg(strstr(last_warning, "export m keeps its size of 1048576 bytes"),
		      "warning: '%s'", last_warning);
	ck_assert_uint_eq(a->info->size, 1 << 20);
	/* removed while open, then back: the same data, pinned again */
	configure(NULL, NULL, 0, NULL, 0);
	ck_assert(!a->pinned);
	configure(NULL, &m, 1, NULL, 0);
	ck_assert(a->pinned);
	put(a, RNBD_ACCESS_RW);
	ck_assert_msg(get("m", RNBD_ACCESS_RO, &b) == 0, "%s", rnbd_errmsg());
	ck_assert_ptr_eq(a, b);
	put(b, RNBD_ACCESS_RO);
}
END_TEST

START_TEST(configuration_checks)
{
	struct rnbd_export_conf e = { .type = RNBD_EXPORT_MEMORY, .size = 1 << 20 };
	struct rnbd_srv_conf c = { .exports = &e, .nexports = 1 };
	static const char *const unreachable[] = { "/m", "a//b", "./m", "a/./b", "a/.", "a..b" };

	for (size_t i = 0; i < sizeof(unreachable) / sizeof(unreachable[0]); i++) {
		e.name = unreachable[i];
		ck_assert_msg(rnbd_srv_reconfigure(&srv, &c) == -EINVAL, "'%s' taken", e.name);
		ck_assert_errmsg_has("a name has no leading '/'");
	}
	e.name = "m";
	e.size = (1ull << 40) + 4096;
	ck_assert_int_eq(rnbd_srv_reconfigure(&srv, &c), -EINVAL);
	ck_assert_errmsg_has("up to 1 TiB");
	e.size = 1ull << 40;
	ck_assert_msg(rnbd_srv_reconfigure(&srv, &c) == 0, "%s", rnbd_errmsg());
}
END_TEST

static Suite *serve_dev_suite(void)
{
	Suite *s = suite_create("serve-dev");
	TCase *tc = tcase_create("serve-dev");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rules_see_the_normal_name);
	tcase_add_test(tc, readonly_name_over_shared_storage);
	tcase_add_test(tc, readonly_memory_export);
	tcase_add_test(tc, export_type_is_enforced);
	tcase_add_test(tc, memory_exports_by_whole_name);
	tcase_add_test(tc, memory_export_follows_its_configuration);
	tcase_add_test(tc, configuration_checks);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(serve_dev_suite)
