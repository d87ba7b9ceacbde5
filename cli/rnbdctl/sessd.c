// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session daemons live at RUNDIR/sessions/<session>.sock.  rnbdctl starts
 * one (a re-exec of itself as `rnbdctl session-daemon`) on the first map of
 * a session and reads whether its session came up from a status pipe; maps
 * are serialised by a lock on the sessions directory so that two of them
 * never start two daemons for one session.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ipc.h"
#include "rnbdctl.h"
#include "sessd.h"

#define CALL_TIMEOUT_MS 120000	/* a map may wait for the session's connect timeout */
#define START_TIMEOUT_MS 120000
#define EXIT_WAIT_MS 10000	/* a daemon unmounts and closes its session */

static void sock_path(const char *name, char *buf, size_t len)
{
	char dir[512];

	rnbdctl_rundir(dir, sizeof(dir), "sessions");
	snprintf(buf, len, "%s/%s.sock", dir, name);
}

int sessd_call(const char *name, json_object *req, json_object **rep)
{
	char path[PATH_MAX];
	json_object *ok;
	int64_t err = EIO;
	int ret;

	sock_path(name, path, sizeof(path));
	ret = ipc_call(path, req, CALL_TIMEOUT_MS, rep);
	if (ret == -ENOENT || ret == -ECONNREFUSED)
		return rnbdctl_err(-ENXIO, "no session %s on this host", name);
	if (ret)
		return rnbdctl_err(ret, "session %s: %s", name, strerror(-ret));
	if (json_object_object_get_ex(*rep, "ok", &ok) && !json_object_get_boolean(ok)) {
		const char *msg = ipc_str(*rep, "error");

		ipc_int(*rep, "errno", &err);
		ret = rnbdctl_err((int)-err, "%s", msg ? msg : strerror((int)err));
		json_object_put(*rep);
		*rep = NULL;
		return ret;
	}
	return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && !strcmp(s + n - m, suffix);
}

json_object *sessd_list_all(void)
{
	json_object *all = json_object_new_array();
	struct dirent *de;
	char dir[400];
	DIR *d;

	rnbdctl_rundir(dir, sizeof(dir), "sessions");
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		json_object *req, *rep, *s, *devs;
		char name[256];

		if (!has_suffix(de->d_name, ".sock") || strlen(de->d_name) - 5 >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(strlen(de->d_name) - 5), de->d_name);
		req = json_object_new_object();
		ipc_add_str(req, "command", "list");
		if (sessd_call(name, req, &rep) == 0 &&
		    json_object_object_get_ex(rep, "session", &s) &&
		    json_object_object_get_ex(rep, "devices", &devs)) {
			json_object_object_add(s, "devices", json_object_get(devs));
			json_object_array_add(all, json_object_get(s));
			json_object_put(rep);
		}
		json_object_put(req);
	}
	if (d)
		closedir(d);
	return all;
}

