// SPDX-License-Identifier: LGPL-2.1-or-later
/* RTRS handshake and chunk message codecs. */
#include <errno.h>

#include "check-main.h"
#include "proto/rtrs-msg.h"

/* rtrs-tcp.md section 14, frame #1 payload: cid 0 of 2, recon_cnt 1. */
static const char conn_req_golden[] =
	"00 00 bd 1b 00 02 00 00 02 00 01 00 3f 25 04 e0"
	"4f 89 41 d3 9a 0c 03 05 e8 2c 33 01 9b 1d eb 4d"
	"3b 7d 4b ad 9b dd 2b 0d 7b 3d cb 6d 01 00 00 00"
	"00 00 00 00 00 00 00 00";
/* frame #2 payload: accept, qd 512, max_io 126976, max_hdr 4096. */
static const char conn_rsp_golden[] =
	"bd 1b 00 02 00 00 00 02 00 f0 01 00 00 10 00 00";
static const uint8_t sess_uuid[16] = { 0x3f, 0x25, 0x04, 0xe0, 0x4f, 0x89, 0x41, 0xd3,
				       0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01 };
static const uint8_t paths_uuid[16] = { 0x9b, 0x1d, 0xeb, 0x4d, 0x3b, 0x7d, 0x4b, 0xad,
					0x9b, 0xdd, 0x2b, 0x0d, 0x7b, 0x3d, 0xcb, 0x6d };

START_TEST(conn_req_golden_vector)
{
	struct rtrs_conn_req in = { .cid = 0, .cid_num = 2, .recon_cnt = 1, .first_conn = true };
	struct rtrs_conn_req out;
	uint8_t want[56], buf[64];

	memcpy(in.sess_uuid, sess_uuid, 16);
	memcpy(in.paths_uuid, paths_uuid, 16);
	hex_to_bytes(conn_req_golden, want, sizeof(want));
	ck_assert_int_eq(rtrs_conn_req_encode(&in, buf, sizeof(buf)), 56);
	ck_assert_mem_eq(buf, want, 56);
	ck_assert_int_eq(rtrs_conn_req_decode(want, 56, &out), 0);
	ck_assert_uint_eq(out.version, 0x0200);
	ck_assert_uint_eq(out.cid, 0);
	ck_assert_uint_eq(out.cid_num, 2);
	ck_assert_uint_eq(out.recon_cnt, 1);
	ck_assert(out.first_conn);
	ck_assert_mem_eq(out.sess_uuid, sess_uuid, 16);
	ck_assert_mem_eq(out.paths_uuid, paths_uuid, 16);
}
END_TEST

START_TEST(conn_req_private_data_padding)
{
	uint8_t pd[196] = { 0 };
	struct rtrs_conn_req out;

	/* REP-sized private data, reserved bits and bytes set: still fine. */
	hex_to_bytes(conn_req_golden, pd, sizeof(pd));
	pd[0] = 0x40;		/* __cma_version as the CMA may leave it */
	pd[44] = 0xfe;		/* reserved_bits set, first_conn clear */
	memset(pd + 45, 0x11, 11);
	pd[4] = 0x07;		/* version 2.7: minor ignored */
	ck_assert_int_eq(rtrs_conn_req_decode(pd, sizeof(pd), &out), 0);
	ck_assert(!out.first_conn);
	ck_assert_uint_eq(out.version, 0x0207);
}
END_TEST

