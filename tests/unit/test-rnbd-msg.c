// SPDX-License-Identifier: LGPL-2.1-or-later
/* RNBD message codecs: golden vectors, round trips, malformed input. */
#include <errno.h>

#include "check-main.h"
#include "proto/rnbd-msg.h"

/* OPEN of /dev/ram0 read-write, as computed by hand from rnbd-wire.md 3.3. */
static const char open_ram0_rw[] =
	"02 00 00 00 01 00 2f 64 65 76 2f 72 61 6d 30";	/* then zeros to 264 */

/* IO WRITE|FUA of 4096 bytes at sector 8 on device 0 (rnbd-wire.md 3.6). */
static const char io_write_fua[] =
	"04 00 00 00 00 00 00 00 08 00 00 00 00 00 00 00"
	"01 02 00 00 00 10 00 00 00 00 00 00 00 00 00 00";

START_TEST(open_golden)
{
	struct rnbd_req_open in = { .access_mode = RNBD_ACCESS_RW, .dev_name = "/dev/ram0" };
	struct rnbd_req_open out;
	uint8_t want[RNBD_OPEN_LEN] = { 0 }, buf[300];

	hex_to_bytes(open_ram0_rw, want, sizeof(want));
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(rnbd_req_open_encode(&in, buf, sizeof(buf)), 264);
	ck_assert_mem_eq(buf, want, 264);
	ck_assert_uint_eq(buf[264], 0xee); /* nothing written past the message */
	ck_assert_int_eq(rnbd_req_open_decode(want, sizeof(want), &out), 0);
	ck_assert_uint_eq(out.access_mode, RNBD_ACCESS_RW);
	ck_assert_str_eq(out.dev_name, "/dev/ram0");
}
END_TEST

START_TEST(io_golden)
{
	struct rnbd_req_io in = {
		.device_id = 0, .sector = 8, .rw = RNBD_OP_WRITE | RNBD_F_FUA, .bi_size = 4096,
	};
	struct rnbd_req_io out;
	uint8_t want[32], buf[32];

	hex_to_bytes(io_write_fua, want, sizeof(want));
	ck_assert_int_eq(rnbd_req_io_encode(&in, buf, sizeof(buf)), 32);
	ck_assert_mem_eq(buf, want, 32);
	ck_assert_int_eq(rnbd_req_io_decode(want, 32, &out), 0);
	ck_assert_uint_eq(out.device_id, 0);
	ck_assert_uint_eq(out.sector, 8);
	ck_assert_uint_eq(out.rw, 0x201);
	ck_assert_uint_eq(out.bi_size, 4096);
	ck_assert_uint_eq(out.prio, 0);
}
END_TEST

START_TEST(sess_info_golden)
{
	struct rnbd_req_sess_info req = { .ver = RNBD_PROTO_VER_MAJOR };
	struct rnbd_rsp_sess_info rsp = { .ver = 2 }, rsp_out;
	struct rnbd_req_sess_info req_out;
	uint8_t buf[36], want[36] = { 0 };

	want[4] = 2;
	ck_assert_int_eq(rnbd_req_sess_info_encode(&req, buf, sizeof(buf)), 36);
	ck_assert_mem_eq(buf, want, 36);
	ck_assert_int_eq(rnbd_req_sess_info_decode(buf, 36, &req_out), 0);
	ck_assert_uint_eq(req_out.ver, 2);

	want[0] = RNBD_MSG_SESS_INFO_RSP;
	ck_assert_int_eq(rnbd_rsp_sess_info_encode(&rsp, buf, sizeof(buf)), 36);
	ck_assert_mem_eq(buf, want, 36);
	ck_assert_int_eq(rnbd_rsp_sess_info_decode(buf, 36, &rsp_out), 0);
	ck_assert_uint_eq(rsp_out.ver, 2);
}
END_TEST

START_TEST(close_golden)
{
	struct rnbd_req_close in = { .device_id = 7 }, out;
	uint8_t buf[8], want[8];

	hex_to_bytes("05 00 00 00 07 00 00 00", want, sizeof(want));
	ck_assert_int_eq(rnbd_req_close_encode(&in, buf, sizeof(buf)), 8);
	ck_assert_mem_eq(buf, want, 8);
	ck_assert_int_eq(rnbd_req_close_decode(want, 8, &out), 0);
	ck_assert_uint_eq(out.device_id, 7);
}
END_TEST

