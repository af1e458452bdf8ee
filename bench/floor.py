"""The transport floor: the requests a collect made, replayed by the thinnest client that can make them.

Same simulated server, same latency, same concurrency. API GETs go over one kept-alive HTTPS
connection per worker; each port-forward opens the same WebSocket upgrade as the kubernetes client
(v4.channel.k8s.io), sends the tunnelled GET on channel 0, reads frames and discards the bytes. One
shared SSL context, no socketpair hop, no parsing, no storage: what is left is the cost of the bytes
crossing the API server, which no collector can go under. Runs as its own child process so its CPU
is measured apart (`python -m bench.floor KUBECONFIG REQUESTS.json CONCURRENCY`).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

BUF = 256 * 1024


def requests_of(records: list[Any]) -> list[dict[str, Any]]:
    """The replayable part of the fake cluster's request log: API GETs and port-forwarded GETs."""
    out: list[dict[str, Any]] = []
    for r in records:
        if r.method != "GET":
            continue  # SelfSubjectAccessReviews: a handful of tiny POSTs
        if r.path.endswith("/portforward"):
            if r.http_path and r.port:
                out.append({"kind": "pf", "path": r.path, "port": r.port, "http_path": r.http_path})
            continue
        out.append({"kind": "api", "path": r.path + (f"?{urlencode(r.query)}" if r.query else "")})
    return out


class Client:
    """Connection details from a kubeconfig (server, CA, bearer token), one SSL context for all."""

    def __init__(self, kubeconfig: Path) -> None:
        import yaml

        doc = yaml.safe_load(kubeconfig.read_text())
        ctx = next(c for c in doc["contexts"] if c["name"] == doc["current-context"])["context"]
        cluster = next(c for c in doc["clusters"] if c["name"] == ctx["cluster"])["cluster"]
        user = next(u for u in doc["users"] if u["name"] == ctx["user"])["user"]
        url = urlsplit(cluster["server"])
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 443
        self.token = user["token"]
        self.ssl = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
        self.local = threading.local()
        self.moved = 0
        self.lock = threading.Lock()

    def _count(self, n: int) -> None:
        with self.lock:
            self.moved += n

    def api(self, path: str) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(self.host, self.port, context=self.ssl, timeout=60)
            self.local.conn = conn
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}", "Accept": "*/*"})
        resp = conn.getresponse()
        n = 0
        while chunk := resp.read(BUF):
            n += len(chunk)
        self._count(n)

    def forward(self, path: str, port: int, http_path: str) -> None:
        raw = socket.create_connection((self.host, self.port), timeout=60)
        sock = self.ssl.wrap_socket(raw, server_hostname=self.host)
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall(
                (
                    f"GET {path}?ports={port} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                    f"Authorization: Bearer {self.token}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                    "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n"
                ).encode()
            )
            stream = sock.makefile("rb", buffering=BUF)
            while stream.readline() not in (b"\r\n", b""):
                pass  # the 101 head
            request = f"GET {http_path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
            sock.sendall(_masked(b"\x00" + request.encode()))
            self._count(_drain(stream))
            sock.sendall(_masked(struct.pack("!H", 1000), opcode=0x8))
        finally:
            sock.close()


def _masked(payload: bytes, opcode: int = 0x2) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else struct.pack("!BH", 0x80 | 126, n))
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))  # only the small request is masked
    return head + mask + body


def _drain(stream: Any) -> int:
    """Read frames until the server closes; return the data-channel payload bytes, discarded."""
    moved = 0
    skip = bytearray(BUF)
    while True:
        head = stream.read(2)
        if len(head) < 2:
            return moved
        opcode, n = head[0] & 0x0F, head[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", stream.read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", stream.read(8))[0]
        if opcode == 0x8:
            return moved
        moved += n
        view = memoryview(skip)
        while n:
            got = stream.readinto(view[: min(n, BUF)])
            if not got:
                return moved
            n -= got


def main(argv: list[str]) -> int:
    kubeconfig, requests_file, concurrency = Path(argv[0]), Path(argv[1]), int(argv[2])
    client = Client(kubeconfig)
    jobs = json.loads(requests_file.read_text())

    def one(job: dict[str, Any]) -> None:
        if job["kind"] == "api":
            client.api(job["path"])
        else:
            client.forward(job["path"], job["port"], job["http_path"])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for _ in pool.map(one, jobs):
            pass
    print(f"{time.perf_counter() - started:.3f} {client.moved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
