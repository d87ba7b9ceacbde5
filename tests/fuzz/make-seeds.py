#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the libFuzzer seed corpora: OUTDIR/<harness>/<seed>.

Each seed is a valid message (most taken from the golden vectors of
tests/unit), or for fuzz-rnbd-server a session's worth of them, wrapped in
the harness's input layout, written independently of the library's encoders
so that a codec bug cannot hide in both.  The layouts are described at the
top of each fuzz-*.c.
"""
import shutil
import struct
import sys
from pathlib import Path


def u8(v):
    return struct.pack('<B', v)


def le16(v):
    return struct.pack('<H', v)


def le32(v):
    return struct.pack('<I', v & 0xffffffff)


def le64(v):
    return struct.pack('<Q', v)


def hexb(s):
    return bytes.fromhex(s)


def pad(b, n):
    assert len(b) <= n
    return b + bytes(n - len(b))


# --- fuzz-rnbd-msg: [selector][IO: le32 data_len][message] --------------------
RNBD_PEEK, RNBD_SESS, RNBD_SESS_RSP, RNBD_OPEN, RNBD_OPEN_RSP, RNBD_CLOSE, RNBD_IO = range(7)
MSG_SESS_INFO, MSG_SESS_INFO_RSP, MSG_OPEN, MSG_OPEN_RSP, MSG_IO, MSG_CLOSE = range(6)
OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD, OP_SECURE_ERASE, OP_WRITE_ZEROES = range(6)
F_SYNC, F_FUA, F_PREFLUSH, F_NOUNMAP = 1 << 8, 1 << 9, 1 << 10, 1 << 11


def rnbd_hdr(msg_type):
    return le16(msg_type) + le16(0)


def rnbd_open(mode, name):
    return pad(rnbd_hdr(MSG_OPEN) + u8(mode) + u8(0) + name + b'\0', 264)


def rnbd_io(dev, sector, rw, bi_size, prio=0, length=32):
    body = rnbd_hdr(MSG_IO) + le32(dev) + le64(sector) + le32(rw) + le32(bi_size) + le16(prio)
    return pad(body, length)


def rnbd_seeds():
    s = {}
    s['peek-io'] = u8(RNBD_PEEK) + rnbd_hdr(MSG_IO)
    s['sess-info'] = u8(RNBD_SESS) + pad(rnbd_hdr(MSG_SESS_INFO) + u8(2), 36)
    s['sess-info-rsp'] = u8(RNBD_SESS_RSP) + pad(rnbd_hdr(MSG_SESS_INFO_RSP) + u8(2), 36)
    # test-rnbd-msg.c open_ram0_rw
    s['open-ram0-rw'] = u8(RNBD_OPEN) + rnbd_open(1, b'/dev/ram0')
    s['open-longest-migration'] = u8(RNBD_OPEN) + rnbd_open(2, b'x' * 254)
    # test-rnbd-msg.c open_rsp_hex: 1 GiB, 4 KiB physical, 512 logical
    s['open-rsp'] = u8(RNBD_OPEN_RSP) + hexb(
        '03 00 00 00 03 00 00 00 00 00 20 00 00 00 00 00'
        'f8 00 00 00 00 00 01 00 00 40 00 00 00 10 00 00'
        '00 00 00 00 00 10 00 02 80 00 00 00 00 03 00 00'
        '00 00 00 00 00 00 00 00')
    s['close'] = u8(RNBD_CLOSE) + hexb('05 00 00 00 07 00 00 00')
    # test-rnbd-msg.c io_write_fua, with its 4096 data bytes
    s['io-write-fua'] = u8(RNBD_IO) + le32(4096) + hexb(
        '04 00 00 00 00 00 00 00 08 00 00 00 00 00 00 00'
        '01 02 00 00 00 10 00 00 00 00 00 00 00 00 00 00')
    s['io-read-i386'] = u8(RNBD_IO) + le32(8192) + rnbd_io(1, 1 << 40, OP_READ | F_SYNC,
                                                           8192, 0x4003, 28)
    s['io-flush'] = u8(RNBD_IO) + le32(0) + rnbd_io(0, 0xffffffffffffffff,
                                                    OP_FLUSH | F_SYNC | F_FUA, 0)
    s['io-discard'] = u8(RNBD_IO) + le32(0) + rnbd_io(2, 2048, OP_DISCARD, 1 << 20)
    s['io-write-zeroes-min'] = u8(RNBD_IO) + le32(0) + rnbd_io(
        3, 0, OP_WRITE_ZEROES | F_NOUNMAP, 512, 0, 26)
    return s


# --- fuzz-rtrs-msg: [selector][parameters][message] ---------------------------
RTRS_CONN_REQ, RTRS_CONN_RSP, RTRS_INFO_REQ, RTRS_INFO_RSP, RTRS_RKEY, RTRS_CHUNK = range(6)
MSG_INFO_REQ, MSG_INFO_RSP, MSG_WRITE, MSG_READ, MSG_RKEY_RSP = range(5)
RTRS_MAGIC, RTRS_VER = 0x1bbd, 0x0200
NEED_INVAL_F, NEW_RKEY_F = 1, 2

# test-rtrs-msg.c conn_req_golden: cid 0 of 2, recon_cnt 1, first_conn
CONN_REQ = hexb('00 00 bd 1b 00 02 00 00 02 00 01 00 3f 25 04 e0'
                '4f 89 41 d3 9a 0c 03 05 e8 2c 33 01 9b 1d eb 4d'
                '3b 7d 4b ad 9b dd 2b 0d 7b 3d cb 6d 01 00 00 00'
                '00 00 00 00 00 00 00 00')


def conn_rsp(err=0, qd=0, io=0, hdr=0, flags=0):
    return pad(le16(RTRS_MAGIC) + le16(RTRS_VER) + le16(err & 0xffff) + le16(qd) +
               le32(io) + le32(hdr) + le32(flags), 56)


def sg_desc(addr, key, length):
    return le64(addr) + le32(key) + le32(length)


def info_rsp(descs):
    return le16(MSG_INFO_RSP) + le16(len(descs)) + bytes(4) + b''.join(descs)


def chunk(size, off, trailer, fill=b'\x11'):
    assert off + len(trailer) <= size
    return le32(off) + fill * off + trailer + bytes(size - off - len(trailer))


def rtrs_msg_seeds():
    s = {}
    s['conn-req'] = u8(RTRS_CONN_REQ) + CONN_REQ
    # CM private data is padded to 196 bytes; minor version 7 is kept
    cm = bytearray(pad(CONN_REQ, 196))
    cm[4] = 7
    s['conn-req-cm-padded'] = u8(RTRS_CONN_REQ) + bytes(cm)
    s['conn-req-cid-max'] = u8(RTRS_CONN_REQ) + CONN_REQ[:6] + le16(4095) + le16(4096) + \
        CONN_REQ[10:]
    s['conn-rsp-accept'] = u8(RTRS_CONN_RSP) + conn_rsp(0, 512, 126976, 4096)
    s['conn-rsp-new-rkey'] = u8(RTRS_CONN_RSP) + conn_rsp(0, 65535, 16 << 20, 65535, NEW_RKEY_F)
    s['conn-rsp-reject'] = u8(RTRS_CONN_RSP) + conn_rsp(-6)
    s['info-req'] = u8(RTRS_INFO_REQ) + pad(le16(MSG_INFO_REQ) + b'client1\0', 272)
    s['info-req-longest'] = u8(RTRS_INFO_REQ) + pad(le16(MSG_INFO_REQ) + b's' * 254 + b'\0', 272)
    # test-rtrs-msg.c info_rsp_map_per_chunk: 4 chunks of 128 KiB, one MR each
    s['info-rsp-per-chunk'] = u8(RTRS_INFO_RSP) + le16(4) + le32(131072) + info_rsp(
        [sg_desc(0x100000 * (i + 1), 0x1000 + i, 131072) for i in range(4)])
    # info_rsp_map_single: one descriptor over 8 chunks of 8 KiB
    s['info-rsp-single'] = u8(RTRS_INFO_RSP) + le16(8) + le32(8192) + info_rsp(
        [sg_desc(0x7f0000000000, 77, 8 * 8192)])
    s['info-rsp-tcp'] = u8(RTRS_INFO_RSP) + le16(512) + le32(131072) + info_rsp([])
    s['rkey-rsp'] = u8(RTRS_RKEY) + le32(512) + le32(17) + hexb('04 00 11 00 01 ef cd ab')
    # [data 16][usr 8][write trailer] in a 32-byte chunk
    s['chunk-write'] = u8(RTRS_CHUNK) + chunk(32, 24, le16(MSG_WRITE) + le16(8))
    # [usr 16][read trailer + descriptor] in a 64-byte chunk
    s['chunk-read'] = u8(RTRS_CHUNK) + chunk(
        64, 16, le16(MSG_READ) + le16(16) + le16(NEED_INVAL_F) + le16(1) +
        sg_desc(0x1234567890, 0x55, 64))
    # a flush: read trailer without descriptor, right at the end of the chunk
    s['chunk-read-flush'] = u8(RTRS_CHUNK) + chunk(
        40, 32, le16(MSG_READ) + le16(32) + le16(0) + le16(0))
    return s


# --- fuzz-rtrs-imm: [selector][le32 value][parameter] -------------------------
IMM_IO_REQ, IMM_IO_RSP, IMM_WHOLE = range(3)


def rtrs_imm_seeds():
    s = {}
    # test-rtrs-imm.c: buf_id 1 at qd 128; the whole payload as offset at qd 1
    s['io-req-qd128'] = u8(IMM_IO_REQ) + le32(0x00200000) + le32(128)
    s['io-req-qd1'] = u8(IMM_IO_REQ) + le32(0x0fffffff) + le32(1)
    s['io-req-qd512'] = u8(IMM_IO_REQ) + le32((511 << 19) | 4128) + le32(512)
    s['io-req-qd65535'] = u8(IMM_IO_REQ) + le32((65534 << 12) | 0xfff) + le32(65535)
    s['io-rsp-eio'] = u8(IMM_IO_RSP) + le32((5 << 19) | 1) + u8(0)
    s['io-rsp-ok-inval'] = u8(IMM_IO_RSP) + le32(0x7ffff) + u8(1)
    s['imm-hb'] = u8(IMM_WHOLE) + le32(8 << 28)
    s['imm-hb-ack'] = u8(IMM_WHOLE) + le32(9 << 28)
    return s


# --- fuzz-rtrs-frame: [header][le32 max_hdr][le32 max_io][le32 qd][is_read][le32 read_len]
LIMITS = le32(4096) + le32(126976) + le32(512)


def frame_seeds():
    # test-rtrs-frame.c worked_example: rtrs-tcp.md section 14
    frames = {
        'conn-req': '52 54 01 00 38 00 00 00 00 00 00 00 01 00 00 00',
        'conn-rsp': '52 54 02 00 38 00 00 00 00 00 00 00 01 00 00 00',
        'info-req': '52 54 03 00 10 01 00 00 00 00 00 00 00 00 00 00',
        'info-rsp': '52 54 04 00 08 00 00 00 00 00 00 00 00 00 00 00',
        'write-req': '52 54 05 00 20 10 00 00 00 00 20 00 00 00 00 00',
        'write-rsp': '52 54 07 00 00 00 00 00 00 00 00 00 00 00 00 00',
        'read-req': '52 54 06 00 20 00 00 00 01 00 20 00 00 10 00 00',
        'hb': '52 54 08 00 00 00 00 00 00 00 00 00 01 00 00 00',
        'hb-ack': '52 54 09 00 00 00 00 00 00 00 00 00 01 00 00 00',
        'read-rsp-eio': '52 54 07 00 00 00 00 00 01 00 00 00 fb ff ff ff',
        'close': '52 54 0a 00 00 00 00 00 00 00 00 00 00 00 00 00',
    }
    s = {name: hexb(h) + LIMITS + u8(0) + le32(0) for name, h in frames.items()}
    s['read-rsp'] = hexb('52 54 07 00 00 10 00 00 01 00 00 00 00 00 00 00') + LIMITS + \
        u8(1) + le32(4096)
    return s


# --- fuzz-rnbd-server: records of [sel][flags][le16 data_len][le16 usr_len][usr]
# [write data: u8 seed, u8 n, n bytes]; sel bit 0 is the session
SRV_CLIENT, SRV_GUEST = 0, 1
SRV_FORCE, SRV_RECONNECT = 0x7e << 1, 0x7f << 1
ACCESS_RO, ACCESS_RW, ACCESS_MIGRATION = range(3)


def srv_req(sess, read, data_len, usr, seed=0, literal=b''):
    flags = (1 if read else 0) | (2 if data_len >= 0x10000 else 0)
    rec = u8(sess) + u8(flags) + le16(data_len & 0xffff) + le16(len(usr)) + usr
    if not read and data_len:
        rec += u8(seed) + u8(len(literal)) + literal
    return rec


def srv_sess_info(sess, ver=2):
    return srv_req(sess, True, 36, pad(rnbd_hdr(MSG_SESS_INFO) + u8(ver), 36))


def srv_open(sess, mode, name):
    return srv_req(sess, True, 56, rnbd_open(mode, name))


def srv_close(sess, dev, read=False, data_len=0):
    return srv_req(sess, read, data_len, rnbd_hdr(MSG_CLOSE) + le32(dev))


def srv_io(sess, dev, sector, rw, bi_size, seed=0, literal=b''):
    op = rw & 0xff
    read = op in (OP_READ, OP_FLUSH)
    data_len = bi_size if op in (OP_READ, OP_WRITE) else 0
    return srv_req(sess, read, data_len, rnbd_io(dev, sector, rw, bi_size), seed, literal)


def srv_seeds():
    s = {}
    c, g = SRV_CLIENT, SRV_GUEST
    s['sess-info'] = srv_sess_info(c)
    s['open-m1-rw'] = srv_sess_info(c) + srv_open(c, ACCESS_RW, b'm1')
    # 4 KiB at sector 8, read back, closed; then refusals
    s['write-read-close'] = (
        srv_sess_info(c) + srv_open(c, ACCESS_RW, b'm1') +
        srv_io(c, 0, 8, OP_WRITE | F_FUA, 4096, 0x42, b'hello, rnbd') +
        srv_io(c, 0, 8, OP_READ, 4096) + srv_close(c, 0) +
        srv_open(c, ACCESS_RW, b'../etc') + srv_io(c, 0, 8, OP_READ, 4096))
    s['open-dotdot'] = srv_open(c, ACCESS_RW, b'../etc')
    s['io-unknown-dev'] = srv_io(c, 7, 0, OP_READ, 512)
    # zeroing ops across the short last chunk of m3, and a flush
    s['zeroes'] = (
        srv_open(c, ACCESS_RW, b'm3') +
        srv_io(c, 0, 120, OP_WRITE, 8192, 7) +
        srv_io(c, 0, 124, OP_DISCARD, 4096) +
        srv_io(c, 0, 127, OP_WRITE_ZEROES | F_NOUNMAP, 512) +
        srv_io(c, 0, 128, OP_SECURE_ERASE, 8192) +
        srv_io(c, 0, 0, OP_FLUSH | F_SYNC | F_FUA, 0) +
        srv_io(c, 0, 120, OP_READ, 16384))
    # 64 KiB and more: the whole of m2, 68 KiB into m1, a read past m2's end
    s['big-io'] = (
        srv_open(c, ACCESS_RW, b'm2') +
        srv_io(c, 0, 0, OP_WRITE, 65536, 9) + srv_io(c, 0, 0, OP_READ, 65536) +
        srv_open(c, ACCESS_RW, b'm1') + srv_io(c, 1, 1024, OP_WRITE, 69632, 3) +
        srv_io(c, 1, 1024, OP_READ, 69632) + srv_io(c, 0, 8, OP_READ, 65536))
    # access modes and rules across the two sessions, the read-only export,
    # the device limit (3), a force close and a reconnect
    s['modes'] = (
        srv_open(g, ACCESS_RO, b'm1') + srv_open(g, ACCESS_RW, b'm1') +
        srv_open(g, ACCESS_RO, b'm3') + srv_open(g, ACCESS_MIGRATION, b'm2') +
        srv_open(c, ACCESS_MIGRATION, b'm2') + srv_open(c, ACCESS_RW, b'm2') +
        srv_open(c, ACCESS_RW, b'ro') + srv_open(c, ACCESS_RO, b'ro') +
        srv_open(c, ACCESS_RW, b'm1') + srv_open(c, ACCESS_RW, b'm3') +
        srv_io(c, 0, 0, OP_WRITE, 512, 1) + srv_io(g, 1, 0, OP_READ, 512) +
        srv_io(g, 0, 0, OP_WRITE, 512, 1) +
        u8(SRV_FORCE | c) + u8(0) + srv_io(c, 0, 0, OP_READ, 512) +
        srv_open(c, ACCESS_RW, b'm1') + srv_close(c, 0) +
        srv_open(c, ACCESS_RW, b'm1') +
        u8(SRV_RECONNECT | g) + srv_open(c, ACCESS_RW, b'm2'))
    # OPEN names: spellings of one export (each its own opener), what the
    # normalisation refuses, rules on the normal name; d/m4 has a '/'
    s['names'] = (
        srv_open(c, ACCESS_RO, b'/m1') + srv_open(c, ACCESS_RO, b'//m1') +
        srv_open(c, ACCESS_RO, b'/m1') + srv_open(c, ACCESS_RW, b'm2/') +
        srv_open(c, ACCESS_RW, b'./m2') + srv_open(c, ACCESS_RW, b'm2/.') +
        srv_open(c, ACCESS_RW, b'd/./m4') + srv_open(c, ACCESS_RW, b'') +
        srv_open(c, ACCESS_RW, b'///') + srv_open(c, ACCESS_RW, b'a..b') +
        srv_open(g, ACCESS_RW, b'//m3') + srv_open(g, ACCESS_RW, b'/d//m4') +
        srv_open(g, ACCESS_RO, b'd/m4') + srv_open(g, ACCESS_RW, b'/m1') +
        srv_open(c, ACCESS_RW, b'd//m4') + srv_io(c, 2, 0, OP_WRITE, 4096, 5) +
        srv_io(g, 0, 0, OP_READ, 4096))
    # CLOSE as an RTRS read, of an open id and of an unknown one: the
    # server sends back a zeroed buffer, never what the op held before
    s['close-read'] = (
        srv_open(c, ACCESS_RW, b'm1') + srv_close(c, 0, True, 64) +
        srv_close(c, 9, True, 0x10040))
    return s


HARNESSES = {
    'fuzz-rnbd-msg': rnbd_seeds,
    'fuzz-rtrs-msg': rtrs_msg_seeds,
    'fuzz-rtrs-imm': rtrs_imm_seeds,
    'fuzz-rtrs-frame': frame_seeds,
    'fuzz-rnbd-server': srv_seeds,
}


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make-seeds.py OUTDIR')
    out = Path(sys.argv[1])
    # Start clean so that a seed renamed or dropped here does not linger.
    if out.exists():
        shutil.rmtree(out)
    for harness, seeds in HARNESSES.items():
        d = out / harness
        d.mkdir(parents=True)
        for name, data in seeds().items():
            (d / name).write_bytes(data)


if __name__ == '__main__':
    main()
