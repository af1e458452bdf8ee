"""Walk a .tar.gz's framing once, before `tarfile` parses it, holding no member data.

`tarfile` reads a GNU long-name or PAX record whole into memory before its size can be looked at,
and the PAX parser of the Python this runs on may have regexes with quadratic worst cases
(CVE-2024-6232, fixed in 3.11.10 / 3.12.6). `tarfile` also stops at the first gzip member and at
the tar end marker, so bytes after either are never vetted, though `tar xzf` still unpacks them.

`scan()` decompresses in bounded chunks and follows the headers as `tarfile` will: each header's
checksum, each long-name/PAX record bounded in size and PAX records checked for exact syntax
(after which `tarfile`'s own regexes run in linear time), each member's size against the limits
*at its header*, so a bomb is refused before it is inflated, and after the end marker only zero
padding, then the end of the one gzip member and of the file.

What it inflated is kept and returned (`Tape`): the stream `tarfile` then reads is those vetted
bytes, so the archive is inflated once, not once for the walk and again for `tarfile`. The walk
has bounded it by then (the members' sizes at their headers, the end padding), so holding it costs
what the members themselves cost.
"""

from __future__ import annotations

import re
import struct
import tarfile
import zlib
from pathlib import Path

from analyzer.errors import BundleError
from analyzer.limits import Limits

BLOCK = 512
_ZERO = bytes(BLOCK)
_CHUNK = 1 << 20
_MAX_END_PADDING = 1 << 20  # tar pads its end marker to the record size (at most 2048 blocks)
_MAX_PAX_DIGITS = 64  # longer digit runs are what makes CVE-2024-6232's regex quadratic
_LONG_DIGITS = re.compile(rb"\d{%d}" % (_MAX_PAX_DIGITS + 1))
_RECORDS = {tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE}
_REFUSED_RECORDS = {
    tarfile.XGLTYPE: "global PAX headers",
    tarfile.SOLARIS_XHDTYPE: "Solaris extended headers",
}
_NO_DATA = set(tarfile.SUPPORTED_TYPES) - set(tarfile.REGULAR_TYPES)  # tarfile skips no data for these


class Tape:
    """The tar stream `scan` inflated, as the seekable file `tarfile.open(mode="r:")` reads.

    A view of the inflated bytes, not a copy of them: a member read is the one copy made.
    """

    def __init__(self, data: bytearray) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n is None or n < 0 else self._pos + n
        out = bytes(self._view[self._pos : end])
        self._pos += len(out)
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        base = (0, self._pos, len(self._view))[whence]
        self._pos = max(base + pos, 0)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._view.release()


class _Inflater:
    """Read a gzip stream's decompressed bytes in order, never inflating more than asked for plus
    one chunk; what it inflated stays in `inflated`."""

    def __init__(self, path: Path, raw: bytes) -> None:
        self.path = path
        self._raw = memoryview(raw)
        self._pos = 0
        self._z = zlib.decompressobj(31)  # 31: a gzip wrapper, one member
        self.inflated = bytearray()  # every byte inflated so far, in order
        self._at = 0  # how much of it was read or skipped

    def _more(self) -> None:
        data = self._z.unconsumed_tail
        if not data:
            data = bytes(self._raw[self._pos : self._pos + _CHUNK])
            self._pos += len(data)
            if not data:
                raise BundleError(self.path, None, "truncated archive (unexpected end of data)")
        try:
            self.inflated += self._z.decompress(data, _CHUNK)
        except zlib.error:
            raise BundleError(self.path, None, "not a gzip-compressed tar archive (or truncated)") from None

    def _ahead(self, n: int) -> int:
        """Inflate until `n` bytes past the read position are there (or the member ends); how many are."""
        while len(self.inflated) - self._at < n and not self._z.eof:
            self._more()
        return min(n, len(self.inflated) - self._at)

    def read(self, n: int) -> bytes:
        """Up to `n` bytes; fewer only at the end of the gzip member."""
        got = self._ahead(n)
        out = bytes(self.inflated[self._at : self._at + got])
        self._at += got
        return out

    def skip(self, n: int) -> int:
        """Pass over up to `n` bytes without copying them out; return how many there were."""
        done = 0
        while done < n:
            got = self._ahead(min(_CHUNK, n - done))
            if not got:
                break
            self._at += got
            done += got
        return done

    def trailing(self) -> bool:
        """Whether any byte follows the gzip member (a second member, or junk)."""
        return bool(self._z.unused_data) or self._pos < len(self._raw)


def _number(path: Path, field: bytes) -> int:
    if field[:1] in (b"\x80", b"\xff"):  # GNU base-256, as tarfile.nti reads it
        n = 0
        for byte in field[1:]:
            n = (n << 8) + byte
        return -(256 ** (len(field) - 1) - n) if field[0] == 0xFF else n
    text = field.split(b"\0", 1)[0].strip()
    if not re.fullmatch(rb"[0-7]*", text):
        raise BundleError(path, None, "not a valid tar archive: bad number in a header")
    return int(text or b"0", 8)


