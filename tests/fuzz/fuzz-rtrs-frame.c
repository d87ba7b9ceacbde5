// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the RTRS-over-TCP frame header (proto/rtrs-frame.h).
 *
 * Input: [16-byte header][le32 max_hdr_size][le32 max_io_size]
 * [le32 queue_depth][byte: bit 0 is_read][le32 read_len].  The header is
 * decoded from an exact 16-byte heap copy; a decoded frame is then checked
 * both as a request against the limits and as a response.  Every accepted
 * frame must re-encode to the same bytes, flags aside, and decode again to
 * the same fields.
 */
#include <stdbool.h>

#include "fuzz-common.h"
#include "proto/rtrs-frame.h"

static void check_frame_err(int ret)
{
	fuzz_check_err(ret);
	FUZZ_CHECK(ret == -EPROTO);
}

/* The receiver sizes its reads and indexes its permits with these. */
static void check_req_contract(const struct rtrs_frame *f, uint32_t max_hdr_size,
			       uint32_t max_io_size, uint32_t queue_depth)
{
	FUZZ_CHECK(f->usr_len <= f->len && f->usr_len <= max_hdr_size);
	FUZZ_CHECK(f->id < queue_depth);
	if (f->type == RTRS_TCP_WRITE_REQ) {
		FUZZ_CHECK(f->len - f->usr_len <= max_io_size);
	} else {
		FUZZ_CHECK(f->type == RTRS_TCP_READ_REQ);
		FUZZ_CHECK(f->len == f->usr_len && f->imm <= max_io_size);
	}
}

static void check_rsp_contract(const struct rtrs_frame *f, bool is_read, uint32_t read_len)
{
	int32_t status = rtrs_frame_status(f);

	FUZZ_CHECK(f->type == RTRS_TCP_IO_RSP);
	FUZZ_CHECK(status <= 0);
	FUZZ_CHECK(f->len == (is_read && !status ? read_len : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint32_t max_hdr_size, max_io_size, queue_depth, read_len;
	struct rtrs_frame a, b;
	uint8_t *hdr, *enc;
	bool is_read;
	int ret;

	/* The decoder's contract is a whole header: nothing to fuzz below. */
	if (size < RTRS_FRAME_HDR_LEN)
		return 0;
	hdr = fuzz_dup(data, RTRS_FRAME_HDR_LEN);
	in.p += RTRS_FRAME_HDR_LEN;
	in.n -= RTRS_FRAME_HDR_LEN;
	max_hdr_size = fuzz_u32(&in);
	max_io_size = fuzz_u32(&in);
	queue_depth = fuzz_u32(&in);
	is_read = fuzz_u8(&in) & 1;
	read_len = fuzz_u32(&in);

	fuzz_errmsg_clear();
	ret = rtrs_frame_decode(hdr, &a);
	if (ret) {
		check_frame_err(ret);
		free(hdr);
		return 0;
	}
	FUZZ_CHECK(a.type >= RTRS_TCP_CONN_REQ && a.type < RTRS_TCP_LAST);

	fuzz_errmsg_clear();
	ret = rtrs_frame_check_req(&a, max_hdr_size, max_io_size, queue_depth);
	if (ret)
		check_frame_err(ret);
	else
		check_req_contract(&a, max_hdr_size, max_io_size, queue_depth);

	fuzz_errmsg_clear();
	ret = rtrs_frame_check_rsp(&a, is_read, read_len);
	if (ret)
		check_frame_err(ret);
	else
		check_rsp_contract(&a, is_read, read_len);

	/* Every header byte but the reserved flags is a field. */
	enc = fuzz_alloc(RTRS_FRAME_HDR_LEN);
	rtrs_frame_encode(&a, enc);
	FUZZ_CHECK(enc[3] == 0);
	FUZZ_CHECK(!memcmp(enc, hdr, 3) && !memcmp(enc + 4, hdr + 4, RTRS_FRAME_HDR_LEN - 4));
	FUZZ_CHECK(rtrs_frame_decode(enc, &b) == 0);
	FUZZ_CHECK(a.type == b.type);
	FUZZ_CHECK(a.len == b.len);
	FUZZ_CHECK(a.id == b.id);
	FUZZ_CHECK(a.usr_len == b.usr_len);
	FUZZ_CHECK(a.imm == b.imm);
	free(enc);
	free(hdr);
	return 0;
}
