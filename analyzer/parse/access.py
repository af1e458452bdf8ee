"""ztunnel access-log records: from parsed events, or straight from a log's text.

`scan_access(text)` returns what `logs.access_records(parse_log(text).events)` and
`parse_log(text).malformed` are, for the traffic section, `trace` and the `logs` view, without
parsing the whole log: it walks the lines as `parse_log` does (the same timestamp stripping, JSON
and legacy lines, multi-line events and malformed lines) but builds no event for a plain line that
is not an access record, and reads a record's fields in one match when they are laid out as
ztunnel writes them (`analyzer.parse.logs.access_values`). A 1,000-node bundle's ztunnel logs
are ~290k such lines; the whole parse of one costs ~20 µs, building its record from it ~7 µs more.

`scan_traffic(text)` walks the same way and keeps only what the traffic section reads of each
record (`TrafficFields`), without building the records.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TypeVar

from analyzer.parse import parse_time
from analyzer.parse.logs import (
    _LEVELS,
    _STRINGS,
    _TARGET_SPANS,
    _TS,
    ACCESS_LINE_FIELDS_PATTERN,
    AccessRecord,
    LogEvent,
    _from_fields,
    _int,
    _is_access,
    _json_event,
    _legacy_event,
    _strip_kubectl_ts,
    access_values,
    parse_fields,
)

__all__ = ["TrafficFields", "scan_access", "scan_traffic", "traffic_fields"]

T = TypeVar("T")


def _from_values(
    time: datetime | None, level: str, message: str, v: Sequence[str | None], line: int
) -> AccessRecord:
    """The record of `access_values`' values (in `_ACCESS_KEYS` order); names and identities shared.

    Positional, in `AccessRecord`'s field order: a frozen dataclass's keyword call costs ~1 µs more,
    and a 1,000-node bundle has ~200k records."""
    one = _STRINGS.setdefault
    return AccessRecord(
        time,
        level,
        message,
        v[10],  # direction
        v[0],  # src_addr
        v[4],  # dst_addr
        v[5],  # dst_hbone_addr
        v[1] and one(v[1], v[1]),  # src_workload
        v[2] and one(v[2], v[2]),  # src_namespace
        v[3] and one(v[3], v[3]),  # src_identity
        v[6] and one(v[6], v[6]),  # dst_service
        v[7] and one(v[7], v[7]),  # dst_workload
        v[8] and one(v[8], v[8]),  # dst_namespace
        v[9] and one(v[9], v[9]),  # dst_identity
        _int(v[11]),  # bytes_sent
        _int(v[12]),  # bytes_recv
        _int(v[13]),  # duration_ms
        v[14],  # error
        line,
    )


@dataclass(slots=True)
class _Pending:
    """An access record seen, not yet built: continuation lines may still extend its message."""

    time: datetime | None
    level: str
    message: str
    fields: str | dict[str, str]  # the raw field text of a plain line, or a parsed event's fields
    line: int

    def record(self) -> AccessRecord:
        if isinstance(self.fields, dict):
            return _from_fields(self.time, self.level, self.message, self.fields, self.line)
        values = access_values(self.fields)
        if values is None:
            return _from_fields(self.time, self.level, self.message, parse_fields(self.fields), self.line)
        return _from_values(self.time, self.level, self.message, values, self.line)


_OTHER = object()  # an event that is not an access record


def _plain(line: str, no: int) -> _Pending | object | None:
    """`_plain_event`'s verdict on a line: None (not plain), `_OTHER`, or the access record."""
    parts = line.split("\t")
    if len(parts) < 3 or parts[1].strip().lower() not in _LEVELS:
        return None
    message = parts[3] if len(parts) > 3 else ""
    if "access" not in parts[2] or not message.startswith("connection"):
        return _OTHER  # the target cannot be `access` without the word in it
    m = _TARGET_SPANS.match(parts[2])
    target = m.group(1) if m else parts[2]
    if target.removeprefix("ztunnel::") != "access":
        return _OTHER
    fields = "\t".join(parts[4:]) if len(parts) > 4 else {}
    return _Pending(parse_time(parts[0]), parts[1].strip().lower(), message, fields, no)


# A plain access line as ztunnel writes it, whole: `_plain` and `access_values` in one match. Such
# a line starts with a timestamp and a tab (so `_strip_kubectl_ts` leaves it), names the `access`
# target without spans, a lowercase level, a `connection ...` message and the fields after the
# fourth tab; any other line takes the general path below.
_TS_AHEAD = "(?=" + _TS.pattern.removeprefix("^(").removesuffix(")") + ")"  # `_TS` without its group
_ACCESS_LINE = re.compile(
    _TS_AHEAD
    + r"([^\t ]*)\t(trace|debug|info|warn|error)\taccess\t(connection[^\t]*)\t"
    + ACCESS_LINE_FIELDS_PATTERN
)


