// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the RNBD server from request bytes to storage:
 * server/sess.c and dev.c over the memory backend, in process and on one
 * thread.  RTRS is replaced by the stub below, so what would arrive on a
 * connection goes straight into srv_sess_request().
 *
 * Input: records until the input runs out (at most MAX_RECORDS), each
 *   [sel]      bit 0: the session (0 "client1", 1 "guest1"); bits 7..1:
 *              SEL_RECONNECT drops the session (as a disconnect does) and
 *              connects it again, SEL_FORCE force-closes [u8 id] in it,
 *              anything else is a request:
 *   [flags]    bit 0: RTRS read; bit 1: data_len += 64 KiB
 *   [le16 data_len][le16 usr_len][usr_len bytes: the RNBD message]
 *   writes with data only: [u8 seed][u8 n][n bytes], the data being a
 *              pseudo-random stream from seed with n literal bytes over
 *              its start (whole sectors of input would drown the messages)
 *
 * A model of the server predicts the outcome of every record: the errno of
 * each refusal, the device id of each OPEN, the slots, device references and
 * writer counts, the I/O counters, and the contents of every export (a
 * shadow copy that writes update and reads are compared with).  On top, the
 * RTRS contract: each op answered exactly once, with 0 or an errno in
 * (-4096, 0), and since memory I/O completes before submit returns, by the
 * time srv_sess_request() does.  At the end everything is torn down as a
 * disconnect and rnbd_srv_close() would, so LeakSanitizer sees any leak.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "fuzz-common.h"
#include "proto/rnbd-msg.h"
#include "server/srv.h"

#define MAX_RECORDS	256
#define MAX_DEVICES	3	/* < the exports below, so ENOSPC is reachable */
#define NSESS		2
#define NSLOTS		SLOTS_PER_BLOCK	/* ids a session of MAX_DEVICES can name */
_Static_assert(MAX_DEVICES <= SLOTS_PER_BLOCK, "a session must have one block of slots");
#define SEL_FORCE	0x7e
#define SEL_RECONNECT	0x7f
#define OP_MAGIC	0x5250u
#define MAX_DATA_LEN	0x20000u	/* le16 data_len + 64 KiB */

/* FUZZ_SRV_TRACE=1 prints each record and its outcome, to read a reproducer. */
static bool trace;

/* ------------------------------------------------------------------ */
/* RTRS stub: what sess.c and dev.c call of the RTRS server */

struct rtrs_srv_sess {
	char name[RTRS_NAME_MAX];
};

struct rtrs_srv_op {
	unsigned int magic;
	bool answered;
	int err;
	bool read;
	void *data;		/* the request's buffer, data_len bytes */
	uint32_t data_len;
	void *priv;		/* exactly sizeof(struct rnbd_req), for ASan */
};

void rtrs_srv_resp(struct rtrs_srv_op *op, int err)
{
	/* a stale op would be freed memory: ASan reports that first */
	FUZZ_CHECK(op->magic == OP_MAGIC);
	FUZZ_CHECK(!op->answered);
	FUZZ_CHECK(err <= 0 && err > -4096);
	op->answered = true;
	op->err = err;
}

/* As a transport that cannot send from lent memory: copy it, give it back. */
void rtrs_srv_resp_lent(struct rtrs_srv_op *op, const struct rtrs_lend *l)
{
	uint64_t total = 0;

	FUZZ_CHECK(op->magic == OP_MAGIC);
	FUZZ_CHECK(op->read);
	FUZZ_CHECK(l->nseg <= RTRS_LEND_SEGS);
	for (unsigned int i = 0; i < l->nseg; i++)
		total += l->seg[i].len;
	FUZZ_CHECK(total == op->data_len);
	rtrs_lend_copy(l, op->data);
	rtrs_lend_put(l);
	rtrs_srv_resp(op, 0);
}

void *rtrs_srv_op_priv(struct rtrs_srv_op *op)
{
	return op->priv;
}

