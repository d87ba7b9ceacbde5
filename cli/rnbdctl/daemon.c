// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session daemon: one process per RNBD session, holding the session and
 * every device mapped through it as /dev/loopN over a FUSE file.  rnbdctl
 * starts it on the first map of a session and talks to it over
 * RUNDIR/sessions/<session>.sock; it exits when its last device is unmapped.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/ipc.h"
#include "blkdev.h"
#include "fusefs.h"
#include "loopdev.h"
#include "rnbdctl.h"
#include "target.h"
#include "ublk.h"

struct mapping {
	bool used;
	char path[RNBD_NAME_MAX];
	enum rnbd_access_mode mode;
	struct rnbd_dev *dev;
	uint64_t size;			/* what the block device shows */
	struct ublkdev *ublk;		/* ublk, or else FUSE file + loop: */
	int fuse_idx;
	int loop;
	char node[32];
};

struct daemon {
	char sessname[256];
	struct rnbd_sess *sess;
	struct fusefs *fs;
	struct mapping maps[FUSEFS_MAX];
	unsigned int nmaps;
	char sock[PATH_MAX];
	char logpath[PATH_MAX];
	FILE *log;
	char policy[16];
	bool ever_mapped;
	bool quit;
	volatile bool connected;
};

#define IDLE_EXIT_MS 30000

static struct daemon dm;

/*
 * To RUNDIR/sessions/<session>.log while the daemon lives, and to syslog,
 * which outlives it.
 */
static void dlogv(int prio, const char *fmt, va_list ap)
{
	char ts[32], msg[1024];
	time_t t = time(NULL);

	vsnprintf(msg, sizeof(msg), fmt, ap);
	syslog(prio, "%s: %s", dm.sessname, msg);
	if (!dm.log)
		return;
	strftime(ts, sizeof(ts), "%F %T", localtime(&t));
	fprintf(dm.log, "%s %s\n", ts, msg);
	fflush(dm.log);
}

static void dlog_prio(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dlog_prio(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dlogv(prio, fmt, ap);
	va_end(ap);
}

#define dlog(...) dlog_prio(LOG_INFO, __VA_ARGS__)

static void on_lib_log(void *opaque, enum rnbd_log_level level, const char *msg)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

	(void)opaque;
	dlog_prio(prio[level], "%s", msg);
}

static void on_event(void *opaque, enum rnbd_sess_event ev)
{
	(void)opaque;
	dm.connected = ev == RNBD_SESS_RECONNECTED;
	dlog("session %s", dm.connected ? "reconnected" : "lost every path");
}

static const char *mode_str(enum rnbd_access_mode m)
{
	return m == RNBD_ACCESS_RO ? "ro" : m == RNBD_ACCESS_RW ? "rw" : "migration";
}

static struct mapping *find(const char *what)
{
	for (unsigned int i = 0; i < FUSEFS_MAX; i++) {
		struct mapping *m = &dm.maps[i];

		if (m->used && (!strcmp(m->node, what) || !strcmp(m->node + 5, what) ||
				!strcmp(m->path, what)))
			return m;
	}
	return NULL;
}

static json_object *device_json(struct mapping *m)
{
	json_object *o = json_object_new_object();
	struct rnbd_dev_info info;

	rnbd_dev_get_info(m->dev, &info);
	ipc_add_str(o, "device", m->node);
	ipc_add_str(o, "session", dm.sessname);
	ipc_add_str(o, "mapping_path", m->path);
	ipc_add_str(o, "access_mode", mode_str(m->mode));
	ipc_add_str(o, "state", dm.connected ? "open" : "closed");
	ipc_add_str(o, "backend", m->ublk ? "ublk" : "fuse");
	ipc_add_int(o, "size", (int64_t)m->size);
	ipc_add_int(o, "logical_block_size", info.logical_block_size);
	ipc_add_int(o, "device_id", info.device_id);
	return o;
}

