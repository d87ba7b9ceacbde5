/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RTRS (RDMA Transport) wire protocol, version 2.0.
 *
 * Byte-compatible with the Linux kernel's drivers/infiniband/ulp/rtrs
 * (rtrs-pri.h) of 6.1 and 6.12: same struct, field, enum and constant names,
 * same layout.  A kernel module can include this header unchanged, so it uses
 * only <linux/types.h> types, no libc, and natural (unpacked) layout, exactly
 * as the kernel declares these structs.  Host-order encode/decode with
 * validation lives in librnbd/proto/.
 *
 * Multi-byte fields are little-endian.  The 32-bit RDMA immediate is the one
 * exception: it travels in network byte order (cpu_to_be32 / htonl).
 *
 * Kernel versions: the RTRS wire format is identical in 6.1.192 and 6.12.117
 * and has not changed in mainline up to 2026 (still protocol 2.0).
 */
#ifndef RNBD_RTRS_PROTO_H
#define RNBD_RTRS_PROTO_H

#include <linux/types.h>

#ifdef __cplusplus
#define RTRS_PROTO_ASSERT(expr, msg) static_assert(expr, msg)
#else
#define RTRS_PROTO_ASSERT(expr, msg) _Static_assert(expr, msg)
#endif
#define RTRS_PROTO_OFFSETOF(type, field) __builtin_offsetof(type, field)

#define RTRS_PROTO_VER_MAJOR 2
#define RTRS_PROTO_VER_MINOR 0

/*
 * Immediate data is 28 bits of payload; the chunk size is at least 4 KiB, so
 * at most 2^16 - 1 chunks fit, which is also the range of the le16
 * conn_rsp.queue_depth.
 */
#define MAX_SESS_QUEUE_DEPTH 65535

enum rtrs_imm_const {
	MAX_IMM_TYPE_BITS = 4,
	MAX_IMM_TYPE_MASK = ((1 << MAX_IMM_TYPE_BITS) - 1),
	MAX_IMM_PAYL_BITS = 28,
	MAX_IMM_PAYL_MASK = ((1 << MAX_IMM_PAYL_BITS) - 1),
};

/* Bits 31..28 of the immediate. */
enum rtrs_imm_type {
	RTRS_IO_REQ_IMM       = 0, /* client to server */
	RTRS_IO_RSP_IMM       = 1, /* server to client */
	RTRS_IO_RSP_W_INV_IMM = 2, /* server to client */

	RTRS_HB_MSG_IMM = 8, /* HB: HeartBeat */
	RTRS_HB_ACK_IMM = 9,

	RTRS_LAST_IMM,
};

enum {
	SERVICE_CON_QUEUE_DEPTH = 512,

	MAX_PATHS_NUM = 128,

	MIN_CHUNK_SIZE = 8192,

	RTRS_HB_INTERVAL_MS = 5000,
	RTRS_HB_MISSED_MAX = 5,

	RTRS_MAGIC = 0x1BBD,
	RTRS_PROTO_VER = (RTRS_PROTO_VER_MAJOR << 8) | RTRS_PROTO_VER_MINOR,
};

/*
 * Not in rtrs-pri.h but part of the contract: the kernel's defaults and
 * limits (rtrs-clt.c, rtrs-srv.c), under the kernel's own names where it has
 * them.  MAX_HDR_SIZE is PAGE_SIZE in the kernel; 4096 on x86-64.
 */
#define RTRS_CONNECT_TIMEOUT_MS		30000
#define RTRS_RECONNECT_BACKOFF		1000
#define RTRS_RECONNECT_SEED		8
#define RTRS_MAX_SEGMENTS		128
#define DEFAULT_MAX_CHUNK_SIZE		(128 << 10)
#define DEFAULT_SESS_QUEUE_DEPTH	512
#define RTRS_MAX_HDR_SIZE		4096
#define RTRS_MAX_CID_NUM		4096
#define RTRS_NAME_MAX			255	/* NAME_MAX: name field incl. NUL */

