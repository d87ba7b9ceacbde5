// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the RTRS message decoders (proto/rtrs-msg.h).
 *
 * Input: [selector][parameters][message], the selector modulo SEL_COUNT
 * picking the decoder:
 *   conn_req, conn_rsp, info_req   no parameters
 *   info_rsp                       le16 queue_depth, le32 chunk_size
 *   rkey_rsp                       le32 queue_depth, le32 msg_id
 *   chunk request                  le32 trailer offset; the rest is the
 *                                  chunk, chunk_size its exact length
 * queue_depth for the chunk map is le16 because that is all conn_rsp can
 * carry, and it bounds the rbuf array allocated for it.
 *
 * An accepted message must satisfy what the header promises, re-encode into
 * exactly its size, and decode again to the same fields.
 */
#include <stdbool.h>

#include "fuzz-common.h"
#include "proto/rtrs-msg.h"

enum {
	SEL_CONN_REQ,
	SEL_CONN_RSP,
	SEL_INFO_REQ,
	SEL_INFO_RSP,
	SEL_RKEY_RSP,
	SEL_CHUNK_REQ,
	SEL_COUNT,
};

static void check_rtrs_err(int ret, bool einval_ok)
{
	fuzz_check_err(ret);
	FUZZ_CHECK(ret == -EPROTO || (einval_ok && ret == -EINVAL));
}

/*
 * An encoder must refuse a buffer one byte short of `size` without writing
 * past it: `call` runs with `small` pointing at exactly size - 1 bytes.
 */
#define CHECK_ENOSPC(size, small, call)                  \
	do {                                             \
		uint8_t *small = fuzz_alloc((size) - 1); \
                                                         \
		FUZZ_CHECK((call) == -ENOSPC);           \
		free(small);                             \
	} while (0)

static void fuzz_conn_req(const uint8_t *msg, size_t len)
{
	struct rtrs_conn_req a, b;
	uint8_t *buf;
	int ret;

	fuzz_errmsg_clear();
	ret = rtrs_conn_req_decode(msg, len, &a);
	if (ret) {
		check_rtrs_err(ret, false);
		return;
	}
	FUZZ_CHECK(a.version >> 8 == RTRS_PROTO_VER_MAJOR);
	FUZZ_CHECK(a.cid < a.cid_num && a.cid_num <= RTRS_MAX_CID_NUM);

	CHECK_ENOSPC(RTRS_CONN_REQ_LEN, small,
		     rtrs_conn_req_encode(&a, small, RTRS_CONN_REQ_LEN - 1));
	buf = fuzz_alloc(RTRS_CONN_REQ_LEN);
	FUZZ_CHECK(rtrs_conn_req_encode(&a, buf, RTRS_CONN_REQ_LEN) == RTRS_CONN_REQ_LEN);
	FUZZ_CHECK(rtrs_conn_req_decode(buf, RTRS_CONN_REQ_LEN, &b) == 0);
	free(buf);
	/* The decoder keeps the peer's minor; the encoder always sends ours. */
	FUZZ_CHECK(b.version == RTRS_PROTO_VER);
	FUZZ_CHECK(a.cid == b.cid);
	FUZZ_CHECK(a.cid_num == b.cid_num);
	FUZZ_CHECK(a.recon_cnt == b.recon_cnt);
	FUZZ_CHECK(!memcmp(a.sess_uuid, b.sess_uuid, sizeof(a.sess_uuid)));
	FUZZ_CHECK(!memcmp(a.paths_uuid, b.paths_uuid, sizeof(a.paths_uuid)));
	FUZZ_CHECK(a.first_conn == b.first_conn);
}