def _check_header(path: Path, block: bytes, offset: int) -> None:
    unsigned = 256 + sum(struct.unpack_from("148B8x356B", block))
    signed = 256 + sum(struct.unpack_from("148b8x356b", block))
    if _number(path, block[148:156]) not in (unsigned, signed):
        raise BundleError(path, None, f"not a valid tar archive: bad header checksum at byte {offset}")


def pax_records(path: Path, record: bytes) -> dict[bytes, bytes]:
    """Parse `LEN KEY=VALUE\\n` records exactly, in linear time; anything else is refused."""
    if _LONG_DIGITS.search(record):
        raise BundleError(
            path, None, f"PAX header has a run of more than {_MAX_PAX_DIGITS} digits (refused: CVE-2024-6232)"
        )
    out: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(record):
        space = record.find(b" ", pos, pos + 21)
        digits = record[pos:space] if space > pos else b""
        if not digits.isdigit() or digits.startswith(b"0"):
            raise BundleError(path, None, f"malformed PAX header record at byte {pos}")
        end = pos + int(digits)
        equals = record.find(b"=", space + 1, end - 1)
        if end > len(record) or record[end - 1 : end] != b"\n" or equals <= space + 1:
            raise BundleError(path, None, f"malformed PAX header record at byte {pos}")
        key = record[space + 1 : equals]
        if b"\n" in key or key.startswith(b"GNU.sparse"):
            raise BundleError(path, None, f"malformed PAX header record at byte {pos}")
        out[key] = record[equals + 1 : end - 1]
        pos = end
    return out


def _ustar_name(block: bytes) -> str:
    name = block[0:100].split(b"\0", 1)[0]
    if block[257:263] in (b"ustar\x0000", b"ustar\0") and block[345:346] != b"\0":
        name = block[345:500].split(b"\0", 1)[0] + b"/" + name
    return name.decode("utf-8", "surrogateescape")


def scan(path: Path, raw: bytes, limits: Limits) -> Tape:
    """The tar stream in `raw`; BundleError unless it is one gzip member holding one well-framed,
    bounded tar stream."""
    inflater = _Inflater(path, raw)
    offset = total = members = 0
    name: str | None = None
    size: int | None = None
    while True:
        block = inflater.read(BLOCK)
        if len(block) < BLOCK:
            raise BundleError(path, None, "truncated archive (unexpected end of data)")
        if block == _ZERO:
            break
        _check_header(path, block, offset)
        kind = block[156:157]
        declared = _number(path, block[124:136])
        offset += BLOCK
        if kind in _REFUSED_RECORDS:
            raise BundleError(path, None, f"{_REFUSED_RECORDS[kind]} are not allowed")
        if kind == tarfile.GNUTYPE_SPARSE:
            raise BundleError(path, _ustar_name(block), "sparse file members are not allowed")
        if kind in _RECORDS:
            if not 0 <= declared <= limits.max_header_record_bytes:
                raise BundleError(
                    path,
                    None,
                    f"tar header record of {declared} bytes, over the "
                    f"{limits.max_header_record_bytes}-byte limit (at byte {offset - BLOCK})",
                )
            padded = inflater.read(-declared % BLOCK + declared)
            offset += len(padded)
            record = padded[:declared]
            if len(padded) < declared or padded[declared:].strip(b"\0"):
                raise BundleError(path, None, f"malformed tar header record at byte {offset - len(padded)}")
            if kind == tarfile.XHDTYPE:
                fields = pax_records(path, record)
                if b"path" in fields:
                    name = fields[b"path"].decode("utf-8", "surrogateescape")
                if b"size" in fields:
                    if not fields[b"size"].isdigit():
                        raise BundleError(path, None, "malformed PAX size")
                    size = int(fields[b"size"])
            elif kind == tarfile.GNUTYPE_LONGNAME:
                name = record.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            continue
        member = name if name is not None else _ustar_name(block)
        length = size if size is not None else declared
        name = size = None
        members += 1
        if members > limits.max_members:
            raise BundleError(path, None, f"more than {limits.max_members} members")
        if kind in _NO_DATA:
            continue  # tarfile reads the next header right after these, whatever their size field says
        if length < 0 or length > limits.max_member_bytes:
            raise BundleError(
                path, member, f"member is {length} bytes, over the {limits.max_member_bytes}-byte limit"
            )
        total += length
        if total > limits.max_total_bytes:
            raise BundleError(path, member, f"bundle expands beyond {limits.max_total_bytes} bytes")
        if total > limits.ratio_floor_bytes and total > limits.max_ratio * max(len(raw), 1):
            raise BundleError(
                path, member, f"compression ratio over {limits.max_ratio:g}:1 (possible decompression bomb)"
            )
        padded = -length % BLOCK + length
        if inflater.skip(padded) < padded:
            raise BundleError(path, None, "truncated archive (unexpected end of data)")
        offset += padded
    _check_end(path, inflater)
    return Tape(inflater.inflated)


def _check_end(path: Path, inflater: _Inflater) -> None:
    padding = 0
    while chunk := inflater.read(_CHUNK):
        padding += len(chunk)
        if chunk.strip(b"\0") or padding > _MAX_END_PADDING:
            raise BundleError(path, None, "data after the end of the tar archive")
    if inflater.trailing():
        raise BundleError(path, None, "data after the end of the gzip stream (a second gzip member?)")
