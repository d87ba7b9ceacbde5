// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the RNBD message decoders (proto/rnbd-msg.h).
 *
 * Input: [selector][IO only: le32 RTRS data length][message].  The selector
 * modulo SEL_COUNT picks the decoder, so every byte value means something.
 * An accepted message must satisfy what the header promises, re-encode into
 * exactly its size, and decode again to the same fields: the decoders skip
 * reserved bytes, so structs are compared field by field, never raw input.
 */
#include <stdbool.h>

#include "fuzz-common.h"
#include "proto/rnbd-msg.h"

enum {
	SEL_PEEK,
	SEL_REQ_SESS_INFO,
	SEL_RSP_SESS_INFO,
	SEL_REQ_OPEN,
	SEL_RSP_OPEN,
	SEL_REQ_CLOSE,
	SEL_REQ_IO,
	SEL_COUNT,
};

static void check_rnbd_err(int ret)
{
	fuzz_check_err(ret);
	FUZZ_CHECK(ret == -EINVAL || ret == -EOPNOTSUPP || ret == -ERANGE);
}

/*
 * Encode `in` into a buffer of exactly `size` bytes (after checking that one
 * byte less is refused without a write past it) and decode that into `out`.
 */
#define ROUND_TRIP(encode, decode, in, size, out)                      \
	do {                                                           \
		uint8_t *small_ = fuzz_alloc((size) - 1);              \
		uint8_t *buf_ = fuzz_alloc(size);                      \
                                                                       \
		FUZZ_CHECK(encode(in, small_, (size) - 1) == -ENOSPC); \
		FUZZ_CHECK(encode(in, buf_, size) == (int)(size));     \
		FUZZ_CHECK(decode(buf_, size, out) == 0);              \
		free(small_);                                          \
		free(buf_);                                            \
	} while (0)

static void fuzz_peek(const uint8_t *msg, size_t len)
{
	int ret;

	fuzz_errmsg_clear();
	ret = rnbd_msg_type_peek(msg, len);
	if (len < sizeof(struct rnbd_msg_hdr)) {
		FUZZ_CHECK(ret == -EINVAL);
		fuzz_check_err(ret);
	} else {
		FUZZ_CHECK(ret == get_le16(msg));
	}
}

static void fuzz_req_sess_info(const uint8_t *msg, size_t len)
{
	struct rnbd_req_sess_info a, b;
	int ret;

	fuzz_errmsg_clear();
	ret = rnbd_req_sess_info_decode(msg, len, &a);
	if (ret) {
		check_rnbd_err(ret);
		return;
	}
	FUZZ_CHECK(rnbd_msg_type_peek(msg, len) == RNBD_MSG_SESS_INFO);
	ROUND_TRIP(rnbd_req_sess_info_encode, rnbd_req_sess_info_decode, &a,
		   RNBD_SESS_INFO_LEN, &b);
	FUZZ_CHECK(a.ver == b.ver);
}

static void fuzz_rsp_sess_info(const uint8_t *msg, size_t len)
{
	struct rnbd_rsp_sess_info a, b;
	int ret;

	fuzz_errmsg_clear();
	ret = rnbd_rsp_sess_info_decode(msg, len, &a);
	if (ret) {
		check_rnbd_err(ret);
		return;
	}
	FUZZ_CHECK(rnbd_msg_type_peek(msg, len) == RNBD_MSG_SESS_INFO_RSP);
	ROUND_TRIP(rnbd_rsp_sess_info_encode, rnbd_rsp_sess_info_decode, &a,
		   RNBD_SESS_INFO_RSP_LEN, &b);
	FUZZ_CHECK(a.ver == b.ver);
}

static void fuzz_req_open(const uint8_t *msg, size_t len)
{
	struct rnbd_req_open a, b;
	int ret;

	fuzz_errmsg_clear();
	ret = rnbd_req_open_decode(msg, len, &a);
	if (ret) {
		check_rnbd_err(ret);
		return;
	}
	FUZZ_CHECK(rnbd_msg_type_peek(msg, len) == RNBD_MSG_OPEN);
	/* The server hands dev_name to path code: it must be a C string. */
	FUZZ_CHECK(strnlen(a.dev_name, RNBD_NAME_MAX) < RNBD_NAME_MAX);
	FUZZ_CHECK(a.access_mode <= RNBD_ACCESS_MIGRATION);
	ROUND_TRIP(rnbd_req_open_encode, rnbd_req_open_decode, &a, RNBD_OPEN_LEN, &b);
	FUZZ_CHECK(a.access_mode == b.access_mode);
	/* Bytes after the NUL are left undefined by the decoder. */
	FUZZ_CHECK(strcmp(a.dev_name, b.dev_name) == 0);
}

