// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <string.h>

#include "rtrs-imm.h"
#include "rtrs-msg.h"
#include "util/endian.h"
#include "util/err.h"

#define OFF(type, field) offsetof(struct type, field)

/* conn_req byte 44 holds first_conn in bit 0; offsetof cannot name a
 * bitfield, so locate it as the byte before reserved[]. */
#define CONN_REQ_FLAGS_OFF (OFF(rtrs_msg_conn_req, reserved) - 1)
/* conn_rsp.errno: the field name is hidden behind libc's errno macro here. */
#define CONN_RSP_ERRNO_OFF 4

static int check_len(const char *what, size_t len, size_t need)
{
	if (len < need)
		return rnbd_err_set(-EPROTO, "RTRS %s too short: %zu bytes, need %zu", what, len,
				    need);
	return 0;
}

static int check_cap(const char *what, size_t cap, size_t need)
{
	if (cap < need)
		return rnbd_err_set(-ENOSPC, "buffer of %zu bytes too small for RTRS %s (%zu)",
				    cap, what, need);
	return 0;
}

static int check_magic_version(const char *what, uint16_t magic, uint16_t version)
{
	if (magic != RTRS_MAGIC)
		return rnbd_err_set(-EPROTO, "RTRS %s: bad magic 0x%04x (want 0x%04x)", what, magic,
				    RTRS_MAGIC);
	if (version >> 8 != RTRS_PROTO_VER_MAJOR)
		return rnbd_err_set(-EPROTO, "RTRS %s: unsupported protocol version %u.%u (want %d.x)",
				    what, version >> 8, version & 0xff, RTRS_PROTO_VER_MAJOR);
	return 0;
}

int rtrs_conn_req_encode(const struct rtrs_conn_req *in, void *buf, size_t cap)
{
	uint8_t *p = buf;
	int ret;

	ret = check_cap("conn_req", cap, RTRS_CONN_REQ_LEN);
	if (ret)
		return ret;
	if (in->cid >= in->cid_num || in->cid_num > RTRS_MAX_CID_NUM)
		return rnbd_err_set(-EINVAL, "RTRS conn_req: cid %u / cid_num %u out of range",
				    in->cid, in->cid_num);
	memset(p, 0, RTRS_CONN_REQ_LEN);
	put_le16(p + OFF(rtrs_msg_conn_req, magic), RTRS_MAGIC);
	put_le16(p + OFF(rtrs_msg_conn_req, version), RTRS_PROTO_VER);
	put_le16(p + OFF(rtrs_msg_conn_req, cid), in->cid);
	put_le16(p + OFF(rtrs_msg_conn_req, cid_num), in->cid_num);
	put_le16(p + OFF(rtrs_msg_conn_req, recon_cnt), in->recon_cnt);
	memcpy(p + OFF(rtrs_msg_conn_req, sess_uuid), in->sess_uuid, 16);
	memcpy(p + OFF(rtrs_msg_conn_req, paths_uuid), in->paths_uuid, 16);
	p[CONN_REQ_FLAGS_OFF] = in->first_conn ? 1 : 0;
	return RTRS_CONN_REQ_LEN;
}

int rtrs_conn_req_decode(const void *buf, size_t len, struct rtrs_conn_req *out)
{
	const uint8_t *p = buf;
	struct rtrs_conn_req req;
	int ret;

	ret = check_len("conn_req", len, RTRS_CONN_REQ_LEN);
	if (ret)
		return ret;
	req.version = get_le16(p + OFF(rtrs_msg_conn_req, version));
	ret = check_magic_version("conn_req", get_le16(p + OFF(rtrs_msg_conn_req, magic)),
				  req.version);
	if (ret)
		return ret;
	req.cid = get_le16(p + OFF(rtrs_msg_conn_req, cid));
	req.cid_num = get_le16(p + OFF(rtrs_msg_conn_req, cid_num));
	if (req.cid_num > RTRS_MAX_CID_NUM)
		return rnbd_err_set(-EPROTO, "RTRS conn_req: cid_num %u > %d", req.cid_num,
				    RTRS_MAX_CID_NUM);
	if (req.cid >= req.cid_num)
		return rnbd_err_set(-EPROTO, "RTRS conn_req: cid %u >= cid_num %u", req.cid,
				    req.cid_num);
	req.recon_cnt = get_le16(p + OFF(rtrs_msg_conn_req, recon_cnt));
	memcpy(req.sess_uuid, p + OFF(rtrs_msg_conn_req, sess_uuid), 16);
	memcpy(req.paths_uuid, p + OFF(rtrs_msg_conn_req, paths_uuid), 16);
	req.first_conn = p[CONN_REQ_FLAGS_OFF] & 1;
	*out = req;
	return 0;
}

