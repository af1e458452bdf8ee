"""The kubelet side of kubectl's SPDY/3.1 port-forward (`Upgrade: SPDY/3.1`, POST pods/portforward).

Enough SPDY/3 for `kubectl port-forward`: control frames SYN_STREAM in, SYN_REPLY/RST_STREAM/PING/GOAWAY
handled, data frames both ways, zlib-compressed header blocks with the SPDY/3 dictionary (one zlib
stream per direction per connection). The client opens two streams per local connection, paired by
the `requestid` header: `streamtype: error` (the kubelet writes a failure there) and `streamtype: data`
(the pod port's bytes). Flow control is not spoken: kubectl's SPDY library sends no WINDOW_UPDATE.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_CANCEL = 5
DATA_FRAME = 32 * 1024  # the kubelet's copy buffer

# The SPDY/3 header-compression dictionary (SPDY draft 3, section 2.6.10.1): length-prefixed words,
# then a plain tail. Its adler32 is what a client's zlib checks against the stream's dictionary id.
_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base content-encoding "
    "content-language content-length content-location content-md5 content-range content-type date "
    "etag expect expires from host if-match if-modified-since if-none-match if-range "
    "if-unmodified-since last-modified location max-forwards pragma proxy-authenticate "
    "proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade "
    "user-agent vary via warning www-authenticate method get status 200_OK version HTTP/1.1 url "
    "public set-cookie keep-alive origin"
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)


def _dictionary() -> bytes:
    words = [w.replace("_", " ") for w in _WORDS.split()]  # "200_OK" is the one word with a space
    return b"".join(len(w).to_bytes(4, "big") + w.encode() for w in words) + _TAIL.encode()


DICTIONARY = _dictionary()


def encode_headers(headers: dict[str, str]) -> bytes:
    out = [len(headers).to_bytes(4, "big")]
    for name, value in headers.items():
        out += [len(name).to_bytes(4, "big"), name.encode(), len(value).to_bytes(4, "big"), value.encode()]
    return b"".join(out)


def decode_headers(block: bytes) -> dict[str, str]:
    (count,) = struct.unpack_from(">I", block, 0)
    pos, out = 4, {}
    for _ in range(count):
        (n,) = struct.unpack_from(">I", block, pos)
        name = block[pos + 4 : pos + 4 + n].decode()
        pos += 4 + n
        (n,) = struct.unpack_from(">I", block, pos)
        out[name] = block[pos + 4 : pos + 4 + n].decode()
        pos += 4 + n
    return out


def control(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


def data_head(stream: int, flags: int, n: int) -> bytes:
    return struct.pack(">II", stream & 0x7FFFFFFF, (flags << 24) | n)


@dataclass(slots=True)
class Pair:
    """The error and data streams of one forwarded connection."""

    port: int = 0
    error: int = 0
    data: int = 0
    buffer: bytes = b""
    started: bool = False


Respond = Callable[[int, bytes, Callable[..., None]], str]
"""respond(port, request bytes, write) -> error text: sends the pod's reply through `write`, or
returns what the kubelet would put on the error stream (then nothing was written)."""


@dataclass(slots=True)
class Session:
    """One SPDY connection: reads frames and answers each request on the handler thread."""

    rfile: BinaryIO
    wfile: BinaryIO
    respond: Respond
    precheck: Callable[[int], str]
    stopping: threading.Event
    lock: threading.Lock = field(default_factory=threading.Lock)
    inflate: zlib._Decompress = field(default_factory=lambda: zlib.decompressobj(zdict=DICTIONARY))
    deflate: zlib._Compress = field(default_factory=lambda: zlib.compressobj(9, zdict=DICTIONARY))
    pairs: dict[str, Pair] = field(default_factory=dict)
    by_stream: dict[int, Pair] = field(default_factory=dict)

    def _read(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) < n:
            raise EOFError
        return data

    def _send(self, *pieces: bytes | memoryview) -> None:
        with self.lock:
            self.wfile.write(b"".join(pieces))

    def _headers_block(self, headers: dict[str, str]) -> bytes:
        with self.lock:  # one compression stream per direction: blocks must go out in compression order
            return self.deflate.compress(encode_headers(headers)) + self.deflate.flush(zlib.Z_SYNC_FLUSH)

    def send_data(self, stream: int, *pieces: bytes | memoryview, fin: bool = False) -> None:
        for piece in pieces:
            view = memoryview(piece)
            while view:
                take = view[:DATA_FRAME]
                self._send(data_head(stream, 0, len(take)), take)
                view = view[len(take) :]
        if fin:
            self._send(data_head(stream, FLAG_FIN, 0))

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                head = self._read(8)
                word, length = struct.unpack(">II", head)
                flags, length = length >> 24, length & 0xFFFFFF
                payload = self._read(length)
                if word & 0x80000000:
                    if not self._control((word >> 16) & 0x7FFF, word & 0xFFFF, flags, payload):
                        return
                else:
                    self._data(word & 0x7FFFFFFF, flags, payload)
        except (EOFError, OSError, TimeoutError, zlib.error, struct.error):
            return

    def _control(self, version: int, kind: int, flags: int, payload: bytes) -> bool:
        if version != VERSION:
            return False
        if kind == SYN_STREAM:
            stream = struct.unpack_from(">I", payload, 0)[0] & 0x7FFFFFFF
            headers = decode_headers(self.inflate.decompress(payload[10:]))
            self._syn_stream(stream, headers)
        elif kind == HEADERS:
            self.inflate.decompress(payload[4:])  # keep the shared zlib stream in step
        elif kind == PING:
            self._send(control(PING, 0, payload))
        elif kind == RST_STREAM:
            stream = struct.unpack_from(">I", payload, 0)[0] & 0x7FFFFFFF
            self.by_stream.pop(stream, None)
        elif kind == GOAWAY:
            return False
        return True  # SETTINGS, WINDOW_UPDATE: nothing to do without flow control

    def _syn_stream(self, stream: int, headers: dict[str, str]) -> None:
        reply = self._headers_block({})
        self._send(control(SYN_REPLY, 0, struct.pack(">I", stream) + reply))
        pair = self.pairs.setdefault(headers.get("requestid", ""), Pair())
        try:
            pair.port = int(headers.get("port", ""))
        except ValueError:
            self._send(control(RST_STREAM, 0, struct.pack(">II", stream, RST_CANCEL)))
            return
        if headers.get("streamtype") == "error":
            pair.error = stream
        elif headers.get("streamtype") == "data":
            pair.data = stream
        self.by_stream[stream] = pair
        if pair.error and pair.data:
            problem = self.precheck(pair.port)
            if problem:
                self._finish(pair, problem)

    def _data(self, stream: int, flags: int, payload: bytes) -> None:
        pair = self.by_stream.get(stream)
        if pair is None or stream != pair.data or pair.started:
            return
        pair.buffer += payload
        if b"\r\n\r\n" not in pair.buffer:
            return
        pair.started = True
        # Answered on this thread: an SSL socket must not be read and written from two threads at once
        # (OpenSSL's SSL objects are not thread-safe), so a slow reply holds up this connection's others.
        self._serve(pair)

    def _serve(self, pair: Pair) -> None:
        try:
            problem = self.respond(pair.port, pair.buffer, lambda *b: self.send_data(pair.data, *b))
            self._finish(pair, problem)
        except (OSError, ValueError):
            return

    def _finish(self, pair: Pair, problem: str) -> None:
        """End both streams as the kubelet does; a failure goes on the error stream first."""
        if problem:
            self.send_data(pair.error, problem.encode())
        self.send_data(pair.data, fin=True)
        self.send_data(pair.error, fin=True)
        self.by_stream.pop(pair.data, None)
        self.by_stream.pop(pair.error, None)