static void fuzz_rsp_open(const uint8_t *msg, size_t len)
{
	struct rnbd_rsp_open a, b;
	int ret;

	fuzz_errmsg_clear();
	ret = rnbd_rsp_open_decode(msg, len, &a);
	if (ret) {
		check_rnbd_err(ret);
		return;
	}
	FUZZ_CHECK(rnbd_msg_type_peek(msg, len) == RNBD_MSG_OPEN_RSP);
	/* The client divides by it and sets it as the queue's block size. */
	FUZZ_CHECK(a.logical_block_size >= 512 &&
		   !(a.logical_block_size & (a.logical_block_size - 1)));
	ROUND_TRIP(rnbd_rsp_open_encode, rnbd_rsp_open_decode, &a, RNBD_OPEN_RSP_LEN, &b);
	FUZZ_CHECK(a.device_id == b.device_id);
	FUZZ_CHECK(a.nsectors == b.nsectors);
	FUZZ_CHECK(a.max_hw_sectors == b.max_hw_sectors);
	FUZZ_CHECK(a.max_write_zeroes_sectors == b.max_write_zeroes_sectors);
	FUZZ_CHECK(a.max_discard_sectors == b.max_discard_sectors);
	FUZZ_CHECK(a.discard_granularity == b.discard_granularity);
	FUZZ_CHECK(a.discard_alignment == b.discard_alignment);
	FUZZ_CHECK(a.physical_block_size == b.physical_block_size);
	FUZZ_CHECK(a.logical_block_size == b.logical_block_size);
	FUZZ_CHECK(a.max_segments == b.max_segments);
	FUZZ_CHECK(a.secure_discard == b.secure_discard);
	FUZZ_CHECK(a.cache_policy == b.cache_policy);
}

static void fuzz_req_close(const uint8_t *msg, size_t len)
{
	struct rnbd_req_close a, b;
	int ret;

	fuzz_errmsg_clear();
	ret = rnbd_req_close_decode(msg, len, &a);
	if (ret) {
		check_rnbd_err(ret);
		return;
	}
	FUZZ_CHECK(rnbd_msg_type_peek(msg, len) == RNBD_MSG_CLOSE);
	ROUND_TRIP(rnbd_req_close_encode, rnbd_req_close_decode, &a, RNBD_CLOSE_LEN, &b);
	FUZZ_CHECK(a.device_id == b.device_id);
}

/* What the server's backend relies on before it touches the device. */
static void check_io_contract(const struct rnbd_req_io *io)
{
	uint32_t op = rnbd_io_op(io->rw);
	uint64_t end;

	FUZZ_CHECK(op < RNBD_OP_LAST);
	if (op == RNBD_OP_FLUSH) {
		FUZZ_CHECK(io->bi_size == 0 && io->sector == 0);
		return;
	}
	FUZZ_CHECK(io->bi_size % 512 == 0);
	FUZZ_CHECK(!__builtin_mul_overflow(io->sector, 512, &end));
	FUZZ_CHECK(!__builtin_add_overflow(end, io->bi_size, &end));
}

static void fuzz_req_io(uint32_t data_len, const uint8_t *msg, size_t len)
{
	struct rnbd_req_io a, b;
	size_t want;
	int ret;

	fuzz_errmsg_clear();
	ret = rnbd_req_io_decode(msg, len, &a);
	if (ret) {
		check_rnbd_err(ret);
		return;
	}
	FUZZ_CHECK(rnbd_msg_type_peek(msg, len) == RNBD_MSG_IO);
	check_io_contract(&a);

	want = rnbd_op_has_data(rnbd_io_op(a.rw)) ? a.bi_size : 0;
	FUZZ_CHECK(rnbd_req_io_check_data_len(&a, want) == 0);
	fuzz_errmsg_clear();
	ret = rnbd_req_io_check_data_len(&a, data_len);
	if (data_len == want) {
		FUZZ_CHECK(ret == 0);
	} else {
		FUZZ_CHECK(ret == -EINVAL);
		fuzz_check_err(ret);
	}

	ROUND_TRIP(rnbd_req_io_encode, rnbd_req_io_decode, &a, RNBD_IO_LEN, &b);
	FUZZ_CHECK(a.device_id == b.device_id);
	FUZZ_CHECK(a.sector == b.sector);
	FUZZ_CHECK(a.rw == b.rw);
	FUZZ_CHECK(a.bi_size == b.bi_size);
	FUZZ_CHECK(a.prio == b.prio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned int sel = fuzz_u8(&in) % SEL_COUNT;
	uint32_t data_len = sel == SEL_REQ_IO ? fuzz_u32(&in) : 0;
	uint8_t *msg = fuzz_dup(in.p, in.n);

	switch (sel) {
	case SEL_PEEK:
		fuzz_peek(msg, in.n);
		break;
	case SEL_REQ_SESS_INFO:
		fuzz_req_sess_info(msg, in.n);
		break;
	case SEL_RSP_SESS_INFO:
		fuzz_rsp_sess_info(msg, in.n);
		break;
	case SEL_REQ_OPEN:
		fuzz_req_open(msg, in.n);
		break;
	case SEL_RSP_OPEN:
		fuzz_rsp_open(msg, in.n);
		break;
	case SEL_REQ_CLOSE:
		fuzz_req_close(msg, in.n);
		break;
	case SEL_REQ_IO:
		fuzz_req_io(data_len, msg, in.n);
		break;
	}
	free(msg);
	return 0;
}
