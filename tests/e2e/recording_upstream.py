#!/usr/bin/env python3
"""A plain-HTTP upstream for the e2e tests that records every byte it receives.

  recording_upstream.py DIR      listens on 127.0.0.1 (a free port), prints "listening on http://HOST:PORT"

Every byte received, on any connection, is appended to DIR/received.raw in arrival order. Requests
are framed the way a lenient origin server frames them (the FIRST Transfer-Encoding or
Content-Length field decides), so a request smuggled inside another one shows up as a request of
its own. Each request gets `200` with a small body and is logged as one JSON line on stdout; a
request whose target starts with /die is recorded and then the connection is closed unanswered,
one starting with /close-after is answered (without Connection: close) and then the connection is
closed, one starting with /two-te gets a response with two Transfer-Encoding fields.
"""
import json
import os
import socket
import sys
import threading

out_dir = sys.argv[1]
raw_path = os.path.join(out_dir, "received.raw")
lock = threading.Lock()
count = 0


def record(data):
    with lock:
        with open(raw_path, "ab") as f:
            f.write(data)


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        record(data)
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


def serve(sock):
    global count
    c = Conn(sock)
    try:
        while True:
            request_line = c.line()
            headers = []
            while True:
                line = c.line()
                if not line:
                    break
                name, _, value = line.partition(b":")
                headers.append((name.strip().lower(), value.strip()))
            first = {}
            for name, value in headers:
                first.setdefault(name, value)
            body = b""
            if b"transfer-encoding" in first and first[b"transfer-encoding"].lower() == b"chunked":
                while True:
                    size = int(c.line().split(b";")[0], 16)
                    if size == 0:
                        while c.line():
                            pass
                        break
                    body += c.take(size)
                    c.take(2)
            elif b"content-length" in first:
                body = c.take(int(first[b"content-length"]))
            parts = request_line.split(b" ")
            target = parts[1].decode("latin-1") if len(parts) > 1 else ""
            with lock:
                count += 1
                n = count
            print(json.dumps({"request": parts[0].decode("latin-1"), "target": target, "n": n,
                              "body_length": len(body)}), flush=True)
            if target.startswith("/die"):
                break
            if target.startswith("/two-te"):
                # A hostile upstream: two Transfer-Encoding fields, framed by the last one.
                sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5\r\nhello\r\n0\r\n\r\n")
                continue
            answer = b'{"n":%d}\n' % n
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(answer), answer))
            if target.startswith("/close-after"):
                break  # answered as if to keep the connection, then closed: a pooled connection gone stale
    except (EOFError, ConnectionError, ValueError, OSError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    open(raw_path, "wb").close()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    print("listening on http://127.0.0.1:%d" % srv.getsockname()[1], flush=True)
    while True:
        s, _ = srv.accept()
        threading.Thread(target=serve, args=(s,), daemon=True).start()


main()
