"""Issue 15's traps on the reading side: one meaning per flag, typos exit 2, istioctl's habits, polish."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from _pytest.capture import CaptureFixture

from ztbundle.cli import main
from ztbundle.exits import Exit


def _ztunnels(bundle: Path) -> list[str]:
    from analyzer.bundle import open_bundle

    return sorted(n.split("/")[1] for n in open_bundle(bundle).names() if n.endswith("config_dump.json"))


# --- 1. -o is the format everywhere; a path is --out-file -------------------------------------


def test_analyze_o_json_prints_json_and_writes_no_file_named_json(
    broken_bundle: Path, capsys: CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", str(broken_bundle), "-o", "json"]) == Exit.FINDINGS
    out = capsys.readouterr()
    assert json.loads(out.out)["findings"] and "finding(s)" in out.err
    assert list(tmp_path.iterdir()) == []  # today: an HTML report in a file named ./json


@pytest.mark.parametrize("path", ["incident.html", "-", "out/report.json"])
def test_analyze_o_with_a_path_says_to_use_out_file(
    path: str, broken_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    assert main(["analyze", str(broken_bundle), "-o", path]) == Exit.USAGE
    err = capsys.readouterr().err
    assert f"use --out-file {path}" in err and err.count("\n") == 1


def test_analyze_out_file_writes_there_0600_and_dash_is_stdout(
    broken_bundle: Path, capsys: CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "r.html"
    assert main(["analyze", str(broken_bundle), "--out-file", str(report)]) == Exit.FINDINGS
    assert report.read_text().startswith("<!doctype html>")
    assert stat.S_IMODE(report.stat().st_mode) == 0o600  # like the bundle it quotes
    capsys.readouterr()
    assert main(["analyze", str(broken_bundle), "-o", "json", "--out-file", "-"]) == Exit.FINDINGS
    assert json.loads(capsys.readouterr().out)["schema_version"]


def test_old_out_flag_says_what_to_type(broken_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert main(["analyze", str(broken_bundle), "--out", "x.html"]) == Exit.USAGE
    assert "--out x.html: use --out-file x.html" in capsys.readouterr().err


def test_format_typo_suggests_the_format(broken_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert main(["analyze", str(broken_bundle), "-o", "jsn"]) == Exit.USAGE
    assert "did you mean json?" in capsys.readouterr().err


# --- 4. typos are usage errors listing the valid names, closest first ----------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["logs", "{b}", "--ztunnel", "nope"],
        ["metrics", "{b}", "--ztunnel", "nope"],
        ["xds", "{b}", "--ztunnel", "nope"],
        ["ztunnel-config", "{b}", "workloads", "--node", "ambient-worker4"],
        ["ztunnel-config", "{b}", "workloads", "-n", "bookinfoo"],
        ["extract", "{b}", "--ztunnel", "nope", "{tmp}"],
    ],
)
def test_unknown_names_are_exit_2_with_the_valid_names(
    argv: list[str], broken_bundle: Path, tmp_path: Path, capsys: CaptureFixture[str]
) -> None:
    args = [a.format(b=broken_bundle, tmp=tmp_path / "x") for a in argv]
    assert main(args) == Exit.USAGE
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "valid: " in errors[0] and "Traceback" not in err


def test_valid_nodes_come_closest_first(broken_bundle: Path, capsys: CaptureFixture[str]) -> None:
    main(["ztunnel-config", str(broken_bundle), "workloads", "--node", "ambient-worker3x"])
    err = capsys.readouterr().err
    assert "did you mean ambient-worker3?" in err
    assert err.split("valid: ")[1].startswith("ambient-worker3,")


def test_not_collected_is_exit_5_and_nothing_to_show_is_exit_0(
    degraded_bundle: Path, bookinfo_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    assert main(["logs", str(degraded_bundle)]) == Exit.NOT_COLLECTED
    assert "no ztunnel logs were collected" in capsys.readouterr().err
    assert main(["logs", str(bookinfo_bundle), "--service", "no-such-service"]) == Exit.OK
    out = capsys.readouterr()
    assert out.out == "" and "0 record(s) from" in out.err


# --- 5. istioctl's and kubectl's habits ------------------------------------------------------------


def test_istioctl_argument_order_and_aliases(bookinfo_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert main(["ztunnel-config", str(bookinfo_bundle), "services"]) == Exit.OK
    ours = capsys.readouterr().out
    for argv in (
        ["ztunnel-config", "services", str(bookinfo_bundle)],  # istioctl's order
        ["zc", "svc", str(bookinfo_bundle)],  # istioctl's aliases
        ["ztunnel-config", str(bookinfo_bundle), "s"],
    ):
        assert main(argv) == Exit.OK, argv
        assert capsys.readouterr().out == ours
    assert main(["ztunnel-config", str(bookinfo_bundle), "connection"]) == Exit.OK
    assert main(["ztunnel-config", str(bookinfo_bundle), "workloda"]) == Exit.USAGE
    assert "did you mean workload?" in capsys.readouterr().err


def test_namespace_filter_is_dash_n(bookinfo_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert (
        main(["ztunnel-config", str(bookinfo_bundle), "workloads", "-n", "istio-system", "-o", "json"]) == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["namespace"] for r in rows} == {"istio-system"}


def test_debug_is_accepted_after_the_command(bookinfo_bundle: Path) -> None:
    assert main(["metrics", str(bookinfo_bundle), "--debug"]) == Exit.OK


def test_logs_since_takes_a_duration_before_collection(
    bookinfo_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    from datetime import datetime

    from analyzer.views.source import open_source

    assert main(["logs", str(bookinfo_bundle), "-o", "json"]) == Exit.OK
    every = json.loads(capsys.readouterr().out)
    times = sorted(datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in every)
    collected = open_source(bookinfo_bundle).index.collected_at
    window = int((collected - times[-1]).total_seconds()) + 60  # the last minute of records
    assert main(["logs", str(bookinfo_bundle), "--since", f"{window}s", "-o", "json"]) == Exit.OK
    out = capsys.readouterr()
    recent = json.loads(out.out)
    assert 0 < len(recent) < len(every)  # today: `--since 10m` is refused (RFC 3339 only)
    assert ", since 20" in out.err and out.err.endswith("Z\n")


# --- 10. polish ------------------------------------------------------------------------------------


def test_logs_fit_the_terminal_and_tail_keeps_the_last(
    broken_bundle: Path, capsys: CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["logs", str(broken_bundle)]) == Exit.OK
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 10 and max(len(line) for line in lines) <= 120  # today: 411 columns
    assert main(["logs", str(broken_bundle), "--tail", "3", "-o", "json"]) == Exit.OK
    out = capsys.readouterr()
    assert len(json.loads(out.out)) == 3 and "(showing the last 3)" in out.err
    assert main(["logs", str(broken_bundle), "-o", "wide"]) == Exit.OK
    assert "SRC IDENTITY" in capsys.readouterr().out


def test_diff_speaks_ztunnel_and_exits_1_on_changes(
    bookinfo_bundle: Path, broken_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    assert main(["diff", str(bookinfo_bundle), str(broken_bundle)]) == Exit.DIFFERENCES
    out = capsys.readouterr().out
    assert "findings: findings" not in out and "findings: appeared ZT101 " in out
    assert ": removed workload " in out and ": added workload " in out and ": changed workload " in out
    assert "iterable item" not in out
    assert "(9080→9080): removed" in out  # a service's endpoint with its port mapping
    assert main(["diff", str(bookinfo_bundle), str(bookinfo_bundle)]) == Exit.OK


def test_xds_diff_names_each_side_and_exits_1(broken_bundle: Path, capsys: CaptureFixture[str]) -> None:
    zt = _ztunnels(broken_bundle)[0]
    assert main(["xds", str(broken_bundle), "--ztunnel", zt, "--diff"]) == Exit.DIFFERENCES
    out = capsys.readouterr().out
    assert f"istiod sends it; {zt} does not have it" in out
    assert f"{zt} has it; istiod does not send it" in out
    assert "protocol: istiod 'HBONE', ztunnel 'TCP'" in out and "iterable item" not in out


def test_xds_endpoints_are_healthy_over_all(bookinfo_bundle: Path, capsys: CaptureFixture[str]) -> None:
    zt = _ztunnels(bookinfo_bundle)[0]
    assert main(["xds", str(bookinfo_bundle), "--ztunnel", zt]) == Exit.OK
    rows = [r.split() for r in capsys.readouterr().out.splitlines() if r.startswith("default ")]
    details = next(r for r in rows if r[1] == "details")
    assert details[-1] == "1/1"  # as ztunnel-config prints it; today: 1


def test_metrics_json_counters_are_integers(bookinfo_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert main(["metrics", str(bookinfo_bundle), "-o", "json"]) == Exit.OK
    doc = json.loads(capsys.readouterr().out)
    values = [v for row in doc["workloads"] + doc["ztunnels"] for v in row.values() if not isinstance(v, str)]
    assert values and all(isinstance(v, int) for v in values)


def test_times_are_z_and_now_is_not_called_bundle_time(
    broken_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    assert main(["analyze", str(broken_bundle), "-o", "text", "--fail-on", "never"]) == Exit.OK
    text = capsys.readouterr().out
    assert "+00:00" not in text and "bundle time" in text
    argv = [
        "analyze",
        str(broken_bundle),
        "-o",
        "text",
        "--fail-on",
        "never",
        "--now",
        "2026-11-25T21:00:00Z",
    ]
    assert main(argv) == Exit.OK
    text = capsys.readouterr().out
    assert "bundle time" not in text and "the --now time" in text


def test_analyze_summary_counts_like_collect(broken_bundle: Path, capsys: CaptureFixture[str]) -> None:
    from analyzer.bundle import open_bundle
    from analyzer.load import load_bundle
    from ztbundle import layout

    manifest = load_bundle(open_bundle(broken_bundle)).manifest
    count = layout.tally((a.path, a.input, a.status, a.error) for a in manifest.artifacts.values())
    assert main(["analyze", str(broken_bundle), "-o", "json", "--out-file", os.devnull]) == Exit.FINDINGS
    out = capsys.readouterr().out
    assert count.line() in out and f"/{count.total} collected" in out
