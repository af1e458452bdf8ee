"""rules._logscan: exact-substring matching, recency window, trimmed logs, newest line."""

from __future__ import annotations

from analyzer.model import LogFile
from rules._logscan import RECENT, find, latest, tally
from tests.builders import COLLECTED_AT
from tests.builders_xds import logs


def _log(lines: list[dict[str, object]], *, trimmed: bool = False) -> LogFile:
    return logs({"logs": [{"component": "ztunnel", "pod": "zt-a", "trimmed": trimmed, "lines": lines}]})[0]


def test_only_events_inside_the_recent_window_count_as_live() -> None:
    old = RECENT.total_seconds() + 60
    log = _log(
        [
            {
                "age": old,
                "repeat": 5,
                "level": "warn",
                "target": "xds::client",
                "message": "XDS client connection error: x",
            },
            {
                "age": 10,
                "level": "warn",
                "target": "xds::client",
                "message": "XDS client connection error: y",
            },
        ]
    )
    t = tally(find([log], ["XDS client connection error"]), COLLECTED_AT)
    assert (t.count, t.recent) == (6, 1)
    assert t.live(1) and not t.live(2)
    assert "6 time(s) (1 in the 30 min before capture), last at 2026-01-01T11:59:50Z" in t.describe()


def test_signatures_match_field_values_and_filters_apply() -> None:
    log = _log(
        [
            {
                "age": 5,
                "level": "error",
                "target": "access",
                "message": "connection complete",
                "fields": {"error": "connection closed due to policy rejection: explicitly denied by: a/b"},
            },
            {
                "age": 5,
                "level": "info",
                "target": "other",
                "message": "policy rejection mentioned in passing",
            },
        ]
    )
    assert len(list(find([log], ["policy rejection"]))) == 2
    assert len(list(find([log], ["policy rejection"], lambda e: e.target == "access"))) == 1
    assert list(find([log], ["Policy Rejection"])) == []  # exact, case-sensitive


def test_trimmed_logs_say_counts_are_a_lower_bound_and_latest_uses_time() -> None:
    log = _log(
        [
            {"age": 5, "level": "warn", "target": "t", "message": "sig newest"},
            {"age": 500, "level": "warn", "target": "t", "message": "sig older but later in the file"},
        ],
        trimmed=True,
    )
    seen = list(find([log], ["sig"]))
    assert "lower bound" in tally(seen, COLLECTED_AT).describe()
    newest = latest(seen)
    assert newest is not None and newest.event.message == "sig newest"
    assert latest([]) is None
