// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>

#include "rtrs-imm.h"
#include "util/err.h"

uint32_t rtrs_imm_make(uint32_t type, uint32_t payload)
{
	return ((type & MAX_IMM_TYPE_MASK) << MAX_IMM_PAYL_BITS) | (payload & MAX_IMM_PAYL_MASK);
}

void rtrs_imm_split(uint32_t imm, uint32_t *type, uint32_t *payload)
{
	*payload = imm & MAX_IMM_PAYL_MASK;
	*type = imm >> MAX_IMM_PAYL_BITS;
}

unsigned int rtrs_chunk_bits(uint32_t queue_depth)
{
	unsigned int bits = 0;

	/* ilog2(queue_depth - 1) + 1, and 0 for queue_depth <= 1 */
	if (queue_depth > 1)
		bits = 32 - __builtin_clz(queue_depth - 1);
	return bits;
}

static int check_depth(uint32_t queue_depth)
{
	if (!queue_depth || queue_depth > MAX_SESS_QUEUE_DEPTH)
		return rnbd_err_set(-EINVAL, "queue_depth %u outside 1..%d", queue_depth,
				    MAX_SESS_QUEUE_DEPTH);
	return 0;
}

int rtrs_io_req_imm(uint32_t buf_id, uint32_t off, uint32_t queue_depth, uint32_t *imm)
{
	unsigned int mem_bits;

	if (check_depth(queue_depth))
		return -EINVAL;
	mem_bits = rtrs_mem_bits(queue_depth);
	if (buf_id >= queue_depth)
		return rnbd_err_set(-EINVAL, "buf_id %u >= queue_depth %u", buf_id, queue_depth);
	if (off >> mem_bits)
		return rnbd_err_set(-EINVAL, "offset %u does not fit in %u bits", off, mem_bits);
	*imm = rtrs_imm_make(RTRS_IO_REQ_IMM, (buf_id << mem_bits) | off);
	return 0;
}

int rtrs_io_req_imm_parse(uint32_t payload, uint32_t queue_depth, uint32_t *buf_id,
			  uint32_t *off)
{
	unsigned int mem_bits;
	uint32_t id;

	if (check_depth(queue_depth))
		return -EINVAL;
	mem_bits = rtrs_mem_bits(queue_depth);
	id = (payload & MAX_IMM_PAYL_MASK) >> mem_bits;
	if (id >= queue_depth)
		return rnbd_err_set(-EPROTO, "IO_REQ imm buf_id %u >= queue_depth %u", id,
				    queue_depth);
	*buf_id = id;
	*off = payload & ((1u << mem_bits) - 1);
	return 0;
}

int rtrs_errno_clamp(int err)
{
	if (err == 0 || (err < 0 && err >= -RTRS_IMM_ERRNO_MASK))
		return err;
	return -EIO;
}

uint32_t rtrs_io_rsp_imm(uint32_t msg_id, int err, bool w_inval)
{
	uint32_t payload = (uint32_t)-rtrs_errno_clamp(err) << RTRS_IMM_MSG_ID_BITS |
			   (msg_id & RTRS_IMM_MSG_ID_MASK);

	return rtrs_imm_make(w_inval ? RTRS_IO_RSP_W_INV_IMM : RTRS_IO_RSP_IMM, payload);
}

void rtrs_io_rsp_imm_parse(uint32_t payload, uint32_t *msg_id, int *err)
{
	*msg_id = payload & RTRS_IMM_MSG_ID_MASK;
	*err = -(int)((payload >> RTRS_IMM_MSG_ID_BITS) & RTRS_IMM_ERRNO_MASK);
}
