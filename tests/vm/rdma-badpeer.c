// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rdma-badpeer: a misbehaving RTRS client over raw rdma_cm + verbs, for the
 * VM case 33-rdma-badpeer.  It frames every byte by hand from the wire
 * format (include/rnbd/rtrs-proto.h gives only the constants), so nothing
 * of librnbd's transport or codecs is trusted.
 *
 * Each scenario is a fresh connection (cid 0 of a one-connection path) to
 * rnbd-serve -t rdma:
 *   handshake: a conn_req with a wrong magic, a wrong major version, or
 *     short private data must be REJECTED;
 *   after a correct handshake (conn_req, conn_rsp, INFO_REQ, INFO_RSP):
 *     an immediate of an unknown type, an IO_REQ immediate naming a chunk
 *     >= queue_depth, a trailer offset outside the chunk, a read trailer
 *     overrunning the chunk's end, and a read (RNBD SESS_INFO) whose
 *     descriptor points before, behind or past the end of our registered
 *     region must get the connection CLOSED (the CM's DISCONNECTED);
 *   read-ok, a correct SESS_INFO read into the region, must be answered:
 *     it proves that the requests above were well formed but for the one
 *     fault each carries.
 * The registered page sits between two canary pages that the server's
 * RDMA WRITEs must never touch (soft-RoCE checks rkey bounds exactly).
 *
 * usage: rdma-badpeer ADDR PORT [SCENARIO...]   (default: all)
 * One line per scenario; exit 0 when every outcome was the expected one,
 * 1 otherwise, 2 on bad usage or a local verbs failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <rnbd/rtrs-proto.h>

#define PAGE		4096
#define PDATA_LEN	56		/* conn_req / conn_rsp private data */
#define INFO_REQ_LEN	272
#define NRECV		16		/* receives posted: info_rsp, responses, heartbeats */
#define RECV_BUF	512
#define WAIT_MS		10000		/* the server answers or closes within this */
#define CANARY		0xa5
#define RNBD_SESS_INFO_LEN	36
#define RNBD_MSG_SESS_INFO	0
#define RNBD_MSG_SESS_INFO_RSP	1

enum outcome { REJECTED, ACCEPTED, CLOSED, ANSWERED };

static const char *outcome_str[] = { "REJECTED", "ACCEPTED", "CLOSED", "ANSWERED" };

struct peer {
	struct rdma_event_channel *ech;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	uint8_t *ctl;			/* NRECV receive buffers, then the send buffer */
	struct ibv_mr *ctl_mr;
	uint8_t *area;			/* canary page | registered page | canary page */
	struct ibv_mr *mr;
	bool connected;

	/* from the conn_rsp and the info_rsp */
	uint32_t qd, chunk;
	uint64_t raddr;
	uint32_t rkey;

	/* what happened */
	int rej_errno;
	bool got_rsp;
	int rsp_errno;
	uint32_t rsp_id;
};

/* One thing the peer saw: a CM event or a work completion. */
struct event {
	bool cm;
	enum rdma_cm_event_type type;
	int status;
	uint8_t pdata[PDATA_LEN];
	struct ibv_wc wc;
};

static const char *addr_arg, *port_arg;

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)v);
	put16(b + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t get32(const uint8_t *b)
{
	return get16(b) | (uint32_t)get16(b + 2) << 16;
}

static uint64_t get64(const uint8_t *b)
{
	return get32(b) | (uint64_t)get32(b + 4) << 32;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A local failure: not the server's fault, so not a test verdict. */
static void die(const char *what)
{
	fprintf(stderr, "rdma-badpeer: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* A correct conn_req of a new one-connection session (RTRS 2.0). */
static void conn_req(uint8_t pd[PDATA_LEN])
{
	memset(pd, 0, PDATA_LEN);
	put16(pd + 2, RTRS_MAGIC);
	put16(pd + 4, RTRS_PROTO_VER);
	put16(pd + 6, 0);		/* cid */
	put16(pd + 8, 1);		/* cid_num */
	put16(pd + 10, 1);		/* recon_cnt */
	for (int i = 0; i < 32; i++)	/* sess_uuid, paths_uuid: unique per run */
		pd[12 + i] = (uint8_t)rand();
	pd[44] = 1;			/* first_conn */
}

static void ctl_post_recv(struct peer *p, uint32_t i)
{
	struct ibv_sge sge = { (uintptr_t)(p->ctl + i * RECV_BUF), RECV_BUF, p->ctl_mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1 }, *bad;

	errno = ibv_post_recv(p->id->qp, &wr, &bad);
	if (errno)
		die("ibv_post_recv");
}

/*
 * The next CM event or completion, or false after deadline.  Completions
 * are polled every millisecond rather than through a channel: simpler, and
 * the scenarios are short.
 */
static bool next_event(struct peer *p, int64_t deadline, struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	do {
		struct pollfd pfd = { .fd = p->ech->fd, .events = POLLIN };
		struct rdma_cm_event *e;

		if (p->cq && ibv_poll_cq(p->cq, 1, &ev->wc) == 1)
			return true;
		if (poll(&pfd, 1, 1) == 1 && !rdma_get_cm_event(p->ech, &e)) {
			ev->cm = true;
			ev->type = e->event;
			ev->status = e->status;
			if (e->param.conn.private_data)
				memcpy(ev->pdata, e->param.conn.private_data,
				       e->param.conn.private_data_len < PDATA_LEN ?
					       e->param.conn.private_data_len : PDATA_LEN);
			rdma_ack_cm_event(e);
			return true;
		}
	} while (now_ms() < deadline);
	return false;
}

/* Wait for CM event want; other CM events end the wait with false. */
static bool cm_wait(struct peer *p, enum rdma_cm_event_type want, struct event *ev)
{
	int64_t deadline = now_ms() + WAIT_MS;

	while (next_event(p, deadline, ev)) {
		if (ev->cm)
			return ev->type == want;
	}
	return false;
}

static void setup_verbs(struct peer *p)
{
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 16, .max_recv_wr = NRECV, .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};
	size_t ctl_len = NRECV * RECV_BUF + PAGE;

	p->pd = ibv_alloc_pd(p->id->verbs);
	if (!p->pd)
		die("ibv_alloc_pd");
	p->cq = ibv_create_cq(p->id->verbs, 64, NULL, NULL, 0);
	if (!p->cq)
		die("ibv_create_cq");
	qa.send_cq = p->cq;
	qa.recv_cq = p->cq;
	if (rdma_create_qp(p->id, p->pd, &qa))
		die("rdma_create_qp");
	p->ctl = aligned_alloc(PAGE, ctl_len);
	p->area = aligned_alloc(PAGE, 3 * PAGE);
	if (!p->ctl || !p->area)
		die("aligned_alloc");
	memset(p->ctl, 0, ctl_len);
	memset(p->area, CANARY, 3 * PAGE);
	p->ctl_mr = ibv_reg_mr(p->pd, p->ctl, ctl_len, IBV_ACCESS_LOCAL_WRITE);
	/* only the middle page is the server's to write */
	p->mr = ibv_reg_mr(p->pd, p->area + PAGE, PAGE,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	if (!p->ctl_mr || !p->mr)
		die("ibv_reg_mr");
	for (uint32_t i = 0; i < NRECV; i++)
		ctl_post_recv(p, i);
}

/* Resolve, set up the QP and send the conn_req; the answer is the caller's. */
static void start_connect(struct peer *p, const uint8_t *pdata, uint8_t pdata_len)
{
	struct rdma_conn_param cp = { .private_data = pdata, .private_data_len = pdata_len,
				      .retry_count = 7, .rnr_retry_count = 7 };
	struct addrinfo *ai, hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct event ev;
	int ret;

	ret = getaddrinfo(addr_arg, port_arg, &hints, &ai);
	if (ret) {
		fprintf(stderr, "rdma-badpeer: %s:%s: %s\n", addr_arg, port_arg, gai_strerror(ret));
		exit(2);
	}
	p->ech = rdma_create_event_channel();
	if (!p->ech)
		die("rdma_create_event_channel");
	if (fcntl(p->ech->fd, F_SETFL, fcntl(p->ech->fd, F_GETFL) | O_NONBLOCK))
		die("fcntl");
	if (rdma_create_id(p->ech, &p->id, p, RDMA_PS_TCP))
		die("rdma_create_id");
	if (rdma_resolve_addr(p->id, NULL, ai->ai_addr, 5000))
		die("rdma_resolve_addr");
	freeaddrinfo(ai);
	if (!cm_wait(p, RDMA_CM_EVENT_ADDR_RESOLVED, &ev))
		die("address resolution");
	setup_verbs(p);
	if (rdma_resolve_route(p->id, 5000))
		die("rdma_resolve_route");
	if (!cm_wait(p, RDMA_CM_EVENT_ROUTE_RESOLVED, &ev))
		die("route resolution");
	if (rdma_connect(p->id, &cp))
		die("rdma_connect");
}

static void peer_free(struct peer *p)
{
	if (p->connected)
		rdma_disconnect(p->id);
	if (p->id && p->id->qp)
		rdma_destroy_qp(p->id);
	if (p->mr)
		ibv_dereg_mr(p->mr);
	if (p->ctl_mr)
		ibv_dereg_mr(p->ctl_mr);
	if (p->cq)
		ibv_destroy_cq(p->cq);
	if (p->pd)
		ibv_dealloc_pd(p->pd);
	if (p->id)
		rdma_destroy_id(p->id);
	if (p->ech)
		rdma_destroy_event_channel(p->ech);
	free(p->ctl);
	free(p->area);
}

static int post_send(struct peer *p, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad;

	wr->send_flags |= IBV_SEND_SIGNALED;
	return ibv_post_send(p->id->qp, wr, &bad);
}

/* The first len bytes of the send buffer */
static void send_sge(struct peer *p, struct ibv_sge *sge, uint32_t len)
{
	*sge = (struct ibv_sge){ (uintptr_t)(p->ctl + NRECV * RECV_BUF), len, p->ctl_mr->lkey };
}

/*
 * The correct handshake: conn_rsp (queue_depth, chunk size), INFO_REQ,
 * INFO_RSP (one descriptor covering queue_depth chunks).  false, with the
 * reason on stderr, when the server did not follow the protocol.
 */
static bool handshake(struct peer *p, const char *sessname)
{
	uint8_t pd[PDATA_LEN], *msg;
	struct ibv_send_wr wr = { .opcode = IBV_WR_SEND, .num_sge = 1 };
	struct ibv_sge sge;
	int64_t deadline;
	struct event ev;

	conn_req(pd);
	start_connect(p, pd, sizeof(pd));
	if (!cm_wait(p, RDMA_CM_EVENT_ESTABLISHED, &ev)) {
		fprintf(stderr, "  handshake: %s (status %d) instead of ESTABLISHED\n",
			ev.cm ? rdma_event_str(ev.type) : "nothing", ev.status);
		return false;
	}
	p->connected = true;
	if (get16(ev.pdata) != RTRS_MAGIC || get16(ev.pdata + 4)) {
		fprintf(stderr, "  handshake: conn_rsp magic 0x%x errno %d\n", get16(ev.pdata),
			(int16_t)get16(ev.pdata + 4));
		return false;
	}
	p->qd = get16(ev.pdata + 6);
	p->chunk = get32(ev.pdata + 8) + get32(ev.pdata + 12);

	msg = p->ctl + NRECV * RECV_BUF;
	memset(msg, 0, INFO_REQ_LEN);
	put16(msg, RTRS_MSG_INFO_REQ);
	snprintf((char *)msg + 2, RTRS_NAME_MAX, "%s", sessname);
	send_sge(p, &sge, INFO_REQ_LEN);
	wr.sg_list = &sge;
	if (post_send(p, &wr))
		die("ibv_post_send (info_req)");
	deadline = now_ms() + WAIT_MS;
	while (next_event(p, deadline, &ev)) {
		const uint8_t *b;

		if (ev.cm || ev.wc.status != IBV_WC_SUCCESS) {
			fprintf(stderr, "  handshake: %s before the info_rsp\n",
				ev.cm ? rdma_event_str(ev.type) : ibv_wc_status_str(ev.wc.status));
			return false;
		}
		if (ev.wc.opcode != IBV_WC_RECV)
			continue;
		b = p->ctl + ev.wc.wr_id * RECV_BUF;
		if (ev.wc.byte_len < 24 || get16(b) != RTRS_MSG_INFO_RSP || get16(b + 2) != 1 ||
		    get32(b + 20) != p->qd * p->chunk) {
			fprintf(stderr, "  handshake: unexpected info_rsp (%u bytes)\n",
				ev.wc.byte_len);
			return false;
		}
		p->raddr = get64(b + 8);
		p->rkey = get32(b + 16);
		ctl_post_recv(p, (uint32_t)ev.wc.wr_id);
		return true;
	}
	fprintf(stderr, "  handshake: no info_rsp in %d ms\n", WAIT_MS);
	return false;
}

/* ceil(log2(queue_depth)): the chunk id's bits at the top of the payload */
static unsigned int chunk_bits(uint32_t qd)
{
	return qd > 1 ? 32 - (unsigned int)__builtin_clz(qd - 1) : 0;
}

/*
 * RDMA WRITE WITH IMM of len bytes of the send buffer to byte at of the
 * server's region (len 0: immediate only).
 */
static void write_imm(struct peer *p, uint64_t at, uint32_t len, uint32_t imm)
{
	struct ibv_send_wr wr = { .opcode = IBV_WR_RDMA_WRITE_WITH_IMM };
	struct ibv_sge sge;

	if (len) {
		send_sge(p, &sge, len);
		wr.sg_list = &sge;
		wr.num_sge = 1;
	}
	wr.imm_data = htonl(imm);
	wr.wr.rdma.remote_addr = p->raddr + at;
	wr.wr.rdma.rkey = p->rkey;
	if (post_send(p, &wr))
		die("ibv_post_send (request)");
}

static uint32_t io_req_imm(struct peer *p, uint32_t id, uint32_t off)
{
	unsigned int mem_bits = MAX_IMM_PAYL_BITS - chunk_bits(p->qd);

	return (uint32_t)RTRS_IO_REQ_IMM << MAX_IMM_PAYL_BITS | id << mem_bits | off;
}

/* Whether the immediate can carry an offset of off. */
static bool off_fits(struct peer *p, uint32_t off)
{
	return !(off >> (MAX_IMM_PAYL_BITS - chunk_bits(p->qd)));
}

/*
 * An RNBD SESS_INFO as an RTRS read into chunk 0: [sess_info][read trailer
 * with one descriptor] at offset 0, the immediate naming the trailer.
 */
static void sess_info_read(struct peer *p, uint64_t addr, uint32_t len)
{
	uint8_t *b = p->ctl + NRECV * RECV_BUF;
	uint8_t *t = b + RNBD_SESS_INFO_LEN;

	memset(b, 0, RNBD_SESS_INFO_LEN);
	put16(b, RNBD_MSG_SESS_INFO);
	b[4] = 2;			/* RNBD protocol version */
	put16(t, RTRS_MSG_READ);
	put16(t + 2, RNBD_SESS_INFO_LEN);
	put16(t + 4, 0);		/* no invalidation asked */
	put16(t + 6, 1);
	put64(t + 8, addr);
	put32(t + 16, p->mr->rkey);
	put32(t + 20, len);
	write_imm(p, 0, RNBD_SESS_INFO_LEN + 24, io_req_imm(p, 0, RNBD_SESS_INFO_LEN));
}

/*
 * What the server did next: ANSWERED (an IO_RSP immediate came), CLOSED
 * (the CM's DISCONNECTED), or -1 when neither came in time.  Heartbeats
 * are skipped; their receive buffers are given back.
 */
static int await(struct peer *p)
{
	int64_t deadline = now_ms() + WAIT_MS;
	struct event ev;

	while (next_event(p, deadline, &ev)) {
		uint32_t imm, type;

		if (ev.cm) {
			if (ev.type == RDMA_CM_EVENT_DISCONNECTED) {
				p->connected = false;
				return CLOSED;
			}
			continue;
		}
		/* our QP erring (a NAK, a flush) is not the server closing */
		if (ev.wc.status != IBV_WC_SUCCESS || !(ev.wc.opcode & IBV_WC_RECV))
			continue;
		ctl_post_recv(p, (uint32_t)ev.wc.wr_id);
		if (!(ev.wc.wc_flags & IBV_WC_WITH_IMM))
			continue;
		imm = ntohl(ev.wc.imm_data);
		type = imm >> MAX_IMM_PAYL_BITS;
		if (type == RTRS_IO_RSP_IMM || type == RTRS_IO_RSP_W_INV_IMM) {
			p->got_rsp = true;
			p->rsp_id = imm & RTRS_IMM_MSG_ID_MASK;
			p->rsp_errno = -(int)(imm >> RTRS_IMM_MSG_ID_BITS & RTRS_IMM_ERRNO_MASK);
			return ANSWERED;
		}
	}
	return -1;
}

/* ---- scenarios: each returns the outcome seen (-1: none in time) ---- */

static int hs_reject(struct peer *p, uint8_t *pd, uint8_t len)
{
	struct event ev;

	start_connect(p, pd, len);
	if (cm_wait(p, RDMA_CM_EVENT_REJECTED, &ev)) {
		if (get16(ev.pdata) == RTRS_MAGIC)
			p->rej_errno = (int16_t)get16(ev.pdata + 4);
		return REJECTED;
	}
	if (!ev.cm || ev.type != RDMA_CM_EVENT_ESTABLISHED)
		return -1;
	p->connected = true;
	return ACCEPTED;
}

static int sc_bad_magic(struct peer *p)
{
	uint8_t pd[PDATA_LEN];

	conn_req(pd);
	put16(pd + 2, RTRS_MAGIC ^ 0x0100);
	return hs_reject(p, pd, sizeof(pd));
}

static int sc_bad_version(struct peer *p)
{
	uint8_t pd[PDATA_LEN];

	conn_req(pd);
	put16(pd + 4, (RTRS_PROTO_VER_MAJOR + 1) << 8);
	return hs_reject(p, pd, sizeof(pd));
}

/*
 * 12 of the 56 bytes: magic, version, cid, cid_num, recon_cnt and no
 * UUIDs.  Over RoCE the CM pads private data to its fixed size, so the
 * server sees zero UUIDs and first_conn 0: a path of no session.
 */
static int sc_short_pdata(struct peer *p)
{
	uint8_t pd[PDATA_LEN];

	conn_req(pd);
	return hs_reject(p, pd, 12);
}

static int sc_unknown_imm(struct peer *p)
{
	/* 7: between IO_RSP_W_INV (2) and HB_MSG (8), no meaning */
	write_imm(p, 0, 0, 7u << MAX_IMM_PAYL_BITS);
	return await(p);
}

static int sc_chunk_id(struct peer *p)
{
	if (p->qd == 1u << chunk_bits(p->qd)) {
		fprintf(stderr, "  queue_depth %u is a power of two: no chunk id >= it fits\n",
			p->qd);
		return -1;
	}
	write_imm(p, 0, 0, io_req_imm(p, p->qd, 0));
	return await(p);
}

/* Past the end of the last chunk, i.e. of the server's whole region. */
static int sc_offset(struct peer *p)
{
	uint32_t off = p->chunk + 64;

	if (!off_fits(p, off)) {
		fprintf(stderr, "  offset %u does not fit the immediate\n", off);
		return -1;
	}
	write_imm(p, 0, 0, io_req_imm(p, p->qd - 1, off));
	return await(p);
}

/* A read trailer whose 6 first bytes are the last of the last chunk. */
static int sc_trailer_overrun(struct peer *p)
{
	uint8_t *t = p->ctl + NRECV * RECV_BUF;
	uint32_t off = p->chunk - 6;

	put16(t, RTRS_MSG_READ);
	put16(t + 2, 0);
	put16(t + 4, 0);
	write_imm(p, (uint64_t)(p->qd - 1) * p->chunk + off, 6, io_req_imm(p, p->qd - 1, off));
	return await(p);
}

static int sc_read_ok(struct peer *p)
{
	const uint8_t *r = p->area + PAGE;
	int ret;

	sess_info_read(p, (uintptr_t)r, PAGE);
	ret = await(p);
	if (ret == ANSWERED && (p->rsp_id || p->rsp_errno || get16(r) != RNBD_MSG_SESS_INFO_RSP ||
				r[4] != 2)) {
		fprintf(stderr, "  response id %u errno %d, reply type %u version %u\n",
			p->rsp_id, p->rsp_errno, get16(r), r[4]);
		return -1;
	}
	return ret;
}

static int sc_read_behind(struct peer *p)
{
	sess_info_read(p, (uintptr_t)(p->area + 2 * PAGE), 512);
	return await(p);
}

static int sc_read_before(struct peer *p)
{
	sess_info_read(p, (uintptr_t)(p->area + PAGE - 512), 512);
	return await(p);
}

static int sc_read_too_long(struct peer *p)
{
	sess_info_read(p, (uintptr_t)(p->area + PAGE), 2 * PAGE);
	return await(p);
}

struct scenario {
	const char *name;
	bool handshake;		/* do the correct handshake first */
	enum outcome want;
	int (*run)(struct peer *p);
};

static const struct scenario scenarios[] = {
	{ "bad-magic", false, REJECTED, sc_bad_magic },
	{ "bad-version", false, REJECTED, sc_bad_version },
	{ "short-pdata", false, REJECTED, sc_short_pdata },
	{ "read-ok", true, ANSWERED, sc_read_ok },
	{ "unknown-imm", true, CLOSED, sc_unknown_imm },
	{ "chunk-id", true, CLOSED, sc_chunk_id },
	{ "offset", true, CLOSED, sc_offset },
	{ "trailer-overrun", true, CLOSED, sc_trailer_overrun },
	{ "read-behind-mr", true, CLOSED, sc_read_behind },
	{ "read-before-mr", true, CLOSED, sc_read_before },
	{ "read-too-long", true, CLOSED, sc_read_too_long },
};

static bool canaries_intact(const struct peer *p)
{
	for (size_t i = 0; i < PAGE; i++) {
		if (p->area[i] != CANARY || p->area[2 * PAGE + i] != CANARY)
			return false;
	}
	return true;
}

static bool run(const struct scenario *s, unsigned int n)
{
	struct peer p = { 0 };
	char name[32];
	int64_t t0 = now_ms();
	int got = -1;
	bool ok;

	snprintf(name, sizeof(name), "badpeer-%u", n);
	if (!s->handshake || handshake(&p, name))
		got = s->run(&p);
	ok = got == (int)s->want;
	if (!canaries_intact(&p)) {
		fprintf(stderr, "  a canary next to the registered page was overwritten\n");
		ok = false;
	}
	if (s->want == CLOSED && p.got_rsp) {
		fprintf(stderr, "  the server answered (errno %d) instead of closing\n",
			p.rsp_errno);
		ok = false;
	}
	printf("%s %s: %s", ok ? "ok  " : "FAIL", s->name, got < 0 ? "nothing" : outcome_str[got]);
	if (got == REJECTED)
		printf(" (errno %d)", p.rej_errno);
	printf(" in %.2f s, want %s%s\n", (double)(now_ms() - t0) / 1000, outcome_str[s->want],
	       s->handshake ? ", canaries intact" : "");
	fflush(stdout);
	peer_free(&p);
	return ok;
}

int main(int argc, char **argv)
{
	size_t ns = sizeof(scenarios) / sizeof(scenarios[0]);
	unsigned int fails = 0, done = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: rdma-badpeer ADDR PORT [SCENARIO...]\nscenarios:");
		for (size_t i = 0; i < ns; i++)
			fprintf(stderr, " %s", scenarios[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	addr_arg = argv[1];
	port_arg = argv[2];
	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
	for (size_t i = 0; i < ns; i++) {
		bool want = argc == 3;

		for (int a = 3; a < argc; a++)
			want |= !strcmp(argv[a], scenarios[i].name);
		if (!want)
			continue;
		done++;
		fails += !run(&scenarios[i], (unsigned int)i);
	}
	if (!done) {
		fprintf(stderr, "rdma-badpeer: no such scenario\n");
		return 2;
	}
	printf("%u of %u scenarios as expected\n", done - fails, done);
	return fails ? 1 : 0;
}
