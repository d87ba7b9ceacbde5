// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <string.h>

#include "rnbd-msg.h"
#include "util/endian.h"
#include "util/err.h"

#define OFF(type, field) offsetof(struct type, field)
#define SECTOR_SIZE (1u << RNBD_SECTOR_SHIFT)

static const char *const msg_names[] = {
	[RNBD_MSG_SESS_INFO] = "SESS_INFO",
	[RNBD_MSG_SESS_INFO_RSP] = "SESS_INFO_RSP",
	[RNBD_MSG_OPEN] = "OPEN",
	[RNBD_MSG_OPEN_RSP] = "OPEN_RSP",
	[RNBD_MSG_IO] = "IO",
	[RNBD_MSG_CLOSE] = "CLOSE",
};

static int check_len(const char *what, size_t len, size_t need)
{
	if (len < need)
		return rnbd_err_set(-EINVAL, "RNBD %s message too short: %zu bytes, need %zu",
				    what, len, need);
	return 0;
}

/* Length and type check shared by every decoder. */
static int check_msg(const void *buf, size_t len, uint16_t type, size_t need)
{
	uint16_t got;
	int ret;

	ret = check_len(msg_names[type], len, need);
	if (ret)
		return ret;
	got = get_le16(buf);
	if (got != type)
		return rnbd_err_set(-EINVAL, "RNBD message type %u where %s (%u) was expected",
				    got, msg_names[type], type);
	return 0;
}

/* Zero the message and write its header; the caller fills the rest. */
static int start_msg(void *buf, size_t cap, uint16_t type, size_t len)
{
	if (cap < len)
		return rnbd_err_set(-ENOSPC, "buffer of %zu bytes too small for RNBD %s (%zu)",
				    cap, msg_names[type], len);
	memset(buf, 0, len);
	put_le16(buf, type);
	return 0;
}

int rnbd_msg_type_peek(const void *buf, size_t len)
{
	int ret = check_len("header", len, sizeof(struct rnbd_msg_hdr));

	return ret ? ret : get_le16(buf);
}

static int sess_info_encode(uint16_t type, uint8_t ver, void *buf, size_t cap)
{
	int ret = start_msg(buf, cap, type, RNBD_SESS_INFO_LEN);

	if (ret)
		return ret;
	((uint8_t *)buf)[OFF(rnbd_msg_sess_info, ver)] = ver;
	return RNBD_SESS_INFO_LEN;
}

int rnbd_req_sess_info_encode(const struct rnbd_req_sess_info *in, void *buf, size_t cap)
{
	return sess_info_encode(RNBD_MSG_SESS_INFO, in->ver, buf, cap);
}

int rnbd_rsp_sess_info_encode(const struct rnbd_rsp_sess_info *in, void *buf, size_t cap)
{
	return sess_info_encode(RNBD_MSG_SESS_INFO_RSP, in->ver, buf, cap);
}

int rnbd_req_sess_info_decode(const void *buf, size_t len, struct rnbd_req_sess_info *out)
{
	int ret = check_msg(buf, len, RNBD_MSG_SESS_INFO, RNBD_SESS_INFO_LEN);

	if (ret)
		return ret;
	out->ver = ((const uint8_t *)buf)[OFF(rnbd_msg_sess_info, ver)];
	return 0;
}

int rnbd_rsp_sess_info_decode(const void *buf, size_t len, struct rnbd_rsp_sess_info *out)
{
	int ret = check_msg(buf, len, RNBD_MSG_SESS_INFO_RSP, RNBD_SESS_INFO_RSP_LEN);

	if (ret)
		return ret;
	out->ver = ((const uint8_t *)buf)[OFF(rnbd_msg_sess_info_rsp, ver)];
	return 0;
}

static int check_access_mode(unsigned int mode)
{
	if (mode > RNBD_ACCESS_MIGRATION)
		return rnbd_err_set(-EINVAL, "invalid access mode %u (0 ro, 1 rw, 2 migration)",
				    mode);
	return 0;
}

int rnbd_req_open_encode(const struct rnbd_req_open *in, void *buf, size_t cap)
{
	size_t n = strnlen(in->dev_name, RNBD_NAME_MAX);
	uint8_t *p = buf;
	int ret;

	if (n == RNBD_NAME_MAX)
		return rnbd_err_set(-ENAMETOOLONG, "device name longer than %d bytes",
				    RNBD_NAME_MAX - 1);
	ret = check_access_mode(in->access_mode);
	if (!ret)
		ret = start_msg(buf, cap, RNBD_MSG_OPEN, RNBD_OPEN_LEN);
	if (ret)
		return ret;
	p[OFF(rnbd_msg_open, access_mode)] = in->access_mode;
	memcpy(p + OFF(rnbd_msg_open, dev_name), in->dev_name, n);
	return RNBD_OPEN_LEN;
}

