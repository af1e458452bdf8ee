"""Log-signature helpers for rules: find events by exact substring, weigh them by recency and rate.

A single old log line is not a live problem (guard: live, not history). A `Tally` counts the
matching events, how many fall in the `RECENT` window before the analysis time, and whether any
file was trimmed by the collector (then counts are a lower bound and the message says so).

`weigh` gives a signature one number from recency and rate within the capture window: each line
weighs `0.5 ** (age / HALF_LIFE)`, its age measured back from the bundle's analysis time (the
collection time, never the wall clock). One line a minute before capture weighs 0.93 and is
evidence; the same line a day old weighs nothing; a steady trickle adds up (about one line every
29 minutes over the whole log holds the weight at `LIVE_WEIGHT`). The capture window is what the
logs cover: from the first timestamp of the files that matched (the `--since` horizon when the
collector was given one, else the container's start) up to the analysis time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from analyzer.model import Bundle, LogEvent, LogFile, Pod

RECENT = timedelta(minutes=30)
"""Events older than this before capture are history, not a live problem."""

HALF_LIFE = timedelta(minutes=10)
"""A line's weight halves for every HALF_LIFE it is older than the analysis time."""

LIVE_WEIGHT = 0.5
"""The weight at which a signature is live: one line HALF_LIFE old, two lines 2×HALF_LIFE old, ..."""

QUOTED = 3
"""How many of the newest matching lines a weighed signature quotes as `path:LINE` evidence."""


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
    files: Iterable[LogFile],
    needles: Iterable[str],
    where: Callable[[LogEvent], bool] | None = None,
    raw: Iterable[str] | None = None,
) -> Iterator[Sighting]:
    """Events containing any of `needles` (exact, case-sensitive), optionally filtered by `where`.

    A log that cannot hold a needle is not parsed (`LogFile.may_mention`). `raw`, when a needle is
    in every log anyway (`dns` is in ztunnel's startup config), is what to look for instead: text
    one of which is in the log line of every event `where` accepts (`error=dns` for an access
    record whose error starts with `dns`).
    """
    wanted = tuple(needles)
    hints = tuple(raw) if raw is not None else wanted
    for f in files:
        if not f.may_mention(hints):
            continue  # no event of this log can match: not parsed for nothing
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


def line_ref(s: Sighting) -> str:
    """`<member path>:<line>`: the bundle member and the 1-based line of the event's first line."""
    return f"{s.file.path}:{s.event.line}"


def weight_of(time: datetime | None, now: datetime) -> float:
    """`0.5 ** (age / HALF_LIFE)`; lines logged at or after `now` (during capture) weigh 1, untimed 0."""
    if time is None:
        return 0.0
    age = (now - time).total_seconds()
    return 1.0 if age <= 0 else 0.5 ** (age / HALF_LIFE.total_seconds())


def _first_time(f: LogFile) -> datetime | None:
    """The earliest timestamp in the file (not the first line: a log may be out of order)."""
    return min((e.time for e in f.events() if e.time is not None), default=None)


def _minutes(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


@dataclass(frozen=True, slots=True)
class Weight:
    """A signature weighed by recency and rate within the capture window."""

    count: int
    weight: float
    last: datetime | None
    window_start: datetime | None
    now: datetime
    evidence: tuple[str, ...]  # `path:LINE` of the newest QUOTED sightings, newest first
    quote: str  # the newest sighting's text, for the message
    trimmed: bool

    def live(self, threshold: float = LIVE_WEIGHT) -> bool:
        """Recent or frequent enough within the capture window to be a live problem."""
        return self.weight >= threshold

    @property
    def newest(self) -> str:
        """`newest <member>:<line>: "<text>"`: the newest matching line, quoted with where it is."""
        return f'newest {self.evidence[0]}: "{self.quote}"' if self.evidence else "no line quoted"

    def describe(self) -> str:
        """`3 time(s) in the 45 min of log, last 1 min before capture[; log trimmed ...]`."""
        window = f"the {_minutes(self.now - self.window_start)} of log" if self.window_start else "the log"
        last = f"last {_minutes(self.now - self.last)} before capture" if self.last else "at unknown times"
        text = f"{self.count} time(s) in {window}, {last}"
        if self.trimmed:
            text += "; log trimmed by the collector, so this is a lower bound"
        return text


def _quote(s: Sighting, limit: int = 120) -> str:
    text = s.event.message
    detail = s.event.fields.get("error")
    if detail and detail not in text:
        text = f"{text}: {detail}" if text else detail
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def weigh(sightings: Iterable[Sighting], now: datetime) -> Weight:
    """Weigh sightings by recency and rate; evidence quotes the newest lines as `path:LINE`."""
    items = list(sightings)
    newest = sorted(items, key=lambda s: (s.time is not None, s.time or now, s.event.line), reverse=True)
    times = [s.time for s in items if s.time is not None]
    starts = [t for t in (_first_time(f) for f in {s.file.path: s.file for s in items}.values()) if t]
    return Weight(
        count=len(items),
        weight=sum(weight_of(s.time, now) for s in items),
        last=max(times, default=None),
        window_start=min(starts, default=None),
        now=now,
        evidence=tuple(line_ref(s) for s in newest[:QUOTED]),
        quote=_quote(newest[0]) if newest else "",
        trimmed=any(s.file.trimmed for s in items),
    )


def destination_pod(bundle: Bundle, s: Sighting) -> Pod | None:
    """The pod an access-log line's connection went to: by workload name, else by `dst.addr`'s IP."""
    ns, name = s.field("dst.namespace"), s.field("dst.workload")
    pod = bundle.pod_by_name(ns, name) if ns and name else None
    if pod is None:
        ip = (s.field("dst.addr") or "").rpartition(":")[0].strip("[]")
        pod = bundle.pod_by_ip(ip) if ip else None
    return pod