int rtrs_conn_rsp_encode(const struct rtrs_conn_rsp *in, void *buf, size_t cap)
{
	uint8_t *p = buf;
	int ret;

	ret = check_cap("conn_rsp", cap, RTRS_CONN_RSP_LEN);
	if (ret)
		return ret;
	if (in->err > 0 || in->err < INT16_MIN)
		return rnbd_err_set(-EINVAL, "RTRS conn_rsp: errno %d not a 16-bit negative errno",
				    in->err);
	memset(p, 0, RTRS_CONN_RSP_LEN);
	put_le16(p + OFF(rtrs_msg_conn_rsp, magic), RTRS_MAGIC);
	put_le16(p + OFF(rtrs_msg_conn_rsp, version), RTRS_PROTO_VER);
	put_le16(p + CONN_RSP_ERRNO_OFF, (uint16_t)(int16_t)in->err);
	if (in->err)
		return RTRS_CONN_RSP_LEN;
	put_le16(p + OFF(rtrs_msg_conn_rsp, queue_depth), in->queue_depth);
	put_le32(p + OFF(rtrs_msg_conn_rsp, max_io_size), in->max_io_size);
	put_le32(p + OFF(rtrs_msg_conn_rsp, max_hdr_size), in->max_hdr_size);
	put_le32(p + OFF(rtrs_msg_conn_rsp, flags), in->flags);
	return RTRS_CONN_RSP_LEN;
}

static int check_range(const char *what, uint32_t v, uint32_t lo, uint32_t hi)
{
	if (v < lo || v > hi)
		return rnbd_err_set(-EPROTO, "RTRS conn_rsp: %s %u outside %u..%u", what, v, lo,
				    hi);
	return 0;
}

int rtrs_conn_rsp_decode(const void *buf, size_t len, struct rtrs_conn_rsp *out)
{
	const uint8_t *p = buf;
	struct rtrs_conn_rsp rsp = { 0 };
	int ret;

	ret = check_len("conn_rsp", len, RTRS_CONN_RSP_LEN);
	if (ret)
		return ret;
	rsp.version = get_le16(p + OFF(rtrs_msg_conn_rsp, version));
	ret = check_magic_version("conn_rsp", get_le16(p + OFF(rtrs_msg_conn_rsp, magic)),
				  rsp.version);
	if (ret)
		return ret;
	rsp.err = (int16_t)get_le16(p + CONN_RSP_ERRNO_OFF);
	if (rsp.err > 0)
		rsp.err = -ECONNRESET;
	if (rsp.err) {
		*out = rsp;
		return 0;
	}
	rsp.queue_depth = get_le16(p + OFF(rtrs_msg_conn_rsp, queue_depth));
	rsp.max_io_size = get_le32(p + OFF(rtrs_msg_conn_rsp, max_io_size));
	rsp.max_hdr_size = get_le32(p + OFF(rtrs_msg_conn_rsp, max_hdr_size));
	rsp.flags = get_le32(p + OFF(rtrs_msg_conn_rsp, flags));
	ret = check_range("queue_depth", rsp.queue_depth, 1, MAX_SESS_QUEUE_DEPTH);
	if (!ret)
		ret = check_range("max_hdr_size", rsp.max_hdr_size, 512, 65535);
	if (!ret)
		ret = check_range("max_io_size", rsp.max_io_size, 4096, 16u << 20);
	if (ret)
		return ret;
	*out = rsp;
	return 0;
}

int rtrs_sessname_check(const char *name)
{
	if (!name[0])
		return rnbd_err_set(-EINVAL, "empty session name");
	if (strnlen(name, RTRS_NAME_MAX) >= RTRS_NAME_MAX)
		return rnbd_err_set(-EINVAL, "session name longer than %d bytes", RTRS_NAME_MAX - 1);
	if (strpbrk(name, "/."))
		return rnbd_err_set(-EINVAL, "session name '%s' contains '/' or '.'", name);
	return 0;
}

