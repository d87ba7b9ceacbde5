/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RNBD (RDMA Network Block Device) wire protocol, major version 2.
 *
 * Byte-compatible with the Linux kernel's drivers/block/rnbd/rnbd-proto.h:
 * same struct, field, enum and constant names and layout, so a kernel module
 * can include this header unchanged (only <linux/types.h> types, no libc,
 * natural layout as in the kernel).  Every RNBD message is the RTRS user
 * message of one RTRS request; multi-byte fields are little-endian.
 *
 * Kernel versions:
 *  - op 5 is RNBD_OP_WRITE_SAME in 6.1 (never sent; a 6.1 server WARNs and
 *    turns it into a READ) and RNBD_OP_WRITE_ZEROES from 6.8.  Both names are
 *    defined here with the same value.  rnbd_msg_open_rsp offset 20 is
 *    max_write_same_sectors (6.1, always 0) or max_write_zeroes_sectors (6.8+):
 *    declared as a union of both names.
 *  - RNBD_F_PREFLUSH (bit 10) and RNBD_F_NOUNMAP (bit 11) exist only in
 *    mainline from 2026 (protocol minor 1 and 2).  RNBD_F_ALL keeps 6.1's value
 *    (SYNC | FUA); RNBD_F_ALL_2026 includes the new flags.
 *  - The minor version (0 in 6.1/6.12, 2 in 2026 mainline) is never sent.
 *
 * Reserved and padding bytes of requests are stack garbage when a kernel
 * client sends them: never interpret them.
 */
#ifndef RNBD_RNBD_PROTO_H
#define RNBD_RNBD_PROTO_H

#include <linux/types.h>

#ifdef __cplusplus
#define RNBD_PROTO_ASSERT(expr, msg) static_assert(expr, msg)
#else
#define RNBD_PROTO_ASSERT(expr, msg) _Static_assert(expr, msg)
#endif
#define RNBD_PROTO_OFFSETOF(type, field) __builtin_offsetof(type, field)

#define RNBD_PROTO_VER_MAJOR 2
#define RNBD_PROTO_VER_MINOR 0

/* The default port number the RTRS server is listening on. */
#define RTRS_PORT 1234

/* NAME_MAX of the kernel: size of the dev_name field, NUL included. */
#define RNBD_NAME_MAX		255
/* PATH_MAX of the kernel: limit of dev_search_path + "/" + dev_name. */
#define RNBD_PATH_MAX		4096
#define RNBD_SECTOR_SHIFT	9

/**
 * enum rnbd_msg_type - RNBD message types
 * @RNBD_MSG_SESS_INFO:		initial session info from client to server
 * @RNBD_MSG_SESS_INFO_RSP:	initial session info from server to client
 * @RNBD_MSG_OPEN:		open (map) device request
 * @RNBD_MSG_OPEN_RSP:		response to an @RNBD_MSG_OPEN
 * @RNBD_MSG_IO:		block IO request operation
 * @RNBD_MSG_CLOSE:		close (unmap) device request
 */
enum rnbd_msg_type {
	RNBD_MSG_SESS_INFO,
	RNBD_MSG_SESS_INFO_RSP,
	RNBD_MSG_OPEN,
	RNBD_MSG_OPEN_RSP,
	RNBD_MSG_IO,
	RNBD_MSG_CLOSE,
};

/* struct rnbd_msg_hdr - header of every RNBD message; __padding is garbage. */
struct rnbd_msg_hdr {
	__le16		type;
	__le16		__padding;
};

/*
 * Any number of RO opens, one RW open per device across all sessions, and a
 * second writer only if it (or the first) uses MIGRATION.
 */
enum rnbd_access_mode {
	RNBD_ACCESS_RO,
	RNBD_ACCESS_RW,
	RNBD_ACCESS_MIGRATION,
};

/* struct rnbd_msg_sess_info - version handshake, client to server. */
struct rnbd_msg_sess_info {
	struct rnbd_msg_hdr hdr;
	__u8		ver;
	__u8		reserved[31];
};

/* struct rnbd_msg_sess_info_rsp - version handshake, server to client. */
struct rnbd_msg_sess_info_rsp {
	struct rnbd_msg_hdr hdr;
	__u8		ver;
	__u8		reserved[31];
};

/*
 * struct rnbd_msg_open - request to open a remote device.  dev_name is
 * NUL-terminated but not zero-padded by the kernel client.
 */
struct rnbd_msg_open {
	struct rnbd_msg_hdr hdr;
	__u8		access_mode;
	__u8		resv1;
	__s8		dev_name[RNBD_NAME_MAX];
	__u8		reserved[3];
};

/* struct rnbd_msg_close - request to close a remote device. */
struct rnbd_msg_close {
	struct rnbd_msg_hdr hdr;
	__le32		device_id;
};

enum rnbd_cache_policy {
	RNBD_FUA = 1 << 0,
	RNBD_WRITEBACK = 1 << 1,
};

/*
 * struct rnbd_msg_open_rsp - response to RNBD_MSG_OPEN, written into the
 * client's read buffer.  Sizes in 512-byte sectors, granularity/alignment and
 * block sizes in bytes.  max_hw_sectors and max_segments are ignored by the
 * kernel client; secure_discard is a boolean (the 6.1 server truncates a
 * sector count into it).
 */
