"""A lean v4.channel.k8s.io port-forward client: the official client's protocol at a third of its CPU.

The kubernetes client builds a new SSL context per port-forward, frames WebSocket data in pure Python,
relays it through a socketpair thread and re-copies its backlog on every send; `bench/transport.py`
measured 8.7–12 ms of client CPU per MB against 3.6–4.5 ms for this shape: one SSL context for the run,
the upgrade written by hand, frame headers parsed and payload read straight into the HTTP parser's
buffer. Everything else stays with the official client: the URL and auth headers come from its
`param_serialize` (token refresh hooks included), and errors are raised as it raises them (a refused
upgrade is an `ApiException` whose reason reads "Handshake status 403 Forbidden -+-+- … -+-+- body"),
so `collector.failures.classify` and the fault tests see the same thing from either client.
Used only for plain HTTPS clusters; behind an HTTP proxy the official client is kept.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import os
import socket
import ssl
import struct
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from collector.kube import HttpReply, _read_reply

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, Configuration

PROTOCOL = "v4.channel.k8s.io"
OP_CONT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x2, 0x8, 0x9, 0xA
_HEAD_LIMIT = 64 * 1024


def usable(cfg: Configuration) -> bool:
    """Whether this client can talk to the cluster as the official one would (HTTPS, no proxy)."""
    return str(cfg.host).startswith("https://") and not getattr(cfg, "proxy", None)


def ssl_context(cfg: Configuration) -> ssl.SSLContext:
    """One context for every port-forward of the run, from the same kubeconfig fields the client reads."""
    ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert or None)
    if cfg.cert_file:
        ctx.load_cert_chain(cfg.cert_file, cfg.key_file or None)
    if not cfg.verify_ssl:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _masked(payload: bytes, opcode: int = OP_BINARY) -> bytes:
    """A client frame (masked, as RFC 6455 requires); only the small request and close go this way."""
    mask = os.urandom(4)
    n = len(payload)
    head = (
        struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        if n < 126
        else struct.pack("!BBH", 0x80 | opcode, 0xFE, n)
    )
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class _Channels(io.RawIOBase):
    """The data channel (0) of a v4 port-forward as a byte stream; the error channel (1) kept aside."""

    def __init__(self, sock: ssl.SSLSocket, stream: io.BufferedReader) -> None:
        self.sock, self.stream = sock, stream
        self.left = 0  # payload bytes of the current data frame still to hand over
        self.prefix = {0: 2, 1: 2}  # each channel's first frame starts with the port (2 bytes)
        self.error = b""
        self.ended = False

    def readable(self) -> bool:
        return True

    def _exact(self, n: int) -> bytes:
        data = self.stream.read(n)
        if len(data) < n:
            raise EOFError
        return data

    def _next_data_frame(self) -> bool:
        """Advance to the next data-channel payload; False at the end of the stream."""
        while True:
            try:
                b0, b1 = self._exact(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self._exact(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._exact(8))[0]
                opcode = b0 & 0x0F
                if opcode == OP_CLOSE:
                    self._exact(n)
                    return False
                if opcode in (OP_PING, OP_PONG):
                    payload = self._exact(n)
                    if opcode == OP_PING:
                        self.sock.sendall(_masked(payload, OP_PONG))
                    continue
                if n == 0:
                    continue
                channel = self._exact(1)[0] if opcode != OP_CONT else 0
                n -= 1 if opcode != OP_CONT else 0
                skip = min(self.prefix.get(channel, 0), n)
                if skip:
                    self._exact(skip)
                    self.prefix[channel] -= skip
                    n -= skip
                if channel == 0 and n:
                    self.left = n
                    return True
                if n:
                    data = self._exact(n)
                    if channel == 1:
                        self.error += data
            except EOFError:
                return False

    def readinto(self, buf: Any) -> int:
        if self.ended:
            return 0
        if not self.left and not self._next_data_frame():
            self.ended = True
            return 0
        view = memoryview(buf)[: self.left]
        got = self.stream.readinto(view)
        if not got:
            self.ended = True
            return 0
        self.left -= got
        return got


class _Tunnel:
    """What `http.client.HTTPResponse` wants from a socket: `makefile("rb")`."""

    def __init__(self, channels: _Channels) -> None:
        self.channels = channels

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self.channels, buffer_size=256 * 1024)


def _handshake_error(status: int, reason: str, headers: dict[str, str], body: bytes) -> Exception:
    from kubernetes.client.exceptions import ApiException

    text = body.decode("utf-8", "replace") if body else "None"
    return ApiException(status=0, reason=f"Handshake status {status} {reason} -+-+- {headers} -+-+- {text}")


def get(
    api: ApiClient,
    ctx: ssl.SSLContext,
    namespace: str,
    pod: str,
    port: int,
    path: str,
    *,
    timeout_s: float,
    max_bytes: int,
) -> HttpReply:
    """GET `path` on `pod:port` over a v4 port-forward; raises as `collector.kube.port_forward_get` does."""
    api_path = f"/api/v1/namespaces/{namespace}/pods/{pod}/portforward"
    _, url, headers, _, _ = api.param_serialize(
        "GET", api_path, query_params=[("ports", str(port))], header_params={}, auth_settings=["BearerToken"]
    )
    parts = urlsplit(url)
    host, tcp_port = parts.hostname or "", parts.port or 443
    cfg = api.configuration
    server_name = getattr(cfg, "tls_server_name", None) or host
    raw = socket.create_connection((host, tcp_port), timeout=timeout_s)
    try:
        sock = ctx.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {parts.path}?{parts.query} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"Sec-WebSocket-Protocol: {PROTOCOL}",
            *(
                f"{k}: {v}"
                for k, v in ({"User-Agent": "ztbundle"} | headers).items()
                if k.lower() != "accept"
            ),
        ]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        stream = sock.makefile("rb", buffering=256 * 1024)
        upgrade = http.client.HTTPResponse(sock)  # only to parse the head; reads through its own file
        upgrade.fp = stream  # type: ignore[assignment]
        upgrade.begin()
        if upgrade.status != 101:
            body = upgrade.read(_HEAD_LIMIT) if upgrade.length or upgrade.chunked else b""
            raise _handshake_error(
                upgrade.status, upgrade.reason, {k.lower(): v for k, v in upgrade.getheaders()}, body
            )
        channels = _Channels(sock, stream)
        where = f"{namespace}/{pod}:{port}"
        request = (
            f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nUser-Agent: ztbundle\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(_masked(b"\x00" + request.encode("ascii")))
        resp = http.client.HTTPResponse(_Tunnel(channels))  # type: ignore[arg-type]
        try:
            resp.begin()
        except TimeoutError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            if channels.error:
                message = channels.error.decode("utf-8", "replace").strip()
                raise ConnectionError(f"port-forward to {where} failed: {message}") from None
            quiet = isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError)
            detail = "" if quiet else f" ({type(exc).__name__}: {exc})"
            raise ConnectionError(
                f"port-forward to {where}: connection closed before any response{detail}"
            ) from None
        body = _read_reply(resp, max_bytes=max_bytes, timeout_s=timeout_s, what=f"{pod}:{port}{path}")
        return HttpReply(status=resp.status, reason=resp.reason, body=body)
    finally:
        with contextlib.suppress(OSError):  # the reply is read; the close is a courtesy
            sock.sendall(_masked(struct.pack("!H", 1000), OP_CLOSE))
        sock.close()