/* Payload of an IO_RSP immediate: 9-bit |errno| above a 19-bit msg_id. */
#define RTRS_IMM_ERRNO_BITS	9
#define RTRS_IMM_ERRNO_MASK	0x1ff
#define RTRS_IMM_MSG_ID_BITS	19
#define RTRS_IMM_MSG_ID_MASK	0x7ffff

/* Heartbeat immediates: type in bits 31..28, zero payload. */
#define RTRS_HB_MSG_IMM_VAL	((__u32)RTRS_HB_MSG_IMM << MAX_IMM_PAYL_BITS)
#define RTRS_HB_ACK_IMM_VAL	((__u32)RTRS_HB_ACK_IMM << MAX_IMM_PAYL_BITS)

/**
 * enum rtrs_msg_types - RTRS message types
 * @RTRS_MSG_INFO_REQ:	client additional info request to the server
 * @RTRS_MSG_INFO_RSP:	server additional info response to the client
 * @RTRS_MSG_WRITE:	trailer of a write request in a chunk
 * @RTRS_MSG_READ:	trailer of a read request in a chunk
 * @RTRS_MSG_RKEY_RSP:	server refreshed rkey for a chunk
 */
enum rtrs_msg_types {
	RTRS_MSG_INFO_REQ,
	RTRS_MSG_INFO_RSP,
	RTRS_MSG_WRITE,
	RTRS_MSG_READ,
	RTRS_MSG_RKEY_RSP,
};

/**
 * enum rtrs_msg_flags - RTRS message flags
 * @RTRS_MSG_NEED_INVAL_F: rtrs_msg_rdma_read.flags: answer with SEND_WITH_INV
 * @RTRS_MSG_NEW_RKEY_F:   rtrs_msg_conn_rsp.flags: rkeys change on every I/O
 */
enum rtrs_msg_flags {
	RTRS_MSG_NEED_INVAL_F = 1 << 0,
	RTRS_MSG_NEW_RKEY_F = 1 << 1,
};

/* struct rtrs_sg_desc - remote buffer: address (iova), rkey and length. */
struct rtrs_sg_desc {
	__le64			addr;
	__le32			key;
	__le32			len;
};

/*
 * struct rtrs_msg_conn_req - the client's rdma_cm private data (56 bytes).
 * The first two bytes must be 0: the CMA may parse them (AF_IB).
 * first_conn is bit 0 of byte 44 (GCC allocates bitfields LSB first on
 * little-endian targets, as the kernel relies on).  The kernel types the
 * UUIDs as uuid_t, which is 16 raw bytes.
 */
struct rtrs_msg_conn_req {
	__u8		__cma_version;
	__u8		__ip_version;
	__le16		magic;
	__le16		version;
	__le16		cid;
	__le16		cid_num;
	__le16		recon_cnt;
	__u8		sess_uuid[16];
	__u8		paths_uuid[16];
	__u8		first_conn : 1;
	__u8		reserved_bits : 7;
	__u8		reserved[11];
};

/*
 * The field "errno" collides with libc's errno macro in userspace; suspend
 * the macro while the struct is declared so that the kernel's name stays.
 */
#pragma push_macro("errno")
#undef errno
/*
 * struct rtrs_msg_conn_rsp - the server's accept/reject private data (56
 * bytes).  errno is a negative errno in 16-bit two's complement on reject.
 */
struct rtrs_msg_conn_rsp {
	__le16		magic;
	__le16		version;
	__le16		errno;
	__le16		queue_depth;
	__le32		max_io_size;
	__le32		max_hdr_size;
	__le32		flags;
	__u8		reserved[36];
};
RTRS_PROTO_ASSERT(sizeof(struct rtrs_msg_conn_rsp) == 56, "rtrs_msg_conn_rsp size");
RTRS_PROTO_ASSERT(RTRS_PROTO_OFFSETOF(struct rtrs_msg_conn_rsp, errno) == 4,
		  "conn_rsp.errno offset");