static void fuzz_conn_rsp(const uint8_t *msg, size_t len)
{
	struct rtrs_conn_rsp a, b;
	uint8_t *buf;
	int ret;

	fuzz_errmsg_clear();
	ret = rtrs_conn_rsp_decode(msg, len, &a);
	if (ret) {
		check_rtrs_err(ret, false);
		return;
	}
	FUZZ_CHECK(a.version >> 8 == RTRS_PROTO_VER_MAJOR);
	/* A reject must never read as an accept, nor the reverse. */
	FUZZ_CHECK(a.err <= 0 && a.err >= INT16_MIN);
	if (!a.err) {
		FUZZ_CHECK(a.queue_depth >= 1);
		FUZZ_CHECK(a.max_hdr_size >= 512 && a.max_hdr_size <= 65535);
		FUZZ_CHECK(a.max_io_size >= 4096 && a.max_io_size <= 16u << 20);
	}

	CHECK_ENOSPC(RTRS_CONN_RSP_LEN, small,
		     rtrs_conn_rsp_encode(&a, small, RTRS_CONN_RSP_LEN - 1));
	buf = fuzz_alloc(RTRS_CONN_RSP_LEN);
	FUZZ_CHECK(rtrs_conn_rsp_encode(&a, buf, RTRS_CONN_RSP_LEN) == RTRS_CONN_RSP_LEN);
	FUZZ_CHECK(rtrs_conn_rsp_decode(buf, RTRS_CONN_RSP_LEN, &b) == 0);
	free(buf);
	FUZZ_CHECK(b.version == RTRS_PROTO_VER);
	FUZZ_CHECK(a.err == b.err);
	FUZZ_CHECK(a.queue_depth == b.queue_depth);
	FUZZ_CHECK(a.max_io_size == b.max_io_size);
	FUZZ_CHECK(a.max_hdr_size == b.max_hdr_size);
	FUZZ_CHECK(a.flags == b.flags);
}

static void fuzz_info_req(const uint8_t *msg, size_t len)
{
	struct rtrs_info_req a, b;
	uint8_t *buf;
	int ret;

	fuzz_errmsg_clear();
	ret = rtrs_info_req_decode(msg, len, &a);
	if (ret) {
		check_rtrs_err(ret, true);
		return;
	}
	/* The server builds a sysfs/path name from it. */
	FUZZ_CHECK(strnlen(a.pathname, RTRS_NAME_MAX) < RTRS_NAME_MAX);
	FUZZ_CHECK(rtrs_sessname_check(a.pathname) == 0);

	CHECK_ENOSPC(RTRS_INFO_REQ_LEN, small,
		     rtrs_info_req_encode(&a, small, RTRS_INFO_REQ_LEN - 1));
	buf = fuzz_alloc(RTRS_INFO_REQ_LEN);
	FUZZ_CHECK(rtrs_info_req_encode(&a, buf, RTRS_INFO_REQ_LEN) == RTRS_INFO_REQ_LEN);
	FUZZ_CHECK(rtrs_info_req_decode(buf, RTRS_INFO_REQ_LEN, &b) == 0);
	free(buf);
	FUZZ_CHECK(strcmp(a.pathname, b.pathname) == 0);
}

static struct rtrs_rbuf *map_chunks(const uint8_t *msg, size_t len, uint32_t queue_depth,
				    uint32_t chunk_size, int *ret)
{
	/* Exactly queue_depth entries: a write past them is what ASan is for. */
	struct rtrs_rbuf *rbuf = malloc(queue_depth * sizeof(*rbuf));

	FUZZ_CHECK(rbuf || !queue_depth);
	fuzz_errmsg_clear();
	*ret = rtrs_info_rsp_map_chunks(msg, len, queue_depth, chunk_size, rbuf);
	return rbuf;
}