const char *rtrs_srv_sess_name(struct rtrs_srv_sess *sess)
{
	return sess->name;
}

/* ------------------------------------------------------------------ */
/* The server's configuration and its model */

struct model_export {
	uint8_t *shadow;		/* what a read of the device must return */
	bool dirty;			/* shadow not all zero */
	bool instantiated;		/* a device exists for it (memory: pinned) */
};

/* The server's config holds char *, so these are arrays, not literals. */
static char n_m1[] = "m1", n_m2[] = "m2", n_m3[] = "m3", n_ro[] = "ro", n_d_m4[] = "d/m4";
static char p_guest[] = "guest*", p_d[] = "d/*";

static struct srv_export exports[] = {
	{ .name = n_m1, .type = RNBD_EXPORT_MEMORY, .size = 1 << 20 },
	{ .name = n_m2, .type = RNBD_EXPORT_MEMORY, .size = 64 << 10 },
	/* a last 64 KiB chunk of only 4 KiB */
	{ .name = n_m3, .type = RNBD_EXPORT_MEMORY, .size = 68 << 10 },
	{ .name = n_ro, .type = RNBD_EXPORT_MEMORY, .size = 8 << 10, .readonly = true },
	/* a name with a '/', which OPEN can spell "/d//m4" */
	{ .name = n_d_m4, .type = RNBD_EXPORT_MEMORY, .size = 4 << 10 },
};
#define NEXPORTS (sizeof(exports) / sizeof(exports[0]))

static struct srv_rule rules[] = {
	{ .sessions = p_guest, .devices = n_m1, .max_mode = RNBD_ACCESS_RO },
	{ .sessions = p_guest, .devices = n_m3, .max_mode = -1 },
	/* fnmatch() without FNM_PATHNAME: '*' goes across '/' */
	{ .sessions = p_guest, .devices = p_d, .max_mode = RNBD_ACCESS_RO },
};

static struct srv_conf conf = {
	.exports = exports,
	.nexports = NEXPORTS,
	.rules = rules,
	.nrules = sizeof(rules) / sizeof(rules[0]),
};

struct model_slot {
	int state;			/* SLOT_FREE, SLOT_OPEN or SLOT_FORCED */
	unsigned int exp;		/* index in exports[] */
	uint8_t mode;
	char name[RNBD_NAME_MAX];	/* as the OPEN spelled it */
	uint64_t reads, writes, bytes_read, bytes_written;
};

struct model_sess {
	struct rtrs_srv_sess rtrs;
	struct rnbd_srv_sess *sess;
	bool guest;
	int ver;
	struct model_slot slot[NSLOTS];
};

static struct rnbd_srv srv;
static struct model_export mexp[NEXPORTS];
static struct model_sess msess[NSESS];

static void sess_connect(struct model_sess *ms)
{
	ms->sess = srv_sess_new(&srv, &ms->rtrs);
	FUZZ_CHECK(ms->sess);
	FUZZ_CHECK(!strcmp(ms->sess->name, ms->rtrs.name));
	ms->ver = 0;
	memset(ms->slot, 0, sizeof(ms->slot));
	/* as srv.c's on_link does */
	pthread_mutex_lock(&srv.lock);
	list_add_tail(&ms->sess->link, &srv.sessions);
	pthread_mutex_unlock(&srv.lock);
}

/* RTRS has answered every op of the session: what on_link does then. */
static void sess_disconnect(struct model_sess *ms)
{
	pthread_mutex_lock(&srv.lock);
	list_del(&ms->sess->link);
	pthread_mutex_unlock(&srv.lock);
	srv_sess_free(ms->sess);
	ms->sess = NULL;
}

static int export_find(const char *name)
{
	for (unsigned int i = 0; i < NEXPORTS; i++)
		if (!strcmp(exports[i].name, name))
			return (int)i;
	return -1;
}

