"""Minimal server-side WebSocket (RFC 6455) framing: enough for the kubelet's channel protocol.

Hand-written rather than a dependency: the server needs only the handshake, unmasked binary frames
out, masked frames in, ping/pong and the closing handshake.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Protocol

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def frame(opcode: int, payload: bytes) -> bytes:
    return frame_head(opcode, len(payload)) + payload


def frame_head(opcode: int, n: int) -> bytes:
    """The header of one unmasked, final frame carrying `n` payload bytes."""
    if n < 126:
        return bytes([0x80 | opcode, n])
    if n < 1 << 16:
        return struct.pack("!BBH", 0x80 | opcode, 126, n)
    return struct.pack("!BBQ", 0x80 | opcode, 127, n)


class Reader(Protocol):
    def read(self, n: int, /) -> bytes: ...


def _read_exact(stream: Reader, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError("websocket peer closed the connection")
        data += chunk
    return data


def read_frame(stream: Reader) -> tuple[int, bytes]:
    """Read one (possibly fragmented) message; returns (opcode, payload)."""
    opcode, payload = -1, b""
    while True:
        b0, b1 = _read_exact(stream, 2)
        op, fin = b0 & 0x0F, bool(b0 & 0x80)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", _read_exact(stream, 2))[0]
        elif n == 127:
            n = struct.unpack("!Q", _read_exact(stream, 8))[0]
        mask = _read_exact(stream, 4) if b1 & 0x80 else b""
        data = _read_exact(stream, n)
        if mask:
            data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
        if op >= 0x8:  # control frames are never fragmented and may interleave
            return op, data
        if op != OP_CONT:
            opcode = op
        payload += data
        if fin:
            return opcode, payload
