"""Access-log records: plain and JSON lines, error lines, multi-line events, malformed lines counted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from _pytest.capture import CaptureFixture

from analyzer.parse.logs import access_records, parse_log
from analyzer.views import logs
from ztbundle.cli import main
from ztbundle.exits import Exit

# ztunnel's two log layouts (plain: tab-separated, Debug-quoted strings, bare numbers).
PLAIN = (
    "2024-04-11T15:38:42.182974Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.0.24:46238 "
    'src.workload="shell-6d8bcd654d-t88gp" src.namespace="default" '
    'src.identity="spiffe://cluster.local/ns/default/sa/default" dst.addr=10.244.0.42:15008 '
    'dst.hbone_addr=10.96.108.116:80 dst.service="echo.default.svc.cluster.local" dst.workload="echo-7f9c" '
    'dst.namespace="default" dst.identity="spiffe://cluster.local/ns/default/sa/echo" direction="outbound" '
    'bytes_sent=67 bytes_recv=490 duration="13ms"'
)
JSON_ERROR = json.dumps(
    {
        "level": "error",
        "time": "2024-04-11T15:38:43.182974Z",
        "scope": "access",
        "message": "connection complete",
        "src.addr": "10.244.0.24:46238",
        "src.workload": "shell-6d8bcd654d-t88gp",
        "src.namespace": "default",
        "dst.addr": "10.244.0.42:15008",
        "dst.hbone_addr": "10.96.108.116:80",
        "dst.service": "echo.default.svc.cluster.local",
        "direction": "outbound",
        "bytes_sent": 0,
        "bytes_recv": 0,
        "duration": "3ms",
        "error": "connection closed due to policy rejection: allow policies exist, but none allowed",
    }
)
MULTILINE = (
    "2024-04-11T15:38:40.000000Z\tinfo\tztunnel\trunning with config: proxy: true\n"
    "dnsProxy: true\nlocalNode: n1"
)


def test_plain_json_and_multiline_lines_become_records_and_malformed_are_counted() -> None:
    text = "\n".join(
        [
            "not a log line before any event",
            MULTILINE,
            PLAIN,
            JSON_ERROR,
            '{"truncated json',
            "2024-04-11T15:38:44Z\tbogus",
        ]
    )
    parsed = parse_log(text)
    assert parsed.malformed == 3  # the leading junk, the broken JSON, the timestamped line with no level
    assert parsed.events[0].message.endswith("dnsProxy: true\nlocalNode: n1")  # continuation folded in
    plain, err = access_records(parsed.events)
    assert (plain.src_workload, plain.dst_hbone_addr, plain.dst_identity) == (
        "shell-6d8bcd654d-t88gp",
        "10.96.108.116:80",
        "spiffe://cluster.local/ns/default/sa/echo",
    )
    assert (plain.bytes_sent, plain.bytes_recv, plain.duration_ms, plain.direction) == (
        67,
        490,
        13,
        "outbound",
    )
    assert (
        err.level == "error"
        and err.error is not None
        and err.error.startswith("connection closed due to policy")
    )
    assert (err.bytes_sent, err.duration_ms, err.dst_service) == (0, 3, "echo.default.svc.cluster.local")


def test_query_filters_by_workload_prefix_service_short_name_and_errors() -> None:
    plain, err = access_records(parse_log(PLAIN + "\n" + JSON_ERROR).events)
    assert logs.matches(plain, logs.Query(workload="echo"))
    assert logs.matches(plain, logs.Query(workload="shell-6d8bcd654d-t88gp", service="echo"))
    assert not logs.matches(plain, logs.Query(workload="ech"))
    assert not logs.matches(plain, logs.Query(errors=True)) and logs.matches(err, logs.Query(errors=True))
    assert not logs.matches(plain, logs.Query(direction="inbound"))


def test_golden_inbound_reviews_records(
    bookinfo_bundle: Path, golden: Callable[[str, str], None], capsys: CaptureFixture[str]
) -> None:
    argv = ["logs", str(bookinfo_bundle), "--service", "reviews", "--direction", "inbound", "-o", "wide"]
    assert main(argv) == Exit.OK
    out = capsys.readouterr()
    golden("logs-reviews-inbound.txt", out.out)
    assert out.out.count("\n") == 41 and "reviews.default.svc.cluster.local" in out.out
    assert out.err.endswith("40 record(s) from 3 ztunnel log file(s)\n")


def test_json_records_carry_evidence_and_errors(broken_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert main(["logs", str(broken_bundle), "--errors", "-o", "json"]) == Exit.OK
    records = json.loads(capsys.readouterr().out)
    assert records and all(r["error"] for r in records)
    assert any("15008" in r["error"] for r in records)
    assert all(r["evidence"].startswith("ztunnel/") and ":" in r["evidence"] for r in records)


def test_missing_logs_is_one_line_exit_5(degraded_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert main(["logs", str(degraded_bundle)]) == Exit.NOT_COLLECTED
    err = capsys.readouterr().err
    assert err.startswith(f"ztbundle: error: {degraded_bundle}: no ztunnel logs were collected: ")
    assert "forbidden" in err and err.count("\n") == 1


def test_malformed_lines_are_named_for_a_few_files_then_summed() -> None:
    few = (("a.log", 2), ("b.log", 1))
    assert logs.malformed_notes(few) == [
        "a.log: skipped 2 malformed line(s)",
        "b.log: skipped 1 malformed line(s)",
    ]
    many = tuple((f"z{i}.log", 2) for i in range(1000))
    notes = logs.malformed_notes(many)
    assert len(notes) == 4 and notes[-1] == "… and 1994 malformed line(s) in 997 more log file(s)"


def test_previous_shows_the_run_before_the_restart_and_its_last_error_lines(
    broken_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    # The broken scenario's ztunnel on ambient-worker crash-loops; its previous log ends in a panic.
    assert (
        main(["logs", str(broken_bundle), "--ztunnel", "ztunnel-kfwpp", "--previous", "--errors"]) == Exit.OK
    )
    out, err = capsys.readouterr()
    assert "last error lines of ztunnel/ztunnel-kfwpp/logs/istio-proxy.previous.log:" in out
    assert "panicked" in out.splitlines()[-1]
    assert "from 1 ztunnel log file(s)" in err


def test_previous_of_a_ztunnel_that_never_restarted_is_exit_5(
    broken_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    assert (
        main(["logs", str(broken_bundle), "--ztunnel", "ztunnel-ppc6w", "--previous"]) == Exit.NOT_COLLECTED
    )
    assert "no previous container log of ztunnel ztunnel-ppc6w" in capsys.readouterr().err