int rtrs_info_req_encode(const struct rtrs_info_req *in, void *buf, size_t cap)
{
	uint8_t *p = buf;
	int ret;

	ret = check_cap("info_req", cap, RTRS_INFO_REQ_LEN);
	if (!ret)
		ret = rtrs_sessname_check(in->pathname);
	if (ret)
		return ret;
	memset(p, 0, RTRS_INFO_REQ_LEN);
	put_le16(p + OFF(rtrs_msg_info_req, type), RTRS_MSG_INFO_REQ);
	memcpy(p + OFF(rtrs_msg_info_req, pathname), in->pathname, strlen(in->pathname));
	return RTRS_INFO_REQ_LEN;
}

int rtrs_info_req_decode(const void *buf, size_t len, struct rtrs_info_req *out)
{
	const uint8_t *p = buf;
	const uint8_t *name = p + OFF(rtrs_msg_info_req, pathname);
	const uint8_t *nul;
	uint16_t type;
	int ret;

	if (len < RTRS_INFO_REQ_LEN)
		return rnbd_err_set(-EINVAL, "RTRS info_req too short: %zu bytes, need %zu", len,
				    RTRS_INFO_REQ_LEN);
	type = get_le16(p + OFF(rtrs_msg_info_req, type));
	if (type != RTRS_MSG_INFO_REQ)
		return rnbd_err_set(-EINVAL, "RTRS info_req: type %u, want %d", type,
				    RTRS_MSG_INFO_REQ);
	nul = memchr(name, '\0', RTRS_NAME_MAX);
	if (!nul)
		return rnbd_err_set(-EINVAL, "RTRS info_req: session name not NUL-terminated");
	ret = rtrs_sessname_check((const char *)name);
	if (ret)
		return ret;
	memcpy(out->pathname, name, nul - name + 1);
	return 0;
}

int rtrs_info_rsp_encode(const struct rtrs_sg *desc, uint16_t sg_cnt, void *buf, size_t cap)
{
	size_t need = RTRS_INFO_RSP_HDR_LEN + (size_t)sg_cnt * RTRS_SG_DESC_LEN;
	uint8_t *p = buf;
	int ret;

	ret = check_cap("info_rsp", cap, need);
	if (ret)
		return ret;
	memset(p, 0, need);
	put_le16(p + OFF(rtrs_msg_info_rsp, type), RTRS_MSG_INFO_RSP);
	put_le16(p + OFF(rtrs_msg_info_rsp, sg_cnt), sg_cnt);
	for (uint16_t i = 0; i < sg_cnt; i++) {
		uint8_t *d = p + RTRS_INFO_RSP_HDR_LEN + (size_t)i * RTRS_SG_DESC_LEN;

		put_le64(d + OFF(rtrs_sg_desc, addr), desc[i].addr);
		put_le32(d + OFF(rtrs_sg_desc, key), desc[i].key);
		put_le32(d + OFF(rtrs_sg_desc, len), desc[i].len);
	}
	return (int)need;
}

int rtrs_info_rsp_decode(const void *buf, size_t len, uint16_t *sg_cnt)
{
	const uint8_t *p = buf;
	uint16_t type, cnt;
	int ret;

	ret = check_len("info_rsp", len, RTRS_INFO_RSP_HDR_LEN);
	if (ret)
		return ret;
	type = get_le16(p + OFF(rtrs_msg_info_rsp, type));
	if (type != RTRS_MSG_INFO_RSP)
		return rnbd_err_set(-EPROTO, "RTRS info_rsp: type %u, want %d", type,
				    RTRS_MSG_INFO_RSP);
	cnt = get_le16(p + OFF(rtrs_msg_info_rsp, sg_cnt));
	ret = check_len("info_rsp descriptors", len,
			RTRS_INFO_RSP_HDR_LEN + (size_t)cnt * RTRS_SG_DESC_LEN);
	if (ret)
		return ret;
	*sg_cnt = cnt;
	return 0;
}

