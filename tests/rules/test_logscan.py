"""rules._logscan: exact-substring matching, recency window, trimmed logs, newest line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analyzer.model import LogFile
from rules._logscan import HALF_LIFE, RECENT, find, latest, tally, weigh, weight_of
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


# --- weigh: recency and rate within the capture window --------------------------------------------


def _timeouts(*ages: float) -> LogFile:
    return _log(
        [
            {
                "age": age,
                "level": "error",
                "target": "access",
                "message": "connection complete",
                "fields": {
                    "error": "connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008"
                },
            }
            for age in ages
        ]
    )


def test_one_line_a_minute_before_capture_is_live_and_the_same_line_a_day_old_is_not() -> None:
    recent = weigh(find([_timeouts(60)], ["HBONE port 15008"]), COLLECTED_AT)
    old = weigh(find([_timeouts(86400)], ["HBONE port 15008"]), COLLECTED_AT)
    assert recent.live() and recent.weight == pytest.approx(0.5 ** (60 / HALF_LIFE.total_seconds()))
    assert not old.live() and old.weight < 1e-30
    assert recent.describe() == "1 time(s) in the 60 s of log, last 60 s before capture"


def test_rate_adds_up_a_steady_trickle_is_live_where_one_such_line_is_not() -> None:
    half = HALF_LIFE.total_seconds()
    lone = weigh(find([_timeouts(3 * half)], ["15008"]), COLLECTED_AT)
    steady = weigh(find([_timeouts(*(3 * half + 30 * n for n in range(10)))], ["15008"]), COLLECTED_AT)
    assert not lone.live() and steady.live()
    assert steady.count == 10 and "in the 34 min of log, last 30 min before capture" in steady.describe()


def test_time_comes_from_the_bundle_not_the_wall_clock() -> None:
    seen = list(find([_timeouts(60)], ["15008"]))
    assert weigh(seen, COLLECTED_AT).live()
    assert not weigh(seen, COLLECTED_AT + timedelta(days=1)).live()  # the same bundle analysed `--now` later
    assert weight_of(COLLECTED_AT + timedelta(seconds=5), COLLECTED_AT) == 1.0  # logged during capture
    assert weight_of(None, COLLECTED_AT) == 0.0


def test_evidence_quotes_the_newest_lines_as_member_and_line_number() -> None:
    log = _timeouts(600, 300, 120, 60)
    w = weigh(find([log], ["15008"]), COLLECTED_AT)
    assert w.evidence == (f"{log.path}:4", f"{log.path}:3", f"{log.path}:2")
    assert log.text.splitlines()[3].endswith('maybe a NetworkPolicy is blocking HBONE port 15008"')
    assert w.quote.startswith("connection complete: connection timed out")


def test_weighed_description_spans_days_and_says_when_a_trimmed_log_is_a_lower_bound() -> None:
    log = _log(
        [
            {"age": 3 * 86400, "level": "info", "target": "t", "message": "started"},
            {"age": 30, "level": "warn", "target": "t", "message": "sig"},
        ],
        trimmed=True,
    )
    w = weigh(find([log], ["sig"]), COLLECTED_AT)
    assert w.describe() == (
        "1 time(s) in the 3 d of log, last 30 s before capture; "
        "log trimmed by the collector, so this is a lower bound"
    )
    assert w.newest == f'newest {log.path}:2: "sig"'