/* A 1 GiB memory disk: id 3, 2097152 sectors, 4 KiB physical, 512 logical,
 * discard 8 MiB granularity 4096, write-zeroes 65536 sectors, WRITEBACK|FUA. */
static const char open_rsp_hex[] =
	"03 00 00 00 03 00 00 00 00 00 20 00 00 00 00 00"
	"f8 00 00 00 00 00 01 00 00 40 00 00 00 10 00 00"
	"00 00 00 00 00 10 00 02 80 00 00 00 00 03 00 00"
	"00 00 00 00 00 00 00 00";

static const struct rnbd_rsp_open open_rsp_val = {
	.device_id = 3,
	.nsectors = 2097152,
	.max_hw_sectors = 248,
	.max_write_zeroes_sectors = 65536,
	.max_discard_sectors = 16384,
	.discard_granularity = 4096,
	.discard_alignment = 0,
	.physical_block_size = 4096,
	.logical_block_size = 512,
	.max_segments = 128,
	.secure_discard = 0,
	.cache_policy = RNBD_WRITEBACK | RNBD_FUA,
};

START_TEST(open_rsp_golden)
{
	struct rnbd_rsp_open out;
	uint8_t buf[56], want[56];

	memset(&out, 0, sizeof(out)); /* struct padding, compared below */
	hex_to_bytes(open_rsp_hex, want, sizeof(want));
	ck_assert_int_eq(rnbd_rsp_open_encode(&open_rsp_val, buf, sizeof(buf)), 56);
	ck_assert_mem_eq(buf, want, 56);
	ck_assert_int_eq(rnbd_rsp_open_decode(want, 56, &out), 0);
	ck_assert_mem_eq(&out, &open_rsp_val, sizeof(out));
}
END_TEST

START_TEST(io_round_trip_all_ops)
{
	static const uint32_t rws[] = {
		RNBD_OP_READ | RNBD_F_SYNC,
		RNBD_OP_WRITE,
		RNBD_OP_FLUSH | RNBD_F_SYNC | RNBD_F_FUA,
		RNBD_OP_DISCARD,
		RNBD_OP_SECURE_ERASE,
		RNBD_OP_WRITE_ZEROES | RNBD_F_NOUNMAP,
		RNBD_OP_WRITE | RNBD_F_PREFLUSH | RNBD_F_FUA,
	};

	for (size_t i = 0; i < sizeof(rws) / sizeof(rws[0]); i++) {
		bool flush = rnbd_io_op(rws[i]) == RNBD_OP_FLUSH;
		struct rnbd_req_io in = {
			.device_id = 0xfffffffe,
			.sector = flush ? 0 : (1ull << 40) + i,
			.rw = rws[i],
			.bi_size = flush ? 0 : 512u * (i + 1),
			.prio = 0x4003, /* BE class, level 3 */
		};
		struct rnbd_req_io out;
		uint8_t buf[32];

		ck_assert_int_eq(rnbd_req_io_encode(&in, buf, sizeof(buf)), 32);
		ck_assert_int_eq(rnbd_req_io_decode(buf, sizeof(buf), &out), 0);
		ck_assert_uint_eq(out.device_id, in.device_id);
		ck_assert_uint_eq(out.sector, in.sector);
		ck_assert_uint_eq(out.rw, in.rw);
		ck_assert_uint_eq(out.bi_size, in.bi_size);
		ck_assert_uint_eq(out.prio, in.prio);
	}
}
END_TEST

START_TEST(open_round_trip_names)
{
	char longest[RNBD_NAME_MAX];
	const char *names[] = { "a", "/dev/ram0", "exports/disk with spaces", longest };

	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	for (size_t i = 0; i < 4; i++) {
		for (uint8_t mode = 0; mode <= RNBD_ACCESS_MIGRATION; mode++) {
			struct rnbd_req_open in = { .access_mode = mode }, out;
			uint8_t buf[RNBD_OPEN_LEN];

			strcpy(in.dev_name, names[i]);
			ck_assert_int_eq(rnbd_req_open_encode(&in, buf, sizeof(buf)), 264);
			ck_assert_int_eq(rnbd_req_open_decode(buf, sizeof(buf), &out), 0);
			ck_assert_uint_eq(out.access_mode, mode);
			ck_assert_str_eq(out.dev_name, names[i]);
		}
	}
}
END_TEST