START_TEST(conn_req_malformed)
{
	uint8_t pd[56];
	struct rtrs_conn_req out;

	hex_to_bytes(conn_req_golden, pd, sizeof(pd));
	ck_assert_int_eq(rtrs_conn_req_decode(pd, 55, &out), -EPROTO);
	ck_assert_errmsg_has("conn_req too short: 55 bytes, need 56");
	pd[2] = 0xbe;
	ck_assert_int_eq(rtrs_conn_req_decode(pd, 56, &out), -EPROTO);
	ck_assert_errmsg_has("bad magic 0x1bbe");
	pd[2] = 0xbd;
	pd[5] = 0x01;
	ck_assert_int_eq(rtrs_conn_req_decode(pd, 56, &out), -EPROTO);
	ck_assert_errmsg_has("unsupported protocol version 1.0");
	pd[5] = 0x03;
	ck_assert_int_eq(rtrs_conn_req_decode(pd, 56, &out), -EPROTO);
	pd[5] = 0x02;
	pd[6] = 2;		/* cid 2 of cid_num 2 */
	ck_assert_int_eq(rtrs_conn_req_decode(pd, 56, &out), -EPROTO);
	ck_assert_errmsg_has("cid 2 >= cid_num 2");
	pd[6] = 0;
	pd[8] = 0x01; pd[9] = 0x10;	/* cid_num 4097 */
	ck_assert_int_eq(rtrs_conn_req_decode(pd, 56, &out), -EPROTO);
	ck_assert_errmsg_has("cid_num 4097 > 4096");
	pd[8] = 0x00;		/* cid_num 4096 is the limit */
	ck_assert_int_eq(rtrs_conn_req_decode(pd, 56, &out), 0);
	pd[8] = 0; pd[9] = 0;	/* cid_num 0: cid 0 >= 0 */
	ck_assert_int_eq(rtrs_conn_req_decode(pd, 56, &out), -EPROTO);
}
END_TEST

START_TEST(conn_rsp_golden_vector)
{
	struct rtrs_conn_rsp in = {
		.queue_depth = 512, .max_io_size = 126976, .max_hdr_size = 4096,
	};
	struct rtrs_conn_rsp out;
	uint8_t want[56] = { 0 }, buf[56];

	hex_to_bytes(conn_rsp_golden, want, sizeof(want));
	ck_assert_int_eq(rtrs_conn_rsp_encode(&in, buf, sizeof(buf)), 56);
	ck_assert_mem_eq(buf, want, 56);
	ck_assert_int_eq(rtrs_conn_rsp_decode(want, 56, &out), 0);
	ck_assert_int_eq(out.err, 0);
	ck_assert_uint_eq(out.queue_depth, 512);
	ck_assert_uint_eq(out.max_io_size, 126976);
	ck_assert_uint_eq(out.max_hdr_size, 4096);
	ck_assert_uint_eq(out.flags, 0);
}
END_TEST

