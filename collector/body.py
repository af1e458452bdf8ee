"""A fetched body: held in memory within a run-wide byte budget, spooled to a temporary file past it.

While in memory, the body is the list of chunks as they arrived (no copy into a growing buffer, which
re-copies itself as it grows). Past 1 MiB a body holds its bytes in memory only while `MEMORY` (one
budget for every body of the process) has room for them; the first write it has no room for moves
the chunks to an unnamed temporary file, as every body past 1 MiB once was. At 1,000 ztunnels a
16.6 MB dump written to a temporary file and read back twice (the runner's check, the writer) cost
~0.6 ms of CPU per MB in copies and system calls; a few bodies in memory at once keep peak memory
flat in cluster size all the same. (The writer now reads back only the pieces it stores:
`collector.archive`.)

The sha256 is computed when first asked for (reading the bytes back once) and kept up to date from
then on: most ztunnel dumps are rebuilt by the redactor, and the received bytes' digest of a 16 MB
body that is replaced was ~1 ms of CPU per MB for nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collector.members import Layout

SPOOL_BYTES = 1 << 20
_READ_BLOCK = 512 << 10  # below the mmap threshold: each block reuses freed heap, no fresh pages
_IOV_MAX = 1024  # buffers one pwritev may take (Linux's IOV_MAX)
_STEP = 4 << 20  # budget taken in steps, so a growing body asks the lock every few MB only


class Budget:
    """Bytes that big bodies may hold in memory at once; shared by every thread, never exceeded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.limit:
                return False
            self.used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.used -= n


# 32 MiB: two 16.6 MB dumps in memory at once (a body past its first MiB spools once this is taken).
# At 300 nodes (5 MB dumps) bench.collect's peak RSS was 99 MB with every big body on disk, 140 MB at
# 24 MiB, 172 MB at 32 MiB and 216 MB at 64 MiB (freed chunks stay in the allocator's per-thread
# arenas): this bounds the bytes, not the allocator's slack, so it stays small.
MEMORY = Budget(32 << 20)