/* A kernel client leaves stack garbage in every reserved/padding byte. */
START_TEST(garbage_in_padding_accepted)
{
	uint8_t io[32], open[RNBD_OPEN_LEN] = { 0 }, si[36], cl[8];
	struct rnbd_req_open o;
	struct rnbd_req_io r;
	struct rnbd_req_sess_info s;
	struct rnbd_req_close c;

	hex_to_bytes(io_write_fua, io, sizeof(io));
	io[2] = 0xde; io[3] = 0xad;			/* hdr.__padding */
	memset(io + 26, 0xa5, 6);			/* tail padding */
	ck_assert_int_eq(rnbd_req_io_decode(io, sizeof(io), &r), 0);
	ck_assert_uint_eq(r.rw, 0x201);
	ck_assert_uint_eq(r.bi_size, 4096);

	hex_to_bytes(open_ram0_rw, open, sizeof(open));
	memset(open + 6 + 10, 0x5a, RNBD_OPEN_LEN - 16);	/* after the NUL */
	open[2] = 0xff; open[5] = 0x77;			/* padding, resv1 */
	ck_assert_int_eq(rnbd_req_open_decode(open, sizeof(open), &o), 0);
	ck_assert_str_eq(o.dev_name, "/dev/ram0");

	memset(si, 0xcc, sizeof(si));
	si[0] = RNBD_MSG_SESS_INFO; si[1] = 0; si[4] = 2;
	ck_assert_int_eq(rnbd_req_sess_info_decode(si, sizeof(si), &s), 0);
	ck_assert_uint_eq(s.ver, 2);

	hex_to_bytes("05 00 99 99 01 00 00 00", cl, sizeof(cl));
	ck_assert_int_eq(rnbd_req_close_decode(cl, sizeof(cl), &c), 0);
	ck_assert_uint_eq(c.device_id, 1);
}
END_TEST

/* i386 peers send 28 bytes; anything from 26 on carries every field. */
START_TEST(io_short_lengths)
{
	uint8_t io[32];
	struct rnbd_req_io r;

	hex_to_bytes(io_write_fua, io, sizeof(io));
	ck_assert_int_eq(rnbd_req_io_decode(io, 28, &r), 0);
	ck_assert_int_eq(rnbd_req_io_decode(io, 26, &r), 0);
	ck_assert_int_eq(rnbd_req_io_decode(io, 25, &r), -EINVAL);
	ck_assert_errmsg_has("too short");
}
END_TEST

START_TEST(short_buffers_rejected)
{
	uint8_t buf[RNBD_OPEN_LEN] = { 0 };
	struct rnbd_req_open o;
	struct rnbd_rsp_open orsp;
	struct rnbd_req_sess_info s;
	struct rnbd_rsp_sess_info srsp;
	struct rnbd_req_close c;

	ck_assert_int_eq(rnbd_msg_type_peek(buf, 3), -EINVAL);
	buf[0] = RNBD_MSG_OPEN;
	ck_assert_int_eq(rnbd_req_open_decode(buf, RNBD_OPEN_LEN - 1, &o), -EINVAL);
	ck_assert_errmsg_has("OPEN message too short: 263 bytes, need 264");
	buf[0] = RNBD_MSG_OPEN_RSP;
	ck_assert_int_eq(rnbd_rsp_open_decode(buf, 55, &orsp), -EINVAL);
	buf[0] = RNBD_MSG_SESS_INFO;
	ck_assert_int_eq(rnbd_req_sess_info_decode(buf, 35, &s), -EINVAL);
	buf[0] = RNBD_MSG_SESS_INFO_RSP;
	ck_assert_int_eq(rnbd_rsp_sess_info_decode(buf, 4, &srsp), -EINVAL);
	buf[0] = RNBD_MSG_CLOSE;
	ck_assert_int_eq(rnbd_req_close_decode(buf, 7, &c), -EINVAL);
	ck_assert_int_eq(rnbd_req_close_decode(buf, 0, &c), -EINVAL);
}
END_TEST