static void fuzz_info_rsp(uint16_t queue_depth, uint32_t chunk_size, const uint8_t *msg,
			  size_t len)
{
	size_t desc_len, enc_len;
	struct rtrs_rbuf *ra, *rb;
	struct rtrs_sg *desc;
	uint16_t cnt, cnt2;
	uint8_t *buf;
	int ret, ret2;

	fuzz_errmsg_clear();
	ret = rtrs_info_rsp_decode(msg, len, &cnt);
	ra = map_chunks(msg, len, queue_depth, chunk_size, &ret2);
	if (ret) {
		check_rtrs_err(ret, false);
		FUZZ_CHECK(ret2 == ret);
		free(ra);
		return;
	}
	/* rtrs_info_rsp_map_chunks() trusts this to read the descriptors. */
	desc_len = (size_t)cnt * RTRS_SG_DESC_LEN;
	FUZZ_CHECK(len >= RTRS_INFO_RSP_HDR_LEN + desc_len);
	if (ret2) {
		check_rtrs_err(ret2, false);
	} else {
		FUZZ_CHECK(cnt && queue_depth % cnt == 0);
	}

	/* Descriptors have no reserved bytes, so they must come back verbatim. */
	desc = malloc(cnt * sizeof(*desc));
	FUZZ_CHECK(desc || !cnt);
	for (uint16_t i = 0; i < cnt; i++) {
		const uint8_t *d = msg + RTRS_INFO_RSP_HDR_LEN + (size_t)i * RTRS_SG_DESC_LEN;

		desc[i].addr = get_le64(d);
		desc[i].key = get_le32(d + 8);
		desc[i].len = get_le32(d + 12);
	}
	enc_len = RTRS_INFO_RSP_HDR_LEN + desc_len;
	CHECK_ENOSPC(enc_len, small, rtrs_info_rsp_encode(desc, cnt, small, enc_len - 1));
	buf = fuzz_alloc(enc_len);
	FUZZ_CHECK(rtrs_info_rsp_encode(desc, cnt, buf, enc_len) == (int)enc_len);
	free(desc);
	FUZZ_CHECK(rtrs_info_rsp_decode(buf, enc_len, &cnt2) == 0);
	FUZZ_CHECK(cnt2 == cnt);
	FUZZ_CHECK(!memcmp(buf + RTRS_INFO_RSP_HDR_LEN, msg + RTRS_INFO_RSP_HDR_LEN, desc_len));

	rb = map_chunks(buf, enc_len, queue_depth, chunk_size, &ret);
	FUZZ_CHECK(ret == ret2);
	for (uint32_t i = 0; !ret && i < queue_depth; i++) {
		FUZZ_CHECK(ra[i].addr == rb[i].addr);
		FUZZ_CHECK(ra[i].rkey == rb[i].rkey);
	}
	free(buf);
	free(ra);
	free(rb);
}

static void fuzz_rkey_rsp(uint32_t queue_depth, uint32_t msg_id, const uint8_t *msg,
			  size_t len)
{
	struct rtrs_rkey_rsp a, b;
	uint8_t *buf;
	int ret;

	fuzz_errmsg_clear();
	ret = rtrs_rkey_rsp_decode(msg, len, queue_depth, msg_id, &a);
	if (ret) {
		check_rtrs_err(ret, false);
		return;
	}
	/* buf_id indexes the client's rbuf array. */
	FUZZ_CHECK(a.buf_id < queue_depth && a.buf_id == msg_id);

	CHECK_ENOSPC(RTRS_RKEY_RSP_LEN, small,
		     rtrs_rkey_rsp_encode(&a, small, RTRS_RKEY_RSP_LEN - 1));
	buf = fuzz_alloc(RTRS_RKEY_RSP_LEN);
	FUZZ_CHECK(rtrs_rkey_rsp_encode(&a, buf, RTRS_RKEY_RSP_LEN) == RTRS_RKEY_RSP_LEN);
	FUZZ_CHECK(rtrs_rkey_rsp_decode(buf, RTRS_RKEY_RSP_LEN, queue_depth, msg_id, &b) == 0);
	free(buf);
	FUZZ_CHECK(a.buf_id == b.buf_id);
	FUZZ_CHECK(a.rkey == b.rkey);
}