/*
 * Checks that go one way unless the server is wrong: without coverage, so
 * that comparison tracing of every slot after every record does not take
 * most of the run time, and their branches do not pose as new behaviour.
 */
#define NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))

/* Open slots (refs) and writers (open_write_cnt) the model has per export. */
NO_COVERAGE static void count_openers(unsigned int *refs, unsigned int *wcnt)
{
	memset(refs, 0, NEXPORTS * sizeof(*refs));
	memset(wcnt, 0, NEXPORTS * sizeof(*wcnt));
	for (unsigned int s = 0; s < NSESS; s++) {
		for (unsigned int i = 0; i < NSLOTS; i++) {
			const struct model_slot *m = &msess[s].slot[i];

			if (m->state != SLOT_OPEN)
				continue;
			refs[m->exp]++;
			wcnt[m->exp] += m->mode != RNBD_ACCESS_RO;
		}
	}
}

NO_COVERAGE static const struct rnbd_srv_dev *dev_of(unsigned int exp)
{
	struct list_head *pos;

	for (pos = srv.devs.next; pos != &srv.devs; pos = pos->next) {
		const struct rnbd_srv_dev *dev = list_entry(pos, struct rnbd_srv_dev, link);

		if (!strcmp(dev->path, exports[exp].name))
			return dev;
	}
	return NULL;
}

/*
 * After every record: the server's slots and devices are the model's.  A
 * slot in CLOSING or with I/O in flight would mean an op left unanswered.
 */
NO_COVERAGE static void check_state(void)
{
	unsigned int refs[NEXPORTS], wcnt[NEXPORTS], ndevs = 0;
	const struct rnbd_srv_dev *devs[NEXPORTS];
	struct list_head *pos;

	count_openers(refs, wcnt);
	for (unsigned int e = 0; e < NEXPORTS; e++)
		devs[e] = dev_of(e);
	for (unsigned int s = 0; s < NSESS; s++) {
		struct model_sess *ms = &msess[s];
		struct rnbd_slot *block;

		FUZZ_CHECK(atomic_load(&ms->sess->ver) == ms->ver);
		/* what srv_sess_slot() finds, without its coverage on every id */
		FUZZ_CHECK(ms->sess->nblocks == 1);
		block = atomic_load(&ms->sess->blocks[0]);
		for (uint32_t id = 0; id < NSLOTS; id++) {
			const struct model_slot *m = &ms->slot[id];
			struct rnbd_slot *slot = block ? &block[id] : NULL;

			if (!slot) {
				FUZZ_CHECK(m->state == SLOT_FREE);
				continue;
			}
			FUZZ_CHECK(atomic_load(&slot->state) == m->state);
			FUZZ_CHECK(atomic_load(&slot->inflight) == 0);
			if (m->state != SLOT_OPEN)
				continue;
			FUZZ_CHECK(slot->dev == devs[m->exp]);
			FUZZ_CHECK(slot->mode == m->mode);
			FUZZ_CHECK(!strcmp(slot->name, m->name));
			FUZZ_CHECK(atomic_load(&slot->reads) == m->reads);
			FUZZ_CHECK(atomic_load(&slot->writes) == m->writes);
			FUZZ_CHECK(atomic_load(&slot->bytes_read) == m->bytes_read);
			FUZZ_CHECK(atomic_load(&slot->bytes_written) == m->bytes_written);
		}
	}
	for (pos = srv.devs.next; pos != &srv.devs; pos = pos->next)
		ndevs++;
	for (unsigned int e = 0; e < NEXPORTS; e++) {
		const struct rnbd_srv_dev *dev = devs[e];

		FUZZ_CHECK(!dev == !mexp[e].instantiated);
		if (!dev)
			continue;
		ndevs--;
		FUZZ_CHECK(dev->pinned);
		FUZZ_CHECK(dev->refs == refs[e]);
		FUZZ_CHECK(dev->open_write_cnt == wcnt[e]);
		FUZZ_CHECK(dev->info->size == exports[e].size);
		FUZZ_CHECK(dev->info->readonly == exports[e].readonly);
	}
	FUZZ_CHECK(ndevs == 0);
}

