// SPDX-License-Identifier: LGPL-2.1-or-later
/* RTRS immediate data: bit layout at the queue-depth edges. */
#include <errno.h>

#include "check-main.h"
#include "proto/rtrs-imm.h"

START_TEST(chunk_bits_table)
{
	static const struct { uint32_t qd; unsigned int bits; } t[] = {
		{ 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 3 }, { 128, 7 }, { 129, 8 },
		{ 512, 9 }, { 513, 10 }, { 65535, 16 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_uint_eq(rtrs_chunk_bits(t[i].qd), t[i].bits);
		ck_assert_uint_eq(rtrs_mem_bits(t[i].qd), 28 - t[i].bits);
	}
}
END_TEST

/* Layout of every edge: first and last buf_id, zero and largest offset. */
static void check_req_edges(uint32_t qd)
{
	unsigned int mem_bits = rtrs_mem_bits(qd);
	uint32_t max_off = (1u << mem_bits) - 1;
	uint32_t ids[] = { 0, qd - 1 };
	uint32_t offs[] = { 0, 1, max_off };

	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 3; j++) {
			uint32_t imm, type, payload, id, off;

			ck_assert_int_eq(rtrs_io_req_imm(ids[i], offs[j], qd, &imm), 0);
			ck_assert_uint_eq(imm, ((uint64_t)ids[i] << mem_bits) | offs[j]);
			ck_assert_uint_eq(imm >> 28, RTRS_IO_REQ_IMM);
			rtrs_imm_split(imm, &type, &payload);
			ck_assert_uint_eq(type, RTRS_IO_REQ_IMM);
			ck_assert_int_eq(rtrs_io_req_imm_parse(payload, qd, &id, &off), 0);
			ck_assert_uint_eq(id, ids[i]);
			ck_assert_uint_eq(off, offs[j]);
		}
	}
	/* buf_id == qd and an offset one bit too wide are refused */
	{
		uint32_t imm = 0xdeadbeef;

		ck_assert_int_eq(rtrs_io_req_imm(qd, 0, qd, &imm), -EINVAL);
		ck_assert_int_eq(rtrs_io_req_imm(0, max_off + 1, qd, &imm), -EINVAL);
		ck_assert_uint_eq(imm, 0xdeadbeef);
	}
}

