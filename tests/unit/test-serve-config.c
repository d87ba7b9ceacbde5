// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rnbd-serve's configuration file (cli/rnbd-serve/config.c): values that
 * the server would refuse are refused as the file is read, with its line;
 * list elements are named by their index; and what a reload would change
 * of the settings only a restart applies is named in full, also on the
 * second reload.
 */
#include <errno.h>
#include <unistd.h>

#include "check-main.h"
#include "config.h"

static char dir[64];
static char file[96];
static char err[512];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/rnbd-serve-config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/c.conf", dir);
}

static void teardown(void)
{
	unlink(file);
	rmdir(dir);
}

static int load(const char *text, struct serve_config *c)
{
	FILE *f = fopen(file, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	return serve_config_load(file, true, SERVE_DEFAULT_MEMORY_SIZE, c, err, sizeof(err));
}

/* text is refused at line with exactly msg. */
static void bad(int line, const char *msg, const char *text)
{
	struct serve_config c;
	char want[512];

	snprintf(want, sizeof(want), "%s:%d: %s", file, line, msg);
	ck_assert_msg(load(text, &c) == -EINVAL, "taken: %s", text);
	ck_assert_msg(!strcmp(err, want), "for %s\ngot  '%s'\nwant '%s'", text, err, want);
}

static void good(const char *text)
{
	struct serve_config c;

	ck_assert_msg(load(text, &c) == 0, "%s: %s", text, err);
	serve_config_free(&c);
}

/* An export group with a name of n bytes. */
static void name_of_len(char *buf, size_t len, size_t n)
{
	char name[512];

	memset(name, 'n', n);
	name[n] = '\0';
	snprintf(buf, len, "exports = ( { name = \"%s\"; type = \"memory\"; size = 4096; } );\n",
		 name);
}

START_TEST(list_elements_are_named)
{
	bad(1, "listen[0] must be a string", "listen = [ 5 ];\n");
	bad(3, "listen[1] must be a string", "listen = (\n  \"127.0.0.1\",\n  5\n);\n");
	good("listen = [ \"127.0.0.1\", \"[::1]:5\" ];\n");
}
END_TEST

START_TEST(transport)
{
#ifdef RNBD_HAVE_RDMA
	good("port = 1;\ntransport = \"rdma\";\n");
#else
	bad(2, "transport \"rdma\" is not available: this rnbd-serve was built without RDMA",
	    "port = 1;\ntransport = \"rdma\";\n");
#endif
	bad(1, "transport \"udp\": \"tcp\" or \"rdma\"", "transport = \"udp\";\n");
	good("transport = \"tcp\";\n");
}
END_TEST

START_TEST(max_io_size)
{
	bad(1, "max_io_size 4095 is smaller than 4096 (0: the default)", "max_io_size = 4095;\n");
	bad(1, "max_io_size 1 is smaller than 4096 (0: the default)", "max_io_size = 1;\n");
	bad(1, "max_io_size 16777217 is larger than 16777216", "max_io_size = 16777217;\n");
	good("max_io_size = 0;\n");
	good("max_io_size = 4096;\n");
	good("max_io_size = \"16M\";\n");
}
END_TEST

START_TEST(socket_buffers)
{
	bad(1, "sndbuf 1073741825 is larger than 1073741824", "sndbuf = 1073741825;\n");
	bad(1, "rcvbuf 2147483648 is larger than 1073741824", "rcvbuf = \"2G\";\n");
	good("sndbuf = 0;\nrcvbuf = 0;\n");
	good("sndbuf = \"1G\";\nrcvbuf = \"4M\";\n");
}
END_TEST

START_TEST(workers)
{
	bad(1, "workers 257 is larger than 256", "workers = 257;\n");
	good("workers = 256;\n");
}
END_TEST

START_TEST(memory_size)
{
	bad(3, "export m: size 1000 must be a multiple of 4096",
	    "exports = (\n  { name = \"m\"; type = \"memory\";\n    size = 1000; }\n);\n");
	bad(1, "export m: size 0 must not be 0",
	    "exports = ( { name = \"m\"; type = \"memory\"; size = 0; } );\n");
	bad(1, "export m: size 1099511631872 must be at most 1 TiB",
	    "exports = ( { name = \"m\"; type = \"memory\"; size = 1099511631872L; } );\n");
	bad(1, "export m: size 2199023255552 must be at most 1 TiB",
	    "exports = ( { name = \"m\"; type = \"memory\"; size = \"2T\"; } );\n");
	good("exports = ( { name = \"m\"; type = \"memory\"; size = \"1T\"; } );\n");
}
END_TEST

START_TEST(export_names)
{
	static const char *const unreachable[] = { "/m", "a//b", "./a", "a/./b", "a/.", "a..b" };
	char text[1024], msg[256];

	name_of_len(text, sizeof(text), 254);
	good(text);
	name_of_len(text, sizeof(text), 255);
	bad(1, "export name of 255 bytes: 1 to 254", text);
	bad(1, "export name of 0 bytes: 1 to 254",
	    "exports = ( { name = \"\"; type = \"memory\"; size = 4096; } );\n");
	for (size_t i = 0; i < sizeof(unreachable) / sizeof(unreachable[0]); i++) {
		snprintf(text, sizeof(text),
			 "exports = ( { name = \"%s\"; type = \"memory\"; size = 4096; } );\n",
			 unreachable[i]);
		snprintf(msg, sizeof(msg), "export %s: a name has no leading '/', no \"//\", and "
			 "no \".\" or \"..\": OPEN names are matched without them", unreachable[i]);
		bad(1, msg, text);
	}
	good("exports = ( { name = \"vm/disk0\"; type = \"memory\"; size = 4096; },\n"
	     "            { name = \".a/b.\"; type = \"memory\"; size = 4096; } );\n");
}
END_TEST

static const char every_restart_setting[] =
	"listen = [ \"127.0.0.1\" ];\n"
	"port = 1;\n"
	"workers = 2;\n"
	"queue_depth = 64;\n"
	"max_io_size = \"64K\";\n"
	"heartbeat_ms = 100;\n"
	"max_sessions = 5;\n"
	"max_paths = 2;\n"
	"max_devices = 7;\n"
	"sndbuf = \"1M\";\n"
	"rcvbuf = 65536;\n"
	"control_socket = \"/run/elsewhere.sock\";\n"
	"exports = ( { name = \"m\"; type = \"memory\"; size = 4096; } );\n";

START_TEST(restart_settings)
{
	struct serve_config run, next;
	char changed[256];

	ck_assert_msg(load("port = 1234;\n", &run) == 0, "%s", err);
	/* nothing but exports and rules changed: no warning */
	ck_assert_msg(load("exports = ( { name = \"m\"; type = \"memory\"; size = 4096; } );\n",
			   &next) == 0, "%s", err);
	serve_config_restart_diff(&run, &next, changed, sizeof(changed));
	ck_assert_str_eq(changed, "");
	serve_config_free(&next);

	/* every one of them, on this reload and on the next */
	for (int reload = 0; reload < 2; reload++) {
		ck_assert_msg(load(every_restart_setting, &next) == 0, "%s", err);
		free(next.transport);
		next.transport = strdup("rdma");
		serve_config_restart_diff(&run, &next, changed, sizeof(changed));
		ck_assert_msg(!strcmp(changed, "listen, port, transport, workers, queue_depth, "
					       "max_io_size, heartbeat_ms, max_sessions, "
					       "max_paths, max_devices, sndbuf, rcvbuf, control_socket"),
			      "reload %d: '%s'", reload, changed);
		serve_config_keep_restart(&next, &run);
		serve_config_free(&run);
		run = next;
		/* what it runs with, and what changes on a reload */
		ck_assert_uint_eq(run.port, 1234);
		ck_assert_uint_eq(run.nlisten, 0);
		ck_assert_ptr_null(run.transport);
		ck_assert_str_eq(run.control_socket, SERVE_DEFAULT_SOCKET);
		ck_assert_uint_eq(run.nexports, 1);
	}

	/* a file that names the values in use changes nothing */
	ck_assert_msg(load("port = 1234;\ntransport = \"tcp\";\n", &next) == 0, "%s", err);
	serve_config_restart_diff(&run, &next, changed, sizeof(changed));
	ck_assert_str_eq(changed, "");
	serve_config_free(&next);
	serve_config_free(&run);
}
END_TEST

static Suite *serve_config_suite(void)
{
	Suite *s = suite_create("serve-config");
	TCase *tc = tcase_create("serve-config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, list_elements_are_named);
	tcase_add_test(tc, transport);
	tcase_add_test(tc, max_io_size);
	tcase_add_test(tc, workers);
	tcase_add_test(tc, memory_size);
	tcase_add_test(tc, export_names);
	tcase_add_test(tc, restart_settings);
	tcase_add_test(tc, socket_buffers);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(serve_config_suite)