static void sg_desc_read(const uint8_t *d, struct rtrs_sg *sg)
{
	sg->addr = get_le64(d + OFF(rtrs_sg_desc, addr));
	sg->key = get_le32(d + OFF(rtrs_sg_desc, key));
	sg->len = get_le32(d + OFF(rtrs_sg_desc, len));
}

int rtrs_info_rsp_map_chunks(const void *buf, size_t len, uint32_t queue_depth,
			     uint32_t chunk_size, struct rtrs_rbuf *rbuf)
{
	const uint8_t *p = buf;
	uint32_t chunk = 0;
	uint16_t sg_cnt = 0;	/* gcc 12 -O3 cannot see the decoder set it */
	int ret;

	ret = rtrs_info_rsp_decode(buf, len, &sg_cnt);
	if (ret)
		return ret;
	if (!sg_cnt || queue_depth % sg_cnt)
		return rnbd_err_set(-EPROTO, "RTRS info_rsp: sg_cnt %u does not divide queue_depth %u",
				    sg_cnt, queue_depth);
	if (!chunk_size ||
	    rtrs_chunk_bits(sg_cnt) + rtrs_chunk_bits(chunk_size) > MAX_IMM_PAYL_BITS)
		return rnbd_err_set(-EPROTO, "RTRS info_rsp: sg_cnt %u x chunk_size %u exceed the imm",
				    sg_cnt, chunk_size);
	for (uint16_t i = 0; i < sg_cnt; i++) {
		struct rtrs_sg sg;

		sg_desc_read(p + RTRS_INFO_RSP_HDR_LEN + (size_t)i * RTRS_SG_DESC_LEN, &sg);
		if (!sg.len || sg.len % chunk_size)
			return rnbd_err_set(-EPROTO, "RTRS info_rsp: desc %u len %u not a multiple of chunk_size %u",
					    i, sg.len, chunk_size);
		if (sg.addr > UINT64_MAX - sg.len)
			return rnbd_err_set(-EPROTO, "RTRS info_rsp: desc %u wraps the address space", i);
		for (uint32_t off = 0; off < sg.len; off += chunk_size, chunk++) {
			if (chunk >= queue_depth)
				return rnbd_err_set(-EPROTO, "RTRS info_rsp: descriptors cover more than %u chunks",
						    queue_depth);
			rbuf[chunk].addr = sg.addr + off;
			rbuf[chunk].rkey = sg.key;
		}
	}
	if (chunk != queue_depth)
		return rnbd_err_set(-EPROTO, "RTRS info_rsp: descriptors cover %u of %u chunks", chunk,
				    queue_depth);
	return 0;
}

int rtrs_rkey_rsp_encode(const struct rtrs_rkey_rsp *in, void *buf, size_t cap)
{
	uint8_t *p = buf;
	int ret = check_cap("rkey_rsp", cap, RTRS_RKEY_RSP_LEN);

	if (ret)
		return ret;
	put_le16(p + OFF(rtrs_msg_rkey_rsp, type), RTRS_MSG_RKEY_RSP);
	put_le16(p + OFF(rtrs_msg_rkey_rsp, buf_id), in->buf_id);
	put_le32(p + OFF(rtrs_msg_rkey_rsp, rkey), in->rkey);
	return RTRS_RKEY_RSP_LEN;
}

int rtrs_rkey_rsp_decode(const void *buf, size_t len, uint32_t queue_depth, uint32_t msg_id,
			 struct rtrs_rkey_rsp *out)
{
	const uint8_t *p = buf;
	uint16_t type, buf_id;
	int ret;

	ret = check_len("rkey_rsp", len, RTRS_RKEY_RSP_LEN);
	if (ret)
		return ret;
	type = get_le16(p + OFF(rtrs_msg_rkey_rsp, type));
	if (type != RTRS_MSG_RKEY_RSP)
		return rnbd_err_set(-EPROTO, "RTRS rkey_rsp: type %u, want %d", type,
				    RTRS_MSG_RKEY_RSP);
	buf_id = get_le16(p + OFF(rtrs_msg_rkey_rsp, buf_id));
	if (buf_id >= queue_depth || buf_id != msg_id)
		return rnbd_err_set(-EPROTO, "RTRS rkey_rsp: buf_id %u (msg_id %u, queue_depth %u)",
				    buf_id, msg_id, queue_depth);
	out->buf_id = buf_id;
	out->rkey = get_le32(p + OFF(rtrs_msg_rkey_rsp, rkey));
	return 0;
}

