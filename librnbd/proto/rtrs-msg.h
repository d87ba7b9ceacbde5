/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RTRS message codecs: handshake (conn_req/conn_rsp, info_req/info_rsp),
 * rkey_rsp and the request trailers written into server chunks (RDMA).
 *
 * Decoders check lengths before reading, ignore reserved bytes, and return 0
 * or -EPROTO (malformed) / -EINVAL (info_req name rules, as the server closes
 * with -EINVAL) with a message in rnbd_errmsg().  Encoders zero the message,
 * fill it and return its length, or -ENOSPC / -EINVAL.
 */
#ifndef RNBD_PROTO_RTRS_MSG_H
#define RNBD_PROTO_RTRS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnbd/rtrs-proto.h"

#define RTRS_CONN_REQ_LEN	sizeof(struct rtrs_msg_conn_req)
#define RTRS_CONN_RSP_LEN	sizeof(struct rtrs_msg_conn_rsp)
#define RTRS_INFO_REQ_LEN	sizeof(struct rtrs_msg_info_req)
#define RTRS_INFO_RSP_HDR_LEN	sizeof(struct rtrs_msg_info_rsp)
#define RTRS_RKEY_RSP_LEN	sizeof(struct rtrs_msg_rkey_rsp)
#define RTRS_WRITE_TRAILER_LEN	sizeof(struct rtrs_msg_rdma_write)
#define RTRS_READ_TRAILER_LEN	sizeof(struct rtrs_msg_rdma_read)
#define RTRS_SG_DESC_LEN	sizeof(struct rtrs_sg_desc)

struct rtrs_conn_req {
	uint16_t version;	/* decode: major checked, minor kept */
	uint16_t cid;
	uint16_t cid_num;
	uint16_t recon_cnt;
	uint8_t sess_uuid[16];	/* path */
	uint8_t paths_uuid[16];	/* session */
	bool first_conn;
};

struct rtrs_conn_rsp {
	int err;		/* 0 = accept, else a negative errno (reject) */
	uint16_t version;
	uint16_t queue_depth;
	uint32_t max_io_size;
	uint32_t max_hdr_size;
	uint32_t flags;		/* RTRS_MSG_NEW_RKEY_F */
};

struct rtrs_info_req {
	char pathname[RTRS_NAME_MAX];	/* session name, NUL-terminated */
};

struct rtrs_sg {
	uint64_t addr;
	uint32_t key;
	uint32_t len;
};

/* Where a client writes chunk k on one path (RDMA). */
struct rtrs_rbuf {
	uint64_t addr;
	uint32_t rkey;
};

struct rtrs_rkey_rsp {
	uint16_t buf_id;
	uint32_t rkey;
};

/* A request as found in a server chunk: [data][usr][trailer]. */
struct rtrs_chunk_req {
	uint16_t type;		/* RTRS_MSG_WRITE or RTRS_MSG_READ */
	uint16_t usr_len;
	uint32_t usr_off;	/* = data_len */
	uint32_t data_len;
	uint16_t flags;		/* read: RTRS_MSG_NEED_INVAL_F */
	uint16_t sg_cnt;	/* read: 0 or 1 */
	struct rtrs_sg desc;	/* read with sg_cnt 1: where the reply data goes */
};

/* conn_req: magic, major version 2, cid < cid_num <= 4096.  Accepts a
 * longer buffer (CM private data is zero-padded to 196 bytes). */
int rtrs_conn_req_encode(const struct rtrs_conn_req *in, void *buf, size_t cap);
int rtrs_conn_req_decode(const void *buf, size_t len, struct rtrs_conn_req *out);

/*
 * conn_rsp: magic and major version checked; on accept (err 0) also
 * queue_depth 1..65535, max_hdr_size 512..65535, max_io_size 4096..16 MiB.
 * A reject's errno is returned in out->err (a positive or zero-length one is
 * read as -ECONNRESET).  Encoding a reject writes only magic, version, errno.
 */
int rtrs_conn_rsp_encode(const struct rtrs_conn_rsp *in, void *buf, size_t cap);
int rtrs_conn_rsp_decode(const void *buf, size_t len, struct rtrs_conn_rsp *out);

/* info_req: type 0, name NUL-terminated in 255 bytes, not empty, no '/'
 * or '.'; -EINVAL otherwise. */
int rtrs_info_req_encode(const struct rtrs_info_req *in, void *buf, size_t cap);
int rtrs_info_req_decode(const void *buf, size_t len, struct rtrs_info_req *out);
/* Name check shared with the client, which refuses such names up front. */
int rtrs_sessname_check(const char *name);

/* info_rsp with descriptors (RDMA) or none (TCP, sg_cnt 0). */
int rtrs_info_rsp_encode(const struct rtrs_sg *desc, uint16_t sg_cnt, void *buf, size_t cap);
/* Type and length check; the sg_cnt descriptors are then read by
 * rtrs_info_rsp_map_chunks(). */
int rtrs_info_rsp_decode(const void *buf, size_t len, uint16_t *sg_cnt);
/*
 * RDMA: spread the descriptors over queue_depth chunks of chunk_size bytes,
 * with the kernel client's rules (qd % sg_cnt == 0, ceil_log2(sg_cnt) +
 * ceil_log2(chunk_size) <= 28, each len a non-zero multiple of chunk_size,
 * total exactly queue_depth chunks).  rbuf has queue_depth entries.
 */
int rtrs_info_rsp_map_chunks(const void *buf, size_t len, uint32_t queue_depth,
			     uint32_t chunk_size, struct rtrs_rbuf *rbuf);

int rtrs_rkey_rsp_encode(const struct rtrs_rkey_rsp *in, void *buf, size_t cap);
/* type 4, buf_id < queue_depth and == msg_id from the immediate. */
int rtrs_rkey_rsp_decode(const void *buf, size_t len, uint32_t queue_depth, uint32_t msg_id,
			 struct rtrs_rkey_rsp *out);

/*
 * Trailers.  Write: 4 bytes {RTRS_MSG_WRITE, usr_len}.  Read: 8 bytes plus
 * sg_cnt (0 or 1) descriptors.  Return the trailer length.
 */
int rtrs_write_trailer_encode(uint16_t usr_len, void *buf, size_t cap);
int rtrs_read_trailer_encode(uint16_t usr_len, uint16_t flags, const struct rtrs_sg *desc,
			     void *buf, size_t cap);

/*
 * Parse a request in a server chunk of chunk_size bytes whose trailer sits
 * at off (from the immediate).  -EPROTO unless off and the whole trailer lie
 * inside the chunk, the type is WRITE/READ, usr_len <= off, sg_cnt is 0 or 1
 * and a read descriptor's len is 1..chunk_size.
 */
int rtrs_chunk_req_parse(const void *chunk, uint32_t chunk_size, uint32_t off,
			 struct rtrs_chunk_req *out);

#endif
