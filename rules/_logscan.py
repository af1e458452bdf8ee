"""Log-signature helpers for rules: find events by exact substring, weigh them by recency and repetition.

One old log line is not a live problem (guard: live, not history). A `Tally` counts the
matching events, how many fall in the `RECENT` window before the analysis time, and whether any
file was trimmed by the collector (then counts are a lower bound and the message says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from analyzer.model import LogEvent, LogFile

RECENT = timedelta(minutes=30)
"""Events older than this before capture are history, not a live problem."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """One matching event and the log file it came from."""

    file: LogFile
    event: LogEvent

    @property
    def time(self) -> datetime | None:
        return self.event.time

    def field(self, name: str) -> str | None:
        return self.event.fields.get(name)


def text_of(event: LogEvent) -> str:
    """The message plus every field value: signatures may sit in either (`error=`, `err=`)."""
    return " ".join((event.message, *event.fields.values()))


def find(
    files: Iterable[LogFile], needles: Iterable[str], where: Callable[[LogEvent], bool] | None = None
) -> Iterator[Sighting]:
    """Events containing any of `needles` (exact, case-sensitive), optionally filtered by `where`."""
    wanted = tuple(needles)
    for f in files:
        for event in f.events():
            if where is not None and not where(event):
                continue
            text = text_of(event)
            if any(n in text for n in wanted):
                yield Sighting(f, event)


@dataclass(frozen=True, slots=True)
class Tally:
    count: int
    recent: int
    last: datetime | None
    paths: tuple[str, ...]
    trimmed: bool

    def live(self, min_count: int = 1) -> bool:
        """Seen at least `min_count` times within the recent window (repetition that is still going on)."""
        return self.recent >= max(min_count, 1)

    def describe(self) -> str:
        """`3 times (2 in the 30 min before capture), last at 2026-01-01T11:59:00Z[; log trimmed ...]`."""
        minutes = int(RECENT.total_seconds() // 60)
        last = self.last.strftime("%Y-%m-%dT%H:%M:%SZ") if self.last else "an unknown time"
        text = f"{self.count} time(s) ({self.recent} in the {minutes} min before capture), last at {last}"
        if self.trimmed:
            text += "; log trimmed by the collector, so this is a lower bound"
        return text


def latest(sightings: Iterable[Sighting]) -> Sighting | None:
    """The sighting with the newest timestamp (later in file order wins ties; untimed lose)."""
    best: Sighting | None = None
    for s in sightings:
        if best is None or (s.time is not None and (best.time is None or s.time >= best.time)):
            best = s
    return best


def tally(sightings: Iterable[Sighting], now: datetime) -> Tally:
    """Count sightings; `recent` are at most RECENT before `now` (or after it: logged during capture)."""
    items = list(sightings)
    times = [s.time for s in items if s.time is not None]
    recent = sum(1 for t in times if t >= now - RECENT)
    paths = tuple(sorted({s.file.path for s in items}))
    return Tally(len(items), recent, max(times, default=None), paths, any(s.file.trimmed for s in items))
