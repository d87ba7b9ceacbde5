/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * librnbd public API.
 *
 * Conventions: every function returns 0 (or a non-negative count) on success
 * and a negative errno on failure, with a human-readable message for the
 * calling thread in rnbd_errmsg().  When a function that takes a completion
 * callback fails, the callback is never called.  The library never prints,
 * never exits and installs no signal handler.
 */
#ifndef RNBD_RNBD_H
#define RNBD_RNBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "rnbd-proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RNBD_API __attribute__((visibility("default")))
#else
#define RNBD_API
#endif

/* Version of the library ("0.1.0"). */
RNBD_API const char *rnbd_version(void);

/* Message describing the last error of the calling thread ("" if none). */
RNBD_API const char *rnbd_errmsg(void);

enum rnbd_log_level {
	RNBD_LOG_ERR,
	RNBD_LOG_WARN,
	RNBD_LOG_INFO,
	RNBD_LOG_DEBUG,
};

typedef void (*rnbd_log_fn)(void *opaque, enum rnbd_log_level level, const char *msg);

/*
 * Route library log messages up to max_level to fn (NULL: drop them).  fn
 * may be called from any library thread, concurrently, and with library
 * locks held: it must not call back into librnbd.  Until a program
 * sets a handler, messages are dropped, or written to stderr when the
 * environment has RNBD_LOG=error|warn|info|debug (up to that level).
 */
RNBD_API void rnbd_log_set_handler(rnbd_log_fn fn, void *opaque, enum rnbd_log_level max_level);

/* ------------------------------------------------------------------ */
/* Statistics and descriptions shared by both sides */

struct rnbd_path_info {
	char peer[64];			/* "1.2.3.4:1234", "[::1]:1234" */
	char local[64];
	const char *state;		/* "connected", "reconnecting", ... */
	uint64_t reqs_read, reqs_write;
	uint64_t bytes_read, bytes_write;
	uint64_t inflight;
};

/* ------------------------------------------------------------------ */
/* Client */

struct rnbd_sess;
struct rnbd_dev;

enum rnbd_sess_event {
	RNBD_SESS_DISCONNECTED,		/* no path left: I/O waits, then fails */
	RNBD_SESS_RECONNECTED,		/* a path is back and devices re-opened */
};

struct rnbd_sess_opts {
	size_t size;			/* sizeof(struct rnbd_sess_opts) */
	const char *sessname;		/* NULL: "<hostname>-<pid>" */
	const char *const *paths;	/* "[SRC,]DST[:PORT]", one per path */
	unsigned int npaths;
	uint16_t port;			/* 0: 1234 */
	const char *transport;		/* "tcp" (default) */
	const char *policy;		/* "min-inflight" (default), "round-robin", "min-latency" */
	unsigned int nr_workers;	/* I/O threads; 0: one per CPU */
	uint32_t reconnect_delay_ms;	/* 0: 30000, as rnbd */
	int max_reconnect_attempts;	/* 0: forever; < 0: never */
	uint32_t hb_interval_ms;	/* 0: 5000 */
	uint32_t io_timeout_ms;		/* I/O waits this long for a path; 0: 30000 */
	uint32_t connect_timeout_ms;	/* 0: 30000 */
	void (*event)(void *opaque, enum rnbd_sess_event ev);
	void *opaque;
	/* TCP socket buffers in bytes (SO_SNDBUF, SO_RCVBUF, which
	 * Linux doubles); 0: the kernel's autotuning.  Added after 0.1.0: a
	 * size of 0.1.0's struct is accepted, and these are 0. */
	uint32_t sndbuf, rcvbuf;
};

/* Connect every path (all must come up) and exchange SESS_INFO. */
RNBD_API int rnbd_sess_open(struct rnbd_sess **out, const struct rnbd_sess_opts *opts);
/* Close every device still open, then the session. */
RNBD_API void rnbd_sess_close(struct rnbd_sess *s);
RNBD_API const char *rnbd_sess_name(const struct rnbd_sess *s);

struct rnbd_dev_info {
	uint32_t device_id;		/* the server's id, changes on reconnect */
	uint64_t size;			/* bytes */
	uint32_t logical_block_size;
	uint32_t physical_block_size;
	uint32_t max_io_size;		/* largest single request on the wire */
	uint32_t max_discard_sectors;	/* 0: no discard */
	uint32_t discard_granularity;
	uint32_t max_write_zeroes_sectors; /* 0: no write-zeroes */
	bool secure_erase;
	bool write_cache;		/* flushes matter */
	bool fua;
	bool readonly;			/* opened ro */
};

RNBD_API int rnbd_dev_open(struct rnbd_sess *s, const char *path, enum rnbd_access_mode mode,
			   struct rnbd_dev **out);