int rtrs_write_trailer_encode(uint16_t usr_len, void *buf, size_t cap)
{
	uint8_t *p = buf;
	int ret = check_cap("write trailer", cap, RTRS_WRITE_TRAILER_LEN);

	if (ret)
		return ret;
	put_le16(p + OFF(rtrs_msg_rdma_write, type), RTRS_MSG_WRITE);
	put_le16(p + OFF(rtrs_msg_rdma_write, usr_len), usr_len);
	return RTRS_WRITE_TRAILER_LEN;
}

int rtrs_read_trailer_encode(uint16_t usr_len, uint16_t flags, const struct rtrs_sg *desc,
			     void *buf, size_t cap)
{
	size_t need = RTRS_READ_TRAILER_LEN + (desc ? RTRS_SG_DESC_LEN : 0);
	uint8_t *p = buf;
	int ret = check_cap("read trailer", cap, need);

	if (ret)
		return ret;
	put_le16(p + OFF(rtrs_msg_rdma_read, type), RTRS_MSG_READ);
	put_le16(p + OFF(rtrs_msg_rdma_read, usr_len), usr_len);
	put_le16(p + OFF(rtrs_msg_rdma_read, flags), flags);
	put_le16(p + OFF(rtrs_msg_rdma_read, sg_cnt), desc ? 1 : 0);
	if (desc) {
		uint8_t *d = p + RTRS_READ_TRAILER_LEN;

		put_le64(d + OFF(rtrs_sg_desc, addr), desc->addr);
		put_le32(d + OFF(rtrs_sg_desc, key), desc->key);
		put_le32(d + OFF(rtrs_sg_desc, len), desc->len);
	}
	return (int)need;
}

int rtrs_chunk_req_parse(const void *chunk, uint32_t chunk_size, uint32_t off,
			 struct rtrs_chunk_req *out)
{
	struct rtrs_chunk_req req = { 0 };
	const uint8_t *t;
	size_t room;

	if (off >= chunk_size || chunk_size - off < RTRS_WRITE_TRAILER_LEN)
		return rnbd_err_set(-EPROTO, "RTRS request: trailer offset %u outside chunk of %u",
				    off, chunk_size);
	t = (const uint8_t *)chunk + off;
	room = chunk_size - off;
	req.type = get_le16(t + OFF(rtrs_msg_rdma_hdr, type));
	req.usr_len = get_le16(t + OFF(rtrs_msg_rdma_write, usr_len));
	if (req.type != RTRS_MSG_WRITE && req.type != RTRS_MSG_READ)
		return rnbd_err_set(-EPROTO, "RTRS request: trailer type %u", req.type);
	if (req.usr_len > off)
		return rnbd_err_set(-EPROTO, "RTRS request: usr_len %u > trailer offset %u",
				    req.usr_len, off);
	req.usr_off = off - req.usr_len;
	req.data_len = req.usr_off;
	if (req.type == RTRS_MSG_READ) {
		if (room < RTRS_READ_TRAILER_LEN)
			return rnbd_err_set(-EPROTO, "RTRS read trailer at %u overruns chunk of %u",
					    off, chunk_size);
		req.flags = get_le16(t + OFF(rtrs_msg_rdma_read, flags));
		req.sg_cnt = get_le16(t + OFF(rtrs_msg_rdma_read, sg_cnt));
		if (req.sg_cnt > 1)
			return rnbd_err_set(-EPROTO, "RTRS read trailer: sg_cnt %u", req.sg_cnt);
		if (req.sg_cnt) {
			if (room < RTRS_READ_TRAILER_LEN + RTRS_SG_DESC_LEN)
				return rnbd_err_set(-EPROTO, "RTRS read descriptor at %u overruns chunk of %u",
						    off, chunk_size);
			sg_desc_read(t + RTRS_READ_TRAILER_LEN, &req.desc);
			if (!req.desc.len || req.desc.len > chunk_size)
				return rnbd_err_set(-EPROTO, "RTRS read descriptor len %u outside 1..%u",
						    req.desc.len, chunk_size);
		}
	}
	*out = req;
	return 0;
}
