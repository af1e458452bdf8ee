"""What one collect run remembers about big JSON bodies, and the lock that keeps one big parse at a time.

At scale every ztunnel's dump repeats the mesh's big members byte for byte (see `collector.members`):
the runner's JSON check and the redactor remember their verdict on each big member by its sha256, so
the 1,000th identical 12 MB `workloads` member costs a hash instead of a parse. The memory belongs to
one run: `collector.collect` makes a `RunCache` per run and passes it down, so two runs in one process
(tests, a library caller) never share verdicts.

Parsing is GIL-bound, so parsing bodies in parallel gains nothing, while a parsed config_dump holds
several times its bytes in Python objects (and redaction briefly holds two). One parse at a time,
under `parse_lock`, keeps peak memory flat whatever the worker count; the memos are used only under
that lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from collector.members import Known

if TYPE_CHECKING:
    from collector.redact_text import Reason

MEMO_ENTRIES = 4096

T = TypeVar("T")


class Memo(Generic[T]):
    """Results per (member key, digest, context), least recently used first out; not locked itself."""

    def __init__(self, entries: int = MEMO_ENTRIES) -> None:
        self._entries = entries
        self._data: OrderedDict[tuple[object, ...], T] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> T | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: tuple[object, ...], value: T) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._entries:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[tuple[object, ...]]:
        return iter(list(self._data))


@dataclass(frozen=True, slots=True)
class Walked:
    """A member's redaction: hits per (reason, field) and its new value text (None when untouched)."""

    counts: tuple[tuple[tuple[Reason, str | None], int], ...]
    text: str | None


@dataclass(slots=True)
class RunCache:
    """One run's parse lock and memos; pass the same object to every check and redaction of the run."""

    parse_lock: threading.Lock = field(default_factory=threading.Lock)
    valid_members: Memo[bool] = field(default_factory=Memo)  # big members already parsed as valid JSON
    valid_bodies: Memo[tuple[str | None]] = field(default_factory=Memo)  # big compact bodies: the version
    triggered: Memo[tuple[bool]] = field(default_factory=Memo)  # whether a member needs the redactor
    walked: Memo[Walked] = field(default_factory=Memo)  # a member's redaction, when small to keep
    clean_bodies: Memo[bool] = field(default_factory=Memo)  # whole bodies with nothing to redact
    known: Known = field(default_factory=Known)  # the last big member per key, recognised by memcmp
