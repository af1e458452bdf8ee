"""ztunnel access logs as filtered records (the `logs` view); malformed lines are counted per file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analyzer.model import Bundle, Component, LogFile
from analyzer.parse.logs import AccessRecord
from analyzer.views.table import Table


@dataclass(frozen=True, slots=True)
class Query:
    ztunnel: str | None = None
    direction: str | None = None  # inbound | outbound
    workload: str | None = None  # pod name or its owner prefix (`productpage-v1`), source or destination
    service: str | None = None  # service hostname or its short name
    errors: bool = False
    since: datetime | None = None
    until: datetime | None = None
    previous: bool = False  # only the previous container's log: the run before the last restart


@dataclass(frozen=True, slots=True)
class Entry:
    ztunnel: str
    path: str
    record: AccessRecord


@dataclass(frozen=True, slots=True)
class AccessLog:
    entries: tuple[Entry, ...]
    malformed: tuple[tuple[str, int], ...]  # (log member, malformed line count), only files with some
    files: int


def _workload_is(name: str | None, wanted: str) -> bool:
    return bool(name) and (name == wanted or str(name).startswith(wanted + "-"))


def matches(r: AccessRecord, q: Query) -> bool:
    """True when a record passes every filter of the query."""
    if q.direction and r.direction != q.direction:
        return False
    if q.workload and not (
        _workload_is(r.src_workload, q.workload) or _workload_is(r.dst_workload, q.workload)
    ):
        return False
    if q.service and not (r.dst_service == q.service or (r.dst_service or "").split(".")[0] == q.service):
        return False
    if q.errors and not (r.error or r.level in ("error", "warn")):
        return False
    if q.since and (r.time is None or r.time < q.since):
        return False
    return not (q.until and (r.time is None or r.time > q.until))


def ztunnel_logs(bundle: Bundle, ztunnel: str | None = None, previous: bool = False) -> Iterator[LogFile]:
    for f in bundle.logs_of(Component.ZTUNNEL):
        if (ztunnel is None or f.pod == ztunnel) and (f.previous or not previous):
            yield f


@dataclass(frozen=True, slots=True)
class LastWords:
    """The last error and warning lines of one log: for a previous container, why it ended."""

    ztunnel: str
    path: str
    lines: tuple[tuple[int, str, str], ...]  # (line number, level, message)


def last_words(bundle: Bundle, q: Query, count: int = 5) -> tuple[LastWords, ...]:
    """The last `count` error/warning events of each selected log, oldest first."""
    out = []
    for f in ztunnel_logs(bundle, q.ztunnel, q.previous):
        bad = [e for e in f.parsed().events if e.level in ("error", "warn")]
        if bad:
            out.append(LastWords(f.pod, f.path, tuple((e.line, e.level, e.message) for e in bad[-count:])))
    return tuple(out)


def access_log(bundle: Bundle, q: Query = Query()) -> AccessLog:
    """Every access record of the selected ztunnels' logs (previous containers included), oldest first."""
    entries, malformed, files = [], [], 0
    for f in ztunnel_logs(bundle, q.ztunnel, q.previous):
        files += 1
        if f.malformed():  # read with the records (shared with the rules when they parsed this log)
            malformed.append((f.path, f.malformed()))
        entries += [Entry(f.pod, f.path, r) for r in f.access_records() if matches(r, q)]
    entries.sort(
        key=lambda e: (e.record.time is None, e.record.time or datetime.min, e.ztunnel, e.record.line)
    )
    return AccessLog(tuple(entries), tuple(malformed), files)


def _who(namespace: str | None, workload: str | None) -> str:
    return f"{namespace}/{workload}" if namespace and workload else (workload or "-")