/* What the server relies on before it reads the user message and data. */
static void check_chunk_contract(const struct rtrs_chunk_req *r, uint32_t chunk_size,
				 uint32_t off)
{
	size_t trailer;

	FUZZ_CHECK(r->type == RTRS_MSG_WRITE || r->type == RTRS_MSG_READ);
	FUZZ_CHECK(r->usr_len <= off);
	FUZZ_CHECK(r->usr_off == off - r->usr_len && r->data_len == r->usr_off);
	FUZZ_CHECK(r->sg_cnt <= 1);
	if (r->type == RTRS_MSG_WRITE) {
		FUZZ_CHECK(!r->sg_cnt && !r->flags);
		trailer = RTRS_WRITE_TRAILER_LEN;
	} else {
		trailer = RTRS_READ_TRAILER_LEN + r->sg_cnt * RTRS_SG_DESC_LEN;
	}
	FUZZ_CHECK((size_t)off + trailer <= chunk_size);
	if (r->sg_cnt)
		FUZZ_CHECK(r->desc.len >= 1 && r->desc.len <= chunk_size);
}

static void fuzz_chunk_req(uint32_t off, const uint8_t *chunk, size_t len)
{
	uint32_t chunk_size = (uint32_t)len;
	struct rtrs_chunk_req a, b;
	uint8_t *c2;
	size_t room;
	int ret;

	fuzz_errmsg_clear();
	ret = rtrs_chunk_req_parse(chunk, chunk_size, off, &a);
	if (ret) {
		check_rtrs_err(ret, false);
		return;
	}
	check_chunk_contract(&a, chunk_size, off);

	/*
	 * Rebuild the trailer in a chunk whose other bytes differ: the parse
	 * must depend on the trailer alone.  The encoder gets exactly the room
	 * left in the chunk.
	 */
	c2 = fuzz_alloc(chunk_size);
	memset(c2, 0xa5, chunk_size);
	room = chunk_size - off;
	if (a.type == RTRS_MSG_WRITE)
		ret = rtrs_write_trailer_encode(a.usr_len, c2 + off, room);
	else
		ret = rtrs_read_trailer_encode(a.usr_len, a.flags, a.sg_cnt ? &a.desc : NULL,
					       c2 + off, room);
	FUZZ_CHECK(ret > 0 && (size_t)ret <= room);
	FUZZ_CHECK(rtrs_chunk_req_parse(c2, chunk_size, off, &b) == 0);
	free(c2);
	FUZZ_CHECK(a.type == b.type);
	FUZZ_CHECK(a.usr_len == b.usr_len);
	FUZZ_CHECK(a.usr_off == b.usr_off);
	FUZZ_CHECK(a.data_len == b.data_len);
	FUZZ_CHECK(a.flags == b.flags);
	FUZZ_CHECK(a.sg_cnt == b.sg_cnt);
	FUZZ_CHECK(a.desc.addr == b.desc.addr);
	FUZZ_CHECK(a.desc.key == b.desc.key);
	FUZZ_CHECK(a.desc.len == b.desc.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned int sel = fuzz_u8(&in) % SEL_COUNT;
	uint32_t p1 = 0, p2 = 0;
	uint8_t *msg;

	switch (sel) {
	case SEL_INFO_RSP:
		p1 = fuzz_u16(&in);
		p2 = fuzz_u32(&in);
		break;
	case SEL_RKEY_RSP:
		p1 = fuzz_u32(&in);
		p2 = fuzz_u32(&in);
		break;
	case SEL_CHUNK_REQ:
		p1 = fuzz_u32(&in);
		break;
	}
	msg = fuzz_dup(in.p, in.n);

	switch (sel) {
	case SEL_CONN_REQ:
		fuzz_conn_req(msg, in.n);
		break;
	case SEL_CONN_RSP:
		fuzz_conn_rsp(msg, in.n);
		break;
	case SEL_INFO_REQ:
		fuzz_info_req(msg, in.n);
		break;
	case SEL_INFO_RSP:
		fuzz_info_rsp((uint16_t)p1, p2, msg, in.n);
		break;
	case SEL_RKEY_RSP:
		fuzz_rkey_rsp(p1, p2, msg, in.n);
		break;
	case SEL_CHUNK_REQ:
		fuzz_chunk_req(p1, msg, in.n);
		break;
	}
	free(msg);
	return 0;
}