/* ------------------------------------------------------------------ */
/* Requests */

/* What the model expects of one request. */
enum pred_kind {
	P_ERR,		/* refused with err, nothing changes */
	P_SESS_INFO,
	P_OPEN_NEW,
	P_OPEN_SAME,	/* the name is open in the session: its id again */
	P_CLOSE,
	P_IO,
};

struct pred {
	enum pred_kind kind;
	int err;
	uint8_t ver;
	uint32_t id;
	unsigned int exp;
	uint8_t mode;
	char name[RNBD_NAME_MAX];	/* of a new OPEN, as sent */
	struct rnbd_req_io io;
};

/* memcmp: ASan's interceptor, not a loop with coverage on every byte */
static const uint8_t zeroes[MAX_DATA_LEN];

static bool all_zero(const uint8_t *p, size_t n)
{
	return !memcmp(p, zeroes, n);
}

static uint32_t lowest_free_id(const struct model_sess *ms, unsigned int *in_use)
{
	uint32_t id = NSLOTS;

	*in_use = 0;
	for (uint32_t i = NSLOTS; i-- > 0;) {
		if (ms->slot[i].state == SLOT_FREE)
			id = i;
		else
			(*in_use)++;
	}
	return id;
}

/*
 * The one spelling the server matches rules and exports against (resolve.h),
 * built here component by component rather than as the server scans it:
 * false for an empty name, slashes only, ".." anywhere or a "." component;
 * otherwise the components joined by single '/', a trailing one kept.
 */
static bool normalise(const char *raw, char *out)
{
	const char *p = raw;
	size_t n = 0;

	if (strstr(raw, ".."))
		return false;
	for (;;) {
		size_t len;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		if (!len)
			break;
		if (len == 1 && p[0] == '.')
			return false;
		if (n)
			out[n++] = '/';
		memcpy(out + n, p, len);
		n += len;
		p += len;
	}
	if (!n)
		return false;
	if (raw[strlen(raw) - 1] == '/')
		out[n++] = '/';
	out[n] = '\0';
	return true;
}

/* rules[] above, for the two session names there are; name normalised */
static int rules_check(const struct model_sess *ms, const char *name, uint8_t mode)
{
	if (!ms->guest)
		return 0;
	if (!strcmp(name, "m1") && mode > RNBD_ACCESS_RO)
		return -EPERM;
	if (!strcmp(name, "m3"))
		return -EPERM;
	if (!strncmp(name, "d/", 2) && mode > RNBD_ACCESS_RO)
		return -EPERM;
	return 0;
}

static void predict_open(struct model_sess *ms, bool read, uint32_t data_len, const uint8_t *usr,
			 uint16_t usr_len, struct pred *p)
{
	unsigned int in_use, w, refs[NEXPORTS], wcnt[NEXPORTS];
	char name[RNBD_NAME_MAX];
	struct rnbd_req_open req;
	int e;

	p->err = rnbd_req_open_decode(usr, usr_len, &req);
	if (p->err)
		return;
	if (!read || data_len < RNBD_OPEN_RSP_LEN) {
		p->err = -EINVAL;
		return;
	}
	/* the same name, as sent: "/m1" after "m1" is a second opener */
	for (uint32_t id = 0; id < NSLOTS; id++) {
		if (ms->slot[id].state == SLOT_OPEN && !strcmp(ms->slot[id].name, req.dev_name)) {
			p->kind = P_OPEN_SAME;
			p->id = id;
			p->exp = ms->slot[id].exp;
			return;
		}
	}
	if (!normalise(req.dev_name, name)) {
		p->err = -EINVAL;
		return;
	}
	p->err = rules_check(ms, name, req.access_mode);
	if (p->err)
		return;
	e = export_find(name);
	if (e < 0) {
		/* no search path: a name is an export or nothing */
		p->err = -ENOENT;
		return;
	}
	mexp[e].instantiated = true;
	count_openers(refs, wcnt);
	w = wcnt[e];
	if (req.access_mode != RNBD_ACCESS_RO && exports[e].readonly)
		p->err = -EACCES;
	else if (req.access_mode == RNBD_ACCESS_RW && w)
		p->err = -EPERM;
	else if (req.access_mode == RNBD_ACCESS_MIGRATION && w >= 2)
		p->err = -EPERM;
	if (p->err)
		return;
	p->id = lowest_free_id(ms, &in_use);
	if (in_use >= MAX_DEVICES) {
		p->err = -ENOSPC;
		return;
	}
	p->kind = P_OPEN_NEW;
	p->exp = (unsigned int)e;
	p->mode = req.access_mode;
	memcpy(p->name, req.dev_name, sizeof(p->name));
}