/* rtrs-tcp.md 14: a reject with -ENXIO has fa ff at bytes 4-5, rest zero. */
START_TEST(conn_rsp_reject)
{
	struct rtrs_conn_rsp in = { .err = -ENXIO, .queue_depth = 9 }, out;
	uint8_t want[56] = { 0 }, buf[56];

	hex_to_bytes("bd 1b 00 02 fa ff", want, sizeof(want));
	ck_assert_int_eq(rtrs_conn_rsp_encode(&in, buf, sizeof(buf)), 56);
	ck_assert_mem_eq(buf, want, 56);
	ck_assert_int_eq(rtrs_conn_rsp_decode(buf, 56, &out), 0);
	ck_assert_int_eq(out.err, -ENXIO);
	/* -104 is 0xff98 */
	want[4] = 0x98;
	ck_assert_int_eq(rtrs_conn_rsp_decode(want, 56, &out), 0);
	ck_assert_int_eq(out.err, -ECONNRESET);
	/* a positive errno is not a valid reject: read as -ECONNRESET */
	want[4] = 0x05; want[5] = 0x00;
	ck_assert_int_eq(rtrs_conn_rsp_decode(want, 56, &out), 0);
	ck_assert_int_eq(out.err, -ECONNRESET);
	in.err = 5;
	ck_assert_int_eq(rtrs_conn_rsp_encode(&in, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(conn_rsp_limits)
{
	static const struct {
		uint16_t qd;
		uint32_t io, hdr;
		int ret;
	} cases[] = {
		{ 1, 4096, 512, 0 },
		{ 65535, 16u << 20, 65535, 0 },
		{ 0, 126976, 4096, -EPROTO },
		{ 512, 4095, 4096, -EPROTO },
		{ 512, (16u << 20) + 1, 4096, -EPROTO },
		{ 512, 126976, 511, -EPROTO },
		{ 512, 126976, 65536, -EPROTO },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rtrs_conn_rsp in = {
			.queue_depth = cases[i].qd,
			.max_io_size = cases[i].io,
			.max_hdr_size = cases[i].hdr,
			.flags = RTRS_MSG_NEW_RKEY_F,
		};
		struct rtrs_conn_rsp out;
		uint8_t buf[56];

		ck_assert_int_eq(rtrs_conn_rsp_encode(&in, buf, sizeof(buf)), 56);
		ck_assert_int_eq(rtrs_conn_rsp_decode(buf, sizeof(buf), &out), cases[i].ret);
		if (!cases[i].ret)
			ck_assert_uint_eq(out.flags, RTRS_MSG_NEW_RKEY_F);
	}
}
END_TEST

START_TEST(conn_rsp_malformed)
{
	uint8_t buf[56] = { 0 };
	struct rtrs_conn_rsp out;

	hex_to_bytes(conn_rsp_golden, buf, sizeof(buf));
	ck_assert_int_eq(rtrs_conn_rsp_decode(buf, 20, &out), -EPROTO);
	buf[0] = 0;
	ck_assert_int_eq(rtrs_conn_rsp_decode(buf, 56, &out), -EPROTO);
	ck_assert_errmsg_has("bad magic");
	buf[0] = 0xbd;
	buf[3] = 0x01;
	ck_assert_int_eq(rtrs_conn_rsp_decode(buf, 56, &out), -EPROTO);
	ck_assert_errmsg_has("version 1.0");
}
END_TEST

/* frame #5 payload: "client1", zero padded to 272 bytes. */
START_TEST(info_req_golden)
{
	struct rtrs_info_req in = { .pathname = "client1" }, out;
	uint8_t want[272] = { 0 }, buf[272];

	hex_to_bytes("00 00 63 6c 69 65 6e 74 31 00", want, sizeof(want));
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(rtrs_info_req_encode(&in, buf, sizeof(buf)), 272);
	ck_assert_mem_eq(buf, want, 272);
	want[200] = 0x42; /* after the NUL: ignored */
	ck_assert_int_eq(rtrs_info_req_decode(want, 272, &out), 0);
	ck_assert_str_eq(out.pathname, "client1");
}
END_TEST

START_TEST(info_req_bad_names)
{
	static const char *const bad[] = { "", "a/b", "a.b", ".", "..", "/" };
	uint8_t buf[272] = { 0 };
	struct rtrs_info_req out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf + 2, bad[i], strlen(bad[i]));
		ck_assert_int_eq(rtrs_info_req_decode(buf, sizeof(buf), &out), -EINVAL);
	}
	memset(buf + 2, 'n', 255);
	ck_assert_int_eq(rtrs_info_req_decode(buf, sizeof(buf), &out), -EINVAL);
	ck_assert_errmsg_has("not NUL-terminated");
	buf[2 + 254] = 0;
	ck_assert_int_eq(rtrs_info_req_decode(buf, sizeof(buf), &out), 0);
	ck_assert_int_eq(rtrs_info_req_decode(buf, 271, &out), -EINVAL);
	buf[0] = RTRS_MSG_INFO_RSP;
	ck_assert_int_eq(rtrs_info_req_decode(buf, sizeof(buf), &out), -EINVAL);
	ck_assert_errmsg_has("type 1");
}
END_TEST

START_TEST(info_rsp_tcp)
{
	uint8_t buf[8], want[8];
	uint16_t sg_cnt = 99;

	hex_to_bytes("01 00 00 00 00 00 00 00", want, sizeof(want));
	ck_assert_int_eq(rtrs_info_rsp_encode(NULL, 0, buf, sizeof(buf)), 8);
	ck_assert_mem_eq(buf, want, 8);
	ck_assert_int_eq(rtrs_info_rsp_decode(buf, 8, &sg_cnt), 0);
	ck_assert_uint_eq(sg_cnt, 0);
	buf[0] = 0;
	ck_assert_int_eq(rtrs_info_rsp_decode(buf, 8, &sg_cnt), -EPROTO);
	ck_assert_int_eq(rtrs_info_rsp_decode(want, 7, &sg_cnt), -EPROTO);
	want[2] = 1; /* claims one descriptor the buffer does not hold */
	ck_assert_int_eq(rtrs_info_rsp_decode(want, 8, &sg_cnt), -EPROTO);
	ck_assert_errmsg_has("descriptors too short");
}
END_TEST

/* The kernel server with always_invalidate=Y: one MR per chunk. */
START_TEST(info_rsp_map_per_chunk)
{
	enum { QD = 4, CHUNK = 131072 };
	struct rtrs_sg desc[QD];
	struct rtrs_rbuf rbuf[QD];
	uint8_t buf[8 + 16 * QD];

	for (int i = 0; i < QD; i++)
		desc[i] = (struct rtrs_sg){ .addr = 0x100000 * (i + 1), .key = 0x1000 + i,
					    .len = CHUNK };
	ck_assert_int_eq(rtrs_info_rsp_encode(desc, QD, buf, sizeof(buf)), sizeof(buf));
	ck_assert_int_eq(rtrs_info_rsp_map_chunks(buf, sizeof(buf), QD, CHUNK, rbuf), 0);
	for (int i = 0; i < QD; i++) {
		ck_assert_uint_eq(rbuf[i].addr, 0x100000u * (i + 1));
		ck_assert_uint_eq(rbuf[i].rkey, 0x1000u + i);
	}
}
END_TEST

/* A userspace server: one descriptor over all chunks. */
START_TEST(info_rsp_map_single)
{
	enum { QD = 8, CHUNK = 8192 };
	struct rtrs_sg one = { .addr = 0x7f0000000000, .key = 77, .len = QD * CHUNK };
	struct rtrs_rbuf rbuf[QD];
	uint8_t buf[24];

	ck_assert_int_eq(rtrs_info_rsp_encode(&one, 1, buf, sizeof(buf)), 24);
	ck_assert_int_eq(rtrs_info_rsp_map_chunks(buf, sizeof(buf), QD, CHUNK, rbuf), 0);
	for (int i = 0; i < QD; i++) {
		ck_assert_uint_eq(rbuf[i].addr, 0x7f0000000000ull + (uint64_t)i * CHUNK);
		ck_assert_uint_eq(rbuf[i].rkey, 77);
	}
}
END_TEST

START_TEST(info_rsp_map_bad)
{
	struct rtrs_sg d[3] = {
		{ .addr = 0, .key = 1, .len = 8192 },
		{ .addr = 8192, .key = 1, .len = 8192 },
		{ .addr = 16384, .key = 1, .len = 8192 },
	};
	struct rtrs_rbuf rbuf[4];
	uint8_t buf[8 + 16 * 3];

	/* 3 descriptors cannot split 4 chunks */
	rtrs_info_rsp_encode(d, 3, buf, sizeof(buf));
	ck_assert_int_eq(rtrs_info_rsp_map_chunks(buf, sizeof(buf), 4, 8192, rbuf), -EPROTO);
	ck_assert_errmsg_has("does not divide");
	/* 2 descriptors of one chunk each cover only 2 of 4 */
	rtrs_info_rsp_encode(d, 2, buf, sizeof(buf));
	ck_assert_int_eq(rtrs_info_rsp_map_chunks(buf, 8 + 32, 4, 8192, rbuf), -EPROTO);
	ck_assert_errmsg_has("cover 2 of 4");
	/* a length that is not a multiple of the chunk size */
	d[0].len = 8000;
	rtrs_info_rsp_encode(d, 1, buf, sizeof(buf));
	ck_assert_int_eq(rtrs_info_rsp_map_chunks(buf, 24, 1, 8192, rbuf), -EPROTO);
	/* more than queue_depth chunks: never writes past rbuf */
	d[0].len = 8192 * 5;
	rtrs_info_rsp_encode(d, 1, buf, sizeof(buf));
	ck_assert_int_eq(rtrs_info_rsp_map_chunks(buf, 24, 4, 8192, rbuf), -EPROTO);
	ck_assert_errmsg_has("more than 4 chunks");
	/* zero descriptors (a TCP info_rsp) is no RDMA chunk map */
	rtrs_info_rsp_encode(NULL, 0, buf, sizeof(buf));
	ck_assert_int_eq(rtrs_info_rsp_map_chunks(buf, 8, 4, 8192, rbuf), -EPROTO);
	/* imm bits: 2^16 descriptors of 2^13-byte chunks would need 29 bits */
	d[0].len = 1u << 14;
	rtrs_info_rsp_encode(d, 1, buf, sizeof(buf));
	ck_assert_int_eq(rtrs_info_rsp_map_chunks(buf, 24, 1, 1u << 29, rbuf), -EPROTO);
}
END_TEST

START_TEST(rkey_rsp)
{
	struct rtrs_rkey_rsp in = { .buf_id = 17, .rkey = 0xabcdef01 }, out;
	uint8_t buf[8], want[8];

	hex_to_bytes("04 00 11 00 01 ef cd ab", want, sizeof(want));
	ck_assert_int_eq(rtrs_rkey_rsp_encode(&in, buf, sizeof(buf)), 8);
	ck_assert_mem_eq(buf, want, 8);
	ck_assert_int_eq(rtrs_rkey_rsp_decode(buf, 8, 512, 17, &out), 0);
	ck_assert_uint_eq(out.rkey, 0xabcdef01);
	ck_assert_int_eq(rtrs_rkey_rsp_decode(buf, 8, 512, 18, &out), -EPROTO);
	ck_assert_int_eq(rtrs_rkey_rsp_decode(buf, 8, 17, 17, &out), -EPROTO);
	ck_assert_int_eq(rtrs_rkey_rsp_decode(buf, 7, 512, 17, &out), -EPROTO);
	buf[0] = 3;
	ck_assert_int_eq(rtrs_rkey_rsp_decode(buf, 8, 512, 17, &out), -EPROTO);
}
END_TEST

/* Write: [data 4096][usr 32][trailer 4], imm off = 4128. */
START_TEST(chunk_write)
{
	static uint8_t chunk[8192];
	struct rtrs_chunk_req r;

	ck_assert_int_eq(rtrs_write_trailer_encode(32, chunk + 4128, 4), 4);
	ck_assert_uint_eq(chunk[4128], RTRS_MSG_WRITE);
	ck_assert_uint_eq(chunk[4130], 32);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 4128, &r), 0);
	ck_assert_uint_eq(r.type, RTRS_MSG_WRITE);
	ck_assert_uint_eq(r.usr_len, 32);
	ck_assert_uint_eq(r.usr_off, 4096);
	ck_assert_uint_eq(r.data_len, 4096);
	/* trailer in the last 4 bytes: fits; one more and it does not */
	ck_assert_int_eq(rtrs_write_trailer_encode(0, chunk + 8188, 4), 4);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 8188, &r), 0);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 8189, &r), -EPROTO);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 8192, &r), -EPROTO);
	ck_assert_errmsg_has("outside chunk");
	/* usr_len larger than the offset */
	rtrs_write_trailer_encode(100, chunk + 50, 4);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 50, &r), -EPROTO);
	ck_assert_errmsg_has("usr_len 100 > trailer offset 50");
	/* unknown trailer type */
	chunk[60] = 4; chunk[61] = 0;
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 60, &r), -EPROTO);
}
END_TEST

