/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RTRS-over-TCP frame header codec and the stateless part of the receiver
 * validation (rtrs-tcp.md section 9).  Which types a connection accepts in
 * which state is the transport's business; this file checks what a header
 * alone, or a header plus the negotiated limits, can tell.
 */
#ifndef RNBD_PROTO_RTRS_FRAME_H
#define RNBD_PROTO_RTRS_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "rnbd/rtrs-tcp-proto.h"

#define RTRS_FRAME_HDR_LEN sizeof(struct rtrs_tcp_hdr)

struct rtrs_frame {
	uint8_t type;		/* enum rtrs_tcp_frame_type */
	uint32_t len;		/* payload bytes after the header */
	uint16_t id;
	uint16_t usr_len;
	uint32_t imm;
};

void rtrs_frame_encode(const struct rtrs_frame *f, uint8_t out[RTRS_FRAME_HDR_LEN]);

/*
 * Magic, type 1..10, and lengths fixed by type: CONN_REQ/CONN_RSP 56,
 * INFO_REQ 272, INFO_RSP 8, HB/HB_ACK/CLOSE 0.  -EPROTO otherwise.
 */
int rtrs_frame_decode(const uint8_t in[RTRS_FRAME_HDR_LEN], struct rtrs_frame *f);

/* Limits of a WRITE_REQ / READ_REQ against the receiving server's values. */
int rtrs_frame_check_req(const struct rtrs_frame *f, uint32_t max_hdr_size,
			 uint32_t max_io_size, uint32_t queue_depth);

/*
 * An IO_RSP for a request that asked for read_len bytes back (is_read) or
 * none: status <= 0, and len == read_len for a successful read, else 0.
 */
int rtrs_frame_check_rsp(const struct rtrs_frame *f, bool is_read, uint32_t read_len);

static inline int32_t rtrs_frame_status(const struct rtrs_frame *f)
{
	return (int32_t)f->imm;
}

const char *rtrs_frame_type_str(uint8_t type);

#endif
