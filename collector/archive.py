"""Streaming bundle writer: members go into `<out>.partial` as they arrive, renamed when finished.

Only the runner's main thread writes (workers hand over bytes), so no lock is needed and no member
is ever held back: memory stays flat in cluster size. The manifest is always the last member.

Format 2 (see `ztbundle.layout`): bodies of `layout.DEDUP_INPUTS` are cut before each top-level
key and each piece is stored once as `objects/<sha256>`; the caller records the returned piece
list as the artifact's recipe. Log bodies can be deferred (`defer`) to a spool directory and
written at the end by `collector.budget`, once the dumps have shown how much room is left.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import itertools
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from collector import leakscan
from collector.body import Body
from collector.matchers import Reason
from collector.members import Layout
from ztbundle import layout
from ztbundle.errors import ZtbundleError
from ztbundle.exits import Exit

# Pieces start at a top-level key of a 2-space pretty-printed object (`layout.top_level_keys`). Cutting
# before the newline keeps each value's trailing comma with it, so a section's bytes are the same in
# every ztunnel's dump. Compact JSON has no match and stays one piece (whole-body dedup).
_MIN_PIECE = 256  # smaller sections ride along with the next one: an object costs a tar header
_CACHE_MIN = 64 << 10  # pieces below this are cheaper to hash than to keep around for comparison
_CACHE_ENTRIES = 32
_TOP_KEY = layout.TOP_KEY_BYTES  # what `layout.top_level_keys` finds, searched from an offset here


_LOG_INPUTS = frozenset(layout.LOG_INPUTS.values())


class ArchiveError(ZtbundleError):
    """The bundle file itself cannot be written (bad path, disk full)."""

    exit_code = Exit.NOTHING_COLLECTED


@dataclass(frozen=True, slots=True)
class Spooled:
    """A deferred body on disk: where it waits and what it was when it arrived."""

    path: str
    file: Path
    size: int
    sha256: str
    leak: tuple[Reason, int] | None  # its leak scan, made as it arrived (None: scanned, nothing found)


def cut_points(data: bytes, seen: Callable[[int], int] | None = None) -> list[int]:
    """Offsets where pieces start (always 0 first): before each top-level key, small pieces merged.

    `seen(at)`: where a piece already stored would end if `data` repeats it from cut point `at`
    (else `at`); the search for keys resumes there instead of reading through it. The points are
    the same (see `BundleWriter._repeats` for why no cut can lie inside such a piece).
    """
    points = [0]
    pos = seen(0) if seen is not None else 0
    while (m := _TOP_KEY.search(data, pos)) is not None:
        pos = m.end()
        if m.start() - points[-1] >= _MIN_PIECE:
            points.append(m.start())
            if seen is not None:
                pos = max(pos, seen(m.start()))
    if len(points) > 1 and len(data) - points[-1] < _MIN_PIECE:
        points.pop()
    return points


def cut_points_at(starts: Iterable[int], size: int) -> list[int]:
    """`cut_points` of a body of `size` bytes whose top-level key matches start at `starts` (in order)."""
    points = [0]
    for start in starts:
        if start - points[-1] >= _MIN_PIECE:
            points.append(start)
    if len(points) > 1 and size - points[-1] < _MIN_PIECE:
        points.pop()
    return points


class _Segments:
    """A body's bytes cut at its layout's member bounds, each segment known by its digest or its bytes.

    A body on disk is read only where a segment's bytes are needed (a piece not stored yet, a small
    segment named by its bytes): most of a ztunnel's dump repeats pieces known by their digests, and
    reading every spooled dump back whole cost 2.4 million page faults at 1,000 ztunnels.
    """

    def __init__(self, body: Body, laid: Layout) -> None:
        self._body = body
        self._parts = body.parts() if body.in_memory else []
        self._ends = list(itertools.accumulate(len(p) for p in self._parts))
        self.bounds = [0, *laid.starts, laid.tail, body.size]  # segment i is bounds[i] up to bounds[i + 1]
        self.index = {at: i for i, at in enumerate(self.bounds)}
        self.digests: list[bytes | None] = [None, *laid.digests, None]

    def views(self, start: int, stop: int) -> list[memoryview]:
        """`[start:stop]` of the body as views of its parts, in order (no copy), or as read from disk."""
        if not self._body.in_memory:
            return [memoryview(self._body.pread(start, stop))] if start < stop else []
        out = []
        i = bisect.bisect_right(self._ends, start)
        while start < stop:
            begin = self._ends[i] - len(self._parts[i])
            view = memoryview(self._parts[i])[start - begin : min(stop, self._ends[i]) - begin]
            out.append(view)
            start += len(view)
            i += 1
        return out

    def identity(self, first: int, last: int) -> tuple[bytes, ...] | None:
        """What segments `first..last` are, by digest (big) or bytes (small); None without a digest.

        Equal identities mean equal bytes (digests name bytes), so the piece made of them has the same
        digest; a piece with no big member is cheaper to hash than to look up.
        """
        out: list[bytes] = []
        for i in range(first, last + 1):
            digest = self.digests[i]
            if digest is not None:
                out += (b"d", digest)
                continue
            if self.bounds[i + 1] - self.bounds[i] >= _CACHE_MIN:
                return None
            out += (b"b", b"".join(self.views(self.bounds[i], self.bounds[i + 1])))
        return tuple(out) if b"d" in out[::2] else None


def _scan(data: bytes | Body) -> tuple[Reason, int] | None:
    if isinstance(data, bytes):
        return leakscan.scan_parts((data,))
    return None if data.leak_free else leakscan.scan_body(data)


class BundleWriter:
    """A gzip tar opened for streaming writes; `finish()` adds the manifest and renames into place."""

    def __init__(self, out: Path, *, dedupe: bool = True, defer_logs: bool = False) -> None:
        self.out = out
        self.dedupe = dedupe
        self.defer_logs = defer_logs
        self.format_version = layout.FORMAT_VERSION if dedupe else layout.RAW_FORMAT_VERSION
        self.partial = out.with_name(out.name + ".partial")
        try:
            fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise ArchiveError(f"{self.partial}: cannot create bundle: {exc.strerror}") from None
        os.fchmod(fd, 0o600)  # O_CREAT's mode is ignored when the file already existed
        # Kept open across calls until finish(): a streaming writer cannot be one `with` block.
        self._file: BinaryIO = os.fdopen(fd, "wb")  # noqa: SIM115
        # Level 6 (gzip's default), not tarfile's 9: 3x faster for ~4% more bytes, and this thread is
        # the only writer, so compression speed caps the whole run's throughput.
        self._tar = tarfile.open(  # noqa: SIM115
            fileobj=self._file, mode="w:gz", format=tarfile.PAX_FORMAT, compresslevel=6, copybufsize=1 << 20
        )
        self._names: set[str] = set()
        self._objects: set[str] = set()
        # The last piece seen at each offset-0 key text: most pieces repeat the previous ztunnel's,
        # and comparing bytes (memcmp) is ~1000x cheaper than hashing them again.
        self._last: dict[bytes, tuple[bytes, str, bool]] = {}  # (piece, digest, was its body's last)
        # Pieces of bodies with a layout, by what they are made of (`_Segments.identity`): a repeated
        # big member is then known by the digest its split already has, with no memcmp here.
        self._made_of: dict[tuple[bytes, ...], str] = {}
        self._spool: tempfile.TemporaryDirectory[str] | None = None
        self.spooled: list[Spooled] = []
        self.leaks: list[leakscan.Leak] = []  # every member's first hit, scanned as it is written
        self.raw_bytes = 0  # bytes of every artifact as collected, before dedup
        self.stored_bytes = 0  # uncompressed bytes of the members actually written

    @property
    def compressed_bytes(self) -> int:
        """Archive bytes on disk so far (the compressor's buffer, < 64 KiB, is not yet counted)."""
        return self._file.tell()

    def add(self, name: str, data: bytes | Body) -> None:
        """Append one member; names are unique because every path comes from `ztbundle.layout`."""
        self.add_scanned(name, data, _scan(data))

    def add_scanned(self, name: str, data: bytes | Body, hit: tuple[Reason, int] | None) -> None:
        """`add` for bytes whose leak scan is already known: `hit` is what `leakscan` found in them."""
        if name in self._names:
            raise ValueError(f"duplicate bundle member {name}")
        size = data.size if isinstance(data, Body) else len(data)
        if hit is not None:
            self.leaks.append(leakscan.Leak(name, *hit))
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = int(time.time())
        info.mode = 0o600
        try:
            self._tar.addfile(info, data.rewound() if isinstance(data, Body) else io.BytesIO(data))
        except OSError as exc:
            raise ArchiveError(f"{self.partial}: cannot write {name}: {exc.strerror or exc}") from None
        self._names.add(name)
        self.stored_bytes += size

    def put(self, name: str, body: Body, input_: layout.Input) -> tuple[str, ...] | None:
        """Store one artifact body by kind; return its recipe (piece digests), else None.

        Logs are deferred when a size budget is set (`defer_logs`); `DEDUP_INPUTS` become recipes
        in format 2; everything else is a raw member.
        """
        if self.defer_logs and input_ in _LOG_INPUTS:
            self.defer(name, body)
            return None
        self.raw_bytes += body.size
        if not (self.dedupe and input_ in layout.DEDUP_INPUTS):
            self.add(name, body)
            return None
        if body.layout is not None:
            return self._put_laid_out(body, body.layout)
        data = body.read_bytes()
        if body.hashed and data.find(b"\n") < 0:
            # No key match (each starts with a newline): one piece, the body, whose digest is known.
            # istiod's compact per-proxy views: a memchr instead of two memcmps or a regex pass.
            return (self._store_object(body.sha256, data),)
        points = cut_points(data, lambda at: self._repeats(data, at))
        bounds = list(zip(points, [*points[1:], len(data)], strict=True))
        # Contiguous, increasing slices from 0 to the end join back to `data`; checked on the offsets
        # rather than by joining a copy of the body (never risk a lossy bundle).
        if bounds[0][0] != 0 or (data and any(a >= b for a, b in bounds)):
            self.add(name, body)
            return None
        return tuple(self._store_piece(data, a, b) for a, b in bounds)

    def _put_laid_out(self, body: Body, laid: Layout) -> tuple[str, ...]:
        """`put`'s recipe for a body whose members are known: the same cuts, without searching for keys.

        The cuts are `cut_points`' (the layout's starts are every key match), so each piece is a run of
        whole segments (the opening brace, members, the closing tail).
        """
        segments = _Segments(body, laid)
        points = cut_points_at(laid.starts, body.size)
        recipe = []
        for a, b in zip(points, [*points[1:], body.size], strict=True):
            first, last = segments.index[a], segments.index[b] - 1
            identity = segments.identity(first, last)
            digest = self._made_of.get(identity) if identity is not None else None
            if digest is None:
                digest = self._store_views(segments.views(a, b))
                if identity is not None:
                    if len(self._made_of) >= 4 * _CACHE_ENTRIES:
                        self._made_of.clear()  # bounded, as `_last` is
                    self._made_of[identity] = digest
            recipe.append(digest)
        return tuple(recipe)

    def _store_views(self, views: list[memoryview]) -> str:
        """Store the piece made of `views` once; joined (copied) only when not stored before."""
        hashed = hashlib.sha256()
        for view in views:
            hashed.update(view)
        return self._store_object(hashed.hexdigest(), views)

    def _repeats(self, data: bytes, start: int) -> int:
        """Where the last big piece stored under this key text ends if `data` repeats it at `start`.

        Such a piece started at a cut and ended at the next one, so the only keys inside it are
        less than `_MIN_PIECE` from its start, which are no cut here either; a key match cannot run
        from inside it past its end, where a newline must follow. A body's last piece may hold a
        key whose cut was merged away at the end of that body, so mid-body it is not stepped over.
        """
        last = self._last.get(data[start : start + 80])
        if last is None:
            return start
        piece, _, ended_body = last
        stop = start + len(piece)
        if stop > len(data) or (stop < len(data) and (ended_body or data[stop : stop + 1] != b"\n")):
            return start
        return stop if data.startswith(piece, start) else start

    def _store_piece(self, data: bytes, start: int, stop: int) -> str:
        """Store `data[start:stop]` once; the body is sliced (copied) only for a piece not seen before."""
        size = stop - start
        key = data[start : start + 80] if size >= _CACHE_MIN else b""
        last = self._last.get(key) if key else None
        if last is not None and len(last[0]) == size and data.startswith(last[0], start):  # a memcmp
            return last[1]
        piece = data[start:stop]  # the body itself when it is one piece
        digest = hashlib.sha256(piece).hexdigest()
        if key:
            if len(self._last) >= _CACHE_ENTRIES:
                self._last.clear()  # bounded: node-specific big pieces must not accumulate
            self._last[key] = (piece, digest, stop == len(data))
        return self._store_object(digest, piece)

    def _store_object(self, digest: str, data: bytes | list[memoryview]) -> str:
        """Write `objects/<digest>` unless already written; `data` has that digest (views are joined,
        i.e. copied, only to be written)."""
        if digest not in self._objects:
            self.add(layout.object_member(digest), data if isinstance(data, bytes) else b"".join(data))
            self._objects.add(digest)
        return digest

    def defer(self, name: str, body: Body) -> None:
        """Move a body to the spool directory; `collector.budget` writes it when the run ends.

        It is scanned for leaks now, while the run still waits on the network: written whole at the
        end, it then costs only its compression there.
        """
        if self._spool is None:
            self._spool = tempfile.TemporaryDirectory(prefix="ztbundle-spool-")
        file = Path(self._spool.name) / f"{len(self.spooled):06d}"
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            src = body.rewound()
            while chunk := src.read(1 << 20):
                out.write(chunk)
        self.raw_bytes += body.size
        self.spooled.append(Spooled(name, file, body.size, body.sha256, _scan(body)))

    def finish(self, manifest_name: str, manifest: bytes) -> Path:
        """Write the manifest last, close the gzip stream, fsync and rename `.partial` to the target."""
        self.add(manifest_name, manifest)
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        # Fails closed: a leak is never renamed into place.
        leakscan.check_archive(self.partial, self.out, self.leaks)
        os.replace(self.partial, self.out)
        self._drop_spool()
        return self.out

    def abort(self) -> None:
        """Close without renaming (used only when not even a manifest can be written)."""
        try:
            self._tar.close()
        finally:
            self._file.close()
            self._drop_spool()

    def _drop_spool(self) -> None:
        if self._spool is not None:
            self._spool.cleanup()
            self._spool = None
