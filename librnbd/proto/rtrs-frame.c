// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stddef.h>

#include "rtrs-frame.h"
#include "rtrs-msg.h"
#include "util/endian.h"
#include "util/err.h"

#define OFF(field) offsetof(struct rtrs_tcp_hdr, field)

void rtrs_frame_encode(const struct rtrs_frame *f, uint8_t out[RTRS_FRAME_HDR_LEN])
{
	put_le16(out + OFF(magic), RTRS_TCP_MAGIC);
	out[OFF(type)] = f->type;
	out[OFF(flags)] = 0;
	put_le32(out + OFF(len), f->len);
	put_le16(out + OFF(id), f->id);
	put_le16(out + OFF(usr_len), f->usr_len);
	put_le32(out + OFF(imm), f->imm);
}

/* Payload length a type must have, or -1 when it varies. */
static int64_t fixed_len(uint8_t type)
{
	switch (type) {
	case RTRS_TCP_CONN_REQ:
		return RTRS_CONN_REQ_LEN;
	case RTRS_TCP_CONN_RSP:
		return RTRS_CONN_RSP_LEN;
	case RTRS_TCP_INFO_REQ:
		return RTRS_INFO_REQ_LEN;
	case RTRS_TCP_INFO_RSP:
		return RTRS_TCP_INFO_RSP_LEN;
	case RTRS_TCP_HB:
	case RTRS_TCP_HB_ACK:
	case RTRS_TCP_CLOSE:
		return 0;
	}
	return -1;
}

int rtrs_frame_decode(const uint8_t in[RTRS_FRAME_HDR_LEN], struct rtrs_frame *f)
{
	uint16_t magic = get_le16(in + OFF(magic));
	struct rtrs_frame fr;
	int64_t want;

	if (magic != RTRS_TCP_MAGIC)
		return rnbd_err_set(-EPROTO, "frame: bad magic 0x%04x", magic);
	fr.type = in[OFF(type)];
	if (fr.type == 0 || fr.type >= RTRS_TCP_LAST)
		return rnbd_err_set(-EPROTO, "frame: invalid type %u", fr.type);
	fr.len = get_le32(in + OFF(len));
	fr.id = get_le16(in + OFF(id));
	fr.usr_len = get_le16(in + OFF(usr_len));
	fr.imm = get_le32(in + OFF(imm));
	want = fixed_len(fr.type);
	if (want >= 0 && fr.len != want)
		return rnbd_err_set(-EPROTO, "frame: %s with len %u, must be %lld",
				    rtrs_frame_type_str(fr.type), fr.len, (long long)want);
	*f = fr;
	return 0;
}

int rtrs_frame_check_req(const struct rtrs_frame *f, uint32_t max_hdr_size,
			 uint32_t max_io_size, uint32_t queue_depth)
{
	const char *name = rtrs_frame_type_str(f->type);

	if (f->usr_len > f->len)
		return rnbd_err_set(-EPROTO, "frame: %s usr_len %u > len %u", name, f->usr_len,
				    f->len);
	if (f->usr_len > max_hdr_size)
		return rnbd_err_set(-EPROTO, "frame: %s usr_len %u > max_hdr_size %u", name,
				    f->usr_len, max_hdr_size);
	if (f->type == RTRS_TCP_WRITE_REQ) {
		if (f->len - f->usr_len > max_io_size)
			return rnbd_err_set(-EPROTO, "frame: WRITE_REQ data %u > max_io_size %u",
					    f->len - f->usr_len, max_io_size);
	} else if (f->type == RTRS_TCP_READ_REQ) {
		if (f->len != f->usr_len)
			return rnbd_err_set(-EPROTO, "frame: READ_REQ len %u != usr_len %u", f->len,
					    f->usr_len);
		if (f->imm > max_io_size)
			return rnbd_err_set(-EPROTO, "frame: READ_REQ read_len %u > max_io_size %u",
					    f->imm, max_io_size);
	} else {
		return rnbd_err_set(-EPROTO, "frame: %s is not a request", name);
	}
	if (f->id >= queue_depth)
		return rnbd_err_set(-EPROTO, "frame: %s id %u >= queue_depth %u", name, f->id,
				    queue_depth);
	return 0;
}

int rtrs_frame_check_rsp(const struct rtrs_frame *f, bool is_read, uint32_t read_len)
{
	int32_t status = rtrs_frame_status(f);
	uint32_t want = is_read && status == 0 ? read_len : 0;

	if (f->type != RTRS_TCP_IO_RSP)
		return rnbd_err_set(-EPROTO, "frame: %s is not IO_RSP", rtrs_frame_type_str(f->type));
	if (status > 0)
		return rnbd_err_set(-EPROTO, "frame: IO_RSP id %u with positive status %d", f->id,
				    status);
	if (f->len != want)
		return rnbd_err_set(-EPROTO, "frame: IO_RSP id %u len %u, expected %u", f->id,
				    f->len, want);
	return 0;
}

const char *rtrs_frame_type_str(uint8_t type)
{
	static const char *const names[RTRS_TCP_LAST] = {
		[RTRS_TCP_CONN_REQ] = "CONN_REQ",   [RTRS_TCP_CONN_RSP] = "CONN_RSP",
		[RTRS_TCP_INFO_REQ] = "INFO_REQ",   [RTRS_TCP_INFO_RSP] = "INFO_RSP",
		[RTRS_TCP_WRITE_REQ] = "WRITE_REQ", [RTRS_TCP_READ_REQ] = "READ_REQ",
		[RTRS_TCP_IO_RSP] = "IO_RSP",	    [RTRS_TCP_HB] = "HB",
		[RTRS_TCP_HB_ACK] = "HB_ACK",	    [RTRS_TCP_CLOSE] = "CLOSE",
	};

	return type && type < RTRS_TCP_LAST ? names[type] : "INVALID";
}
