// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the RTRS immediate parsers (proto/rtrs-imm.h).
 *
 * Input: [selector][le32 value][parameter], the selector modulo SEL_COUNT
 * picking:
 *   IO_REQ payload    value = payload, then le32 queue_depth
 *   IO_RSP payload    value = payload, then a byte whose bit 0 is w_inval
 *   whole immediate   value = imm (split, then made again)
 * The parsers take integers, not buffers, so there is nothing to over-read;
 * what matters is undefined shifts and that parse and make are inverses.
 */
#include <stdbool.h>

#include "fuzz-common.h"
#include "proto/rtrs-imm.h"

enum {
	SEL_IO_REQ,
	SEL_IO_RSP,
	SEL_IMM,
	SEL_COUNT,
};

static void fuzz_io_req(uint32_t payload, uint32_t queue_depth)
{
	uint32_t buf_id, off, buf_id2, off2, imm, type, payload2;
	unsigned int mem_bits;
	int ret;

	fuzz_errmsg_clear();
	ret = rtrs_io_req_imm_parse(payload, queue_depth, &buf_id, &off);
	if (ret) {
		fuzz_check_err(ret);
		/* depths conn_rsp cannot carry are refused before any shift */
		if (!queue_depth || queue_depth > MAX_SESS_QUEUE_DEPTH)
			FUZZ_CHECK(ret == -EINVAL);
		else
			FUZZ_CHECK(ret == -EPROTO);
		return;
	}
	/* buf_id indexes the server's chunk array, off lies in the chunk. */
	mem_bits = rtrs_mem_bits(queue_depth);
	FUZZ_CHECK(buf_id < queue_depth);
	FUZZ_CHECK(mem_bits <= MAX_IMM_PAYL_BITS && off < (1u << mem_bits));

	FUZZ_CHECK(rtrs_io_req_imm(buf_id, off, queue_depth, &imm) == 0);
	rtrs_imm_split(imm, &type, &payload2);
	FUZZ_CHECK(type == RTRS_IO_REQ_IMM);
	FUZZ_CHECK(payload2 == (payload & MAX_IMM_PAYL_MASK));
	FUZZ_CHECK(rtrs_io_req_imm_parse(payload2, queue_depth, &buf_id2, &off2) == 0);
	FUZZ_CHECK(buf_id == buf_id2 && off == off2);
}

static void fuzz_io_rsp(uint32_t payload, bool w_inval)
{
	uint32_t msg_id, msg_id2, imm, type, payload2;
	int err, err2;

	rtrs_io_rsp_imm_parse(payload, &msg_id, &err);
	FUZZ_CHECK(msg_id <= RTRS_IMM_MSG_ID_MASK);
	/* No payload may read as a positive status or escape the 9 bits. */
	FUZZ_CHECK(err <= 0 && err >= -RTRS_IMM_ERRNO_MASK);
	FUZZ_CHECK(rtrs_errno_clamp(err) == err);

	imm = rtrs_io_rsp_imm(msg_id, err, w_inval);
	rtrs_imm_split(imm, &type, &payload2);
	FUZZ_CHECK(type == (w_inval ? RTRS_IO_RSP_W_INV_IMM : RTRS_IO_RSP_IMM));
	FUZZ_CHECK(payload2 == (payload & MAX_IMM_PAYL_MASK));
	rtrs_io_rsp_imm_parse(payload2, &msg_id2, &err2);
	FUZZ_CHECK(msg_id == msg_id2 && err == err2);
}

static void fuzz_imm(uint32_t imm)
{
	uint32_t type, payload;

	rtrs_imm_split(imm, &type, &payload);
	FUZZ_CHECK(type <= MAX_IMM_TYPE_MASK && payload <= MAX_IMM_PAYL_MASK);
	FUZZ_CHECK(rtrs_imm_make(type, payload) == imm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned int sel = fuzz_u8(&in) % SEL_COUNT;
	uint32_t value = fuzz_u32(&in);

	switch (sel) {
	case SEL_IO_REQ:
		fuzz_io_req(value, fuzz_u32(&in));
		break;
	case SEL_IO_RSP:
		fuzz_io_rsp(value, fuzz_u8(&in) & 1);
		break;
	case SEL_IMM:
		fuzz_imm(value);
		break;
	}
	return 0;
}