/* Read: [usr 32][trailer 8 + desc 16] at chunk offset data_len = 4096. */
START_TEST(chunk_read)
{
	static uint8_t chunk[8192];
	struct rtrs_sg d = { .addr = 0x1234567890, .key = 0x55, .len = 4096 };
	struct rtrs_chunk_req r;

	ck_assert_int_eq(rtrs_read_trailer_encode(32, RTRS_MSG_NEED_INVAL_F, &d, chunk + 4128,
						  sizeof(chunk) - 4128), 24);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 4128, &r), 0);
	ck_assert_uint_eq(r.type, RTRS_MSG_READ);
	ck_assert_uint_eq(r.data_len, 4096);
	ck_assert_uint_eq(r.flags, RTRS_MSG_NEED_INVAL_F);
	ck_assert_uint_eq(r.sg_cnt, 1);
	ck_assert_uint_eq(r.desc.addr, 0x1234567890);
	ck_assert_uint_eq(r.desc.key, 0x55);
	ck_assert_uint_eq(r.desc.len, 4096);
	/* a flush: no descriptor */
	ck_assert_int_eq(rtrs_read_trailer_encode(32, 0, NULL, chunk + 32, 8), 8);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 32, &r), 0);
	ck_assert_uint_eq(r.sg_cnt, 0);
	ck_assert_uint_eq(r.data_len, 0);
	/* descriptor would overrun the chunk end */
	rtrs_read_trailer_encode(0, 0, &d, chunk + 8192 - 24, 24);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 8192 - 24, &r), 0);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, 8192 - 1, 8192 - 24, &r), -EPROTO);
	ck_assert_errmsg_has("descriptor");
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, 8192 - 17, 8192 - 24, &r), -EPROTO);
	/* sg_cnt 2 */
	chunk[32 + 6] = 2;
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 32, &r), -EPROTO);
	ck_assert_errmsg_has("sg_cnt 2");
	/* descriptor len 0 and larger than the chunk */
	d.len = 0;
	rtrs_read_trailer_encode(0, 0, &d, chunk + 100, 24);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 100, &r), -EPROTO);
	d.len = 8193;
	rtrs_read_trailer_encode(0, 0, &d, chunk + 100, 24);
	ck_assert_int_eq(rtrs_chunk_req_parse(chunk, sizeof(chunk), 100, &r), -EPROTO);
}
END_TEST

