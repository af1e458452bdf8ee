"""Container logs: ztunnel plain (1.22+), JSON, pre-1.22 layout, and Go (istiod/cni) lines.

Multi-line events (continuation lines without a timestamp) are folded into the previous event;
malformed lines are counted and skipped. `analyzer.parse.access` reads ztunnel access-log records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from analyzer.parse import parse_time

_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))")
_LEGACY = re.compile(r"^(\S+)\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s+(.*)$")
# The quoted value as an unrolled loop (runs of plain characters, then one escape): the same
# language as `"(?:[^"\\]|\\.)*"`, without a branch per character.
_FIELD = re.compile(r'([A-Za-z_][\w.]*)=("[^"\\]*(?:\\.[^"\\]*)*"|\S*)')
_TARGET = re.compile(r"^[a-z_][a-z0-9_]*(::[a-z0-9_]+)*$")
_TARGET_SPANS = re.compile(r"^((?:[^:]|::)+?)(?::(?!:)(.*))?$")  # `xds::client:xds{id=1}`
_LEVELS = {"trace", "debug", "info", "warn", "warning", "error", "fatal", "critical"}


@dataclass(slots=True)
class LogEvent:
    time: datetime | None
    level: str
    target: str  # ztunnel target without `ztunnel::` / Go scope
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    spans: str = ""
    line: int = 0  # 1-based line of the event's first line


@dataclass(slots=True)
class ParsedLog:
    events: list[LogEvent]
    malformed: int = 0
    layout: str = "unknown"  # plain | json | legacy | mixed


@dataclass(frozen=True, slots=True)
class AccessRecord:
    time: datetime | None
    level: str
    message: str  # connection complete | connection failed | connection opened
    direction: str | None
    src_addr: str | None
    dst_addr: str | None
    dst_hbone_addr: str | None = None
    src_workload: str | None = None
    src_namespace: str | None = None
    src_identity: str | None = None
    dst_service: str | None = None
    dst_workload: str | None = None
    dst_namespace: str | None = None
    dst_identity: str | None = None
    bytes_sent: int | None = None
    bytes_recv: int | None = None
    duration_ms: int | None = None
    error: str | None = None
    line: int = 0


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        if "\\" not in value:  # nothing escaped: the text between the quotes is the value
            return value[1:-1]
        try:
            return str(json.loads(value))
        except json.JSONDecodeError:
            return value[1:-1].replace('\\"', '"')
    return value


_STRINGS: dict[str, str] = {}
_STRINGS_MAX = 1 << 20

# The fields of ztunnel's access log (`connection complete` and friends), in the order it writes them;
# any may be absent. Each value is quoted without a backslash or bare without whitespace, quote or
# backslash, with one space between fields. On such text the general scan below finds exactly these
# pairs (its quoted form ends at the first quote when nothing is escaped, its bare form at
# whitespace), so one match gives its answer at a quarter of the cost; any other text (another
# order or key, an escape, a tab, a stray quote) does not match and takes the general scan.
_ACCESS_KEYS = (
    "src.addr",
    "src.workload",
    "src.namespace",
    "src.identity",
    "dst.addr",
    "dst.hbone_addr",
    "dst.service",
    "dst.workload",
    "dst.namespace",
    "dst.identity",
    "direction",
    "bytes_sent",
    "bytes_recv",
    "duration",
    "error",
)


def _fields_pattern(separator: str) -> str:
    """`_ACCESS_KEYS` in order, each optional, `separator` before all but the first. Optional as
    `(?:...|)`: the same tries in the same order as `(?:...)?`, without the repeat's bookkeeping
    (at 1,000 nodes, ~280k access lines, a quarter of each match)."""
    return "".join(
        f'(?:{separator if i else ""}{re.escape(k)}=(?:"([^"\\\\]*)"|([^\\s"\\\\]*))|)'
        for i, k in enumerate(_ACCESS_KEYS)
    )


ACCESS_FIELDS_PATTERN = _fields_pattern("(?:^| )")
ACCESS_LINE_FIELDS_PATTERN = _fields_pattern(" ")
"""The fields after a line's fourth tab: `^` (a field at the text's start) cannot match there."""
_ACCESS_FIELDS = re.compile(ACCESS_FIELDS_PATTERN)


def access_values(text: str) -> list[str | None] | None:
    """The values of `_ACCESS_KEYS` (None: absent) when `text` is laid out as ztunnel writes them."""
    m = _ACCESS_FIELDS.fullmatch(text)
    if m is None:
        return None
    g = m.groups()  # (quoted, bare) per key
    return [b if q is None else q for q, b in zip(g[0::2], g[1::2], strict=True)]


def parse_fields(text: str) -> dict[str, str]:
    """`k=v k="quoted \\"v\\""` → dict (values unquoted)."""
    # ~15 fields per access line: the common cases stay inline. Keys and most values repeat across
    # lines and files (names, namespaces, protocols), and one shared copy of each keeps 1,000
    # ztunnels' parsed logs at ~40% of the memory.
    if len(_STRINGS) > _STRINGS_MAX:
        _STRINGS.clear()
    values = access_values(text)
    if values is None:
        return scan_fields(text)
    one = _STRINGS.setdefault
    return {k: one(v, v) for k, v in zip(_ACCESS_KEYS, values, strict=True) if v is not None}


def scan_fields(text: str) -> dict[str, str]:
    """`parse_fields` by the general scan: every `key=value` anywhere, quoted values unescaped."""
    one = _STRINGS.setdefault
    out: dict[str, str] = {}
    for k, v in _FIELD.findall(text):
        if v[:1] == '"':
            v = v[1:-1] if len(v) > 1 and v[-1] == '"' and "\\" not in v else _unquote(v)
        out[one(k, k)] = one(v, v)
    return out


def _strip_kubectl_ts(line: str) -> str:
    """`kubectl logs --timestamps` prefixes `<RFC3339> `; drop it when another timestamp follows."""
    m = _TS.match(line)
    if m and line[m.end() : m.end() + 1] == " " and _TS.match(line[m.end() + 1 :]):
        return line[m.end() + 1 :]
    return line


def _json_event(line: str, no: int) -> LogEvent | None:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, or hostile JSON (deep nesting, 5000-digit ints)
        return None
    if not isinstance(obj, dict):
        return None
    scope = str(obj.pop("scope", obj.pop("target", "")))
    message = obj.pop("message", obj.pop("msg", ""))
    ts, level = obj.pop("time", None), str(obj.pop("level", "")).lower()
    fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in obj.items()}
    return LogEvent(parse_time(ts), level, scope.removeprefix("ztunnel::"), str(message), fields, "", no)


def _plain_event(line: str, no: int) -> LogEvent | None:
    parts = line.split("\t")
    if len(parts) < 3 or parts[1].strip().lower() not in _LEVELS:
        return None
    m = _TARGET_SPANS.match(parts[2])
    target, spans = (m.group(1), m.group(2) or "") if m else (parts[2], "")
    message = parts[3] if len(parts) > 3 else ""
    fields = parse_fields("\t".join(parts[4:])) if len(parts) > 4 else {}
    return LogEvent(
        parse_time(parts[0]),
        parts[1].strip().lower(),
        target.removeprefix("ztunnel::"),
        message,
        fields,
        spans,
        no,
    )


def _legacy_event(line: str, no: int) -> LogEvent | None:
    m = _LEGACY.match(line)
    if not m:
        return None
    pieces = m.group(3).split(": ")
    idx = next((i for i, p in enumerate(pieces) if _TARGET.match(p)), None)
    if idx is None:
        target, spans, rest = "", "", m.group(3)
    else:
        target, spans, rest = pieces[idx], ": ".join(pieces[:idx]), ": ".join(pieces[idx + 1 :])
    tokens = rest.split(" ")
    cut = len(tokens)
    while cut > 0 and _FIELD.fullmatch(tokens[cut - 1]):
        cut -= 1
    fields = parse_fields(" ".join(tokens[cut:]))
    return LogEvent(
        parse_time(m.group(1)),
        m.group(2).lower(),
        target.removeprefix("ztunnel::"),
        " ".join(tokens[:cut]),
        fields,
        spans,
        no,
    )


def parse_log(text: str) -> ParsedLog:
    """Parse a whole container log into events."""
    events: list[LogEvent] = []
    malformed = 0
    layouts: set[str] = set()
    for no, raw in enumerate(text.splitlines(), start=1):
        line = _strip_kubectl_ts(raw.rstrip("\r"))
        if not line.strip() or line.startswith("========="):
            continue  # blank, or bug-report's "Previous log" separator
        event = None
        if line.startswith("{"):
            event = _json_event(line, no)
            kind = "json"
        elif _TS.match(line):
            event = _plain_event(line, no)
            kind = "plain"
            if event is None:
                event, kind = _legacy_event(line, no), "legacy"
        else:
            if events:  # continuation of a multi-line event (e.g. `running with config:` YAML)
                events[-1].message += "\n" + line
            else:
                malformed += 1
            continue
        if event is None:
            malformed += 1
            continue
        layouts.add(kind)
        events.append(event)
    layout = layouts.pop() if len(layouts) == 1 else ("mixed" if layouts else "unknown")
    return ParsedLog(events, malformed, layout)


# Characters past which `parse_log` gives an event text that is not a piece of the log's text: an
# escape (`\"`, `\u0041` in a quoted value or a JSON line) and line breaks other than `\n`/`\r`
# (a JSON line may start after one). JSON lines (`{` first) are rewritten too (`json.dumps`).
_REWRITES = "\\\x0b\x0c\x1c\x1d\x1e"
_REWRITES_WIDE = "\x85\u2028\u2029"


def verbatim(text: str) -> bool:
    """True when every message and field value `parse_log(text)` gives is a piece of `text`: no
    escapes (`\\"`, `\\u0041` in a quoted value), no JSON line (rewritten by `json.dumps`), no line
    break but `\\n` and `\\r` (a JSON line may start after one)."""
    rewrites = _REWRITES if text.isascii() else _REWRITES + _REWRITES_WIDE
    if any(c in text for c in rewrites):  # one character each: a fast scan
        return False
    # A JSON line starts with `{`: look at what precedes each `{` (a few in a ztunnel log, where
    # `"\n{" in text` scans it all), and after _BRACES of them search for the pairs instead.
    at = text.find("{")
    for _ in range(_BRACES):
        if at < 0:
            return True
        if at == 0 or text[at - 1] in "\n\r":
            return False
        at = text.find("{", at + 1)
    return at < 0 or not ("\n{" in text or "\r{" in text)


_BRACES = 16


def words(text: str) -> str:
    """The distinct whitespace-separated words of `text`, one a line: a text without whitespace is
    in `text` exactly when it is in this (it cannot span two words), and this is a few times
    shorter than a log whose lines repeat their words (the keys of each access record)."""
    return "\n".join(dict.fromkeys(text.split()))


def may_mention(text: str, needles: Iterable[str]) -> bool:
    """False only when no event of `parse_log(text)` holds any needle in its message or field values.

    In a `verbatim` text a message or field value is a piece of `text`, and events join them with
    whitespace (the message, its continuation lines, the values), so each whitespace-free part of
    a needle found in an event is in `text`; when one part of every needle is missing, no event can
    hold one. (`LogFile.may_mention` asks the log's `words`, which answer the same.)
    """
    return not verbatim(text) or mentions(needles, text.__contains__)


def mentions(needles: Iterable[str], has: Callable[[str], bool]) -> bool:
    """Whether, for some needle, `has(part)` for each of its whitespace-free parts."""
    return any(all(has(part) for part in needle.split()) for needle in needles)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    if len(value) < 16 and value.isascii() and value.isdigit():
        return int(value)  # what int(float(value)) is below 2**53, without the float
    digits = value.strip().removesuffix("ms")
    try:
        return int(float(digits))
    except ValueError:
        return None


def _from_fields(
    time: datetime | None, level: str, message: str, f: dict[str, str], line: int
) -> AccessRecord:
    return AccessRecord(
        time=time,
        level=level,
        message=message,
        direction=f.get("direction"),
        src_addr=f.get("src.addr"),
        dst_addr=f.get("dst.addr"),
        dst_hbone_addr=f.get("dst.hbone_addr"),
        src_workload=f.get("src.workload"),
        src_namespace=f.get("src.namespace"),
        src_identity=f.get("src.identity"),
        dst_service=f.get("dst.service"),
        dst_workload=f.get("dst.workload"),
        dst_namespace=f.get("dst.namespace"),
        dst_identity=f.get("dst.identity"),
        bytes_sent=_int(f.get("bytes_sent")),
        bytes_recv=_int(f.get("bytes_recv")),
        duration_ms=_int(f.get("duration")),
        error=f.get("error"),
        line=line,
    )


def _is_access(e: LogEvent) -> bool:
    return e.target == "access" and e.message.startswith("connection")


def access_records(events: Iterable[LogEvent]) -> list[AccessRecord]:
    """Access-log records (`access` target; `connection complete/failed/opened`)."""
    return [_from_fields(e.time, e.level, e.message, e.fields, e.line) for e in events if _is_access(e)]
