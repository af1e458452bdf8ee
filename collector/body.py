"""A fetched body, spooled to a temporary file past 1 MiB so in-flight memory stays flat in cluster size.

While small, the body is the list of chunks as they arrived (no copy into a growing buffer, which
re-copies itself as it grows); the first write past 1 MiB moves them to an unnamed temporary file.
The sha256 is computed when first asked for (reading the bytes back once) and kept up to date from
then on: most ztunnel dumps are rebuilt by the redactor, and the received bytes' digest of a 16 MB
body that is replaced was ~1 ms of CPU per MB for nothing.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterable
from typing import IO

SPOOL_BYTES = 1 << 20


class Body:
    """Bytes exactly as received, held in memory while small and on disk once large."""

    __slots__ = ("_chunks", "_file", "_hash", "size")

    def __init__(self) -> None:
        self._chunks: list[bytes] | None = []  # None once on disk
        self._file: IO[bytes] | None = None
        self._hash: hashlib._Hash | None = None  # None until sha256 is first asked for
        self.size = 0

    @classmethod
    def of(cls, data: bytes) -> Body:
        body = cls()
        body.write(data)
        return body

    @classmethod
    def joined(cls, parts: Iterable[bytes | memoryview]) -> Body:
        """A body made of `parts` in order, written one by one (no joined copy in memory).

        Hashed as it is written: a body built here (a redacted one) is always stored, so its digest
        is always needed, and reading it back to hash it would cost one more pass.
        """
        body = cls()
        body._hash = hashlib.sha256()
        for part in parts:
            body.write(part)
        return body

    def write(self, chunk: bytes | memoryview) -> None:
        if self._chunks is not None and self.size + len(chunk) > SPOOL_BYTES:
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by close()
            spool.rollover()  # straight to disk: the chunks are copied once, into the file
            spool.writelines(self._chunks)
            self._file = spool
            self._chunks = None
        if self._chunks is not None:
            # A view would keep whatever it slices alive (a redacted dump's parts view the whole dump).
            self._chunks.append(chunk if isinstance(chunk, bytes) else bytes(chunk))
        else:
            assert self._file is not None
            self._file.write(chunk)
        if self._hash is not None:
            self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        if self._hash is None:
            digest = hashlib.sha256()
            if self._chunks is not None:
                for chunk in self._chunks:
                    digest.update(chunk)
            else:
                assert self._file is not None
                self._file.seek(0)
                while block := self._file.read(1 << 20):
                    digest.update(block)
                self._file.seek(0, 2)  # later writes append
            self._hash = digest
        return self._hash.hexdigest()

    def sha256_from(self, data: bytes) -> str:
        """`sha256`, hashing `data` (this body's bytes, already in the caller's hands) if not yet known."""
        if self._hash is None:
            self._hash = hashlib.sha256(data)
        return self._hash.hexdigest()

    def read_bytes(self) -> bytes:
        """The whole body in memory; callers do this one at a time (see the runner's parse lock)."""
        if self._chunks is not None:
            if len(self._chunks) > 1:
                self._chunks = [b"".join(self._chunks)]  # joined once, whoever reads it next
            return self._chunks[0] if self._chunks else b""
        assert self._file is not None
        self._file.seek(0)
        return self._file.read()

    def rewound(self) -> IO[bytes]:
        """The body as a file at offset 0, for streaming into the archive."""
        if self._chunks is not None:
            return io.BytesIO(self.read_bytes())
        assert self._file is not None
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._chunks = []
