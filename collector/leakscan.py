"""The last line of defence: scan every member of a written archive for credentials, and fail closed.

The bundle writer scans each member's bytes as it writes them (`scan_parts`: the bytes handed to the
archive, in the chunks `scan_stream` would read them back in), so the scan sees exactly what would
ship: every collected member, the tool log and the manifest. Scanning while writing keeps the scan
off the end of the run, where re-reading the finished archive once cost ~0.45 s at 100 nodes, after
every request was answered. `check_archive` then refuses the `.partial` before its rename: on any hit
it is deleted (a file holding a secret must not linger next to real bundles, nor be renamed and shared
by hand) and `LeakFound` names each member, reason and line, never the value.

It runs the redactor's own matchers (`collector.matchers`), on the raw bytes with JSON escapes
undone, so what the redactor replaced reads as a placeholder here and what it judged harmless (a
certificate, a flag, a DNS option it neutralized) is harmless here too: a hit means a secret in a
place the redactor did not reach, never a disagreement about shape. The structural checks below
add what only the JSON walk knows (header lists, the last-applied annotation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from collector.body import Body
from collector.matchers import PLACEHOLDER_PREFIX, Reason, find
from collector.secret_names import LAST_APPLIED, NOT_SECRET
from ztbundle.errors import ZtbundleError
from ztbundle.exits import Exit

CHUNK = 1 << 20
OVERLAP = 4096  # longer than any pattern's minimum match, so a secret split across chunks is still seen

# Structural leftovers in JSON that the text matchers cannot see: a header value or last-applied
# annotation that is not a placeholder.
_NAME = rb'"((?:[^"\\]|\\.){1,256})"'
_VALUE = rb'"((?:[^"\\]|\\.){0,64})'  # a prefix is enough to tell a placeholder from a value
# Each with a literal that every match holds: a pattern that opens with `"` would be tried at every
# quote of a JSON body, and a substring search that finds no literal costs about half of that.
STRUCTURAL: tuple[tuple[Reason, bytes, re.Pattern[bytes]], ...] = (
    (
        Reason.XDS_HEADERS,
        b'Headers"',
        re.compile(
            rb'"(?:xds|ca)Headers"\s{0,64}:\s{0,64}\[\s{0,64}\[\s{0,64}'
            + _NAME
            + rb"\s{0,64},\s{0,64}"
            + _VALUE
        ),
    ),
    (
        Reason.LAST_APPLIED,
        LAST_APPLIED.encode(),
        re.compile(re.escape(LAST_APPLIED.encode()) + rb'"\s{0,64}:\s{0,64}' + _VALUE),
    ),
)


def _is_leak(m: re.Match[bytes]) -> bool:
    value = m.groups()[-1].decode("utf-8", "replace")
    return not value.startswith(PLACEHOLDER_PREFIX) and value.lower() not in NOT_SECRET


def first_leak(window: bytes) -> tuple[Reason, int] | None:
    """The earliest leak in `window` as (reason, byte offset)."""
    best: tuple[Reason, int] | None = None
    text = window.decode("utf-8", "surrogateescape")
    hits = find(text)
    if hits:
        reason, start, _ = hits[0]
        best = (reason, len(text[:start].encode("utf-8", "surrogateescape")))
    for reason, literal, pattern in STRUCTURAL:
        if literal not in window:
            continue
        for m in pattern.finditer(window, 0, best[1] if best else len(window)):
            if _is_leak(m):
                best = (reason, m.start())
                break
    return best


@dataclass(frozen=True, slots=True)
class Leak:
    """Where a credential-shaped value was found: member, rule and 1-based line (never the value)."""

    member: str
    rule: Reason
    line: int

    def __str__(self) -> str:
        return f"{self.member}:{self.line}: {self.rule.value}"


class LeakFound(ZtbundleError):
    """The archive would have shipped a credential; it was not finalized."""

    exit_code = Exit.NOTHING_COLLECTED

    def __init__(self, bundle: Path, leaks: list[Leak]) -> None:
        self.bundle = bundle
        self.leaks = leaks
        more = f" (and {len(leaks) - 3} more)" if len(leaks) > 3 else ""
        where = "; ".join(str(leak) for leak in leaks[:3])
        super().__init__(
            f"{bundle}: leak scan found {where}{more}; bundle not finalized and the .partial was deleted "
            "(please report which artifact kind was not redacted)"
        )


def scan_stream(f: IO[bytes]) -> tuple[Reason, int] | None:
    """First credential-shaped hit in a byte stream, as (rule, line), or None."""
    return _scan(iter(lambda: f.read(CHUNK), b""))


def scan_parts(parts: Iterable[bytes | memoryview]) -> tuple[Reason, int] | None:
    """`scan_stream` of the bytes `parts` hold one after another, in the same `CHUNK`s (no joined copy)."""
    return _scan(_rechunked(parts))


def scan_body(body: Body) -> tuple[Reason, int] | None:
    """`scan_stream` of a body: read from its file when spooled, else over its chunks in place."""
    if not body.in_memory:
        return scan_stream(body.rewound())
    return scan_parts(body.parts())


def _rechunked(parts: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """The bytes of `parts` in order, as `CHUNK`-sized blocks (the last one shorter), as a read gives them."""
    pending: list[memoryview] = []
    size = 0
    for part in parts:
        view = memoryview(part).cast("B")
        while len(view):
            take = view[: CHUNK - size]
            pending.append(take)
            size += len(take)
            view = view[len(take) :]
            if size == CHUNK:
                yield b"".join(pending)
                pending, size = [], 0
    if size:
        yield b"".join(pending)


def _scan(chunks: Iterable[bytes]) -> tuple[Reason, int] | None:
    carry, lines_before = b"", 0
    for chunk in chunks:
        window = carry + chunk
        hit = first_leak(window)
        if hit is not None:
            rule, at = hit
            return rule, lines_before + window.count(b"\n", 0, at) + 1
        carry = window[-OVERLAP:]
        lines_before += window.count(b"\n", 0, len(window) - len(carry))
    return None


def check_archive(partial: Path, bundle: Path, leaks: list[Leak]) -> None:
    """Raise LeakFound (after deleting `partial`) if the writer's scan of its members found any leak."""
    if leaks:
        partial.unlink(missing_ok=True)
        raise LeakFound(bundle, leaks)
