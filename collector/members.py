"""Top-level members of a pretty-printed JSON object, and the digest a run remembers a big one by.

ztunnel pretty-prints its config_dump (2 spaces), and at scale every ztunnel's dump repeats the mesh's
big members (`workloads`, `services`) byte for byte, as istiod repeats its per-proxy views. Checking or
redacting a body member by member, with results remembered by each big member's sha256 (in the run's
`collector.runcache.RunCache`), makes the 1,000th identical 12 MB `workloads` member cost a hash (~7 ms)
instead of a parse, a walk and a pattern scan (~0.5 s). Anything that is not exactly this layout gets
`None` from `split`, and the caller takes its whole-body path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ztbundle import layout

MEMO_MIN = 64 << 10  # below this, parsing again is cheaper than hashing and remembering


@dataclass(frozen=True, slots=True)
class Member:
    """One top-level member: its bytes are `data[start:stop]` (leading newline, key, value, comma)."""

    key: str
    start: int
    value: int  # first byte of the value
    stop: int
    last: bool

    def value_text(self, data: bytes) -> str | None:
        """The value's text without its separating comma; None when the separator or UTF-8 is wrong."""
        raw = data[self.value : self.stop].rstrip(b" \t\r\n")
        if raw.endswith(b",") == self.last:
            return None
        try:
            return (raw if self.last else raw[:-1]).decode("utf-8")
        except UnicodeDecodeError:
            return None


def split(data: bytes) -> list[Member] | None:
    """The members of a 2-space pretty-printed object, in order; None for any other shape.

    The body is then exactly `{` + the members + `\\n}` + whitespace, so it is valid JSON if and only
    if every key and value is. Duplicate keys return None: json keeps the last, a member walk would not.
    """
    if not data.startswith(b"{\n"):
        return None
    end = data.rfind(b"\n}")
    if end < 0 or data[end + 2 :].strip():
        return None
    found = list(layout.top_level_keys(data, end))
    if not found or found[0].start() != 1:
        return None
    out: list[Member] = []
    for i, m in enumerate(found):
        try:
            key = json.loads(m.group(1).decode("utf-8"))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            return None
        last = i + 1 == len(found)
        out.append(Member(key, m.start(), m.end(), end if last else found[i + 1].start(), last))
    if len({m.key for m in out}) != len(out):
        return None
    return out


def digest(data: bytes | memoryview, member: Member) -> bytes | None:
    """The member's sha256 when it is big enough to remember, else None."""
    if member.stop - member.start < MEMO_MIN:
        return None
    return hashlib.sha256(memoryview(data)[member.start : member.stop]).digest()


class Read:
    """A body's bytes read once, with its member split and its big members' digests computed once.

    The runner's JSON check and the redactor both go member by member; reading, splitting and
    hashing a 16 MB dump once for both (under the run's parse lock) instead of once each saves a
    copy, a regex pass and a sha256 pass over every byte.
    """

    __slots__ = ("_digests", "data", "split")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.split = split(data)
        self._digests: list[bytes | None] | None = None

    def digests(self) -> list[bytes | None]:
        """`digest` of each member of `split` (which must not be None), in order."""
        if self._digests is None:
            assert self.split is not None
            self._digests = [digest(self.data, m) for m in self.split]
        return self._digests