/* Wait for "ERRNO message\n" from the daemon starting up. */
static int read_status(int fd)
{
	char line[600];
	size_t n = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (n < sizeof(line) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= START_TIMEOUT_MS)
			return rnbdctl_err(-ETIMEDOUT, "the session daemon did not start in %d s",
					   START_TIMEOUT_MS / 1000);
		if (poll(&p, 1, (int)(START_TIMEOUT_MS - ms)) <= 0)
			continue;
		r = read(fd, line + n, sizeof(line) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = '\0';
	if (!n)
		return rnbdctl_err(-EIO, "the session daemon died while starting");
	line[strcspn(line, "\n")] = '\0';
	{
		char *msg;
		long err = strtol(line, &msg, 10);

		while (*msg == ' ')
			msg++;
		if (err)
			return rnbdctl_err((int)-err, "%s", msg);
	}
	return 0;
}

/*
 * Start `rnbdctl session-daemon` detached: a double fork, so that it is
 * nobody's zombie, in its own session, with /dev/null for stdio.
 */
static int spawn(const struct target *t)
{
	char *argv[16 + 2 * TARGET_MAX_PATHS];
	char paths[TARGET_MAX_PATHS][300], port[8], sfd[16], delay[16], tmo[16];
	int argc = 0, p[2], status, ret;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return rnbdctl_err(-errno, "pipe: %s", strerror(errno));
	snprintf(sfd, sizeof(sfd), "%d", p[1]);
	argv[argc++] = "rnbdctl";
	argv[argc++] = "session-daemon";
	argv[argc++] = "-s";
	argv[argc++] = (char *)t->sessname;
	for (unsigned int i = 0; i < t->npaths; i++) {
		target_path_lib(&t->paths[i], paths[i], sizeof(paths[i]));
		argv[argc++] = "-p";
		argv[argc++] = paths[i];
	}
	if (t->port) {
		snprintf(port, sizeof(port), "%u", t->port);
		argv[argc++] = "-P";
		argv[argc++] = port;
	}
	if (t->transport[0]) {
		argv[argc++] = "-t";
		argv[argc++] = (char *)t->transport;
	}
	if (t->policy[0]) {
		argv[argc++] = "-m";
		argv[argc++] = (char *)t->policy;
	}
	if (t->reconnect_delay_s) {
		snprintf(delay, sizeof(delay), "%u", t->reconnect_delay_s);
		argv[argc++] = "-r";
		argv[argc++] = delay;
	}
	if (t->io_timeout_s) {
		snprintf(tmo, sizeof(tmo), "%u", t->io_timeout_s);
		argv[argc++] = "-T";
		argv[argc++] = tmo;
	}
	argv[argc++] = "-S";
	argv[argc++] = sfd;
	argv[argc] = NULL;

	pid = fork();
	if (pid < 0) {
		ret = rnbdctl_err(-errno, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		setsid();
		if (fork())
			_exit(0);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		fcntl(p[1], F_SETFD, 0);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(p[1]);
	waitpid(pid, &status, 0);
	ret = read_status(p[0]);
	close(p[0]);
	return ret;
}

void sessd_wait_exit(json_object *rep)
{
	int64_t pid;

	if (!rep || !ipc_int(rep, "exiting_pid", &pid) || pid <= 1)
		return;
	for (int i = 0; i < EXIT_WAIT_MS / 10 && !kill((pid_t)pid, 0); i++)
		usleep(10000);
}

/* A daemon whose first map failed: let it go and wait until it has. */
static void quit_unused(const char *name)
{
	json_object *req = json_object_new_object(), *rep = NULL;

	ipc_add_str(req, "command", "quit");
	if (sessd_call(name, req, &rep) == 0)
		sessd_wait_exit(rep);
	json_object_put(rep);
	json_object_put(req);
}

static int lock_sessions(void)
{
	char dir[400];
	int fd, ret;

	rnbdctl_rundir(dir, sizeof(dir), "sessions");
	ret = rnbdctl_mkdirs(dir);
	if (ret)
		return rnbdctl_err(ret, "%s: %s", dir, strerror(-ret));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		ret = rnbdctl_err(-errno, "lock %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	return fd;
}

int sessd_map(const struct target *t, json_object **dev)
{
	json_object *req;
	bool started = false;
	char path[PATH_MAX];
	int lock, ret;

	sock_path(t->sessname, path, sizeof(path));
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return rnbdctl_err(-ENAMETOOLONG, "session name %s is too long for a socket in %s",
				   t->sessname, path);
	req = json_object_new_object();
	ipc_add_str(req, "command", "map");
	ipc_add_str(req, "path", t->device);
	ipc_add_str(req, "access_mode", rnbdctl_mode_str(t->mode));
	ipc_add_str(req, "backend", target_backend_str(t->backend));
	lock = lock_sessions();
	if (lock < 0) {
		json_object_put(req);
		return lock;
	}
	ret = sessd_call(t->sessname, req, dev);
	if (ret == -ENXIO) {
		if (!t->npaths) {
			ret = rnbdctl_err(-ENXIO, "no session %s yet: give the server's address",
					  t->sessname);
			goto out;
		}
		/* a socket left by a daemon that was killed */
		unlink(path);
		ret = spawn(t);
		if (ret)
			goto out;
		started = true;
		ret = sessd_call(t->sessname, req, dev);
	}
	if (ret && started) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", rnbdctl_errmsg());
		quit_unused(t->sessname);
		rnbdctl_err(ret, "%s", msg);
	}
out:
	close(lock);
	json_object_put(req);
	return ret;
}
