// SPDX-License-Identifier: LGPL-2.1-or-later
/* RTRS-over-TCP frame headers: the worked example of rtrs-tcp.md 14. */
#include <errno.h>

#include "check-main.h"
#include "proto/rtrs-frame.h"

static void check_frame(const char *hex, const struct rtrs_frame *want)
{
	uint8_t bytes[16], enc[16];
	struct rtrs_frame got;

	ck_assert_uint_eq(hex_to_bytes(hex, bytes, sizeof(bytes)), 16);
	rtrs_frame_encode(want, enc);
	ck_assert_mem_eq(enc, bytes, 16);
	ck_assert_int_eq(rtrs_frame_decode(bytes, &got), 0);
	ck_assert_uint_eq(got.type, want->type);
	ck_assert_uint_eq(got.len, want->len);
	ck_assert_uint_eq(got.id, want->id);
	ck_assert_uint_eq(got.usr_len, want->usr_len);
	ck_assert_uint_eq(got.imm, want->imm);
}

START_TEST(worked_example)
{
	check_frame("52 54 01 00 38 00 00 00 00 00 00 00 01 00 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_CONN_REQ, .len = 56, .imm = 1 });
	check_frame("52 54 02 00 38 00 00 00 00 00 00 00 01 00 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_CONN_RSP, .len = 56, .imm = 1 });
	check_frame("52 54 03 00 10 01 00 00 00 00 00 00 00 00 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_INFO_REQ, .len = 272 });
	check_frame("52 54 04 00 08 00 00 00 00 00 00 00 00 00 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_INFO_RSP, .len = 8 });
	check_frame("52 54 05 00 20 10 00 00 00 00 20 00 00 00 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_WRITE_REQ, .len = 4128, .usr_len = 32 });
	check_frame("52 54 07 00 00 00 00 00 00 00 00 00 00 00 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_IO_RSP });
	check_frame("52 54 06 00 20 00 00 00 01 00 20 00 00 10 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_READ_REQ, .len = 32, .id = 1,
					  .usr_len = 32, .imm = 4096 });
	check_frame("52 54 07 00 00 10 00 00 01 00 00 00 00 00 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_IO_RSP, .len = 4096, .id = 1 });
	check_frame("52 54 08 00 00 00 00 00 00 00 00 00 01 00 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_HB, .imm = 1 });
	check_frame("52 54 09 00 00 00 00 00 00 00 00 00 01 00 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_HB_ACK, .imm = 1 });
	/* variants: a read failed with -EIO; an orderly CLOSE */
	check_frame("52 54 07 00 00 00 00 00 01 00 00 00 fb ff ff ff",
		    &(struct rtrs_frame){ .type = RTRS_TCP_IO_RSP, .id = 1, .imm = (uint32_t)-5 });
	check_frame("52 54 0a 00 00 00 00 00 00 00 00 00 00 00 00 00",
		    &(struct rtrs_frame){ .type = RTRS_TCP_CLOSE });
}
END_TEST

START_TEST(bad_headers)
{
	uint8_t b[16];
	struct rtrs_frame f;

	hex_to_bytes("52 54 08 00 00 00 00 00 00 00 00 00 00 00 00 00", b, sizeof(b));
	b[0] = 0x53;
	ck_assert_int_eq(rtrs_frame_decode(b, &f), -EPROTO);
	ck_assert_errmsg_has("bad magic 0x5453");
	b[0] = 0x52;
	b[2] = 0;
	ck_assert_int_eq(rtrs_frame_decode(b, &f), -EPROTO);
	ck_assert_errmsg_has("invalid type 0");
	b[2] = 11;
	ck_assert_int_eq(rtrs_frame_decode(b, &f), -EPROTO);
	b[2] = 255;
	ck_assert_int_eq(rtrs_frame_decode(b, &f), -EPROTO);
	/* fixed lengths per type */
	b[2] = RTRS_TCP_HB; b[4] = 1;
	ck_assert_int_eq(rtrs_frame_decode(b, &f), -EPROTO);
	ck_assert_errmsg_has("HB with len 1, must be 0");
	b[2] = RTRS_TCP_CONN_REQ; b[4] = 55;
	ck_assert_int_eq(rtrs_frame_decode(b, &f), -EPROTO);
	b[2] = RTRS_TCP_INFO_RSP; b[4] = 24; /* TCP info_rsp has no descriptors */
	ck_assert_int_eq(rtrs_frame_decode(b, &f), -EPROTO);
	b[2] = RTRS_TCP_CLOSE; b[4] = 0; b[7] = 0x80; /* 2 GiB payload on CLOSE */
	ck_assert_int_eq(rtrs_frame_decode(b, &f), -EPROTO);
	/* flags are reserved: ignored */
	b[7] = 0; b[3] = 0xff;
	ck_assert_int_eq(rtrs_frame_decode(b, &f), 0);
	/* a huge WRITE_REQ decodes (length is not fixed) but fails the limits */
	b[2] = RTRS_TCP_WRITE_REQ; b[7] = 0xff;
	ck_assert_int_eq(rtrs_frame_decode(b, &f), 0);
	ck_assert_int_eq(rtrs_frame_check_req(&f, 4096, 126976, 512), -EPROTO);
	ck_assert_errmsg_has("max_io_size");
}
END_TEST

START_TEST(request_limits)
{
	struct rtrs_frame w = { .type = RTRS_TCP_WRITE_REQ, .len = 32 + 126976, .usr_len = 32,
				.id = 511 };
	struct rtrs_frame r = { .type = RTRS_TCP_READ_REQ, .len = 32, .usr_len = 32,
				.imm = 126976, .id = 0 };

	ck_assert_int_eq(rtrs_frame_check_req(&w, 4096, 126976, 512), 0);
	w.len++;
	ck_assert_int_eq(rtrs_frame_check_req(&w, 4096, 126976, 512), -EPROTO);
	w.len = 32;
	w.id = 512;
	ck_assert_int_eq(rtrs_frame_check_req(&w, 4096, 126976, 512), -EPROTO);
	ck_assert_errmsg_has("id 512 >= queue_depth 512");
	w.id = 0;
	w.usr_len = 33;
	ck_assert_int_eq(rtrs_frame_check_req(&w, 4096, 126976, 512), -EPROTO);
	ck_assert_errmsg_has("usr_len 33 > len 32");
	w.usr_len = 4097; w.len = 5000;
	ck_assert_int_eq(rtrs_frame_check_req(&w, 4096, 126976, 512), -EPROTO);
	ck_assert_errmsg_has("max_hdr_size");

	ck_assert_int_eq(rtrs_frame_check_req(&r, 4096, 126976, 512), 0);
	r.imm++;
	ck_assert_int_eq(rtrs_frame_check_req(&r, 4096, 126976, 512), -EPROTO);
	r.imm = 0;
	r.len = 40;
	ck_assert_int_eq(rtrs_frame_check_req(&r, 4096, 126976, 512), -EPROTO);
	ck_assert_errmsg_has("READ_REQ len 40 != usr_len 32");
	r.type = RTRS_TCP_HB;
	ck_assert_int_eq(rtrs_frame_check_req(&r, 4096, 126976, 512), -EPROTO);
}
END_TEST

START_TEST(response_rules)
{
	struct rtrs_frame f = { .type = RTRS_TCP_IO_RSP, .len = 4096, .id = 1 };

	ck_assert_int_eq(rtrs_frame_check_rsp(&f, true, 4096), 0);
	ck_assert_int_eq(rtrs_frame_check_rsp(&f, true, 8192), -EPROTO);
	ck_assert_int_eq(rtrs_frame_check_rsp(&f, false, 0), -EPROTO);
	f.imm = (uint32_t)-EIO; /* failed read: no data */
	ck_assert_int_eq(rtrs_frame_check_rsp(&f, true, 4096), -EPROTO);
	f.len = 0;
	ck_assert_int_eq(rtrs_frame_check_rsp(&f, true, 4096), 0);
	ck_assert_int_eq(rtrs_frame_status(&f), -EIO);
	f.imm = 1;
	ck_assert_int_eq(rtrs_frame_check_rsp(&f, false, 0), -EPROTO);
	ck_assert_errmsg_has("positive status 1");
	f.imm = 0;
	f.type = RTRS_TCP_HB_ACK;
	ck_assert_int_eq(rtrs_frame_check_rsp(&f, false, 0), -EPROTO);
}
END_TEST

START_TEST(type_names)
{
	ck_assert_str_eq(rtrs_frame_type_str(RTRS_TCP_READ_REQ), "READ_REQ");
	ck_assert_str_eq(rtrs_frame_type_str(0), "INVALID");
	ck_assert_str_eq(rtrs_frame_type_str(200), "INVALID");
}
END_TEST

static Suite *rtrs_frame_suite(void)
{
	Suite *s = suite_create("rtrs-frame");
	TCase *tc = tcase_create("frame");

	tcase_add_test(tc, worked_example);
	tcase_add_test(tc, bad_headers);
	tcase_add_test(tc, request_limits);
	tcase_add_test(tc, response_rules);
	tcase_add_test(tc, type_names);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(rtrs_frame_suite)
