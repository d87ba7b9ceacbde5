/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RNBD server internals: srv.c (server, configuration, queries), dev.c
 * (devices shared by sessions, access modes), sess.c (RNBD messages of a
 * session and its device slots).
 *
 * Locking: srv->lock guards the configuration, the device list (devices,
 * their counts, and the slot->dev that point at them) and the session list;
 * sess->lock orders OPEN, CLOSE and force close of one session, which start
 * every change of its slots' states.  The I/O path takes neither: a device
 * slot is found by id in blocks that are never freed while the session
 * lives, and pinned with its inflight counter; the last I/O out of a
 * CLOSING slot finishes the close under srv->lock alone.
 *
 * Lock order: srv->lock, then sess->lock.  An OPEN needs both at once, and
 * the API (force close, session snapshots) finds the session under
 * srv->lock, which is also what keeps it from being freed.  A CLOSE, which
 * holds sess->lock and then needs srv->lock, lets go of sess->lock first.
 * Neither lock is held across rtrs_srv_resp() or a foreach callback: both
 * may come back into the server on the same thread.
 */
#ifndef RNBD_SERVER_SRV_H
#define RNBD_SERVER_SRV_H

#include <pthread.h>
#include <stdatomic.h>

#include "backend.h"
#include "rnbd/rnbd.h"
#include "rtrs/rtrs.h"

#define SLOTS_PER_BLOCK 64

/* A memory device's key is this and its export's whole name. */
#define SRV_DEV_MEMORY_KEY "memory:"
#define SRV_DEV_KEY_MAX (sizeof(SRV_DEV_MEMORY_KEY) + RNBD_NAME_MAX)

/*
 * Storage, shared by every name that leads to it.  The same file or block
 * device may have two: one opened read-only (for a read-only name) and one
 * read-write, which all writers share so that they are counted together.
 */
struct rnbd_srv_dev {
	struct list_head link;		/* srv->devs */
	char key[SRV_DEV_KEY_MAX];	/* "memory:NAME", "inode:DEV:INO" or "blk:MAJ:MIN" */
	char path[RNBD_PATH_MAX];	/* what to show */
	struct rnbd_bdev *bdev;
	const struct rnbd_bdev_info *info;
	unsigned int refs;		/* slots holding it, under srv->lock */
	bool pinned;			/* a memory export's: kept with no opener */
	unsigned int open_write_cnt;	/* rw + migration openers */
};

enum slot_state {
	SLOT_FREE,
	SLOT_OPEN,
	SLOT_CLOSING,			/* draining for a CLOSE or a force close */
	SLOT_FORCED,			/* closed behind the client's back; id kept */
};

struct rnbd_slot {
	_Atomic int state;
	_Atomic long inflight;
	struct rnbd_srv_dev *dev;
	uint8_t mode;			/* enum rnbd_access_mode */
	bool forcing;
	char name[RNBD_NAME_MAX];
	struct rtrs_srv_op *close_op;	/* the CLOSE to answer once drained */
	_Atomic bool close_claim;	/* whoever clears it finishes the close */
	_Atomic uint64_t reads, writes, bytes_read, bytes_written;
};

struct rnbd_srv_sess {
	struct rnbd_srv *srv;
	struct rtrs_srv_sess *rtrs;
	struct list_head link;		/* srv->sessions */
	char name[RTRS_NAME_MAX];
	_Atomic int ver;
	pthread_mutex_t lock;		/* after srv->lock, never before it */
	unsigned int nblocks;
	_Atomic(struct rnbd_slot *) *blocks;
};

/* Per request scratch, in the RTRS op. */
struct rnbd_req {
	struct rnbd_bio bio;
	struct rtrs_srv_op *op;
	struct rnbd_slot *slot;
	struct rnbd_srv_sess *sess;
};

struct srv_export {
	char *name;
	enum rnbd_export_type type;
	char *path;
	uint64_t size;
	bool readonly;
	bool sync_io;
};

struct srv_rule {
	char *sessions;
	char *devices;
	int max_mode;
};

struct srv_conf {
	char *dev_search_path;
	struct srv_export *exports;
	unsigned int nexports;
	struct srv_rule *rules;
	unsigned int nrules;
};

struct rnbd_srv {
	struct rtrs_srv *rtrs;
	unsigned int max_devices;
	pthread_mutex_t lock;		/* before any sess->lock (see the top) */
	struct srv_conf *conf;
	struct list_head devs;
	struct list_head sessions;
};

/* dev.c, under srv->lock; dev_name as the client sent it */
int srv_dev_get(struct rnbd_srv *srv, const char *sessname, const char *dev_name,
		uint8_t mode, struct rnbd_srv_dev **out);
void srv_dev_put(struct rnbd_srv *srv, struct rnbd_srv_dev *dev, uint8_t mode);
void srv_dev_unpin_stale(struct rnbd_srv *srv, const struct srv_conf *conf);
int srv_access_check(struct rnbd_srv_dev *dev, uint8_t mode);
int srv_rules_check(const struct srv_conf *conf, const char *sessname, const char *dev_name,
		    uint8_t mode);

/* sess.c */
struct rnbd_srv_sess *srv_sess_new(struct rnbd_srv *srv, struct rtrs_srv_sess *rtrs);
void srv_sess_free(struct rnbd_srv_sess *sess);
int srv_sess_request(struct rnbd_srv_sess *sess, struct rtrs_srv_op *op, bool read, void *data,
		     uint32_t data_len, const void *usr, uint16_t usr_len);
struct rnbd_slot *srv_sess_slot(struct rnbd_srv_sess *sess, uint32_t id);
/* with srv->lock held, sess on srv->sessions */
int srv_sess_force_close(struct rnbd_srv_sess *sess, uint32_t id);

#endif