static void predict_io(struct model_sess *ms, bool read, uint32_t data_len, const uint8_t *usr,
		       uint16_t usr_len, struct pred *p)
{
	struct rnbd_req_io *io = &p->io;
	const struct model_slot *m;
	uint32_t op;
	uint64_t off, size;

	p->err = rnbd_req_io_decode(usr, usr_len, io);
	if (p->err)
		return;
	m = io->device_id < NSLOTS ? &ms->slot[io->device_id] : NULL;
	if (!m || m->state != SLOT_OPEN) {
		p->err = -ENOTCONN;
		return;
	}
	op = rnbd_io_op(io->rw);
	off = io->sector << RNBD_SECTOR_SHIFT;
	size = exports[m->exp].size;
	if (rnbd_op_is_rtrs_read(op) != read)
		p->err = -EINVAL;
	else if (data_len != (rnbd_op_has_data(op) ? io->bi_size : 0))
		p->err = -EINVAL;
	else if (op == RNBD_OP_FLUSH)
		p->err = 0;
	else if (op != RNBD_OP_READ && m->mode == RNBD_ACCESS_RO)
		p->err = -EROFS;
	else if (off > size || io->bi_size > size - off)
		p->err = -ERANGE;
	if (p->err)
		return;
	/* the memory backend does discard, write-zeroes and secure erase */
	p->kind = P_IO;
	p->id = io->device_id;
	p->exp = m->exp;
}

static void predict(struct model_sess *ms, bool read, uint32_t data_len, const uint8_t *usr,
		    uint16_t usr_len, struct pred *p)
{
	int type = rnbd_msg_type_peek(usr, usr_len);

	memset(p, 0, sizeof(*p));
	p->kind = P_ERR;
	switch (type) {
	case RNBD_MSG_SESS_INFO: {
		struct rnbd_req_sess_info req;

		p->err = rnbd_req_sess_info_decode(usr, usr_len, &req);
		if (!p->err && (!read || data_len < RNBD_SESS_INFO_RSP_LEN))
			p->err = -EINVAL;
		if (!p->err) {
			p->kind = P_SESS_INFO;
			p->ver = req.ver < RNBD_PROTO_VER_MAJOR ? req.ver : RNBD_PROTO_VER_MAJOR;
		}
		break;
	}
	case RNBD_MSG_OPEN:
		predict_open(ms, read, data_len, usr, usr_len, p);
		break;
	case RNBD_MSG_CLOSE: {
		struct rnbd_req_close req;

		p->err = rnbd_req_close_decode(usr, usr_len, &req);
		if (!p->err) {
			p->kind = P_CLOSE;
			p->id = req.device_id;
		}
		break;
	}
	case RNBD_MSG_IO:
		predict_io(ms, read, data_len, usr, usr_len, p);
		break;
	default:
		p->err = -EINVAL;
		break;
	}
	FUZZ_CHECK(p->kind != P_ERR || p->err < 0);
}

