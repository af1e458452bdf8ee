"""Container logs as collected, parsed on first use (`analyzer.parse.logs`) and cached per file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from analyzer.gc_pause import no_cycle_collection
from analyzer.parse.access import TrafficFields, scan_access, scan_traffic, traffic_fields
from analyzer.parse.logs import (
    AccessRecord,
    LogEvent,
    ParsedLog,
    access_records,
    mentions,
    parse_log,
    verbatim,
    words,
)
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
    _access: tuple[list[AccessRecord], int] | None = field(default=None, compare=False, repr=False)
    _seen: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)  # "": verbatim
    _words: str | None = field(default=None, compare=False, repr=False)  # `analyzer.parse.logs.words`

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

    def may_mention(self, needles: tuple[str, ...]) -> bool:
        """False when no event of this log can hold any of `needles` (`analyzer.parse.logs.may_mention`): a
        rule looking for them need not parse it. What was looked for is remembered: seven rules
        ask, and at 1,000 nodes each substring test runs over 140 MB of logs. The tests run over
        the log's distinct `words`, made on the first ask (a ztunnel log's ~5,000 words are ~1,000
        distinct, a sixth of its text): a dozen searches of the whole text cost three times as much."""
        if self._parsed is not None:
            return True
        seen = self._seen
        if not seen:
            text = self.text  # read once for both
            seen[""] = verbatim(text)
            if seen[""]:
                object.__setattr__(self, "_words", words(text))  # a cache on a frozen object
        if not seen[""]:
            return True
        known = self._words
        assert known is not None

        def has(part: str) -> bool:
            found = seen.get(part)
            if found is None:
                found = seen[part] = part in known
            return found

        return mentions(needles, has)

    def _scanned(self) -> tuple[list[AccessRecord], int]:
        scanned = self._access
        if scanned is None:
            parsed = self._parsed  # a rule parsed it already: reuse that, else read only the records
            if parsed:
                scanned = (access_records(parsed.events), parsed.malformed)
            else:
                with no_cycle_collection():  # ~15 objects a record, all kept
                    scanned = scan_access(self.text)
            object.__setattr__(self, "_access", scanned)
        return scanned

    def access_records(self) -> list[AccessRecord]:
        """`connection complete/failed` records, extracted once on first use."""
        return self._scanned()[0]

    def malformed(self) -> int:
        """Lines the parse skips as malformed (`ParsedLog.malformed`), without parsing every event."""
        return self._scanned()[1]

    def traffic_fields(self) -> list[TrafficFields]:
        """What the traffic section reads of each access record (`scan_traffic`), not kept: it is
        read once, and the records themselves are built only for whoever asks for them."""
        if self._access is not None:
            return [traffic_fields(r) for r in self._access[0]]
        if self._parsed is not None:
            return [traffic_fields(r) for r in access_records(self._parsed.events)]
        with no_cycle_collection():  # ~15 objects a record, all kept until the section is built
            return scan_traffic(self.text)