/* Wait for the device's I/O to finish, CLOSE it on the server, free it. */
RNBD_API int rnbd_dev_close(struct rnbd_dev *d);
RNBD_API int rnbd_dev_get_info(struct rnbd_dev *d, struct rnbd_dev_info *info);
/*
 * Send OPEN again: takes a new size and limits from the server, and brings
 * back a device whose re-open after a reconnect failed.
 */
RNBD_API int rnbd_dev_remap(struct rnbd_dev *d);

/*
 * An asynchronous request, owned by the caller from rnbd_dev_submit() until
 * done() runs (on a library thread).  op is RNBD_OP_READ, _WRITE, _FLUSH,
 * _DISCARD, _WRITE_ZEROES or _SECURE_ERASE; flags RNBD_F_FUA, RNBD_F_PREFLUSH,
 * RNBD_F_NOUNMAP.  offset and len are bytes, multiples of the logical block
 * size; READ/WRITE move len bytes through iov, the others take no iov.
 * Requests larger than the device's limits are split (the parts allocate).
 */
struct rnbd_io {
	uint32_t op;
	uint32_t flags;
	uint64_t offset;
	uint64_t len;
	const struct iovec *iov;
	unsigned int iovcnt;
	void (*done)(struct rnbd_io *io, int err);
	void *opaque;
	uint64_t priv[32];		/* private to librnbd */
};

/* 0: done() will run exactly once; negative errno: it will not. */
RNBD_API int rnbd_dev_submit(struct rnbd_dev *d, struct rnbd_io *io);

/* Synchronous wrappers: 0 or a negative errno. */
RNBD_API int rnbd_dev_pread(struct rnbd_dev *d, void *buf, size_t len, uint64_t offset);
RNBD_API int rnbd_dev_pwrite(struct rnbd_dev *d, const void *buf, size_t len, uint64_t offset);
RNBD_API int rnbd_dev_flush(struct rnbd_dev *d);
RNBD_API int rnbd_dev_discard(struct rnbd_dev *d, uint64_t offset, uint64_t len);
RNBD_API int rnbd_dev_write_zeroes(struct rnbd_dev *d, uint64_t offset, uint64_t len,
				   uint32_t flags);

struct rnbd_sess_path {
	int id;
	struct rnbd_path_info info;
	uint64_t failovers, reconnects;
	uint64_t lat_avg_ns, lat_max_ns;
	uint64_t hb_rtt_ns;
};

/* Up to max paths into out; returns how many the session has. */
RNBD_API int rnbd_sess_paths(struct rnbd_sess *s, struct rnbd_sess_path *out, unsigned int max);
/* "[SRC,]DST[:PORT]"; returns the new path's id. */
RNBD_API int rnbd_sess_path_add(struct rnbd_sess *s, const char *path);
RNBD_API int rnbd_sess_path_remove(struct rnbd_sess *s, int id);
RNBD_API int rnbd_sess_path_reconnect(struct rnbd_sess *s, int id);
RNBD_API int rnbd_sess_set_policy(struct rnbd_sess *s, const char *policy);

/* ------------------------------------------------------------------ */
/* rnbd:// URIs, see doc/rnbd-uri.md */

#define RNBD_URI_MAX_PATHS 16

struct rnbd_uri {
	char sessname[256];		/* "" when the URI names none */
	char paths[RNBD_URI_MAX_PATHS][300]; /* "host:port", "[v6]:port" */
	unsigned int npaths;
	char device[RNBD_NAME_MAX];	/* the path after the host list, decoded */
	char transport[8];		/* "tcp" unless given */
	char policy[16];		/* "" unless given */
	enum rnbd_access_mode access_mode; /* rw unless given */
	uint32_t sndbuf, rcvbuf;	/* 0 unless given */
};

/*
 * rnbd://[SESSNAME@]HOST[:PORT][,HOST[:PORT]...]/DEVICE[?KEY=VALUE&...]
 * with KEY one of transport (tcp, rdma), policy (round-robin, min-inflight,
 * min-latency), access_mode (ro, rw, migration), sndbuf and rcvbuf (TCP
 * socket buffers: bytes, or with a K, M or G suffix).  IPv6 hosts in
 * brackets; %XX escapes in the session name, device and values.  0, or
 * -EINVAL with a message naming what is wrong.
 */
RNBD_API int rnbd_uri_parse(const char *uri, struct rnbd_uri *out);

/*
 * Open a session to the URI's hosts and its device, in one call.  opts may
 * be NULL or give the other session settings (its paths, sessname,
 * transport and policy are taken from the URI, and sndbuf and rcvbuf
 * when the URI has them).
 */
RNBD_API int rnbd_open_uri(const char *uri, const struct rnbd_sess_opts *opts,
			   struct rnbd_sess **sess, struct rnbd_dev **dev);

/* ------------------------------------------------------------------ */
/* Server */

struct rnbd_srv;