def _record(g: Sequence[str | None], no: int) -> AccessRecord:
    """The record of a whole `_ACCESS_LINE` match's groups."""
    values = [b if q is None else q for q, b in zip(g[3::2], g[4::2], strict=True)]
    return _from_values(parse_time(g[0]), g[1], g[2], values, no)  # type: ignore[arg-type]


def _extended(r: AccessRecord, line: str) -> AccessRecord:
    return dataclasses.replace(r, message=r.message + "\n" + line)


def scan_access(text: str) -> tuple[list[AccessRecord], int]:
    """(access records, malformed lines) of a log, as `parse_log` and `access_records` give them."""
    return _scan(text, _record, _same, _extended)


class TrafficFields(NamedTuple):
    """What the traffic section reads of an access record: its fields but the level, the byte
    counts, the duration and the error (`scan_traffic`)."""

    time: datetime | None
    message: str
    direction: str | None
    src_addr: str | None
    dst_addr: str | None
    dst_hbone_addr: str | None
    src_workload: str | None
    src_namespace: str | None
    src_identity: str | None
    dst_service: str | None
    dst_workload: str | None
    dst_namespace: str | None
    dst_identity: str | None
    line: int


def traffic_fields(r: AccessRecord) -> TrafficFields:
    """The fields of `r` the traffic section reads."""
    return TrafficFields(
        r.time,
        r.message,
        r.direction,
        r.src_addr,
        r.dst_addr,
        r.dst_hbone_addr,
        r.src_workload,
        r.src_namespace,
        r.src_identity,
        r.dst_service,
        r.dst_workload,
        r.dst_namespace,
        r.dst_identity,
        r.line,
    )


def _traffic(g: Sequence[str | None], no: int) -> TrafficFields:
    """`traffic_fields(_record(g, no))` without the record: no numbers read, no strings shared.

    `g` holds a (quoted, bare) pair per `_ACCESS_KEYS` key from index 3; the quoted one wins."""
    return TrafficFields(
        parse_time(g[0]),
        g[2],  # type: ignore[arg-type]
        g[24] if g[23] is None else g[23],  # direction
        g[4] if g[3] is None else g[3],  # src.addr
        g[12] if g[11] is None else g[11],  # dst.addr
        g[14] if g[13] is None else g[13],  # dst.hbone_addr
        g[6] if g[5] is None else g[5],  # src.workload
        g[8] if g[7] is None else g[7],  # src.namespace
        g[10] if g[9] is None else g[9],  # src.identity
        g[16] if g[15] is None else g[15],  # dst.service
        g[18] if g[17] is None else g[17],  # dst.workload
        g[20] if g[19] is None else g[19],  # dst.namespace
        g[22] if g[21] is None else g[21],  # dst.identity
        no,
    )


def _traffic_extended(r: TrafficFields, line: str) -> TrafficFields:
    return r._replace(message=r.message + "\n" + line)


def scan_traffic(text: str) -> list[TrafficFields]:
    """`[traffic_fields(r) for r in scan_access(text)[0]]`, without building the records: the
    traffic section reads ~280k of them at 1,000 nodes, once."""
    return _scan(text, _traffic, traffic_fields, _traffic_extended)[0]


def _same(r: AccessRecord) -> AccessRecord:
    return r


def _scan(
    text: str,
    whole: Callable[[Sequence[str | None], int], T],
    of_record: Callable[[AccessRecord], T],
    extended: Callable[[T, str], T],
) -> tuple[list[T], int]:
    """(records, malformed lines) of a log: `whole(groups, line number)` of a line `_ACCESS_LINE`
    matches whole, `of_record(record)` of any other access record, `extended(record, line)` when a
    continuation line extends the last record's message."""
    records: list[T] = []
    malformed = 0
    seen_event = False
    last_is_record = False  # the last event is `records[-1]`: continuation lines extend its message
    match = _ACCESS_LINE.fullmatch
    for no, raw in enumerate(text.splitlines(), start=1):
        m = match(raw)
        if m is not None:
            records.append(whole(m.groups(), no))
            seen_event = last_is_record = True
            continue
        line = _strip_kubectl_ts(raw.rstrip("\r"))
        if not line.strip() or line.startswith("========="):
            continue
        event: _Pending | LogEvent | object | None
        if line.startswith("{"):
            event = _json_event(line, no)
        elif _TS.match(line):
            event = _plain(line, no)
            if event is None:
                event = _legacy_event(line, no)
        else:
            if last_is_record:
                records[-1] = extended(records[-1], line)
            elif not seen_event:
                malformed += 1
            continue
        if event is None:
            malformed += 1
            continue
        seen_event = True
        if isinstance(event, LogEvent):
            event = (
                _Pending(event.time, event.level, event.message, event.fields, no)
                if _is_access(event)
                else None
            )
        last_is_record = isinstance(event, _Pending)
        if isinstance(event, _Pending):
            records.append(of_record(event.record()))
    return records, malformed
