// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rnbd-serve: the RNBD server daemon.  Serves the exports and search path of
 * /etc/rnbd/rnbd-serve.conf (or, with no configuration at all, one memory
 * export); SIGHUP reloads exports and rules, SIGTERM/SIGINT stop cleanly.
 * The main thread only waits for signals and control requests: the library
 * runs the I/O threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>

#include "common/ipc.h"
#include "config.h"
#include "ctl.h"

struct serve {
	const char *config_path;
	bool config_required;
	uint64_t memory_size;
	struct serve_config conf;
	struct rnbd_srv *srv;
	/* command-line settings that win over the file */
	const char *listen[SERVE_MAX_LISTEN];
	unsigned int nlisten;
	unsigned int port;
	const char *socket;
	unsigned int workers;
	const char *transport;
};

static bool foreground;
static enum rnbd_log_level verbosity = RNBD_LOG_INFO;

static void say(enum rnbd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(enum rnbd_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const name[] = { "error", "warning", "info", "debug" };
	char msg[1024];
	va_list ap;

	if (level > verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (foreground)
		fprintf(stderr, "rnbd-serve: %s: %s\n", name[level], msg);
	else
		syslog(prio[level], "%s", msg);
}

static void on_lib_log(void *opaque, enum rnbd_log_level level, const char *msg)
{
	(void)opaque;
	say(level, "%s", msg);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rnbd-serve [-f] [-c FILE] [-l ADDR[:PORT]]... [-p PORT] [-m SIZE]\n"
		"                  [-s SOCKET] [-t tcp|rdma] [-w WORKERS] [-v|-q]\n"
		"       rnbd-serve -V|-h\n"
		"  -c FILE   configuration (default " SERVE_DEFAULT_CONFIG ")\n"
		"  -f        stay in the foreground, log to stderr\n"
		"  -l ADDR   listen there (repeatable; default [::], dual stack)\n"
		"  -p PORT   default port, 1 to 65535 (1234)\n"
		"  -m SIZE   size of the built-in memory export when there is no\n"
		"            configuration file, a multiple of 4096 up to 1T (default 1G)\n"
		"  -s PATH   control socket (default " SERVE_DEFAULT_SOCKET ")\n"
		"  -t NAME   transport: tcp (default) or rdma\n"
		"  -w N      I/O threads, 0 to %d (default: one per CPU)\n"
		"  -v, -q    more, less logging\n"
		"  -V        version\n"
		"  -h        this help\n", SERVE_MAX_WORKERS);
}

/* The whole of arg as a decimal number from min to max, or -EINVAL after saying so. */
static int parse_uint(int opt, const char *arg, unsigned int min, unsigned int max,
		      unsigned int *out)
{
	/* strtoul alone would take " 12", "-1" (as ULONG_MAX) and "12abc" (as 12) */
	bool digit = arg[0] >= '0' && arg[0] <= '9';
	unsigned long v = 0;
	char *end = NULL;

	errno = 0;
	if (digit)
		v = strtoul(arg, &end, 10);
	if (!digit || errno || *end || v < min || v > max) {
		fprintf(stderr, "rnbd-serve: -%c '%s': a number from %u to %u\n", opt, arg, min,
			max);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

/*
 * Detach as daemon(3) does, but the command that started the server waits
 * until it is up, and exits non-zero with the reason if it could not start:
 * the parent reads the child's word on a pipe (detach_done()) and never
 * returns.  The child gets the pipe's fd.
 */
static int detach(void)
{
	char buf[600];
	size_t n = 0;
	ssize_t r;
	int p[2], fd;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid) {
		close(p[1]);
		/* EOF without a word: the child died before it could say why */
		while (n < sizeof(buf) - 1 && (r = read(p[0], buf + n, sizeof(buf) - 1 - n))) {
			if (r < 0 && errno != EINTR)
				break;
			n += r > 0 ? (size_t)r : 0;
		}
		buf[n] = '\0';
		if (n && buf[0] == '0')
			exit(0);
		fprintf(stderr, "rnbd-serve: error: %s\n", n > 1 ? buf + 1 : "exited while starting");
		exit(1);
	}
	close(p[0]);
	fd = open("/dev/null", O_RDWR);
	if (setsid() < 0 || chdir("/") || fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 ||
	    dup2(fd, 2) < 0) {
		dprintf(p[1], "1detaching: %s", strerror(errno));
		_exit(1);
	}
	if (fd > 2)
		close(fd);
	return p[1];
}

/* Tell the waiting parent (status_fd < 0: none) that the start worked, or err. */
static void detach_done(int status_fd, const char *err)
{
	if (status_fd < 0)
		return;
	if (err)
		dprintf(status_fd, "1%s", err);
	else
		dprintf(status_fd, "0");
	close(status_fd);
}

static int load(struct serve *sv, struct serve_config *c, char *err, size_t len)
{
	int ret = serve_config_load(sv->config_path, sv->config_required, sv->memory_size, c, err,
				    len);

	if (ret)
		return ret;
	if (sv->nlisten) {
		for (unsigned int i = 0; i < c->nlisten; i++)
			free(c->listen[i]);
		for (unsigned int i = 0; i < sv->nlisten; i++)
			c->listen[i] = strdup(sv->listen[i]);
		c->nlisten = sv->nlisten;
	}
	if (sv->port)
		c->port = sv->port;
	if (sv->workers)
		c->workers = sv->workers;
	if (sv->socket) {
		free(c->control_socket);
		c->control_socket = strdup(sv->socket);
	}
	if (sv->transport) {
		free(c->transport);
		c->transport = strdup(sv->transport);
	}
	return 0;
}

static int reload(void *opaque, char *err, size_t len)
{
	struct serve *sv = opaque;
	struct serve_config c;
	struct rnbd_srv_conf sc;
	char changed[256];
	int ret = load(sv, &c, err, len);

	if (ret)
		return ret;
	serve_config_srv_conf(&c, &sc);
	ret = rnbd_srv_reconfigure(sv->srv, &sc);
	if (ret) {
		snprintf(err, len, "%s", rnbd_errmsg());
		serve_config_free(&c);
		return ret;
	}
	/* sv->conf holds what the server runs with: the next reload compares with that */
	serve_config_restart_diff(&sv->conf, &c, changed, sizeof(changed));
	if (changed[0])
		say(RNBD_LOG_WARN, "changed, but applied on restart only: %s", changed);
	serve_config_keep_restart(&c, &sv->conf);
	serve_config_free(&sv->conf);
	sv->conf = c;
	say(RNBD_LOG_INFO, "configuration reloaded: %u exports, %u rules", c.nexports, c.nrules);
	return 0;
}

static int start(struct serve *sv, char *err, size_t len)
{
	struct rnbd_srv_conf sc;
	struct rnbd_srv_opts o = {
		.size = sizeof(o),
		.listen = (const char *const *)sv->conf.listen,
		.nlisten = sv->conf.nlisten,
		.port = (uint16_t)sv->conf.port,
		.transport = sv->conf.transport,
		.nr_workers = sv->conf.workers,
		.queue_depth = sv->conf.queue_depth,
		.max_io_size = sv->conf.max_io_size,
		.hb_interval_ms = sv->conf.heartbeat_ms,
		.max_sessions = sv->conf.max_sessions,
		.max_paths = sv->conf.max_paths,
		.max_devices = sv->conf.max_devices,
		.sndbuf = sv->conf.sndbuf,
		.rcvbuf = sv->conf.rcvbuf,
		.conf = &sc,
	};
	int ret;

	serve_config_srv_conf(&sv->conf, &sc);
	ret = rnbd_srv_open(&sv->srv, &o);
	if (ret) {
		snprintf(err, len, "cannot start: %s", rnbd_errmsg());
		return ret;
	}
	for (unsigned int i = 0; i < (sv->conf.nlisten ? sv->conf.nlisten : 1); i++) {
		char addr[80];

		if (!rnbd_srv_listen_addr(sv->srv, i, addr, sizeof(addr)))
			say(RNBD_LOG_INFO, "listening on %s", addr);
	}
	for (unsigned int i = 0; i < sv->conf.nexports; i++)
		say(RNBD_LOG_INFO, "export %s", sv->conf.exports[i].name);
	if (sv->conf.dev_search_path)
		say(RNBD_LOG_INFO, "other names are looked up under %s", sv->conf.dev_search_path);
	return 0;
}

/* Signals and control requests until SIGTERM or SIGINT. */
static void run(struct serve *sv, int sfd, int cfd)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
				       { .fd = cfd, .events = POLLIN } };
		struct signalfd_siginfo si;
		char err[512];

		if (poll(p, cfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			say(RNBD_LOG_ERR, "poll: %s", strerror(errno));
			return;
		}
		if (p[1].revents & POLLIN)
			ctl_serve_one(cfd, sv->srv, &sv->conf, reload, sv);
		if (!(p[0].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			say(RNBD_LOG_INFO, "SIGHUP: reloading %s", sv->config_path);
			if (reload(sv, err, sizeof(err)))
				say(RNBD_LOG_ERR, "reload failed, keeping the old configuration: %s",
				    err);
			continue;
		}
		say(RNBD_LOG_INFO, "%s: finishing requests in flight, closing sessions",
		    si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
	}
}

int main(int argc, char **argv)
{
	struct serve sv = { .config_path = SERVE_DEFAULT_CONFIG,
			    .memory_size = SERVE_DEFAULT_MEMORY_SIZE };
	char err[512];
	sigset_t mask;
	int c, sfd, cfd, status_fd = -1;

	while ((c = getopt(argc, argv, "c:fl:p:m:s:t:w:vqVh")) != -1) {
		switch (c) {
		case 'c':
			sv.config_path = optarg;
			sv.config_required = true;
			break;
		case 'f': foreground = true; break;
		case 'l':
			if (sv.nlisten == SERVE_MAX_LISTEN) {
				fprintf(stderr, "rnbd-serve: at most %d -l\n", SERVE_MAX_LISTEN);
				return 2;
			}
			sv.listen[sv.nlisten++] = optarg;
			break;
		case 'p':
			if (parse_uint(c, optarg, 1, 65535, &sv.port))
				return 2;
			break;
		case 'm':
			if (serve_parse_size(optarg, &sv.memory_size) || !sv.memory_size ||
			    sv.memory_size % 4096 || sv.memory_size > SERVE_MEMORY_MAX) {
				fprintf(stderr, "rnbd-serve: -m '%s': a multiple of 4096 up to 1T, "
					"like 1G\n", optarg);
				return 2;
			}
			break;
		case 's': sv.socket = optarg; break;
		case 't':
			if (serve_transport_check(optarg, err, sizeof(err))) {
				fprintf(stderr, "rnbd-serve: -t %s\n", err);
				return 2;
			}
			sv.transport = optarg;
			break;
		case 'w':
			if (parse_uint(c, optarg, 0, SERVE_MAX_WORKERS, &sv.workers))
				return 2;
			break;
		case 'v': verbosity = RNBD_LOG_DEBUG; break;
		case 'q': verbosity = RNBD_LOG_WARN; break;
		case 'V':
			printf("rnbd-serve %s\n", rnbd_version());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* a bad configuration is reported before anything starts */
	if (load(&sv, &sv.conf, err, sizeof(err))) {
		fprintf(stderr, "rnbd-serve: %s\n", err);
		return 1;
	}
	if (!foreground) {
		openlog("rnbd-serve", LOG_PID, LOG_DAEMON);
		/* before the library starts threads, which fork() would not copy */
		status_fd = detach();
		if (status_fd < 0) {
			fprintf(stderr, "rnbd-serve: detaching: %s\n", strerror(-status_fd));
			return 1;
		}
	}
	rnbd_log_set_handler(on_lib_log, NULL, verbosity);
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	/* blocked before the library starts its threads, which inherit it */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		snprintf(err, sizeof(err), "cannot start: signalfd: %s", strerror(errno));
	if (sfd < 0 || start(&sv, err, sizeof(err))) {
		say(RNBD_LOG_ERR, "%s", err);
		detach_done(status_fd, err);
		serve_config_free(&sv.conf);
		return 1;
	}
	cfd = ipc_listen(sv.conf.control_socket);
	if (cfd < 0)
		say(RNBD_LOG_WARN, "no control socket at %s: %s", sv.conf.control_socket,
		    strerror(-cfd));
	say(RNBD_LOG_INFO, "ready");
	detach_done(status_fd, NULL);
	run(&sv, sfd, cfd);
	if (cfd >= 0) {
		close(cfd);
		unlink(sv.conf.control_socket);
	}
	rnbd_srv_stop_listening(sv.srv);
	rnbd_srv_close(sv.srv);
	say(RNBD_LOG_INFO, "stopped");
	rnbd_log_set_handler(NULL, NULL, RNBD_LOG_ERR);
	serve_config_free(&sv.conf);
	close(sfd);
	return 0;
}
