#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Misbehaving RTRS-over-TCP peers against our server and client.

Written from rtrs-tcp.md alone, with the standard library: it frames bytes
by hand, so nothing of librnbd is trusted.  Each case checks what the other
side must do (reject with the right errno, send CLOSE with the right reason,
drop the connection, reconnect) and that it keeps serving well-behaved peers.

usage: rtrs-badpeer.py RTRS_ECHO
"""
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid

HDR = struct.Struct("<HBBIHHI")
MAGIC = 0x5452
CONN_REQ, CONN_RSP, INFO_REQ, INFO_RSP, WRITE_REQ, READ_REQ, IO_RSP, HB, HB_ACK, CLOSE = range(1, 11)
ECONNRESET, ENXIO, EINVAL, EPROTO, EPROTONOSUPPORT, EEXIST = 104, 6, 22, 71, 93, 17

ECHO = sys.argv[1]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def frame(ftype, payload=b"", fid=0, usr_len=0, imm=0):
    return HDR.pack(MAGIC, ftype, 0, len(payload), fid, usr_len, imm & 0xFFFFFFFF) + payload


def conn_req(cid=0, cid_num=1, recon=1, sess=None, paths=None, first=1, magic=0x1BBD, ver=0x0200):
    return (struct.pack("<BBHHHHH", 0, 0, magic, ver, cid, cid_num, recon)
            + (sess or uuid.uuid4().bytes) + (paths or uuid.uuid4().bytes)
            + bytes([first]) + bytes(11))


def conn_rsp(err=0, qd=4, max_io=65536, max_hdr=4096, magic=0x1BBD):
    return struct.pack("<HHhHIII", magic, 0x0200, err, qd if not err else 0,
                       max_io if not err else 0, max_hdr if not err else 0, 0) + bytes(36)


def info_req(name):
    return struct.pack("<H", 0) + name.encode().ljust(255, b"\0") + bytes(15)


def recv_exact(s, n, timeout=5.0):
    s.settimeout(timeout)
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_frame(s, timeout=5.0, ack_hb=True):
    """(type, id, usr_len, imm, payload), or None on EOF.  HBs are answered
    (unless ack_hb is False: then they are skipped)."""
    while True:
        h = recv_exact(s, 16, timeout)
        if h is None:
            return None
        magic, ftype, _, flen, fid, usr_len, imm = HDR.unpack(h)
        assert magic == MAGIC, "bad magic from peer"
        payload = recv_exact(s, flen, timeout) if flen else b""
        if ftype == HB:
            if ack_hb:
                s.sendall(frame(HB_ACK, imm=imm))
            continue
        return ftype, fid, usr_len, struct.unpack("<i", struct.pack("<I", imm))[0], payload


def eof_within(s, seconds):
    """True if the peer closes within seconds (data before EOF is read)."""
    deadline = time.time() + seconds
    s.settimeout(0.2)
    while time.time() < deadline:
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True
    return False


def connect(port, host="127.0.0.1", rcvbuf=None):
    if rcvbuf is None:
        return socket.create_connection((host, port), timeout=5)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect((host, port))
    return s


def handshake(port, name, cid_num=1, rcvbuf=None):
    """A well-behaved client up to CONNECTED; returns the sockets."""
    sess, paths = uuid.uuid4().bytes, uuid.uuid4().bytes
    socks = []
    for cid in range(cid_num):
        s = connect(port, rcvbuf=rcvbuf)
        s.sendall(frame(CONN_REQ, conn_req(cid, cid_num, 1, sess, paths), imm=1))
        t, _, _, imm, p = recv_frame(s)
        assert t == CONN_RSP and imm == 1, "no CONN_RSP"
        assert struct.unpack_from("<h", p, 4)[0] == 0, "rejected"
        socks.append(s)
    socks[0].sendall(frame(INFO_REQ, info_req(name)))
    t, _, _, _, p = recv_frame(socks[0])
    assert t == INFO_RSP and p == struct.pack("<HH", 1, 0) + bytes(4), "bad INFO_RSP"
    return socks


def expect_close(s, reason, what, seconds=5.0):
    f = recv_frame(s, seconds)
    check(f is not None and f[0] == CLOSE and f[3] == -reason,
          f"{what}: CLOSE with -{reason} (got {f[:4] if f else 'EOF'})")
    check(eof_within(s, seconds), f"{what}: connection closed")


def expect_reject(s, err, what):
    f = recv_frame(s)
    ok = f is not None and f[0] == CONN_RSP and struct.unpack_from("<h", f[4], 4)[0] == -err
    check(ok, f"{what}: CONN_RSP reject -{err}")
    check(eof_within(s, 3), f"{what}: closed after the reject")


def server_cases():
    # -L: reads are answered from lent memory, which must all come back;
    # -b: a small send buffer keeps unread answers in the server's queue
    srv = subprocess.Popen([ECHO, "server", "-l", "127.0.0.1:0", "-w", "1", "-q", "16",
                            "-m", "65536", "-H", "300", "-L", "-b", "8192"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r":(\d+)$", srv.stdout.readline().strip()).group(1))

        s = connect(port)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        check(eof_within(s, 3) , "not RTRS: closed without an answer")

        s = connect(port)
        s.sendall(frame(CONN_REQ, conn_req(magic=0x1BBE), imm=1))
        expect_reject(s, ECONNRESET, "bad RTRS magic")

        s = connect(port)
        s.sendall(frame(CONN_REQ, conn_req(ver=0x0300), imm=1))
        expect_reject(s, ECONNRESET, "RTRS major version 3")

        s = connect(port)
        s.sendall(frame(CONN_REQ, conn_req(), imm=2))
        expect_reject(s, EPROTONOSUPPORT, "framing version 2")

        s = connect(port)
        s.sendall(frame(CONN_REQ, conn_req(first=0), imm=1))
        expect_reject(s, ENXIO, "join of an unknown session")

        s = connect(port)
        s.sendall(frame(CONN_REQ, conn_req(cid=2, cid_num=2), imm=1))
        expect_reject(s, ECONNRESET, "cid >= cid_num")

        s = connect(port)
        s.sendall(frame(CONN_REQ, conn_req(cid_num=4097), imm=1))
        expect_reject(s, ECONNRESET, "cid_num 4097")

        s = connect(port)
        s.sendall(frame(CONN_REQ, conn_req(), imm=1)[:40])
        check(eof_within(s, 3) is False, "half a CONN_REQ: still waiting (handshake timer runs)")
        s.close()

        s = connect(port)
        s.sendall(frame(CONN_REQ, conn_req(), imm=1))
        recv_frame(s)
        s.sendall(frame(INFO_REQ, info_req("a/b")))
        expect_close(s, EINVAL, "session name with '/'")

        s = connect(port)
        s.sendall(frame(CONN_REQ, conn_req(), imm=1))
        recv_frame(s)
        s.sendall(frame(WRITE_REQ, b"x" * 8, fid=0, usr_len=8))
        expect_close(s, EPROTO, "request before INFO_REQ")

        (s,) = handshake(port, "huge")
        s.sendall(HDR.pack(MAGIC, WRITE_REQ, 0, 0x80000000, 0, 16, 0))
        expect_close(s, EPROTO, "2 GiB WRITE_REQ, never read or allocated")

        (s,) = handshake(port, "qd")
        s.sendall(frame(WRITE_REQ, bytes(16), fid=16, usr_len=16))
        expect_close(s, EPROTO, "request id 16 with queue_depth 16")

        (s,) = handshake(port, "rdlen")
        s.sendall(frame(READ_REQ, bytes(16), fid=1, usr_len=16, imm=65537))
        expect_close(s, EPROTO, "READ_REQ for more than max_io_size")

        (s,) = handshake(port, "badtype")
        s.sendall(HDR.pack(MAGIC, 200, 0, 0, 0, 0, 0))
        expect_close(s, EPROTO, "frame type 200")

        (s,) = handshake(port, "hblen")
        s.sendall(HDR.pack(MAGIC, HB, 0, 4, 0, 0, 0) + b"abcd")
        expect_close(s, EPROTO, "HB with a payload")

        # the echo server answers a malformed user message with -EINVAL, and lives on
        (s,) = handshake(port, "usr")
        s.sendall(frame(WRITE_REQ, b"abc", fid=3, usr_len=3))
        f = recv_frame(s)
        check(f is not None and f[0] == IO_RSP and f[1] == 3 and f[3] == -EINVAL,
              "bad user message: IO_RSP -EINVAL, connection kept")
        s.close()

        # reads whose answers are never read (a 4 KiB window), then a
        # hang-up: the server's exit status says every lent piece came back
        (s,) = handshake(port, "noread", rcvbuf=4096)
        for i in range(16):
            s.sendall(frame(READ_REQ, struct.pack("<IIQ", 0x4543484F, 65536, i), fid=i,
                            usr_len=16, imm=65536))
        time.sleep(0.5)
        s.close()

        (s,) = handshake(port, "stall")
        s.sendall(frame(WRITE_REQ, bytes(100), fid=1, usr_len=16)[:50])
        t0 = time.time()
        f = recv_frame(s, 10, ack_hb=False)	# a stalled peer answers nothing
        check(f is not None and f[0] == CLOSE and f[3] == -110,
              f"half a frame, then silence: CLOSE -ETIMEDOUT after {time.time() - t0:.1f} s"
              f" (got {f[:4] if f else 'EOF'})")

        # a flood of silent connections: the server caps them (256) and lives
        flood = []
        for _ in range(300):
            try:
                flood.append(connect(port))
            except OSError:
                break
        time.sleep(0.5)
        closed = sum(1 for c in flood[256:] if eof_within(c, 0.05))
        check(closed == len(flood) - 256, f"flood: {closed} connections over the cap closed")
        for c in flood:
            c.close()

        out = subprocess.run([ECHO, "client", "-p", f"127.0.0.1:{port}", "-n", "200", "-d", "8",
                              "-w", "1", "-S", "65536", "-s", "after"],
                             capture_output=True, text=True, timeout=60)
        check(out.returncode == 0 and "completed 200 bad 0 failed 0" in out.stdout,
              "a good client is served after all that: " + out.stdout.strip())
    finally:
        srv.terminate()
        try:
            srv.wait(10)
        except subprocess.TimeoutExpired:
            srv.kill()
    check(srv.returncode == 0, f"server exited cleanly, every lent piece back ({srv.returncode}): "
          + srv.stderr.read()[-500:].replace("\n", " | "))


class FakeServer:
    """Accepts RTRS-over-TCP connections; what it does next is up to mode."""

    def __init__(self, mode, ack_hb=True):
        self.ack_hb = ack_hb
        self.mode = mode
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.conn_reqs = []
        self.stop = False
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)
        self.thread.start()

    def accept_loop(self):
        self.lsock.settimeout(0.2)
        while not self.stop:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.serve, args=(s,), daemon=True).start()

    def serve(self, s):
        try:
            f = recv_frame(s)
            if not f:
                return
            cid, cid_num, recon = struct.unpack_from("<HHH", f[4], 6)
            self.conn_reqs.append((cid, cid_num, recon, f[4][12:28], f[4][28:44], f[4][44] & 1))
            if self.mode == "bad-rsp-magic":
                s.sendall(frame(CONN_RSP, conn_rsp(magic=0x1234), imm=1))
                return
            s.sendall(frame(CONN_RSP, conn_rsp(), imm=1))
            while not self.stop:
                f = recv_frame(s, 30, self.ack_hb)
                if f is None:
                    return
                ftype, fid, usr_len, imm, payload = f
                if ftype == INFO_REQ:
                    s.sendall(frame(INFO_RSP, struct.pack("<HH", 1, 0) + bytes(4)))
                elif ftype in (WRITE_REQ, READ_REQ):
                    if self.mode == "silent":
                        continue
                    if self.mode == "wrong-id":
                        s.sendall(frame(IO_RSP, fid=(fid + 1) % 4))
                    elif self.mode == "wrong-len":
                        s.sendall(frame(IO_RSP, b"z" * 7, fid=fid))
                    else:
                        data = bytes(imm) if ftype == READ_REQ else b""
                        s.sendall(frame(IO_RSP, data, fid=fid))
                elif ftype == CLOSE:
                    return
        except (OSError, AssertionError):
            pass
        finally:
            s.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.lsock.close()


def run_client(port, secs, extra=()):
    return subprocess.run([ECHO, "client", "-p", f"127.0.0.1:{port}", "-w", "1", "-d", "2",
                           "-S", "4096", "-r", "200", "-H", "300", "-T", "1500", "-R", str(secs),
                           *extra],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, RTRS_ECHO_LOG="1"))


def client_cases():
    fs = FakeServer("bad-rsp-magic")
    out = run_client(fs.port, 1)
    check(out.returncode != 0 and "malformed conn_rsp" in out.stderr,
          "server answers with a bad magic: open fails: " + out.stderr.strip()[-120:])
    fs.close()

    for mode, why in (("wrong-id", "not outstanding"), ("wrong-len", "len 7")):
        fs = FakeServer(mode)
        out = run_client(fs.port, 2, ("-e", "5"))
        reqs = fs.conn_reqs
        recon = sorted({r[2] for r in reqs})
        same_uuid = len({(r[3], r[4]) for r in reqs}) == 1
        check(why in out.stderr and len(recon) >= 2 and same_uuid,
              f"{mode}: protocol error, path reconnects with the same UUIDs "
              f"(recon_cnt {recon}): " + out.stderr.strip().splitlines()[0][:100])
        check(all(r[5] == 1 for r in reqs if r[2] > 1), f"{mode}: reconnects carry first_conn 1")
        check("twice 0" in out.stdout, f"{mode}: no request completed twice")
        fs.close()

    fs = FakeServer("silent", ack_hb=False)
    t0 = time.time()
    out = run_client(fs.port, 1, ("-e", "5"))
    check("heartbeat lost" in out.stderr and "bad 0 failed 0 twice 0" in out.stdout,
          f"dead server: heartbeat lost, requests fail with -EIO, not hang "
          f"({time.time() - t0:.1f} s): " + out.stdout.strip())
    fs.close()

    fs = FakeServer("silent")
    t0 = time.time()
    out = run_client(fs.port, 1, ("-e", "5", "-t", "1000"))
    check("no response" in out.stderr and "bad 0 failed 0 twice 0" in out.stdout,
          f"server alive but never answers: request timeout, -EIO, not hang "
          f"({time.time() - t0:.1f} s): " + out.stdout.strip())
    fs.close()


server_cases()
client_cases()
print(f"{len(failures)} failed", flush=True)
sys.exit(1 if failures else 0)
