"""`collect --max-size` trims logs (never dumps) and records it; the large-cluster guard speaks first."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.bundle import open_bundle
from analyzer.load import load_bundle
from collector import budget, guard
from tests.collector.bundle_io import Run, assert_members_match_manifest, collect
from tests.fakecluster import FakeCluster, scenarios
from tests.fakecluster.scenario import LogEvent, ZtunnelOverride
from ztbundle.exits import Exit

NODE = "node-001"


def _noisy(n: int) -> tuple[LogEvent, ...]:
    """n info lines (varied, so they compress like real logs) and two old error/warning lines."""
    infos = tuple(
        LogEvent(
            "info",
            "access",
            f"connection complete src={i * 7919 % 65521} dst={i * 104729 % 99991} id={i:x}",
            ago=timedelta(seconds=n - i + 5),
        )
        for i in range(n)
    )
    bad = (
        LogEvent(
            "error",
            "xds::client",
            "XDS client connection error: gRPC status Unavailable",
            ago=timedelta(seconds=n + 100),
        ),
        LogEvent("warn", "proxy::pool", "pool exhausted, retrying", ago=timedelta(seconds=n + 90)),
    )
    return bad + infos


@pytest.fixture(scope="module")
def noisy() -> FakeCluster:
    scn = scenarios.synthetic(nodes=3, pods_per_node=6)
    scn = scn.with_overrides(ztunnels={NODE: ZtunnelOverride(logs=_noisy(30_000))})
    with FakeCluster(scn) as cluster:
        yield cluster  # type: ignore[misc]


@pytest.fixture(scope="module")
def runs(noisy: FakeCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return {
        "full": collect(noisy, tmp_path_factory.mktemp("full")),
        "capped": collect(noisy, tmp_path_factory.mktemp("capped"), "--max-size", "300000"),
    }


def _ztunnel_log(run: Run) -> str:
    return next(
        p
        for p in run.members
        if p.startswith("ztunnel/")
        and p.endswith(".log")
        and len(run.members[p]) == max(len(run.members[q]) for q in run.members if q.endswith(".log"))
    )


def test_max_size_trims_logs_keeping_errors_and_warnings_and_records_it(runs: dict[str, Run]) -> None:
    full, capped = runs["full"], runs["capped"]
    assert full.manifest["trims"] == [] and full.out.stat().st_size > 400_000
    assert capped.code == Exit.OK and capped.out.stat().st_size <= 300_000
    log = _ztunnel_log(full)
    trims = {t["artifact"]: t for t in capped.manifest["trims"]}
    assert log in trims and trims[log]["rule"] == budget.TRIM_RULE
    kept, whole = capped.members[log], full.members[log]
    assert trims[log]["bytes_kept"] == len(kept) and trims[log]["bytes_dropped"] == len(whole) - len(kept) > 0
    assert b"XDS client connection error" in kept and b"pool exhausted" in kept  # oldest, but kept first
    assert kept.splitlines()[-1] == whole.splitlines()[-1]  # then the newest lines
    assert set(kept.splitlines()) <= set(whole.splitlines())  # whole lines, nothing invented
    assert capped.artifact(log)["status"] == "ok" and capped.artifact(log)["bytes"] == len(kept)
    assert_members_match_manifest(capped)
    for path, a in ((a["path"], a) for a in capped.manifest["artifacts"]):  # dumps are untouched
        if a["input"] in ("ztunnel-config", "istiod-proxy-config") and a["stored"]:
            assert capped.members[path] == full.members[path]
            assert a["sha256"] == hashlib.sha256(full.members[path]).hexdigest()


def test_analyzer_sees_trimmed_logs_as_partial_not_absent(runs: dict[str, Run]) -> None:
    capped = runs["capped"]
    bundle = load_bundle(open_bundle(capped.out))
    log = _ztunnel_log(runs["full"])
    f = next(f for f in bundle.logs if f.path == log)
    assert f.trimmed and "XDS client connection error" in f.text


def test_water_filling_gives_small_logs_all_and_caps_big_ones_equally() -> None:
    assert budget.share([10, 1000, 1000], 510) == [10, 250, 250]
    assert budget.share([10, 20], 100) == [10, 20]
    assert budget.share([5, 5], -3) == [0, 0]


def test_keep_lines_prefers_errors_then_newest() -> None:
    data = b"".join(
        [
            b"t0  ERROR a failed\n",
            *(b"t%d  INFO fine %d\n" % (i, i) for i in range(1, 50)),
            b"t50 \twarn\tb\n",
        ]
    )
    kept = budget.keep_lines(data, 80)
    assert kept.startswith(b"t0  ERROR") and b"warn" in kept and kept.endswith(b"t50 \twarn\tb\n")
    assert len(kept) <= 80 and b"fine 49" in kept and b"fine 1\n" not in kept


_LOG_PIECES = (
    *(b"ERROR", b"WARN", b"error", b"warn", b"warning", b"fatal", b"FATAL", b"panic", b"WARNING", b"Error"),
    *(b"E0102 ", b"W1234 ", b"F9999 ", b"E012 ", b"E", b"0", b"ing", b"x", b":"),
    *(b" ", b"\t", b"\n", b"\r", b"\r\n", b"\x0b", b"\x0c", b"\x1c", b"\x85"),
)


@given(st.lists(st.sampled_from(_LOG_PIECES), max_size=14))
@settings(max_examples=3000, deadline=None)
def test_important_lines_are_the_lines_the_level_pattern_matches(pieces: list[bytes]) -> None:
    """The whole-text search marks exactly the lines that `_IMPORTANT` matches one by one."""
    data = b"".join(pieces)
    lines = data.splitlines(keepends=True)
    expected = [i for i, line in enumerate(lines) if budget._IMPORTANT.search(line)]
    assert budget.important_lines(data, lines) == expected


def test_keep_lines_keeps_klog_and_crlf_lines_by_level() -> None:
    data = b"I0102 started\r\nE0102 failed\rW0102 slow\nxWARN not a word\ninfo\n" + b"i\n" * 40
    kept = budget.keep_lines(data, 40)
    assert kept == b"E0102 failed\rW0102 slow\n" + b"i\n" * 8


# --- the large-cluster guard ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def large() -> FakeCluster:
    with FakeCluster(
        scenarios.synthetic(nodes=guard.NODE_THRESHOLD + 1, pods_per_node=3, istiod_replicas=1)
    ) as c:
        yield c  # type: ignore[misc]


def test_guard_prints_the_estimate_then_pauses(
    large: FakeCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    monkeypatch.setattr(guard, "LONG_RUN_S", 0.0)  # the pause is for long runs; this one is quick
    run = collect(large, tmp_path)
    err = capsys.readouterr().err
    assert run.code == Exit.OK
    assert f"large cluster: {guard.NODE_THRESHOLD + 1} nodes" in err and "requests" in err and "MB" in err
    assert "press Ctrl-C" in err and slept == [guard.PAUSE_S]
    requests = int(err.split("about to make ~")[1].split()[0])
    assert requests >= len(run.manifest["artifacts"])


def test_guard_yes_skips_the_pause_and_filters_skip_the_guard(
    large: FakeCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert collect(large, tmp_path / "a", "--yes").code == Exit.OK
    err = capsys.readouterr().err
    assert "large cluster" in err and "press Ctrl-C" not in err and slept == []
    assert collect(large, tmp_path / "b", "--since", "10m").code == Exit.OK
    assert "large cluster" not in capsys.readouterr().err and slept == []


def test_logs_that_fit_whole_uncompressed_are_planned_whole_without_sampling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ratio is estimated (no sample compressed) when even the raw bytes fit; one byte short, it is."""
    from collector.archive import Spooled

    logs = []
    for i, size in enumerate((1000, 50_000)):
        path = tmp_path / f"{i}.log"
        path.write_bytes(b"x" * size)
        logs.append(Spooled(f"l/{i}.log", path, size, "", None))
    sampled: list[int] = []
    monkeypatch.setattr(budget, "ratio_of", lambda data: sampled.append(len(data)) or 1.0)
    whole = budget._plan(logs, 52_000)
    assert not sampled and all(p.allowance >= budget._cost(p) for p in whole)
    budget._plan(logs, 51_000)  # 51,051 raw bytes at deflate's worst case: no longer sure to fit
    assert len(sampled) == 2