START_TEST(wrong_type_rejected)
{
	uint8_t buf[RNBD_OPEN_LEN] = { 0 };
	struct rnbd_req_open o;
	struct rnbd_req_io io;
	struct rnbd_req_close c;

	buf[0] = RNBD_MSG_CLOSE;
	ck_assert_int_eq(rnbd_msg_type_peek(buf, sizeof(buf)), RNBD_MSG_CLOSE);
	ck_assert_int_eq(rnbd_req_open_decode(buf, sizeof(buf), &o), -EINVAL);
	ck_assert_errmsg_has("type 5 where OPEN (2) was expected");
	ck_assert_int_eq(rnbd_req_io_decode(buf, sizeof(buf), &io), -EINVAL);
	buf[0] = RNBD_MSG_IO;
	ck_assert_int_eq(rnbd_req_close_decode(buf, sizeof(buf), &c), -EINVAL);
	buf[1] = 1; /* type 0x104: high byte counts */
	ck_assert_int_eq(rnbd_msg_type_peek(buf, sizeof(buf)), 0x104);
}
END_TEST

START_TEST(open_bad_fields_rejected)
{
	uint8_t buf[RNBD_OPEN_LEN];
	struct rnbd_req_open o, in = { .access_mode = 3, .dev_name = "x" };

	memset(buf, 'A', sizeof(buf));
	buf[0] = RNBD_MSG_OPEN; buf[1] = 0; buf[4] = RNBD_ACCESS_RO;
	ck_assert_int_eq(rnbd_req_open_decode(buf, sizeof(buf), &o), -EINVAL);
	ck_assert_errmsg_has("not NUL-terminated");
	buf[6 + 254] = '\0'; /* NUL in the last byte of the field: 254 chars */
	ck_assert_int_eq(rnbd_req_open_decode(buf, sizeof(buf), &o), 0);
	ck_assert_uint_eq(strlen(o.dev_name), 254);
	buf[4] = 3;
	ck_assert_int_eq(rnbd_req_open_decode(buf, sizeof(buf), &o), -EINVAL);
	ck_assert_errmsg_has("invalid access mode 3");
	ck_assert_int_eq(rnbd_req_open_encode(&in, buf, sizeof(buf)), -EINVAL);
	in.access_mode = 0;
	ck_assert_int_eq(rnbd_req_open_encode(&in, buf, 263), -ENOSPC);
}
END_TEST

START_TEST(io_bad_fields_rejected)
{
	uint8_t buf[32];
	struct rnbd_req_io io;

	hex_to_bytes(io_write_fua, buf, sizeof(buf));
	buf[16] = RNBD_OP_LAST;			/* unknown op */
	ck_assert_int_eq(rnbd_req_io_decode(buf, sizeof(buf), &io), -EOPNOTSUPP);
	ck_assert_errmsg_has("unknown RNBD op 6");
	buf[16] = RNBD_OP_WRITE;
	buf[20] = 0x01;				/* bi_size 4097 */
	ck_assert_int_eq(rnbd_req_io_decode(buf, sizeof(buf), &io), -EINVAL);
	ck_assert_errmsg_has("not a multiple of 512");
	buf[20] = 0;
	memset(buf + 8, 0xff, 8);		/* sector 2^64 - 1 */
	ck_assert_int_eq(rnbd_req_io_decode(buf, sizeof(buf), &io), -ERANGE);
	memset(buf + 8, 0, 8);
	buf[14] = 0x80;				/* sector 2^55: byte offset 2^64 */
	ck_assert_int_eq(rnbd_req_io_decode(buf, sizeof(buf), &io), -ERANGE);
	buf[14] = 0x7f; buf[13] = 0xff; buf[12] = 0xff; buf[11] = 0xff;
	buf[10] = 0xff; buf[9] = 0xff; buf[8] = 0xff; /* last sector: + 4096 overflows */
	ck_assert_int_eq(rnbd_req_io_decode(buf, sizeof(buf), &io), -ERANGE);
	ck_assert_errmsg_has("overflows");
	memset(buf + 8, 0, 8);
	buf[16] = RNBD_OP_FLUSH;		/* FLUSH with a size */
	ck_assert_int_eq(rnbd_req_io_decode(buf, sizeof(buf), &io), -EINVAL);
	ck_assert_errmsg_has("FLUSH with bi_size 4096");
}
END_TEST

/* FLUSH's sector is whatever blk_rq_pos held: never validated or kept. */
START_TEST(flush_sector_ignored)
{
	uint8_t buf[32] = { RNBD_MSG_IO };
	struct rnbd_req_io io;

	memset(buf + 8, 0xff, 8);
	buf[16] = RNBD_OP_FLUSH; buf[17] = 0x03;
	ck_assert_int_eq(rnbd_req_io_decode(buf, sizeof(buf), &io), 0);
	ck_assert_uint_eq(io.sector, 0);
	ck_assert_uint_eq(io.rw, 0x302);
}
END_TEST

