"""A fetched body, spooled to a temporary file past 1 MiB so in-flight memory stays flat in cluster size.

Size and sha256 are computed while the bytes arrive, so the manifest never needs a second pass.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from typing import IO

SPOOL_BYTES = 1 << 20


class Body:
    """Bytes exactly as received, held in memory while small and on disk once large."""

    __slots__ = ("_file", "_hash", "size")

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self._hash = hashlib.sha256()
        self.size = 0

    @classmethod
    def of(cls, data: bytes) -> Body:
        body = cls()
        body.write(data)
        return body

    def write(self, chunk: bytes | memoryview) -> None:
        if self.size + len(chunk) > SPOOL_BYTES and self.size <= SPOOL_BYTES:
            # Onto disk before the write, not after: SpooledTemporaryFile would first copy a big chunk
            # into its in-memory buffer and then copy everything again to the file.
            self._file.rollover()  # type: ignore[attr-defined]
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    @classmethod
    def joined(cls, parts: Iterable[bytes | memoryview]) -> Body:
        """A body made of `parts` in order, written one by one (no joined copy in memory)."""
        body = cls()
        for part in parts:
            body.write(part)
        return body

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def read_bytes(self) -> bytes:
        """The whole body in memory; callers do this one at a time (see the runner's parse lock)."""
        self._file.seek(0)
        return self._file.read()

    def rewound(self) -> IO[bytes]:
        """The underlying file at offset 0, for streaming into the archive."""
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        self._file.close()
