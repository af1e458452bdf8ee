"""The fast log paths give what the whole parse gives: fields, access records, skipped logs."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.model.logs import LogFile
from analyzer.parse.access import _ACCESS_LINE, _TS_AHEAD, scan_access, scan_traffic, traffic_fields
from analyzer.parse.logs import (
    _ACCESS_FIELDS,
    ACCESS_LINE_FIELDS_PATTERN,
    access_records,
    may_mention,
    parse_fields,
    parse_log,
    scan_fields,
    verbatim,
    words,
)
from rules._logscan import text_of
from ztbundle.layout import Component

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

TS = "2026-01-01T12:00:00.123456Z"
ACCESS = (
    'src.addr=10.0.0.1:4000 src.workload="a-1" src.namespace="ns" src.identity="spiffe://c/ns/ns/sa/a" '
    'dst.addr=10.0.0.2:15008 dst.hbone_addr=10.0.0.2:8080 dst.service="s.ns.svc.cluster.local" '
    'dst.workload="b-1" dst.namespace="ns" dst.identity="spiffe://c/ns/ns/sa/b" direction="inbound" '
    'bytes_sent=4020 bytes_recv=211 duration="9ms"'
)
# Pieces that make lines ztunnel writes, and lines that must leave the fast paths.
TOKENS = [
    TS, "\t", " ", "info", "warn", "WARN", "warning", "access", "ztunnel::access", "access:span", "xds",
    "connection complete", "connection failed", "connected", ACCESS, "src.addr=1.2.3.4:5", "dst.addr=",
    'error="connection refused"', "error=dns-failed", 'error="dns lookup failed"', "bytes_sent=12ms",
    "bytes_sent=99999999999999999999", 'direction="out\\"bound"', '"', "\\", "=", "key=", "x.y=1",
    "{", '{"level":"info","scope":"access","message":"connection complete","src.addr":"1.2.3.4:5"}',
    "=========", "\r", "\x0b", "\x85", "é", "2026-01-01T12:00:00Z ", "INFO", "ztunnel::x: ",
]  # fmt: skip


def _line(parts: list[str]) -> str:
    return "".join(parts)


lines = st.lists(st.sampled_from(TOKENS), max_size=10).map(_line)
canonical = st.builds(
    lambda lvl, msg, fields: f"{TS}\t{lvl}\taccess\t{msg}\t{fields}",
    st.sampled_from(["info", "warn", "error", "debug", " info", "Info"]),
    st.sampled_from(["connection complete", "connection failed", "connectionx", "other"]),
    st.lists(
        st.sampled_from(ACCESS.split(" ") + ['error="x y"', "error=", "junk", "a=b=c"]), max_size=16
    ).map(" ".join),
)
logs = st.lists(st.one_of(lines, canonical), max_size=12).map("\n".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(lines, canonical.map(lambda s: s.split("\t", 4)[-1])))
def test_parse_fields_is_the_general_scan(text: str) -> None:
    assert parse_fields(text) == scan_fields(text)


@settings(max_examples=400, deadline=None)
@given(logs)
def test_scan_access_is_the_whole_parse(text: str) -> None:
    parsed = parse_log(text)
    assert scan_access(text) == (access_records(parsed.events), parsed.malformed)


@settings(max_examples=400, deadline=None)
@given(logs)
def test_scan_traffic_is_what_the_records_give(text: str) -> None:
    assert scan_traffic(text) == [traffic_fields(r) for r in scan_access(text)[0]]


@settings(max_examples=400, deadline=None)
@given(
    logs, st.lists(st.sampled_from(["connection", "refused", "dns lookup failed", "a-1", 'out"bound', "A"]))
)
def test_a_log_said_not_to_mention_a_needle_has_no_event_with_it(text: str, needles: list[str]) -> None:
    if not may_mention(text, needles):
        assert not any(n in text_of(e) for e in parse_log(text).events for n in needles)



def _verbatim_by_whole_scans(text: str) -> bool:
    """`verbatim` as a search of the whole text for each character and each line-start `{`."""
    rewrites = "\\\x0b\x0c\x1c\x1d\x1e" + ("" if text.isascii() else "\x85\u2028\u2029")
    return not (text.startswith("{") or "\n{" in text or "\r{" in text or any(c in text for c in rewrites))


BRACES = st.lists(st.sampled_from(["{", "x{", "\n{", "\r{", "a", "\n", "\\", "\x85", "é"]), max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.one_of(logs, BRACES.map("".join)))
def test_verbatim_is_the_search_for_each_rewrite(text: str) -> None:
    assert verbatim(text) == _verbatim_by_whole_scans(text)


def test_verbatim_past_many_braces() -> None:
    spans = "".join(f"{TS}\tinfo\txds{{id={i}}}\tm\n" for i in range(40))
    assert verbatim(spans) and not verbatim(spans + "{}") and not verbatim(spans + "\r{")


@settings(max_examples=400, deadline=None)
@given(logs, st.sampled_from(["connection", "refused", "dns", "a-1", "\"a-1\"", "=", "\\", "A", "é"]))
def test_a_word_free_of_whitespace_is_in_the_words_when_in_the_text(text: str, part: str) -> None:
    assert (part in words(text)) == (part in text)



@settings(max_examples=200, deadline=None)
@given(logs, st.lists(st.lists(st.sampled_from(["connection refused", "dns", "a-1", "out\"bound", "A b"]))))
def test_a_log_file_asked_in_turn_answers_as_its_text(text: str, asks: list[list[str]]) -> None:
    log = LogFile(Component.ZTUNNEL, "istio-system", "z", "istio-proxy", False, "z.log", lambda: text)
    for needles in asks:  # what one ask remembers does not change the next answer
        assert log.may_mention(tuple(needles)) == may_mention(text, needles)



def _optional_fields(separator: str) -> re.Pattern[str]:
    """The access fields as `(?:...)?` groups, the first way they were written."""
    names = ["src.addr", "src.workload", "src.namespace", "src.identity", "dst.addr", "dst.hbone_addr"]
    names += ["dst.service", "dst.workload", "dst.namespace", "dst.identity", "direction", "bytes_sent"]
    names += ["bytes_recv", "duration", "error"]
    return re.compile(
        "".join(
            f'(?:{separator if i else ""}{re.escape(k)}=(?:"([^"\\\\]*)"|([^\\s"\\\\]*)))?'
            for i, k in enumerate(names)
        )
    )


LINE_HEAD = _TS_AHEAD + r"([^\t ]*)\t(trace|debug|info|warn|error)\taccess\t(connection[^\t]*)\t"


@settings(max_examples=400, deadline=None)
@given(st.one_of(lines, canonical))
def test_the_access_patterns_match_as_optional_groups_do(text: str) -> None:
    fields = text.split("\t", 4)[-1]
    for mine, theirs, on in (
        (_ACCESS_FIELDS, _optional_fields("(?:^| )"), fields),
        (re.compile(ACCESS_LINE_FIELDS_PATTERN), _optional_fields(" "), fields),
        (_ACCESS_LINE, re.compile(LINE_HEAD + _optional_fields("(?:^| )").pattern), text),
    ):
        a, b = mine.fullmatch(on), theirs.fullmatch(on)
        assert (a and a.groups()) == (b and b.groups())


EDGES = [
    f"2026-01-01T11:59:59Z {TS}\tinfo\taccess\tconnection complete\t{ACCESS}",  # kubectl --timestamps
    f"{TS}x\tinfo\taccess\tconnection complete\t{ACCESS}",  # a time that does not parse
    f"{TS}\tinfo\taccess\tconnection complete\t{ACCESS}\tdirection=outbound",  # a tab, a repeated key
    f"{TS}\tinfo\taccess\tconnection complete\t{ACCESS} error=\"dns \\\"x\\\"\"",  # an escape
    f"{TS}\tinfo\taccess\tconnection complete\tbytes_sent=99999999999999999999 duration=12ms",
    f"{TS}\tinfo\taccess\tconnection complete\t dst.addr=1.2.3.4:5",
    f"{TS}\tinfo\taccess\tconnection complete\tsrc.addr=1 src.addr=2",
    f"{TS}\tinfo\taccess\tconnection complete",
    "  a continuation before any event",
]


def test_scan_access_on_the_samples_and_a_fast_line() -> None:
    for edge in EDGES:
        parsed = parse_log(edge + "\n" + edge)
        assert scan_access(edge + "\n" + edge) == (access_records(parsed.events), parsed.malformed), edge
    line = f"{TS}\tinfo\taccess\tconnection complete\t{ACCESS}"
    assert scan_access(line) == (access_records(parse_log(line).events), 0)
    (record,), _ = scan_access(line + "\n  continued")
    assert record.message == "connection complete\n  continued" and record.bytes_sent == 4020
    assert scan_traffic(line + "\n  continued") == [traffic_fields(record)]
    checked = 0
    for sample in sorted(SAMPLES.glob("*.tar.gz")):
        with tarfile.open(sample) as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(".log"):
                    text = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
                    parsed = parse_log(text)
                    assert scan_access(text) == (access_records(parsed.events), parsed.malformed)
                    checked += bool(access_records(parsed.events))
    assert checked  # the samples carry access logs