int rnbd_req_open_decode(const void *buf, size_t len, struct rnbd_req_open *out)
{
	const uint8_t *p = buf;
	const uint8_t *name = p + OFF(rnbd_msg_open, dev_name);
	const uint8_t *nul;
	int ret;

	ret = check_msg(buf, len, RNBD_MSG_OPEN, RNBD_OPEN_LEN);
	if (ret)
		return ret;
	ret = check_access_mode(p[OFF(rnbd_msg_open, access_mode)]);
	if (ret)
		return ret;
	/* Only the bytes up to the NUL are meaningful: the rest is garbage. */
	nul = memchr(name, '\0', RNBD_NAME_MAX);
	if (!nul)
		return rnbd_err_set(-EINVAL, "device name not NUL-terminated within %d bytes",
				    RNBD_NAME_MAX);
	out->access_mode = p[OFF(rnbd_msg_open, access_mode)];
	memcpy(out->dev_name, name, nul - name + 1);
	return 0;
}

static int check_block_size(uint16_t lbs)
{
	if (lbs < SECTOR_SIZE || (lbs & (lbs - 1)))
		return rnbd_err_set(-EINVAL, "invalid logical block size %u", lbs);
	return 0;
}

int rnbd_rsp_open_encode(const struct rnbd_rsp_open *in, void *buf, size_t cap)
{
	uint8_t *p = buf;
	int ret;

	ret = check_block_size(in->logical_block_size);
	if (!ret)
		ret = start_msg(buf, cap, RNBD_MSG_OPEN_RSP, RNBD_OPEN_RSP_LEN);
	if (ret)
		return ret;
	put_le32(p + OFF(rnbd_msg_open_rsp, device_id), in->device_id);
	put_le64(p + OFF(rnbd_msg_open_rsp, nsectors), in->nsectors);
	put_le32(p + OFF(rnbd_msg_open_rsp, max_hw_sectors), in->max_hw_sectors);
	put_le32(p + OFF(rnbd_msg_open_rsp, max_write_zeroes_sectors),
		 in->max_write_zeroes_sectors);
	put_le32(p + OFF(rnbd_msg_open_rsp, max_discard_sectors), in->max_discard_sectors);
	put_le32(p + OFF(rnbd_msg_open_rsp, discard_granularity), in->discard_granularity);
	put_le32(p + OFF(rnbd_msg_open_rsp, discard_alignment), in->discard_alignment);
	put_le16(p + OFF(rnbd_msg_open_rsp, physical_block_size), in->physical_block_size);
	put_le16(p + OFF(rnbd_msg_open_rsp, logical_block_size), in->logical_block_size);
	put_le16(p + OFF(rnbd_msg_open_rsp, max_segments), in->max_segments);
	put_le16(p + OFF(rnbd_msg_open_rsp, secure_discard), in->secure_discard);
	p[OFF(rnbd_msg_open_rsp, cache_policy)] = in->cache_policy;
	return RNBD_OPEN_RSP_LEN;
}

int rnbd_rsp_open_decode(const void *buf, size_t len, struct rnbd_rsp_open *out)
{
	const uint8_t *p = buf;
	int ret;

	ret = check_msg(buf, len, RNBD_MSG_OPEN_RSP, RNBD_OPEN_RSP_LEN);
	if (ret)
		return ret;
	ret = check_block_size(get_le16(p + OFF(rnbd_msg_open_rsp, logical_block_size)));
	if (ret)
		return ret;
	out->device_id = get_le32(p + OFF(rnbd_msg_open_rsp, device_id));
	out->nsectors = get_le64(p + OFF(rnbd_msg_open_rsp, nsectors));
	out->max_hw_sectors = get_le32(p + OFF(rnbd_msg_open_rsp, max_hw_sectors));
	out->max_write_zeroes_sectors =
		get_le32(p + OFF(rnbd_msg_open_rsp, max_write_zeroes_sectors));
	out->max_discard_sectors = get_le32(p + OFF(rnbd_msg_open_rsp, max_discard_sectors));
	out->discard_granularity = get_le32(p + OFF(rnbd_msg_open_rsp, discard_granularity));
	out->discard_alignment = get_le32(p + OFF(rnbd_msg_open_rsp, discard_alignment));
	out->physical_block_size = get_le16(p + OFF(rnbd_msg_open_rsp, physical_block_size));
	out->logical_block_size = get_le16(p + OFF(rnbd_msg_open_rsp, logical_block_size));
	out->max_segments = get_le16(p + OFF(rnbd_msg_open_rsp, max_segments));
	out->secure_discard = get_le16(p + OFF(rnbd_msg_open_rsp, secure_discard));
	out->cache_policy = p[OFF(rnbd_msg_open_rsp, cache_policy)];
	return 0;
}

