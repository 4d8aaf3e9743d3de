#!/usr/bin/env python3
"""Sends exactly N requests to 127.0.0.1:PORT over C kept-alive connections,
one at a time, for bench/callgrind/profile.sh: `client.py PORT N KIND [C]`,
KIND `preflight` or `get`. Exits 1 on an unexpected answer. Every socket
operation has a timeout."""
import socket
import sys

port, n, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = int(sys.argv[4]) if len(sys.argv) > 4 else 4
if kind == "preflight":
    req = (b"OPTIONS /api/users/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example.com\r\n"
           b"Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")
    want = (b"HTTP/1.1 204",)
else:
    req = b"GET /api/users/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example.com\r\n\r\n"
    want = (b"HTTP/1.1 200",)
socks = []
for _ in range(conns):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    socks.append([s, b""])


def answer(entry):
    s, buf = entry
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed in a body")
        rest += chunk
    entry[1] = rest[length:]
    if not head.startswith(want) or b"access-control-allow-origin: https://app.example.com" not in head.lower():
        raise SystemExit(f"unexpected answer: {head[:300]!r}")


for i in range(n):
    e = socks[i % conns]
    e[0].sendall(req)
    answer(e)
for s, _ in socks:
    s.close()