static void check_open_rsp(const struct pred *p, const uint8_t *data, uint32_t data_len)
{
	const struct rnbd_bdev_info *info = dev_of(p->exp)->info;
	struct rnbd_rsp_open rsp;

	FUZZ_CHECK(rnbd_rsp_open_decode(data, data_len, &rsp) == 0);
	FUZZ_CHECK(rsp.device_id == p->id);
	FUZZ_CHECK(rsp.nsectors == exports[p->exp].size >> RNBD_SECTOR_SHIFT);
	FUZZ_CHECK(rsp.logical_block_size == info->logical_block_size);
	FUZZ_CHECK(rsp.physical_block_size == info->physical_block_size);
	FUZZ_CHECK(rsp.max_hw_sectors == info->max_hw_sectors);
	FUZZ_CHECK(rsp.max_discard_sectors == info->max_discard_sectors);
	FUZZ_CHECK(rsp.max_write_zeroes_sectors == info->max_write_zeroes_sectors);
	FUZZ_CHECK(rsp.discard_granularity == info->discard_granularity);
	FUZZ_CHECK(rsp.secure_discard == info->secure_erase);
	/* no volatile cache in memory: no WRITEBACK, and FUA only with it */
	FUZZ_CHECK(rsp.cache_policy == 0);
	/* header padding, obsolete_rotational and reserved: zero */
	FUZZ_CHECK(all_zero(data + 2, 2));
	FUZZ_CHECK(all_zero(data + 44, 1));
	FUZZ_CHECK(all_zero(data + 46, RNBD_OPEN_RSP_LEN - 46));
	/* the server zeroes any response buffer it does not fill */
	FUZZ_CHECK(all_zero(data + RNBD_OPEN_RSP_LEN, data_len - RNBD_OPEN_RSP_LEN));
}

static void check_sess_info_rsp(const struct pred *p, const uint8_t *data, uint32_t data_len)
{
	/* type SESS_INFO_RSP, ver, and nothing else */
	FUZZ_CHECK(data[0] == RNBD_MSG_SESS_INFO_RSP && data[1] == 0);
	FUZZ_CHECK(all_zero(data + 2, 2));
	FUZZ_CHECK(data[4] == p->ver);
	FUZZ_CHECK(all_zero(data + 5, data_len - 5));
}

static void io_commit(struct model_sess *ms, const struct pred *p, const uint8_t *data)
{
	struct model_export *me = &mexp[p->exp];
	struct model_slot *m = &ms->slot[p->id];
	uint32_t op = rnbd_io_op(p->io.rw);
	uint64_t off = p->io.sector << RNBD_SECTOR_SHIFT;
	uint32_t len = p->io.bi_size;

	switch (op) {
	case RNBD_OP_READ:
		if (len && memcmp(data, me->shadow + off, len)) {
			uint32_t i = 0;

			while (data[i] == me->shadow[off + i])
				i++;
			fprintf(stderr, "READ of %s at %llu + %u: byte %u is %#x, wrote %#x\n",
				exports[p->exp].name, (unsigned long long)off, len, i, data[i],
				me->shadow[off + i]);
			abort();
		}
		m->reads++;
		m->bytes_read += len;
		return;
	case RNBD_OP_FLUSH:
		return;
	case RNBD_OP_WRITE:
		memcpy(me->shadow + off, data, len);
		m->bytes_written += len;
		break;
	default:
		/* DISCARD, WRITE_ZEROES (with or without NOUNMAP), SECURE_ERASE */
		memset(me->shadow + off, 0, len);
		break;
	}
	m->writes++;
	me->dirty = true;
}