int rnbd_req_close_encode(const struct rnbd_req_close *in, void *buf, size_t cap)
{
	int ret = start_msg(buf, cap, RNBD_MSG_CLOSE, RNBD_CLOSE_LEN);

	if (ret)
		return ret;
	put_le32((uint8_t *)buf + OFF(rnbd_msg_close, device_id), in->device_id);
	return RNBD_CLOSE_LEN;
}

int rnbd_req_close_decode(const void *buf, size_t len, struct rnbd_req_close *out)
{
	int ret = check_msg(buf, len, RNBD_MSG_CLOSE, RNBD_CLOSE_LEN);

	if (ret)
		return ret;
	out->device_id = get_le32((const uint8_t *)buf + OFF(rnbd_msg_close, device_id));
	return 0;
}

static int check_io(const struct rnbd_req_io *io)
{
	uint32_t op = rnbd_io_op(io->rw);

	if (op >= RNBD_OP_LAST)
		return rnbd_err_set(-EOPNOTSUPP, "unknown RNBD op %u (rw 0x%x)", op, io->rw);
	if (op == RNBD_OP_FLUSH) {
		if (io->bi_size)
			return rnbd_err_set(-EINVAL, "FLUSH with bi_size %u", io->bi_size);
		return 0;
	}
	if (io->bi_size % SECTOR_SIZE)
		return rnbd_err_set(-EINVAL, "%s bi_size %u is not a multiple of %u",
				    rnbd_op_str(op), io->bi_size, SECTOR_SIZE);
	if (io->sector > (UINT64_MAX >> RNBD_SECTOR_SHIFT) ||
	    (io->sector << RNBD_SECTOR_SHIFT) > UINT64_MAX - io->bi_size)
		return rnbd_err_set(-ERANGE, "%s at sector %llu + %u bytes overflows",
				    rnbd_op_str(op), (unsigned long long)io->sector, io->bi_size);
	return 0;
}

int rnbd_req_io_encode(const struct rnbd_req_io *in, void *buf, size_t cap)
{
	uint8_t *p = buf;
	int ret;

	ret = check_io(in);
	if (!ret)
		ret = start_msg(buf, cap, RNBD_MSG_IO, RNBD_IO_LEN);
	if (ret)
		return ret;
	put_le32(p + OFF(rnbd_msg_io, device_id), in->device_id);
	put_le64(p + OFF(rnbd_msg_io, sector), in->sector);
	put_le32(p + OFF(rnbd_msg_io, rw), in->rw);
	put_le32(p + OFF(rnbd_msg_io, bi_size), in->bi_size);
	put_le16(p + OFF(rnbd_msg_io, prio), in->prio);
	return RNBD_IO_LEN;
}

int rnbd_req_io_decode(const void *buf, size_t len, struct rnbd_req_io *out)
{
	const uint8_t *p = buf;
	struct rnbd_req_io io;
	int ret;

	ret = check_msg(buf, len, RNBD_MSG_IO, RNBD_MSG_IO_MIN_LEN);
	if (ret)
		return ret;
	io.device_id = get_le32(p + OFF(rnbd_msg_io, device_id));
	io.sector = get_le64(p + OFF(rnbd_msg_io, sector));
	io.rw = get_le32(p + OFF(rnbd_msg_io, rw));
	io.bi_size = get_le32(p + OFF(rnbd_msg_io, bi_size));
	io.prio = get_le16(p + OFF(rnbd_msg_io, prio));
	ret = check_io(&io);
	if (ret)
		return ret;
	if (rnbd_io_op(io.rw) == RNBD_OP_FLUSH)
		io.sector = 0;
	*out = io;
	return 0;
}

int rnbd_req_io_check_data_len(const struct rnbd_req_io *io, size_t data_len)
{
	uint32_t op = rnbd_io_op(io->rw);
	size_t want = rnbd_op_has_data(op) ? io->bi_size : 0;

	if (data_len != want)
		return rnbd_err_set(-EINVAL, "%s of bi_size %u carries %zu data bytes, expected %zu",
				    rnbd_op_str(op), io->bi_size, data_len, want);
	return 0;
}

const char *rnbd_access_mode_str(unsigned int mode)
{
	switch (mode) {
	case RNBD_ACCESS_RO:
		return "ro";
	case RNBD_ACCESS_RW:
		return "rw";
	case RNBD_ACCESS_MIGRATION:
		return "migration";
	}
	return "unknown";
}

const char *rnbd_op_str(uint32_t op)
{
	static const char *const names[] = {
		[RNBD_OP_READ] = "READ",
		[RNBD_OP_WRITE] = "WRITE",
		[RNBD_OP_FLUSH] = "FLUSH",
		[RNBD_OP_DISCARD] = "DISCARD",
		[RNBD_OP_SECURE_ERASE] = "SECURE_ERASE",
		[RNBD_OP_WRITE_ZEROES] = "WRITE_ZEROES",
	};

	return op < RNBD_OP_LAST ? names[op] : "UNKNOWN";
}