static json_object *paths_json(void)
{
	struct rnbd_sess_path p[64];
	int n = rnbd_sess_paths(dm.sess, p, 64);
	json_object *a = json_object_new_array();

	for (int i = 0; i < n && i < 64; i++) {
		json_object *o = json_object_new_object();

		char name[600];

		snprintf(name, sizeof(name), "%s@%s", p[i].info.local[0] ? p[i].info.local : "*",
			 p[i].info.peer);
		ipc_add_int(o, "id", p[i].id);
		ipc_add_str(o, "name", name);
		ipc_add_str(o, "session", dm.sessname);
		ipc_add_str(o, "src", p[i].info.local[0] ? p[i].info.local : NULL);
		ipc_add_str(o, "dst", p[i].info.peer);
		ipc_add_str(o, "state", p[i].info.state);
		ipc_add_int(o, "reqs_read", (int64_t)p[i].info.reqs_read);
		ipc_add_int(o, "reqs_write", (int64_t)p[i].info.reqs_write);
		ipc_add_int(o, "bytes_read", (int64_t)p[i].info.bytes_read);
		ipc_add_int(o, "bytes_write", (int64_t)p[i].info.bytes_write);
		ipc_add_int(o, "inflight", (int64_t)p[i].info.inflight);
		ipc_add_int(o, "failovers", (int64_t)p[i].failovers);
		ipc_add_int(o, "reconnects", (int64_t)p[i].reconnects);
		ipc_add_int(o, "latency_avg_ns", (int64_t)p[i].lat_avg_ns);
		ipc_add_int(o, "latency_max_ns", (int64_t)p[i].lat_max_ns);
		ipc_add_int(o, "hb_rtt_ns", (int64_t)p[i].hb_rtt_ns);
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *cmd_list(void)
{
	json_object *rep = ipc_ok(), *s = json_object_new_object(), *devs = json_object_new_array();

	for (unsigned int i = 0; i < FUSEFS_MAX; i++)
		if (dm.maps[i].used)
			json_object_array_add(devs, device_json(&dm.maps[i]));
	ipc_add_str(s, "name", dm.sessname);
	ipc_add_str(s, "state", dm.connected ? "connected" : "disconnected");
	ipc_add_str(s, "backend", "daemon");
	ipc_add_int(s, "pid", getpid());
	ipc_add_str(s, "policy", dm.policy);
	json_object_object_add(s, "paths", paths_json());
	json_object_object_add(rep, "session", s);
	json_object_object_add(rep, "devices", devs);
	return rep;
}

/* The FUSE file system, mounted on the first map that needs it. */
static int fuse_get(void)
{
	char dir[512], mnt[PATH_MAX];
	int ret;

	if (dm.fs)
		return 0;
	rnbdctl_rundir(dir, sizeof(dir), "fuse");
	snprintf(mnt, sizeof(mnt), "%s/%s", dir, dm.sessname);
	ret = rnbdctl_mkdirs(dir);
	if (!ret)
		ret = fusefs_start(mnt, &dm.fs);
	return ret;
}

static int expose_fuse(struct mapping *m, const struct rnbd_dev_info *info, bool ro)
{
	char file[PATH_MAX];
	int ret = fuse_get();

	if (ret)
		return rnbdctl_err(ret, "cannot mount the FUSE file system: %s (is /dev/fuse there?)",
				   strerror(-ret));
	m->fuse_idx = fusefs_add(dm.fs, m->dev, info->size, ro, file, sizeof(file));
	if (m->fuse_idx < 0)
		return rnbdctl_err(m->fuse_idx, "no room for another device");
	m->loop = loopdev_attach(file, info->logical_block_size, ro, m->node, sizeof(m->node));
	if (m->loop < 0) {
		ret = m->loop;
		fusefs_remove(dm.fs, m->fuse_idx);
		return rnbdctl_err(ret, "cannot attach a loop device to %s: %s", file,
				   strerror(-ret));
	}
	return 0;
}

static json_object *cmd_map(json_object *req)
{
	const char *path = ipc_str(req, "path"), *mode_s = ipc_str(req, "access_mode");
	const char *backend = ipc_str(req, "backend");
	enum rnbd_access_mode mode = RNBD_ACCESS_RW;
	struct rnbd_dev_info info;
	struct mapping *m = NULL;
	bool ublk;
	int ret;

	if (!path)
		return ipc_error(EINVAL, "map needs a \"path\"");
	if (mode_s && rnbdctl_mode_parse(mode_s, &mode))
		return ipc_error(EINVAL, "access mode '%s': ro, rw or migration", mode_s);
	if (backend && strcmp(backend, "auto") && strcmp(backend, "fuse") &&
	    strcmp(backend, "ublk"))
		return ipc_error(EINVAL, "backend '%s': auto, fuse or ublk", backend);
	if (find(path))
		return ipc_error(EEXIST, "%s is already mapped in session %s", path, dm.sessname);
	for (unsigned int i = 0; i < FUSEFS_MAX && !m; i++)
		if (!dm.maps[i].used)
			m = &dm.maps[i];
	if (!m)
		return ipc_error(ENOSPC, "session %s has %d devices mapped", dm.sessname,
				 FUSEFS_MAX);
	/* ublk where the kernel has it, FUSE + loop everywhere */
	ublk = backend && !strcmp(backend, "ublk");
	if (!ublk && (!backend || !strcmp(backend, "auto")))
		ublk = ublk_available();
	else if (ublk && !ublk_available())
		return ipc_error(ENODEV, "the kernel has no ublk_drv: use the fuse backend");
	ret = rnbd_dev_open(dm.sess, path, mode, &m->dev);
	if (ret)
		return ipc_error(ret, "%s", rnbd_errmsg());
	rnbd_dev_get_info(m->dev, &info);
	m->ublk = NULL;
	ret = ublk ? ublkdev_add(m->dev, mode == RNBD_ACCESS_RO, &m->ublk, m->node, sizeof(m->node)) :
		     expose_fuse(m, &info, mode == RNBD_ACCESS_RO);
	if (ret) {
		rnbd_dev_close(m->dev);
		return ipc_error(ret, "%s", rnbdctl_errmsg());
	}
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->mode = mode;
	m->size = info.size;
	m->used = true;
	dm.nmaps++;
	dm.ever_mapped = true;
	dlog("mapped %s (%s) as %s", path, mode_str(mode), m->node);
	return device_json(m);
}

static int unmap_one(struct mapping *m, bool force)
{
	int ret;

	if (!force && blkdev_busy(m->node))
		return -EBUSY;
	if (m->ublk) {
		ublkdev_del(m->ublk);
		m->ublk = NULL;
	} else {
		ret = loopdev_detach(m->loop, force);
		if (ret && !force)
			return ret;
		fusefs_remove(dm.fs, m->fuse_idx);
	}
	ret = rnbd_dev_close(m->dev);
	dlog("unmapped %s (%s)%s", m->node, m->path, force ? " by force" : "");
	m->used = false;
	dm.nmaps--;
	return ret;
}

static json_object *pid_reply(void)
{
	json_object *rep = ipc_ok();

	ipc_add_int(rep, "exiting_pid", getpid());
	return rep;
}

static json_object *cmd_unmap(json_object *req)
{
	const char *dev = ipc_str(req, "device");
	json_object *force_v;
	bool force = json_object_object_get_ex(req, "force", &force_v) &&
		     json_object_get_boolean(force_v);
	struct mapping *m = dev ? find(dev) : NULL;
	int ret;

	if (!m)
		return ipc_error(ENOENT, "%s is not mapped in session %s", dev ? dev : "(none)",
				 dm.sessname);
	ret = unmap_one(m, force);
	if (ret == -EBUSY)
		return ipc_error(EBUSY, "%s is in use; unmap --force to unmap anyway", m->node);
	if (ret)
		return ipc_error(ret, "unmap %s: %s", dev, rnbd_errmsg());
	/* the last device: the daemon goes, and says who to wait for */
	return dm.nmaps ? ipc_ok() : pid_reply();
}

/*
 * remap: OPEN again, for the server's size and limits.  resize: that, then
 * the loop device takes the new size, or "size" bytes if the request gives
 * a smaller one.
 */
static json_object *cmd_remap(json_object *req, bool resize)
{
	const char *dev = ipc_str(req, "device");
	struct mapping *m = dev ? find(dev) : NULL;
	struct rnbd_dev_info info;
	int64_t size = -1;
	int ret;

	if (!m)
		return ipc_error(ENOENT, "%s is not mapped in session %s", dev ? dev : "(none)",
				 dm.sessname);
	ret = rnbd_dev_remap(m->dev);
	if (ret)
		return ipc_error(ret, "%s", rnbd_errmsg());
	rnbd_dev_get_info(m->dev, &info);
	if (!resize)
		return device_json(m);	/* the size stays until a resize */
	if (m->ublk)
		return ipc_error(EOPNOTSUPP, "%s: ublk cannot change the size of a running device; "
				 "unmap and map again", m->node);
	if (ipc_int(req, "size", &size)) {
		if (size <= 0 || (uint64_t)size > info.size)
			return ipc_error(EINVAL, "%s: %lld bytes is not in 1..%llu, the export's size",
					 m->node, (long long)size, (unsigned long long)info.size);
		if (size % info.logical_block_size)
			return ipc_error(EINVAL, "%s: %lld bytes is not a multiple of %u", m->node,
					 (long long)size, info.logical_block_size);
		info.size = (uint64_t)size;
	}
	m->size = info.size;
	fusefs_resize(dm.fs, m->fuse_idx, info.size);
	ret = loopdev_set_capacity(m->loop);
	if (ret)
		return ipc_error(ret, "%s: new capacity: %s", m->node, strerror(-ret));
	dlog("%s resized to %llu bytes", m->node, (unsigned long long)info.size);
	return device_json(m);
}

static json_object *cmd_path(json_object *req, const char *cmd)
{
	const char *path = ipc_str(req, "path");
	int64_t id = -1;
	int ret;

	if (!strcmp(cmd, "path-add")) {
		if (!path)
			return ipc_error(EINVAL, "path-add needs a \"path\"");
		ret = rnbd_sess_path_add(dm.sess, path);
		if (ret < 0)
			return ipc_error(ret, "%s", rnbd_errmsg());
		json_object *rep = ipc_ok();

		ipc_add_int(rep, "id", ret);
		return rep;
	}
	if (!strcmp(cmd, "reconnect")) {
		struct rnbd_sess_path p[64];
		int n = rnbd_sess_paths(dm.sess, p, 64);

		for (int i = 0; i < n && i < 64; i++) {
			ret = rnbd_sess_path_reconnect(dm.sess, p[i].id);
			if (ret)
				return ipc_error(ret, "path %d: %s", p[i].id, rnbd_errmsg());
		}
		return ipc_ok();
	}
	if (!ipc_int(req, "id", &id))
		return ipc_error(EINVAL, "%s needs a path \"id\"", cmd);
	ret = !strcmp(cmd, "path-delete") ? rnbd_sess_path_remove(dm.sess, (int)id) :
					      rnbd_sess_path_reconnect(dm.sess, (int)id);
	return ret ? ipc_error(ret, "%s", rnbd_errmsg()) : ipc_ok();
}

static json_object *dispatch(json_object *req)
{
	const char *cmd = ipc_str(req, "command");
	const char *policy = ipc_str(req, "policy");

	if (!cmd)
		return ipc_error(EINVAL, "request without a \"command\"");
	if (!strcmp(cmd, "list"))
		return cmd_list();
	if (!strcmp(cmd, "map"))
		return cmd_map(req);
	if (!strcmp(cmd, "unmap"))
		return cmd_unmap(req);
	if (!strcmp(cmd, "remap") || !strcmp(cmd, "resize"))
		return cmd_remap(req, !strcmp(cmd, "resize"));
	if (!strcmp(cmd, "path-add") || !strcmp(cmd, "path-delete") ||
	    !strcmp(cmd, "path-reconnect") || !strcmp(cmd, "reconnect"))
		return cmd_path(req, cmd);
	if (!strcmp(cmd, "quit")) {
		/* for rnbdctl, after the first map of a daemon it started failed */
		if (dm.nmaps)
			return ipc_error(EBUSY, "session %s has devices mapped", dm.sessname);
		dm.quit = true;
		return pid_reply();
	}
	if (!strcmp(cmd, "policy")) {
		if (!policy || rnbd_sess_set_policy(dm.sess, policy))
			return ipc_error(EINVAL, "policy: round-robin, min-inflight or min-latency");
		snprintf(dm.policy, sizeof(dm.policy), "%s", policy);
		dlog("policy %s", policy);
		return ipc_ok();
	}
	return ipc_error(EINVAL, "unknown command '%s'", cmd);
}

static void report(int fd, int err, const char *msg)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "%d %s\n", err, msg);

	if (fd >= 0 && write(fd, line, (size_t)n) < 0)
		dlog("status: %s", strerror(errno));
}

