/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rnbd-serve's configuration file (libconfig), see rnbd-serve.conf(5). */
#ifndef RNBD_SERVE_CONFIG_H
#define RNBD_SERVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnbd/rnbd.h"

#define SERVE_DEFAULT_CONFIG "/etc/rnbd/rnbd-serve.conf"
#define SERVE_DEFAULT_SOCKET "/run/rnbd/serve.sock"
#define SERVE_MAX_LISTEN 16
#define SERVE_DEFAULT_MEMORY_NAME "memory"
#define SERVE_DEFAULT_MEMORY_SIZE (1ull << 30)
#define SERVE_MEMORY_MAX (1ull << 40)	/* the memory backend's limit */
#define SERVE_NAME_MAX (RNBD_NAME_MAX - 1)
#define SERVE_MAX_WORKERS 256

struct serve_config {
	char *listen[SERVE_MAX_LISTEN];
	unsigned int nlisten;
	unsigned int port;
	char *transport;
	unsigned int workers;
	unsigned int queue_depth;
	unsigned int max_io_size;
	unsigned int heartbeat_ms;
	unsigned int max_sessions;
	unsigned int max_paths;
	unsigned int max_devices;
	unsigned int sndbuf, rcvbuf;
	char *control_socket;
	char *dev_search_path;		/* NULL: exports only */
	struct rnbd_export_conf *exports;
	unsigned int nexports;
	struct rnbd_rule_conf *rules;
	unsigned int nrules;
};

/*
 * Read path into c.  A missing file is an error only when required;
 * otherwise c is the built-in default: one memory export named "memory" of
 * memory_size bytes and no search path.  On error, a message "FILE:LINE:
 * what" is in err and c is untouched.
 */
int serve_config_load(const char *path, bool required, uint64_t memory_size,
		      struct serve_config *c, char *err, size_t errlen);
void serve_config_free(struct serve_config *c);

/* What rnbd_srv_reconfigure() takes from it (pointers into c). */
void serve_config_srv_conf(const struct serve_config *c, struct rnbd_srv_conf *out);

/*
 * The settings that only a restart applies (listen, port, transport, ...)
 * that differ between run, what the server was started with, and c: their
 * names, comma-separated, in buf; "" when none do.
 */
void serve_config_restart_diff(const struct serve_config *run, const struct serve_config *c,
			       char *buf, size_t len);
/* Give c run's values of those settings, taking run's strings, so that c
 * says what the server runs with. */
void serve_config_keep_restart(struct serve_config *c, struct serve_config *run);

/* "4096", "64K", "1G", "2T": bytes; -EINVAL otherwise. */
int serve_parse_size(const char *s, uint64_t *out);

/* 0 for a transport this build serves, else -EINVAL with why in err. */
int serve_transport_check(const char *name, char *err, size_t len);

#endif