#pragma pop_macro("errno")

/* struct rtrs_msg_info_req - SENT once on cid 0: the session name. */
struct rtrs_msg_info_req {
	__le16		type;
	__u8		pathname[RTRS_NAME_MAX];
	__u8		reserved[15];
};

/* struct rtrs_msg_info_rsp - the server's chunks, in chunk order. */
struct rtrs_msg_info_rsp {
	__le16		type;
	__le16		sg_cnt;
	__u8		reserved[4];
	struct rtrs_sg_desc desc[];
};

/* struct rtrs_msg_rkey_rsp - new rkey of a chunk (NEW_RKEY mode only). */
struct rtrs_msg_rkey_rsp {
	__le16		type;
	__le16		buf_id;
	__le32		rkey;
};

/*
 * struct rtrs_msg_rdma_read - trailer of a read request, at the immediate's
 * offset in the chunk, right after the user message.  sg_cnt is 0 or 1.
 */
struct rtrs_msg_rdma_read {
	__le16			type;
	__le16			usr_len;
	__le16			flags;
	__le16			sg_cnt;
	struct rtrs_sg_desc	desc[];
};

/* struct rtrs_msg_rdma_write - trailer of a write request. */
struct rtrs_msg_rdma_write {
	__le16			type;
	__le16			usr_len;
};

/* struct rtrs_msg_rdma_hdr - common start of both trailers. */
struct rtrs_msg_rdma_hdr {
	__le16			type;
};

RTRS_PROTO_ASSERT(sizeof(struct rtrs_sg_desc) == 16, "rtrs_sg_desc size");
RTRS_PROTO_ASSERT(sizeof(struct rtrs_msg_conn_req) == 56, "rtrs_msg_conn_req size");
RTRS_PROTO_ASSERT(RTRS_PROTO_OFFSETOF(struct rtrs_msg_conn_req, sess_uuid) == 12,
		  "conn_req.sess_uuid offset");
RTRS_PROTO_ASSERT(RTRS_PROTO_OFFSETOF(struct rtrs_msg_conn_req, paths_uuid) == 28,
		  "conn_req.paths_uuid offset");
RTRS_PROTO_ASSERT(RTRS_PROTO_OFFSETOF(struct rtrs_msg_conn_req, reserved) == 45,
		  "conn_req.reserved offset");
RTRS_PROTO_ASSERT(RTRS_PROTO_OFFSETOF(struct rtrs_msg_conn_rsp, flags) == 16,
		  "conn_rsp.flags offset");
RTRS_PROTO_ASSERT(sizeof(struct rtrs_msg_info_req) == 272, "rtrs_msg_info_req size");
RTRS_PROTO_ASSERT(sizeof(struct rtrs_msg_info_rsp) == 8, "rtrs_msg_info_rsp size");
RTRS_PROTO_ASSERT(sizeof(struct rtrs_msg_rkey_rsp) == 8, "rtrs_msg_rkey_rsp size");
RTRS_PROTO_ASSERT(sizeof(struct rtrs_msg_rdma_read) == 8, "rtrs_msg_rdma_read size");
RTRS_PROTO_ASSERT(sizeof(struct rtrs_msg_rdma_write) == 4, "rtrs_msg_rdma_write size");
RTRS_PROTO_ASSERT(sizeof(struct rtrs_msg_rdma_hdr) == 2, "rtrs_msg_rdma_hdr size");
RTRS_PROTO_ASSERT(RTRS_LAST_IMM <= (1 << MAX_IMM_TYPE_BITS), "imm types fit in 4 bits");
RTRS_PROTO_ASSERT(RTRS_IMM_ERRNO_BITS + RTRS_IMM_MSG_ID_BITS == MAX_IMM_PAYL_BITS,
		  "IO_RSP imm payload split");

#endif /* RNBD_RTRS_PROTO_H */