START_TEST(sessname_rules)
{
	char longest[RTRS_NAME_MAX];

	ck_assert_int_eq(rtrs_sessname_check("client1"), 0);
	ck_assert_int_eq(rtrs_sessname_check(""), -EINVAL);
	ck_assert_errmsg_has("empty session name");
	ck_assert_int_eq(rtrs_sessname_check("a.b"), -EINVAL);
	memset(longest, 's', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = 0;
	ck_assert_int_eq(rtrs_sessname_check(longest), 0);
}
END_TEST

START_TEST(encode_small_buffers)
{
	struct rtrs_conn_req req = { .cid_num = 1 };
	struct rtrs_conn_rsp rsp = { 0 };
	struct rtrs_info_req ireq = { .pathname = "x" };
	uint8_t buf[300];

	ck_assert_int_eq(rtrs_conn_req_encode(&req, buf, 55), -ENOSPC);
	ck_assert_int_eq(rtrs_conn_rsp_encode(&rsp, buf, 55), -ENOSPC);
	ck_assert_int_eq(rtrs_info_req_encode(&ireq, buf, 271), -ENOSPC);
	ck_assert_int_eq(rtrs_info_rsp_encode(NULL, 0, buf, 7), -ENOSPC);
	ck_assert_int_eq(rtrs_write_trailer_encode(0, buf, 3), -ENOSPC);
	ck_assert_int_eq(rtrs_read_trailer_encode(0, 0, NULL, buf, 7), -ENOSPC);
	req.cid = 1;
	ck_assert_int_eq(rtrs_conn_req_encode(&req, buf, sizeof(buf)), -EINVAL);
}
END_TEST

static Suite *rtrs_msg_suite(void)
{
	Suite *s = suite_create("rtrs-msg");
	TCase *hs = tcase_create("handshake");
	TCase *chunk = tcase_create("chunk");

	tcase_add_test(hs, conn_req_golden_vector);
	tcase_add_test(hs, conn_req_private_data_padding);
	tcase_add_test(hs, conn_req_malformed);
	tcase_add_test(hs, conn_rsp_golden_vector);
	tcase_add_test(hs, conn_rsp_reject);
	tcase_add_test(hs, conn_rsp_limits);
	tcase_add_test(hs, conn_rsp_malformed);
	tcase_add_test(hs, info_req_golden);
	tcase_add_test(hs, info_req_bad_names);
	tcase_add_test(hs, info_rsp_tcp);
	tcase_add_test(hs, info_rsp_map_per_chunk);
	tcase_add_test(hs, info_rsp_map_single);
	tcase_add_test(hs, info_rsp_map_bad);
	tcase_add_test(hs, sessname_rules);
	tcase_add_test(hs, encode_small_buffers);
	tcase_add_test(chunk, rkey_rsp);
	tcase_add_test(chunk, chunk_write);
	tcase_add_test(chunk, chunk_read);
	suite_add_tcase(s, hs);
	suite_add_tcase(s, chunk);
	return s;
}

CHECK_MAIN(rtrs_msg_suite)
