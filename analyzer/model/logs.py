"""Container logs as collected, parsed on first use (`analyzer.parse.logs`) and cached per file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from analyzer.parse.logs import AccessRecord, LogEvent, ParsedLog, access_records, parse_log
from ztbundle.layout import Component


@dataclass(frozen=True, slots=True, eq=False)
class LogFile:
    """A container log as collected; parse it with `analyzer.parse.logs` (cached per file)."""

    component: Component
    namespace: str
    pod: str
    container: str
    previous: bool
    path: str
    source: str | Callable[[], str] = field(repr=False)
    """The text, or how to read it: the loader passes a reader, so a 1,000-ztunnel bundle's logs are
    not held as text beside their bytes (decoded for each parse or view, then dropped)."""
    trimmed: bool = False
    _parsed: ParsedLog | None = field(default=None, compare=False, repr=False)
    _access: list[AccessRecord] | None = field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        return self.source if isinstance(self.source, str) else self.source()

    def __eq__(self, other: object) -> bool:  # by content: a reader and a string may hold one text
        if not isinstance(other, LogFile):
            return NotImplemented
        mine = (self.component, self.namespace, self.pod, self.container, self.previous, self.path)
        theirs = (other.component, other.namespace, other.pod, other.container, other.previous, other.path)
        return mine == theirs and self.trimmed == other.trimmed and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.path)

    def parsed(self) -> ParsedLog:
        """The whole parse (events, malformed count), done once."""
        parsed = self._parsed
        if parsed is None:
            parsed = parse_log(self.text)
            object.__setattr__(self, "_parsed", parsed)  # a cache on a frozen object, not a change
        return parsed

    def events(self) -> list[LogEvent]:
        """Parsed events, parsed once on first use."""
        return self.parsed().events

    def access_records(self) -> list[AccessRecord]:
        """`connection complete/failed` records, extracted once on first use."""
        records = self._access
        if records is None:
            records = access_records(self.events())
            object.__setattr__(self, "_access", records)
        return records
