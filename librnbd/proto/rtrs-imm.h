/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RTRS immediate data (RDMA transport): pure functions.
 *
 * imm = type << 28 | payload.  IO_REQ payload = buf_id << mem_bits | off,
 * where mem_bits = 28 - ceil_log2(queue_depth) and off is the trailer's
 * offset in the chunk.  IO_RSP payload = |errno| (9 bits) << 19 | msg_id.
 * These values are host order; the RDMA transport converts with htonl/ntohl.
 */
#ifndef RNBD_PROTO_RTRS_IMM_H
#define RNBD_PROTO_RTRS_IMM_H

#include <stdbool.h>
#include <stdint.h>

#include "rnbd/rtrs-proto.h"

uint32_t rtrs_imm_make(uint32_t type, uint32_t payload);
void rtrs_imm_split(uint32_t imm, uint32_t *type, uint32_t *payload);

/* ceil_log2(queue_depth) as the kernel computes it (0 for queue_depth 1). */
unsigned int rtrs_chunk_bits(uint32_t queue_depth);
static inline unsigned int rtrs_mem_bits(uint32_t queue_depth)
{
	return MAX_IMM_PAYL_BITS - rtrs_chunk_bits(queue_depth);
}

/* -EINVAL if queue_depth is outside 1..65535, buf_id >= queue_depth or off
 * does not fit in mem_bits. */
int rtrs_io_req_imm(uint32_t buf_id, uint32_t off, uint32_t queue_depth, uint32_t *imm);
/* -EPROTO if the decoded buf_id is >= queue_depth; -EINVAL for a
 * queue_depth outside 1..65535. */
int rtrs_io_req_imm_parse(uint32_t payload, uint32_t queue_depth, uint32_t *buf_id,
			  uint32_t *off);

/*
 * Error carried in an IO_RSP (RDMA imm or TCP status): 0, or -1..-511.
 * Anything else becomes -EIO so that no error can turn into success (the
 * kernel's abs(errno) & 0x1ff would make -512 read as 0).
 */
int rtrs_errno_clamp(int err);

uint32_t rtrs_io_rsp_imm(uint32_t msg_id, int err, bool w_inval);
void rtrs_io_rsp_imm_parse(uint32_t payload, uint32_t *msg_id, int *err);

#endif