/*
 * Until the last device goes, or SIGTERM/SIGINT (which unmaps by force).  A
 * daemon whose first map never came (it failed, or rnbdctl died) leaves
 * after IDLE_EXIT_MS.
 */
static void serve(int lfd, int sfd)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!(dm.ever_mapped && !dm.nmaps) && !dm.quit) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		json_object *req, *rep;
		int fd, n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if (!dm.ever_mapped && (t.tv_sec - t0.tv_sec) * 1000 > IDLE_EXIT_MS) {
			dlog("no device was mapped: leaving");
			return;
		}
		n = poll(p, 2, 1000);
		if (!n)
			continue;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[1].revents & POLLIN) {
			dlog("signalled: unmapping everything");
			for (unsigned int i = 0; i < FUSEFS_MAX; i++)
				if (dm.maps[i].used)
					unmap_one(&dm.maps[i], true);
			return;
		}
		fd = ipc_accept(lfd, &req, &rep);
		if (fd < 0)
			continue;
		if (!rep)
			rep = dispatch(req);
		json_object_put(req);
		ipc_answer(fd, rep);
	}
}

/* Leave nothing in RUNDIR: the socket, the log, and directories now empty. */
static void cleanup(void)
{
	char dir[512];

	if (dm.sock[0])
		unlink(dm.sock);
	if (dm.log) {
		fclose(dm.log);
		dm.log = NULL;
		unlink(dm.logpath);
	}
	rnbdctl_rundir(dir, sizeof(dir), "fuse");
	rmdir(dir);
	rnbdctl_rundir(dir, sizeof(dir), "sessions");
	rmdir(dir);
	rnbdctl_rundir(dir, sizeof(dir), NULL);
	rmdir(dir);
}