START_TEST(unknown_flags_ignored)
{
	uint8_t buf[32];
	struct rnbd_req_io io;

	hex_to_bytes(io_write_fua, buf, sizeof(buf));
	buf[19] = 0x80; /* bit 31 */
	ck_assert_int_eq(rnbd_req_io_decode(buf, sizeof(buf), &io), 0);
	ck_assert_uint_eq(io.rw, 0x80000201);
	ck_assert_uint_eq(rnbd_io_op(io.rw), RNBD_OP_WRITE);
}
END_TEST

START_TEST(open_rsp_block_size_checked)
{
	uint8_t buf[56];
	struct rnbd_rsp_open out, in = open_rsp_val;

	hex_to_bytes(open_rsp_hex, buf, sizeof(buf));
	buf[38] = 0; buf[39] = 0;	/* logical_block_size 0: kernel fails the map */
	ck_assert_int_eq(rnbd_rsp_open_decode(buf, sizeof(buf), &out), -EINVAL);
	ck_assert_errmsg_has("invalid logical block size 0");
	buf[38] = 0x00; buf[39] = 0x03;	/* 768: not a power of two */
	ck_assert_int_eq(rnbd_rsp_open_decode(buf, sizeof(buf), &out), -EINVAL);
	in.logical_block_size = 256;
	ck_assert_int_eq(rnbd_rsp_open_encode(&in, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(data_len_rules)
{
	struct rnbd_req_io rd = { .rw = RNBD_OP_READ, .bi_size = 8192 };
	struct rnbd_req_io dc = { .rw = RNBD_OP_DISCARD, .bi_size = 1 << 20 };
	struct rnbd_req_io fl = { .rw = RNBD_OP_FLUSH | RNBD_F_FUA };

	ck_assert_int_eq(rnbd_req_io_check_data_len(&rd, 8192), 0);
	ck_assert_int_eq(rnbd_req_io_check_data_len(&rd, 4096), -EINVAL);
	ck_assert_errmsg_has("READ of bi_size 8192 carries 4096 data bytes");
	ck_assert_int_eq(rnbd_req_io_check_data_len(&dc, 0), 0);
	ck_assert_int_eq(rnbd_req_io_check_data_len(&dc, 512), -EINVAL);
	ck_assert_int_eq(rnbd_req_io_check_data_len(&fl, 0), 0);
	ck_assert(rnbd_op_is_rtrs_read(RNBD_OP_FLUSH));
	ck_assert(!rnbd_op_is_rtrs_read(RNBD_OP_DISCARD));
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(rnbd_access_mode_str(RNBD_ACCESS_MIGRATION), "migration");
	ck_assert_str_eq(rnbd_access_mode_str(9), "unknown");
	ck_assert_str_eq(rnbd_op_str(RNBD_OP_WRITE_ZEROES), "WRITE_ZEROES");
	ck_assert_str_eq(rnbd_op_str(RNBD_OP_LAST), "UNKNOWN");
}
END_TEST

static Suite *rnbd_msg_suite(void)
{
	Suite *s = suite_create("rnbd-msg");
	TCase *golden = tcase_create("golden");
	TCase *round = tcase_create("round-trip");
	TCase *bad = tcase_create("malformed");

	tcase_add_test(golden, open_golden);
	tcase_add_test(golden, io_golden);
	tcase_add_test(golden, sess_info_golden);
	tcase_add_test(golden, close_golden);
	tcase_add_test(golden, open_rsp_golden);
	tcase_add_test(round, io_round_trip_all_ops);
	tcase_add_test(round, open_round_trip_names);
	tcase_add_test(round, garbage_in_padding_accepted);
	tcase_add_test(round, io_short_lengths);
	tcase_add_test(round, flush_sector_ignored);
	tcase_add_test(round, unknown_flags_ignored);
	tcase_add_test(round, data_len_rules);
	tcase_add_test(round, names);
	tcase_add_test(bad, short_buffers_rejected);
	tcase_add_test(bad, wrong_type_rejected);
	tcase_add_test(bad, open_bad_fields_rejected);
	tcase_add_test(bad, io_bad_fields_rejected);
	tcase_add_test(bad, open_rsp_block_size_checked);
	suite_add_tcase(s, golden);
	suite_add_tcase(s, round);
	suite_add_tcase(s, bad);
	return s;
}

CHECK_MAIN(rnbd_msg_suite)
