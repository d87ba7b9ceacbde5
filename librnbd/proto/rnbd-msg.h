/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RNBD message codecs: wire bytes <-> host-order structs.
 *
 * Decoders take the RTRS user message as received, check its length before
 * reading anything, never look at reserved or padding bytes (a kernel client
 * fills them with stack garbage) and return 0 or a negative errno with a
 * message in rnbd_errmsg():
 *   -EINVAL      malformed (short, wrong type, unterminated name, bad value)
 *   -EOPNOTSUPP  unknown I/O op
 *   -ERANGE      sector/size that overflow a 64-bit byte offset
 * Encoders zero the whole message, fill it and return its length, or
 * -ENOSPC when the buffer is too small.
 */
#ifndef RNBD_PROTO_RNBD_MSG_H
#define RNBD_PROTO_RNBD_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnbd/rnbd-proto.h"

#define RNBD_SESS_INFO_LEN	sizeof(struct rnbd_msg_sess_info)
#define RNBD_SESS_INFO_RSP_LEN	sizeof(struct rnbd_msg_sess_info_rsp)
#define RNBD_OPEN_LEN		sizeof(struct rnbd_msg_open)
#define RNBD_OPEN_RSP_LEN	sizeof(struct rnbd_msg_open_rsp)
#define RNBD_CLOSE_LEN		sizeof(struct rnbd_msg_close)
/* What we send for IO: the x86-64 size, padding zeroed (kernel 64-bit peers
 * only honour prio when usr_len >= their sizeof). */
#define RNBD_IO_LEN		32

struct rnbd_req_sess_info {
	uint8_t ver;
};

struct rnbd_rsp_sess_info {
	uint8_t ver;
};

struct rnbd_req_open {
	uint8_t access_mode;		/* enum rnbd_access_mode */
	char dev_name[RNBD_NAME_MAX];	/* NUL-terminated */
};

struct rnbd_rsp_open {
	uint32_t device_id;
	uint64_t nsectors;
	uint32_t max_hw_sectors;
	uint32_t max_write_zeroes_sectors;	/* 6.1: max_write_same_sectors */
	uint32_t max_discard_sectors;
	uint32_t discard_granularity;
	uint32_t discard_alignment;
	uint16_t physical_block_size;
	uint16_t logical_block_size;
	uint16_t max_segments;
	uint16_t secure_discard;
	uint8_t cache_policy;			/* enum rnbd_cache_policy bits */
};

struct rnbd_req_close {
	uint32_t device_id;
};

struct rnbd_req_io {
	uint32_t device_id;
	uint64_t sector;
	uint32_t rw;		/* op | flags, enum rnbd_io_flags */
	uint32_t bi_size;
	uint16_t prio;
};

/* Type of a request from its header; -EINVAL if shorter than the header. */
int rnbd_msg_type_peek(const void *buf, size_t len);

int rnbd_req_sess_info_encode(const struct rnbd_req_sess_info *in, void *buf, size_t cap);
int rnbd_req_sess_info_decode(const void *buf, size_t len, struct rnbd_req_sess_info *out);
int rnbd_rsp_sess_info_encode(const struct rnbd_rsp_sess_info *in, void *buf, size_t cap);
int rnbd_rsp_sess_info_decode(const void *buf, size_t len, struct rnbd_rsp_sess_info *out);

/* Rejects an access mode outside 0..2 and a name without NUL in 255 bytes. */
int rnbd_req_open_encode(const struct rnbd_req_open *in, void *buf, size_t cap);
int rnbd_req_open_decode(const void *buf, size_t len, struct rnbd_req_open *out);
/* Rejects logical_block_size that is not a power of two >= 512. */
int rnbd_rsp_open_encode(const struct rnbd_rsp_open *in, void *buf, size_t cap);
int rnbd_rsp_open_decode(const void *buf, size_t len, struct rnbd_rsp_open *out);

int rnbd_req_close_encode(const struct rnbd_req_close *in, void *buf, size_t cap);
int rnbd_req_close_decode(const void *buf, size_t len, struct rnbd_req_close *out);

/*
 * IO: accepts any length >= 26 (i386 peers send 28, 64-bit ones 32).  Checks
 * the op, that sizes are whole sectors, that FLUSH carries no size and that
 * sector * 512 + bi_size fits in 64 bits (the sector of a FLUSH is garbage
 * and ignored).  Flags outside those it knows are ignored, as the kernel does.
 */
int rnbd_req_io_encode(const struct rnbd_req_io *in, void *buf, size_t cap);
int rnbd_req_io_decode(const void *buf, size_t len, struct rnbd_req_io *out);

static inline uint32_t rnbd_io_op(uint32_t rw)
{
	return rw & RNBD_OP_MASK;
}

/* RTRS direction of an op: READ and FLUSH travel as RTRS reads. */
static inline bool rnbd_op_is_rtrs_read(uint32_t op)
{
	return op == RNBD_OP_READ || op == RNBD_OP_FLUSH;
}

/* True for ops that move data (READ/WRITE); the others carry a range only. */
static inline bool rnbd_op_has_data(uint32_t op)
{
	return op == RNBD_OP_READ || op == RNBD_OP_WRITE;
}

/*
 * Check the RTRS data length of a decoded IO: READ/WRITE must carry exactly
 * bi_size bytes (6.12 server rule; 6.1 trusted bi_size and overran the
 * chunk), the other ops none.  -EINVAL otherwise.
 */
int rnbd_req_io_check_data_len(const struct rnbd_req_io *io, size_t data_len);

const char *rnbd_access_mode_str(unsigned int mode);
const char *rnbd_op_str(uint32_t op);

#endif