class Body:
    """Bytes exactly as received (or as the redactor rebuilt them), in memory or on disk."""

    __slots__ = (
        "_chunks",
        "_disk",
        "_file",
        "_hash",
        "_held",
        "_pending",
        "_pending_size",
        "layout",
        "leak_free",
        "size",
    )

    def __init__(self) -> None:
        self._chunks: list[bytes | memoryview] | None = []  # None once on disk
        self._file: IO[bytes] | None = None  # unbuffered; written at `_disk` with pwritev, read with pread
        self._disk = 0  # bytes in the file
        self._hash: hashlib._Hash | None = None  # None until sha256 is first asked for
        self._held = 0  # bytes of `MEMORY` this body holds (beyond the first MiB every body may hold)
        # Once on disk, chunks wait here and go to the file a MiB at a time: a port-forward hands over
        # ~30 KB per read, and one write per read cost twice the CPU of MiB writes (system calls and
        # page-cache work per call: 12 against 6 ms per 16.6 MB dump, written and read back).
        self._pending: list[bytes | memoryview] = []
        self._pending_size = 0
        # Where the top-level members start, when the caller knows (`collector.members.Layout`): the
        # writer then cuts pieces without searching the bytes again. Any later write forgets it.
        self.layout: Layout | None = None
        # These bytes, as they are, were leak-scanned (`collector.leakscan.scan_body`) and nothing was
        # found: the writer stores them without scanning them again. Any later write forgets it.
        self.leak_free = False
        self.size = 0

    @classmethod
    def of(cls, data: bytes) -> Body:
        body = cls()
        body.write(data)
        return body

    @classmethod
    def joined(cls, parts: Iterable[bytes | memoryview], source: Body | None = None) -> Body:
        """A body made of `parts` in order, with no joined copy made.

        `source`: the body whose bytes the parts view (the redactor's received body, closed by the
        caller); its share of `MEMORY` passes to this one, which then keeps the parts as they are
        (views included) while they fit it, and is hashed when `sha256` is first asked for: the
        redactor builds it under the run's parse lock, and the digest, a pass over every byte that
        releases the GIL part by part, is then taken by the worker after the lock is let go.
        Otherwise, past 1 MiB, the parts are written to a temporary file, hashed as they are written
        (reading the file back to hash it would cost one more pass).
        """
        body = cls()
        if source is not None and source._chunks is not None:
            body._held, source._held = source._held, 0
            chunks = body._chunks
            assert chunks is not None
            for part in parts:
                if body._chunks is not None and body._room(len(part)):
                    chunks.append(part)
                    body.size += len(part)
                    continue
                if body._hash is None:  # spilling: hash what is in memory, then as it is written
                    body._hash = hashlib.sha256()
                    for chunk in chunks:
                        body._hash.update(chunk)
                body.write(part)
            body._flush()  # parts still pending would keep the source's bytes alive
            return body
        body._hash = hashlib.sha256()
        for part in parts:
            body.write(part)
        body._flush()
        return body

    def _room(self, n: int) -> bool:
        """Whether `n` more bytes may stay in memory, taking budget when needed."""
        need = self.size + n - SPOOL_BYTES - self._held
        if need <= 0:
            return True
        step = max(need, _STEP)
        if MEMORY.take(step):
            self._held += step
            return True
        return False

    def write(self, chunk: bytes | memoryview) -> None:
        self.layout = None
        self.leak_free = False
        if self._chunks is not None and not self._room(len(chunk)):
            self._file = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115 - closed by close()
            self._pending, self._pending_size = self._chunks, self.size
            self._chunks = None
            self._flush()
            self._release()
        if self._chunks is not None:
            # A view would keep whatever it slices alive (a redacted dump's parts view the whole dump).
            self._chunks.append(chunk if isinstance(chunk, bytes) else bytes(chunk))
        else:
            self._pending.append(chunk)
            self._pending_size += len(chunk)
            if self._pending_size >= SPOOL_BYTES:
                self._flush()
        if self._hash is not None:
            self._hash.update(chunk)
        self.size += len(chunk)

    def _flush(self) -> None:
        """Write the pending chunks to the file, a MiB or so per system call, gathered where they lie.

        Joining them first made a fresh 1 MiB buffer per write (mapped anew past collect's 1 MiB mmap
        threshold): at 1,000 ztunnels, 2.4 million of the run's 9.1 million page faults.
        """
        group: list[bytes | memoryview] = []
        size = 0
        for chunk in self._pending:
            group.append(chunk)
            size += len(chunk)
            if size >= SPOOL_BYTES or len(group) == _IOV_MAX:
                self._write_group(group, size)
                group, size = [], 0
        self._write_group(group, size)
        self._pending, self._pending_size = [], 0

    def _write_group(self, group: list[bytes | memoryview], size: int) -> None:
        while size:
            assert self._file is not None
            done = os.pwritev(self._file.fileno(), group, self._disk)
            self._disk += done
            size -= done
            if size:  # a short write (rare on a regular file): drop what went, write the rest
                while done >= len(group[0]):
                    done -= len(group[0])
                    group = group[1:]
                group = [memoryview(group[0])[done:], *group[1:]]

    def pread(self, start: int, stop: int) -> bytes:
        """Bytes `[start:stop]` of a body on disk, read from its file (pending chunks written first)."""
        assert self._file is not None
        self._flush()
        out = []
        while start < stop:
            block = os.pread(self._file.fileno(), stop - start, start)
            if not block:
                raise OSError(f"spooled body ends at {start} bytes, not {stop}")
            out.append(block)
            start += len(block)
        return out[0] if len(out) == 1 else b"".join(out)

    @property
    def sha256(self) -> str:
        if self._hash is None:
            digest = hashlib.sha256()
            if self._chunks is not None:
                for chunk in self._chunks:
                    digest.update(chunk)
            else:
                for at in range(0, self.size, _READ_BLOCK):
                    digest.update(self.pread(at, min(at + _READ_BLOCK, self.size)))
            self._hash = digest
        return self._hash.hexdigest()

    @property
    def in_memory(self) -> bool:
        """Whether the bytes are held in memory (chunks), not spooled to a temporary file."""
        return self._chunks is not None

    @property
    def hashed(self) -> bool:
        """Whether `sha256` is known without reading the bytes again."""
        return self._hash is not None

    def sha256_from(self, data: bytes) -> str:
        """`sha256`, hashing `data` (this body's bytes, already in the caller's hands) if not yet known."""
        if self._hash is None:
            self._hash = hashlib.sha256(data)
        return self._hash.hexdigest()

    def read_bytes(self) -> bytes:
        """The whole body in memory; callers do this one at a time (see the runner's parse lock)."""
        if self._chunks is not None:
            if len(self._chunks) > 1 or (self._chunks and not isinstance(self._chunks[0], bytes)):
                self._chunks = [b"".join(self._chunks)]  # joined once, whoever reads it next
            data = self._chunks[0] if self._chunks else b""
            assert isinstance(data, bytes)
            return data
        return self.pread(0, self.size)

    def parts(self) -> list[bytes | memoryview]:
        """The body's bytes as consecutive buffers: its chunks in memory, or one read of its file."""
        if self._chunks is not None:
            return list(self._chunks)
        return [self.read_bytes()]

    def rewound(self) -> IO[bytes]:
        """The body as a file at offset 0, for streaming into the archive."""
        if self._chunks is not None:
            return io.BytesIO(self.read_bytes())
        assert self._file is not None
        self._flush()
        # Its own buffered reader over the same file: writes go by offset (pwritev), not through it.
        stream = open(self._file.fileno(), "rb", buffering=1 << 20, closefd=False)  # noqa: SIM115
        stream.seek(0)
        return stream

    def _release(self) -> None:
        if self._held:
            MEMORY.give(self._held)
            self._held = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._pending, self._pending_size = [], 0
        self._chunks = []
        self._release()

    def __del__(self) -> None:
        self._release()  # a body dropped unclosed (a test, an error path) gives its budget back