struct rnbd_msg_open_rsp {
	struct rnbd_msg_hdr	hdr;
	__le32			device_id;
	__le64			nsectors;
	__le32			max_hw_sectors;
	union {
		__le32		max_write_same_sectors;		/* 6.1 */
		__le32		max_write_zeroes_sectors;	/* 6.8+ */
	};
	__le32			max_discard_sectors;
	__le32			discard_granularity;
	__le32			discard_alignment;
	__le16			physical_block_size;
	__le16			logical_block_size;
	__le16			max_segments;
	__le16			secure_discard;
	__u8			obsolete_rotational;
	__u8			cache_policy;
	__u8			reserved[10];
};

/*
 * struct rnbd_msg_io - block I/O request.  26 bytes of fields; sizeof is 32
 * on x86-64, arm64 and arm32-EABI (tail padding after prio, garbage from a
 * kernel client) but 28 on i386, so a receiver accepts any length >= 26.
 */
struct rnbd_msg_io {
	struct rnbd_msg_hdr hdr;
	__le32		device_id;
	__le64		sector;
	__le32		rw;
	__le32		bi_size;
	__le16		prio;
};
#define RNBD_MSG_IO_MIN_LEN	26

#define RNBD_OP_BITS  8
#define RNBD_OP_MASK  ((1 << RNBD_OP_BITS) - 1)

/*
 * enum rnbd_io_flags - rnbd_msg_io.rw: op in bits 7..0, flags above.
 * RNBD_F_FUA is also set by the kernel client for REQ_PREFLUSH, so a FLUSH
 * normally arrives as RNBD_OP_FLUSH | RNBD_F_SYNC | RNBD_F_FUA (0x302).
 */
enum rnbd_io_flags {

	/* Operations */

	RNBD_OP_READ		= 0,
	RNBD_OP_WRITE		= 1,
	RNBD_OP_FLUSH		= 2,
	RNBD_OP_DISCARD		= 3,
	RNBD_OP_SECURE_ERASE	= 4,
	RNBD_OP_WRITE_SAME	= 5,	/* 6.1 name: unsupported there */
	RNBD_OP_WRITE_ZEROES	= 5,	/* 6.8+ name */

	RNBD_OP_LAST,

	/* Flags */

	RNBD_F_SYNC	= 1 << (RNBD_OP_BITS + 0),
	RNBD_F_FUA	= 1 << (RNBD_OP_BITS + 1),
	RNBD_F_PREFLUSH	= 1 << (RNBD_OP_BITS + 2),	/* mainline 2026 */
	RNBD_F_NOUNMAP	= 1 << (RNBD_OP_BITS + 3),	/* mainline 2026 */

	RNBD_F_ALL	= (RNBD_F_SYNC | RNBD_F_FUA),	/* 6.1 value */
	RNBD_F_ALL_2026	= (RNBD_F_SYNC | RNBD_F_FUA | RNBD_F_PREFLUSH | RNBD_F_NOUNMAP),
};

RNBD_PROTO_ASSERT(sizeof(struct rnbd_msg_hdr) == 4, "rnbd_msg_hdr size");
RNBD_PROTO_ASSERT(sizeof(struct rnbd_msg_sess_info) == 36, "rnbd_msg_sess_info size");
RNBD_PROTO_ASSERT(sizeof(struct rnbd_msg_sess_info_rsp) == 36, "rnbd_msg_sess_info_rsp size");
RNBD_PROTO_ASSERT(sizeof(struct rnbd_msg_open) == 264, "rnbd_msg_open size");
RNBD_PROTO_ASSERT(RNBD_PROTO_OFFSETOF(struct rnbd_msg_open, dev_name) == 6,
		  "rnbd_msg_open.dev_name offset");
RNBD_PROTO_ASSERT(sizeof(struct rnbd_msg_close) == 8, "rnbd_msg_close size");
RNBD_PROTO_ASSERT(sizeof(struct rnbd_msg_open_rsp) == 56, "rnbd_msg_open_rsp size");
RNBD_PROTO_ASSERT(RNBD_PROTO_OFFSETOF(struct rnbd_msg_open_rsp, max_write_zeroes_sectors) == 20,
		  "rnbd_msg_open_rsp.max_write_zeroes_sectors offset");
RNBD_PROTO_ASSERT(RNBD_PROTO_OFFSETOF(struct rnbd_msg_open_rsp, cache_policy) == 45,
		  "rnbd_msg_open_rsp.cache_policy offset");
RNBD_PROTO_ASSERT(RNBD_PROTO_OFFSETOF(struct rnbd_msg_io, sector) == 8,
		  "rnbd_msg_io.sector offset");
RNBD_PROTO_ASSERT(RNBD_PROTO_OFFSETOF(struct rnbd_msg_io, prio) == 24,
		  "rnbd_msg_io.prio offset");
/* 32 where __le64 is 8-aligned in structs, 28 where it is 4-aligned (i386). */
RNBD_PROTO_ASSERT(sizeof(struct rnbd_msg_io) == 32 || sizeof(struct rnbd_msg_io) == 28,
		  "rnbd_msg_io size");

#endif /* RNBD_RNBD_PROTO_H */
