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
_TOP_KEY = layout.TOP_KEY_BYTES  # what `layout.top_level_keys` finds, searched from an offset here


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


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a pretty-printed object's top-level members lie in a body, for the writer's cuts.

    `starts` are the offsets of every match of `layout.TOP_KEY_BYTES` in the body, in order, and
    nothing else; the last member ends at `tail`, where `\\n}` and whitespace follow. `digests[i]`
    is the sha256 of member i's bytes (`starts[i]` up to the next start or `tail`) or None.

    A match starts with a newline and holds no other, so every match lies within the bytes from one
    newline to the next: which members a body holds can be told member by member, and a body
    rebuilt from another's members (the redactor's) has a layout made of theirs.
    """

    starts: tuple[int, ...]
    tail: int
    digests: tuple[bytes | None, ...]


def split(
    data: bytes, known: Known | None = None, recognised: dict[int, tuple[int, bytes]] | None = None
) -> list[Member] | None:
    """The members of a 2-space pretty-printed object, in order; None for any other shape.

    The body is then exactly `{` + the members + `\\n}` + whitespace, so it is valid JSON if and only
    if every key and value is. Duplicate keys return None: json keeps the last, a member walk would not.
    With `known`, a big member byte-identical to the last one seen under its key is stepped over
    instead of searched through (same result: no top-level key lies inside a member); `recognised`
    then gets, per stepped-over member start, where the remembered bytes end and their digest.
    """
    if not data.startswith(b"{\n"):
        return None
    end = data.rfind(b"\n}")
    if end < 0 or data[end + 2 :].strip():
        return None
    found: list[tuple[str, int, int]] = []  # (key, start, value)
    pos = 0
    while (m := _TOP_KEY.search(data, pos, end)) is not None:
        if not found and m.start() != 1:
            return None
        try:
            key = json.loads(m.group(1).decode("utf-8"))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            return None
        found.append((key, m.start(), m.end()))
        pos = m.end()
        if known is not None:
            stop, digest = known.step(data, key, m.start(), end)
            if digest is not None:
                pos = max(pos, stop)
                if recognised is not None:
                    recognised[m.start()] = (stop, digest)
    if not found:
        return None
    out = [
        Member(key, start, value, end if i + 1 == len(found) else found[i + 1][1], i + 1 == len(found))
        for i, (key, start, value) in enumerate(found)
    ]
    if len({m.key for m in out}) != len(out):
        return None
    return out


def digest(data: bytes | memoryview, member: Member) -> bytes | None:
    """The member's sha256 when it is big enough to remember, else None."""
    if member.stop - member.start < MEMO_MIN:
        return None
    return hashlib.sha256(memoryview(data)[member.start : member.stop]).digest()


class Known:
    """The last big member seen under each key, so the next body's copy is recognised by a memcmp.

    Splitting finds each top-level key with a regex over every byte, and a big member's digest is a
    sha256 over its bytes: ~1.5 ms per MB together, for a 12 MB `workloads` member that every
    ztunnel's dump repeats. A member that starts with the remembered bytes (`bytes.startswith` at
    its offset) and ends where they end is those bytes, with the digest remembered beside them.
    Used under the run's parse lock only; one entry per key, so memory is one copy of each.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[str, tuple[bytes, bytes]] = {}  # key -> (member bytes, sha256)

    def step(self, data: bytes, key: str, start: int, end: int) -> tuple[int, bytes | None]:
        """Where the remembered member ends and its digest if `data` repeats it at `start`, else
        (`start`, None)."""
        last = self._last.get(key)
        stop = start + len(last[0]) if last is not None else start
        # A newline must follow (the next key's, or the closing brace's): no key match can then run
        # from inside the remembered bytes past their end, so none lies inside them here either.
        if (
            last is None
            or stop > end
            or data[stop : stop + 1] != b"\n"
            or not data.startswith(last[0], start)
        ):
            return start, None
        return stop, last[1]

    def digest(self, data: bytes, member: Member) -> bytes | None:
        """The remembered digest when `member` is exactly the remembered bytes, else None."""
        last = self._last.get(member.key)
        if last is None or member.stop - member.start != len(last[0]):
            return None
        return last[1] if data.startswith(last[0], member.start) else None

    def remember(self, data: bytes, member: Member, digest: bytes) -> None:
        if len(self._last) >= 64 and member.key not in self._last:
            self._last.clear()  # bounded: odd bodies with many big keys must not accumulate
        self._last[member.key] = (data[member.start : member.stop], digest)


class Read:
    """A body's bytes read once, with its member split and its big members' digests computed once.

    The runner's JSON check and the redactor both go member by member; reading, splitting and
    hashing a 16 MB dump once for both (under the run's parse lock) instead of once each saves a
    copy, a regex pass and a sha256 pass over every byte; with `known` (the run's), a big member
    repeated from the previous body costs a memcmp instead of both.
    """

    __slots__ = ("_digests", "_known", "_recognised", "data", "split")

    def __init__(self, data: bytes, known: Known | None = None) -> None:
        self.data = data
        # Members the split stepped over as the remembered bytes: their digest costs no second memcmp.
        self._recognised: dict[int, tuple[int, bytes]] = {}
        self.split = split(data, known, self._recognised)
        self._known = known
        self._digests: list[bytes | None] | None = None

    def digests(self) -> list[bytes | None]:
        """`digest` of each member of `split` (which must not be None), in order."""
        if self._digests is None:
            assert self.split is not None
            self._digests = [self._digest(m) for m in self.split]
        return self._digests

    def layout(self) -> Layout:
        """The body's `Layout` (`split` must not be None).

        `split` found every match before the closing `\\n}` (stepping over remembered members only
        where no match can lie); none lies after it, where no quote follows a newline.
        """
        assert self.split is not None
        return Layout(tuple(m.start for m in self.split), self.split[-1].stop, tuple(self.digests()))

    def _digest(self, m: Member) -> bytes | None:
        if m.stop - m.start < MEMO_MIN:
            return None
        if self._known is None:
            return digest(self.data, m)
        stepped = self._recognised.get(m.start)
        if stepped is not None and stepped[0] == m.stop:  # the member is exactly the remembered bytes
            return stepped[1]
        found = self._known.digest(self.data, m)
        if found is None:
            found = digest(self.data, m)
            assert found is not None
            self._known.remember(self.data, m, found)
        return found