START_TEST(req_qd1)
{
	uint32_t id, off;

	check_req_edges(1);
	/* qd 1: the whole 28-bit payload is the offset, buf_id is always 0 */
	ck_assert_int_eq(rtrs_io_req_imm_parse(0x0fffffff, 1, &id, &off), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(off, 0x0fffffff);
}
END_TEST

START_TEST(req_qd128)
{
	uint32_t imm, id, off;

	check_req_edges(128);
	/* 7-bit buf_id in bits 27..21 */
	ck_assert_int_eq(rtrs_io_req_imm(127, 0x1fffff, 128, &imm), 0);
	ck_assert_uint_eq(imm, 0x0fffffff);
	ck_assert_int_eq(rtrs_io_req_imm_parse(0x00200000, 128, &id, &off), 0);
	ck_assert_uint_eq(id, 1);
	ck_assert_uint_eq(off, 0);
}
END_TEST

START_TEST(req_qd512)
{
	uint32_t imm, id, off;

	check_req_edges(512);
	/* rtrs-wire.md 6: qd 512 puts buf_id in bits 27..19 */
	ck_assert_int_eq(rtrs_io_req_imm(3, 4128, 512, &imm), 0);
	ck_assert_uint_eq(imm, (3u << 19) | 4128);
	ck_assert_int_eq(rtrs_io_req_imm_parse(imm, 512, &id, &off), 0);
	ck_assert_uint_eq(id, 3);
	ck_assert_uint_eq(off, 4128);
}
END_TEST

START_TEST(req_qd65535)
{
	uint32_t id, off;

	check_req_edges(65535);
	/* 16-bit buf_id: 0xffff does not exist with qd 65535 */
	ck_assert_int_eq(rtrs_io_req_imm_parse(0x0ffff000, 65535, &id, &off), -EPROTO);
	ck_assert_errmsg_has("buf_id 65535 >= queue_depth 65535");
	ck_assert_int_eq(rtrs_io_req_imm_parse(0x0fffefff, 65535, &id, &off), 0);
	ck_assert_uint_eq(id, 65534);
	ck_assert_uint_eq(off, 0xfff);
}
END_TEST

/* qd 5 leaves buf_id 5..7 representable but invalid */
START_TEST(req_non_power_of_two)
{
	uint32_t id, off;

	ck_assert_int_eq(rtrs_io_req_imm_parse(5u << 25, 5, &id, &off), -EPROTO);
	ck_assert_int_eq(rtrs_io_req_imm_parse(4u << 25, 5, &id, &off), 0);
	ck_assert_uint_eq(id, 4);
}
END_TEST

START_TEST(rsp_encoding)
{
	uint32_t type, payload, msg_id;
	int err;

	ck_assert_uint_eq(rtrs_io_rsp_imm(0, 0, false), 0x10000000);
	ck_assert_uint_eq(rtrs_io_rsp_imm(5, -EIO, false), 0x10280005);
	ck_assert_uint_eq(rtrs_io_rsp_imm(5, -EIO, true), 0x20280005);
	/* largest msg_id and errno */
	ck_assert_uint_eq(rtrs_io_rsp_imm(0x7ffff, -511, false), 0x1fffffff);
	rtrs_imm_split(0x1fffffff, &type, &payload);
	ck_assert_uint_eq(type, RTRS_IO_RSP_IMM);
	rtrs_io_rsp_imm_parse(payload, &msg_id, &err);
	ck_assert_uint_eq(msg_id, 0x7ffff);
	ck_assert_int_eq(err, -511);
	/* -ENOTCONN round trip */
	rtrs_imm_split(rtrs_io_rsp_imm(65534, -ENOTCONN, true), &type, &payload);
	ck_assert_uint_eq(type, RTRS_IO_RSP_W_INV_IMM);
	rtrs_io_rsp_imm_parse(payload, &msg_id, &err);
	ck_assert_uint_eq(msg_id, 65534);
	ck_assert_int_eq(err, -ENOTCONN);
}
END_TEST

/* The kernel's abs(errno) & 0x1ff would turn -512 into success. */
START_TEST(rsp_errno_clamped)
{
	uint32_t type, payload, msg_id;
	int err;

	ck_assert_int_eq(rtrs_errno_clamp(0), 0);
	ck_assert_int_eq(rtrs_errno_clamp(-1), -1);
	ck_assert_int_eq(rtrs_errno_clamp(-511), -511);
	ck_assert_int_eq(rtrs_errno_clamp(-512), -EIO);
	ck_assert_int_eq(rtrs_errno_clamp(-524), -EIO);
	ck_assert_int_eq(rtrs_errno_clamp(7), -EIO);
	rtrs_imm_split(rtrs_io_rsp_imm(1, -512, false), &type, &payload);
	rtrs_io_rsp_imm_parse(payload, &msg_id, &err);
	ck_assert_int_eq(err, -EIO);
	ck_assert_uint_eq(msg_id, 1);
}
END_TEST

START_TEST(heartbeats)
{
	uint32_t type, payload;

	ck_assert_uint_eq(RTRS_HB_MSG_IMM_VAL, 0x80000000u);
	ck_assert_uint_eq(RTRS_HB_ACK_IMM_VAL, 0x90000000u);
	ck_assert_uint_eq(rtrs_imm_make(RTRS_HB_MSG_IMM, 0), 0x80000000u);
	rtrs_imm_split(0x90000000u, &type, &payload);
	ck_assert_uint_eq(type, RTRS_HB_ACK_IMM);
	ck_assert_uint_eq(payload, 0);
	/* the payload never spills into the type */
	ck_assert_uint_eq(rtrs_imm_make(RTRS_IO_RSP_IMM, 0xffffffff), 0x1fffffff);
}
END_TEST

/* Depths the 16-bit conn_rsp field cannot carry would shift by more than 28
 * bits: refused before any arithmetic. */
START_TEST(bad_queue_depth)
{
	uint32_t imm = 7, id, off;

	ck_assert_int_eq(rtrs_io_req_imm(0, 0, 0, &imm), -EINVAL);
	ck_assert_int_eq(rtrs_io_req_imm(0, 0, 65536, &imm), -EINVAL);
	ck_assert_int_eq(rtrs_io_req_imm(0, 0, 0xffffffff, &imm), -EINVAL);
	ck_assert_errmsg_has("queue_depth 4294967295 outside 1..65535");
	ck_assert_uint_eq(imm, 7);
	ck_assert_int_eq(rtrs_io_req_imm_parse(0x0fffffff, (1u << 28) + 1, &id, &off), -EINVAL);
	ck_assert_int_eq(rtrs_io_req_imm_parse(0, 0, &id, &off), -EINVAL);
}
END_TEST

static Suite *rtrs_imm_suite(void)
{
	Suite *s = suite_create("rtrs-imm");
	TCase *tc = tcase_create("imm");

	tcase_add_test(tc, chunk_bits_table);
	tcase_add_test(tc, req_qd1);
	tcase_add_test(tc, req_qd128);
	tcase_add_test(tc, req_qd512);
	tcase_add_test(tc, req_qd65535);
	tcase_add_test(tc, req_non_power_of_two);
	tcase_add_test(tc, rsp_encoding);
	tcase_add_test(tc, rsp_errno_clamped);
	tcase_add_test(tc, heartbeats);
	tcase_add_test(tc, bad_queue_depth);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(rtrs_imm_suite)