/* Check the outcome of a request against p and make the model follow. */
static void commit(struct model_sess *ms, const struct pred *p, int err, bool read,
		   const uint8_t *data, uint32_t data_len)
{
	struct model_slot *m;

	if (p->kind == P_ERR) {
		if (err != p->err) {
			fprintf(stderr, "expected %d, got %d (errmsg '%s')\n", p->err, err,
				rnbd_errmsg());
			abort();
		}
		return;
	}
	if (err) {
		fprintf(stderr, "expected success, got %d (errmsg '%s')\n", err, rnbd_errmsg());
		abort();
	}
	switch (p->kind) {
	case P_SESS_INFO:
		check_sess_info_rsp(p, data, data_len);
		ms->ver = p->ver;
		break;
	case P_OPEN_NEW:
		m = &ms->slot[p->id];
		*m = (struct model_slot){ .state = SLOT_OPEN, .exp = p->exp, .mode = p->mode };
		memcpy(m->name, p->name, sizeof(m->name));
		check_open_rsp(p, data, data_len);
		break;
	case P_OPEN_SAME:
		check_open_rsp(p, data, data_len);
		break;
	case P_CLOSE:
		/* unknown ids are answered with success, as the kernel does */
		if (p->id < NSLOTS)
			ms->slot[p->id].state = SLOT_FREE;
		/* the server zeroes any response buffer it does not fill */
		if (read)
			FUZZ_CHECK(all_zero(data, data_len));
		break;
	case P_IO:
		io_commit(ms, p, data);
		break;
	case P_ERR:
		break;
	}
}

/* A deterministic stream, so that a sector written elsewhere shows. */
NO_COVERAGE static void fill_write(struct fuzz_in *in, uint8_t *data, uint32_t len)
{
	uint32_t x = fuzz_u8(in) * 2654435761u + 1;
	uint8_t n = fuzz_u8(in);

	/* len is a multiple of 512 whenever the write can succeed */
	for (uint32_t i = 0; i + 4 <= len; i += 4) {
		x = x * 1664525u + 1013904223u;
		memcpy(data + i, &x, 4);
	}
	memset(data + (len & ~3u), 0x3c, len & 3);
	if (n > len)
		n = (uint8_t)len;
	if (n > in->n)
		n = (uint8_t)in->n;
	memcpy(data, in->p, n);
	in->p += n;
	in->n -= n;
}

