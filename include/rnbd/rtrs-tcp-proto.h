/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RTRS over TCP: librnbd's framing of the RTRS protocol on a byte stream.
 *
 * Each RTRS connection is one TCP connection; every message is a 16-byte
 * little-endian frame header followed by `len` payload bytes.  The payloads of
 * CONN_REQ, CONN_RSP and INFO_REQ are the RDMA structs of rtrs-proto.h byte
 * for byte; INFO_RSP is an rtrs_msg_info_rsp without descriptors.  Unlike
 * RDMA, every integer here, the immediate included, is little-endian.
 * Like rtrs-proto.h this header only needs <linux/types.h>.
 */
#ifndef RNBD_RTRS_TCP_PROTO_H
#define RNBD_RTRS_TCP_PROTO_H

#include <linux/types.h>
#include "rtrs-proto.h"

#define RTRS_TCP_MAGIC		0x5452	/* bytes 52 54, "RT" */
#define RTRS_TCP_VERSION	1	/* imm of CONN_REQ / CONN_RSP */
#define RTRS_TCP_PORT		1234

/* Limits a client checks in an accepting conn_rsp. */
#define RTRS_TCP_MIN_HDR_SIZE	512
#define RTRS_TCP_MAX_HDR_SIZE	65535
#define RTRS_TCP_MIN_IO_SIZE	4096
#define RTRS_TCP_MAX_IO_SIZE	16777216

enum rtrs_tcp_frame_type {
	RTRS_TCP_CONN_REQ	= 1,
	RTRS_TCP_CONN_RSP	= 2,
	RTRS_TCP_INFO_REQ	= 3,
	RTRS_TCP_INFO_RSP	= 4,
	RTRS_TCP_WRITE_REQ	= 5,
	RTRS_TCP_READ_REQ	= 6,
	RTRS_TCP_IO_RSP		= 7,
	RTRS_TCP_HB		= 8,
	RTRS_TCP_HB_ACK		= 9,
	RTRS_TCP_CLOSE		= 10,
	RTRS_TCP_LAST,
};

/*
 * struct rtrs_tcp_hdr - frame header.  Every field is naturally aligned, so
 * the layout has no padding.  Meaning of id / usr_len / imm per type:
 *   WRITE_REQ  id = permit, usr_len = user message bytes at payload start
 *   READ_REQ   id = permit, usr_len = len, imm = bytes wanted back
 *   IO_RSP     id = permit, imm = status (0 or -errno, s32), payload = data
 *   CONN_*     imm = RTRS_TCP_VERSION
 *   HB/HB_ACK  imm = opaque value, echoed by HB_ACK
 *   CLOSE      imm = reason (0 or -errno, s32)
 * Fields a type does not use are written 0 and ignored on receipt; flags
 * are reserved.
 */
struct rtrs_tcp_hdr {
	__le16	magic;
	__u8	type;
	__u8	flags;
	__le32	len;
	__le16	id;
	__le16	usr_len;
	__le32	imm;
};

/* The TCP INFO_RSP payload: rtrs_msg_info_rsp with sg_cnt = 0. */
#define RTRS_TCP_INFO_RSP_LEN	8

RTRS_PROTO_ASSERT(sizeof(struct rtrs_tcp_hdr) == 16, "rtrs_tcp_hdr size");
RTRS_PROTO_ASSERT(RTRS_PROTO_OFFSETOF(struct rtrs_tcp_hdr, len) == 4, "rtrs_tcp_hdr.len offset");
RTRS_PROTO_ASSERT(RTRS_PROTO_OFFSETOF(struct rtrs_tcp_hdr, id) == 8, "rtrs_tcp_hdr.id offset");
RTRS_PROTO_ASSERT(RTRS_PROTO_OFFSETOF(struct rtrs_tcp_hdr, usr_len) == 10,
		  "rtrs_tcp_hdr.usr_len offset");
RTRS_PROTO_ASSERT(RTRS_PROTO_OFFSETOF(struct rtrs_tcp_hdr, imm) == 12, "rtrs_tcp_hdr.imm offset");

#endif /* RNBD_RTRS_TCP_PROTO_H */