def table(log: AccessLog) -> Table:
    """TIME ZTUNNEL DIRECTION SOURCE ... one row per record; `-` for fields the record lacks."""
    rows = []
    for e in log.entries:
        r = e.record
        rows.append(
            (
                r.time.isoformat().replace("+00:00", "Z") if r.time else "-",
                e.ztunnel,
                r.direction or "-",
                _who(r.src_namespace, r.src_workload),
                r.src_addr or "-",
                r.src_identity or "-",
                _who(r.dst_namespace, r.dst_workload),
                r.dst_addr or "-",
                r.dst_hbone_addr or "-",
                r.dst_service or "-",
                "-" if r.bytes_sent is None else str(r.bytes_sent),
                "-" if r.bytes_recv is None else str(r.bytes_recv),
                "-" if r.duration_ms is None else f"{r.duration_ms}ms",
                r.error or "-",
            )
        )
    headers = ("TIME", "ZTUNNEL", "DIRECTION", "SOURCE", "SRC ADDR", "SRC IDENTITY", "DESTINATION",
               "DST ADDR", "DST HBONE ADDR", "SERVICE", "SENT", "RECEIVED", "DURATION", "ERROR")  # fmt: skip
    return Table(headers, tuple(rows), padding=2)


def _short_who(namespace: str | None, workload: str | None, service: str | None) -> str:
    if workload:
        return _who(namespace, workload)
    return ".".join((service or "-").split(".")[:2])  # reviews.bookinfo.svc.cluster.local → reviews.bookinfo


def short_table(log: AccessLog, width: int) -> Table:
    """The default `logs` table fitted to `width` columns: ERROR is cut to fit (`-o wide` shows all)."""
    rows = []
    for e in log.entries:
        r = e.record
        sent = "-" if r.bytes_sent is None else str(r.bytes_sent)
        recv = "-" if r.bytes_recv is None else str(r.bytes_recv)
        rows.append(
            (
                r.time.strftime("%Y-%m-%dT%H:%M:%SZ") if r.time else "-",
                e.ztunnel,
                {"inbound": "in", "outbound": "out"}.get(r.direction or "", r.direction or "-"),
                _who(r.src_namespace, r.src_workload),
                _short_who(r.dst_namespace, r.dst_workload, r.dst_service),
                f"{sent}/{recv}",
                r.error or "-",
            )
        )
    headers = ("TIME", "ZTUNNEL", "DIR", "SOURCE", "DESTINATION", "SENT/RECV", "ERROR")
    pad = 2
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    # Too wide: cut ERROR (down to 12 columns), SOURCE and DESTINATION (down to 18), widest first.
    floors = {6: 12, 3: 18, 4: 18}
    while sum(widths) + pad * (len(widths) - 1) > width:
        col = max(floors, key=lambda c: widths[c] - floors[c])
        if widths[col] <= floors[col]:
            break
        widths[col] -= 1
    cut = tuple(tuple(_fit(cell, widths[i]) for i, cell in enumerate(row)) for row in rows)
    return Table(headers, cut, padding=pad)


def _fit(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: width - 1] + "…"


def record_json(e: Entry) -> dict[str, Any]:
    """One record with ztunnel's own field names (`src.addr`, `dst.hbone_addr`, ...)."""
    r = e.record
    return {
        "time": r.time.isoformat().replace("+00:00", "Z") if r.time else None,
        "ztunnel": e.ztunnel,
        "evidence": f"{e.path}:{r.line}",
        "level": r.level,
        "message": r.message,
        "direction": r.direction,
        "src.addr": r.src_addr,
        "src.workload": r.src_workload,
        "src.namespace": r.src_namespace,
        "src.identity": r.src_identity,
        "dst.addr": r.dst_addr,
        "dst.hbone_addr": r.dst_hbone_addr,
        "dst.service": r.dst_service,
        "dst.workload": r.dst_workload,
        "dst.namespace": r.dst_namespace,
        "dst.identity": r.dst_identity,
        "bytes_sent": r.bytes_sent,
        "bytes_recv": r.bytes_recv,
        "duration_ms": r.duration_ms,
        "error": r.error,
    }


def malformed_notes(malformed: tuple[tuple[str, int], ...], shown: int = 3) -> list[str]:
    """One note per file for the first `shown`, then one for the rest (1,000 ztunnels, 1,000 lines)."""
    notes = [f"{path}: skipped {count} malformed line(s)" for path, count in malformed[:shown]]
    rest = malformed[shown:]
    if rest:
        notes.append(f"… and {sum(n for _, n in rest)} malformed line(s) in {len(rest)} more log file(s)")
    return notes