static const char *msg_name(uint16_t type)
{
	static const char *const names[] = { "SESS_INFO", "SESS_INFO_RSP", "OPEN", "OPEN_RSP",
					     "IO", "CLOSE" };

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

static void do_request(struct fuzz_in *in, struct model_sess *ms)
{
	uint8_t flags = fuzz_u8(in);
	bool read = flags & 1;
	uint32_t data_len = fuzz_u16(in) | (flags & 2 ? 0x10000u : 0);
	uint16_t usr_len = fuzz_u16(in);
	struct rtrs_srv_op *op = calloc(1, sizeof(*op));
	uint8_t *usr, *data;
	struct pred p;
	int ret;

	FUZZ_CHECK(op);
	op->priv = fuzz_alloc(sizeof(struct rnbd_req));
	if (usr_len > in->n)
		usr_len = (uint16_t)in->n;
	usr = fuzz_dup(in->p, usr_len);
	in->p += usr_len;
	in->n -= usr_len;
	/* exactly data_len bytes: ASan traps a server that goes past them */
	data = fuzz_alloc(data_len);
	if (read)
		memset(data, 0xa5, data_len);
	else if (data_len)
		fill_write(in, data, data_len);
	op->magic = OP_MAGIC;
	op->read = read;
	op->data = data;
	op->data_len = data_len;
	/* RTRS zeroes the scratch once and reuses it: never trust it */
	memset(op->priv, 0x5a, sizeof(struct rnbd_req));

	predict(ms, read, data_len, usr, usr_len, &p);
	fuzz_errmsg_clear();
	ret = srv_sess_request(ms->sess, op, read, data, data_len, usr, usr_len);
	FUZZ_CHECK(ret <= 0 && ret > -4096);
	if (ret) {
		/* what srv_io_request() does with a refusal */
		FUZZ_CHECK(!op->answered);
		fuzz_check_err(ret);
		rtrs_srv_resp(op, ret);
	}
	/* memory I/O is done before submit returns: nothing may be pending */
	FUZZ_CHECK(op->answered);
	if (trace)
		fprintf(stderr, "%s: %s %s data_len %u usr_len %u: %d %s\n", ms->rtrs.name,
			usr_len >= 2 ? msg_name(get_le16(usr)) : "(short)", read ? "read" : "write",
			data_len, usr_len, op->err, op->err ? rnbd_errmsg() : "");
	commit(ms, &p, op->err, read, data, data_len);

	free(data);
	free(usr);
	/* a server that kept op to answer later now trips over freed memory */
	free(op->priv);
	free(op);
}

/* As rnbd_srv_force_close(): under srv->lock. */
static void do_force_close(struct fuzz_in *in, struct model_sess *ms)
{
	uint32_t id = fuzz_u8(in);
	bool open = id < NSLOTS && ms->slot[id].state == SLOT_OPEN;
	int ret;

	fuzz_errmsg_clear();
	pthread_mutex_lock(&srv.lock);
	ret = srv_sess_force_close(ms->sess, id);
	pthread_mutex_unlock(&srv.lock);
	if (trace)
		fprintf(stderr, "%s: force close %u: %d\n", ms->rtrs.name, id, ret);
	if (!open) {
		FUZZ_CHECK(ret == -ENOENT);
		fuzz_check_err(ret);
		return;
	}
	FUZZ_CHECK(ret == 0);
	/* the id stays taken until the client's CLOSE */
	ms->slot[id].state = SLOT_FORCED;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *s = getenv("FUZZ_SRV_TRACE");

	(void)argc;
	(void)argv;
	trace = s && *s && strcmp(s, "0");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[NSESS] = { "client1", "guest1" };
	struct fuzz_in in = { data, size };

	srv = (struct rnbd_srv){ .max_devices = MAX_DEVICES, .conf = &conf };
	pthread_mutex_init(&srv.lock, NULL);
	list_init(&srv.devs);
	list_init(&srv.sessions);
	for (unsigned int e = 0; e < NEXPORTS; e++) {
		struct model_export *me = &mexp[e];

		if (!me->shadow) {
			me->shadow = calloc(1, exports[e].size);
			FUZZ_CHECK(me->shadow);
		} else if (me->dirty) {
			memset(me->shadow, 0, exports[e].size);
		}
		me->dirty = false;
		me->instantiated = false;
	}
	for (unsigned int s = 0; s < NSESS; s++) {
		snprintf(msess[s].rtrs.name, sizeof(msess[s].rtrs.name), "%s", names[s]);
		msess[s].guest = s == 1;
		sess_connect(&msess[s]);
	}

	for (unsigned int r = 0; r < MAX_RECORDS && in.n; r++) {
		uint8_t sel = fuzz_u8(&in);
		struct model_sess *ms = &msess[sel & 1];

		switch (sel >> 1) {
		case SEL_RECONNECT:
			if (trace)
				fprintf(stderr, "%s: reconnect\n", ms->rtrs.name);
			sess_disconnect(ms);
			sess_connect(ms);
			break;
		case SEL_FORCE:
			do_force_close(&in, ms);
			break;
		default:
			do_request(&in, ms);
			break;
		}
		check_state();
	}

	/* the end of rnbd_srv_close(): sessions gone, then srv_free() */
	for (unsigned int s = 0; s < NSESS; s++) {
		sess_disconnect(&msess[s]);
		memset(msess[s].slot, 0, sizeof(msess[s].slot));
	}
	for (unsigned int e = 0; e < NEXPORTS; e++)
		FUZZ_CHECK(!dev_of(e) == !mexp[e].instantiated);
	srv_dev_unpin_stale(&srv, NULL);
	FUZZ_CHECK(list_empty(&srv.devs));
	FUZZ_CHECK(list_empty(&srv.sessions));
	pthread_mutex_destroy(&srv.lock);
	return 0;
}