enum rnbd_export_type {
	RNBD_EXPORT_MEMORY,		/* sparse, in the server's memory */
	RNBD_EXPORT_FILE,		/* a regular file */
	RNBD_EXPORT_BLOCKDEV,		/* a block device, O_DIRECT */
};

/* A named export: clients OPEN it by name. */
struct rnbd_export_conf {
	const char *name;
	enum rnbd_export_type type;
	const char *path;		/* file, blockdev */
	uint64_t size;			/* memory: bytes, a multiple of 4096 */
	bool readonly;
	bool sync_io;			/* pread/pwrite on the loop instead of io_uring */
};

/*
 * Access rule: a session whose name matches `sessions` (fnmatch) may open
 * devices whose OPEN name matches `devices` in modes up to max_mode
 * (RNBD_ACCESS_RO < RNBD_ACCESS_RW < RNBD_ACCESS_MIGRATION), or not at all
 * with max_mode < 0.  The first matching rule decides; with no rules every
 * session may open everything, as with the kernel's rnbd-server.
 */
struct rnbd_rule_conf {
	const char *sessions;
	const char *devices;
	int max_mode;
};

/* What rnbd_srv_reconfigure() can change on a running server. */
struct rnbd_srv_conf {
	/*
	 * Where OPEN names that are not exports are looked up, as the kernel's
	 * dev_search_path (may contain %SESSNAME%); NULL: exports only.
	 * Names are confined to it: "..", and symlinks that leave it, are
	 * refused.
	 */
	const char *dev_search_path;
	const struct rnbd_export_conf *exports;
	unsigned int nexports;
	const struct rnbd_rule_conf *rules;
	unsigned int nrules;
};

struct rnbd_srv_opts {
	size_t size;			/* sizeof(struct rnbd_srv_opts) */
	const char *const *listen;	/* "ADDR" or "ADDR:PORT"; NULL: "[::]" */
	unsigned int nlisten;
	uint16_t port;			/* 0: 1234 */
	const char *transport;		/* "tcp" (default) */
	unsigned int nr_workers;	/* 0: one per CPU */
	uint32_t queue_depth;		/* 0: 512 */
	uint32_t max_io_size;		/* 0: 126976 */
	uint32_t hb_interval_ms;	/* 0: 5000 */
	unsigned int max_sessions;	/* 0: 1024 */
	unsigned int max_paths;		/* per session; 0: 128 */
	unsigned int max_devices;	/* per session; 0: 1024 */
	const struct rnbd_srv_conf *conf;
	/* as in rnbd_sess_opts, for the accepted connections (after 0.1.0) */
	uint32_t sndbuf, rcvbuf;
};

RNBD_API int rnbd_srv_open(struct rnbd_srv **out, const struct rnbd_srv_opts *opts);
/* Stop accepting, answer every request in flight, close every session. */
RNBD_API void rnbd_srv_close(struct rnbd_srv *srv);
RNBD_API void rnbd_srv_stop_listening(struct rnbd_srv *srv);
/*
 * Replace search path, exports and rules.  Sessions and the devices they
 * have open are kept, even when their export is gone from the new
 * configuration; only later OPENs see the change.  All or nothing: on
 * error the old configuration stays.
 */
RNBD_API int rnbd_srv_reconfigure(struct rnbd_srv *srv, const struct rnbd_srv_conf *conf);
/* Listener idx as "ADDR:PORT" (the port the system chose for port 0). */
RNBD_API int rnbd_srv_listen_addr(struct rnbd_srv *srv, unsigned int idx, char *buf, size_t len);

struct rnbd_srv_device_info {
	uint32_t id;
	const char *name;		/* as the client opened it */
	const char *path;		/* what backs it */
	enum rnbd_access_mode mode;
	uint64_t size;
	bool forced;			/* closed by the administrator */
	uint64_t reads, writes, bytes_read, bytes_written;
};

struct rnbd_srv_session_info {
	const char *name;
	unsigned int proto_ver;		/* from SESS_INFO; 0 before it */
	const struct rnbd_path_info *paths;
	unsigned int npaths;
	const struct rnbd_srv_device_info *devices;
	unsigned int ndevices;
};

/* Call cb for each session (a snapshot); cb's non-zero return stops it. */
RNBD_API int rnbd_srv_foreach_session(struct rnbd_srv *srv,
				      int (*cb)(void *opaque, const struct rnbd_srv_session_info *s),
				      void *opaque);
RNBD_API int rnbd_srv_close_session(struct rnbd_srv *srv, const char *sessname);
/*
 * Close a device of a session behind its client's back, as the kernel's
 * force_close: in-flight I/O finishes, later I/O gets -ENOTCONN, and the id
 * stays reserved until the client closes it.
 */
RNBD_API int rnbd_srv_force_close(struct rnbd_srv *srv, const char *sessname, uint32_t id);

#ifdef __cplusplus
}
#endif

#endif /* RNBD_RNBD_H */