static int fail(int status, int err, const char *msg)
{
	dlog_prio(LOG_ERR, "%s", msg);
	report(status, err, msg);
	cleanup();
	return 1;
}

int rnbdctl_session_daemon(int argc, char **argv)
{
	const char *paths[TARGET_MAX_PATHS], *transport = NULL, *policy = NULL;
	struct rnbd_sess_opts o = { .size = sizeof(o), .event = on_event };
	unsigned int npaths = 0;
	char dir[512];
	int c, status = -1, lfd, sfd, ret;
	sigset_t mask;

	while ((c = getopt(argc, argv, "s:p:P:t:m:r:T:S:")) != -1) {
		switch (c) {
		case 's': snprintf(dm.sessname, sizeof(dm.sessname), "%s", optarg); break;
		case 'p':
			if (npaths == TARGET_MAX_PATHS)
				return 2;
			paths[npaths++] = optarg;
			break;
		case 'P': o.port = (uint16_t)atoi(optarg); break;
		case 't': transport = optarg; break;
		case 'm': policy = optarg; break;
		case 'r': o.reconnect_delay_ms = (uint32_t)atoi(optarg) * 1000; break;
		case 'T': o.io_timeout_ms = (uint32_t)atoi(optarg) * 1000; break;
		case 'S': status = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!dm.sessname[0] || !npaths)
		return 2;
	openlog("rnbdctl", LOG_PID, LOG_DAEMON);
	rnbdctl_rundir(dir, sizeof(dir), "sessions");
	snprintf(dm.sock, sizeof(dm.sock), "%s/%s.sock", dir, dm.sessname);
	snprintf(dm.logpath, sizeof(dm.logpath), "%s/%s.log", dir, dm.sessname);
	if (rnbdctl_mkdirs(dir) || !(dm.log = fopen(dm.logpath, "ae")))
		return fail(status, errno, "cannot write to the run directory");
	rnbd_log_set_handler(on_lib_log, NULL, RNBD_LOG_INFO);
	o.sessname = dm.sessname;
	o.paths = paths;
	o.npaths = npaths;
	o.transport = transport;
	o.policy = policy;
	snprintf(dm.policy, sizeof(dm.policy), "%s", policy ? policy : "min-inflight");
	ret = rnbd_sess_open(&dm.sess, &o);
	if (ret)
		return fail(status, -ret, rnbd_errmsg());
	dm.connected = true;
	lfd = ipc_listen(dm.sock);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (lfd < 0 || sfd < 0) {
		rnbd_sess_close(dm.sess);
		return fail(status, lfd < 0 ? -lfd : errno, "cannot make the control socket");
	}
	dlog("session %s up, serving %s", dm.sessname, dm.sock);
	report(status, 0, "ok");
	close(status);
	serve(lfd, sfd);
	close(lfd);
	close(sfd);
	unlink(dm.sock);
	if (dm.fs)
		fusefs_stop(dm.fs);
	rnbd_sess_close(dm.sess);
	dlog("session %s closed", dm.sessname);
	rnbd_log_set_handler(NULL, NULL, RNBD_LOG_ERR);
	cleanup();
	closelog();
	return 0;
}
