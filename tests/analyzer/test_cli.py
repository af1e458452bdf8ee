"""`ztbundle analyze` in-process: formats, exit codes, one-line errors, JSON contract, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from _pytest.capture import CaptureFixture

from analyzer.report.json import schema
from tests.analyzer.tarhelp import write_bundle
from tests.analyzer.test_load import _members, at
from tests.fakecluster import scenarios
from tests.fakecluster.scenario import DEFAULT_NOW, Role
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.exits import Exit


@pytest.fixture(scope="module")
def broken_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle written by the REAL collector against the fake cluster's `broken` scenario."""
    from tests.fakecluster.cluster import FakeCluster

    out = tmp_path_factory.mktemp("e2e") / "broken.tar.gz"
    with FakeCluster(scenarios.broken()) as fc:
        rc = main(
            ["collect", "--kubeconfig", str(fc.kubeconfig), "--context", fc.context, "--out-file", str(out)]
        )
    assert rc in (Exit.OK, Exit.INCOMPLETE) and out.exists()
    return out


CLEAN = scenarios.bookinfo(now=DEFAULT_NOW)  # one pinned clock for the bundle and the assertions


@pytest.fixture
def clean_bundle(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "clean.tar.gz", _members(CLEAN), at=at(CLEAN))


def test_analyze_rejects_non_tarball_in_one_line(tmp_path: Path, capsys: CaptureFixture[str]) -> None:
    junk = tmp_path / "bundle.tgz"
    junk.write_bytes(b"definitely not gzip")
    assert main(["analyze", str(junk)]) == Exit.BAD_INPUT
    captured = capsys.readouterr()
    assert captured.err == f"ztbundle: error: {junk}: not a gzip-compressed tar archive\n"
    assert not list(tmp_path.glob("*.report.*"))


def test_unsafe_member_error_names_bundle_and_member(tmp_path: Path, capsys: CaptureFixture[str]) -> None:
    from tests.analyzer.tarhelp import file_info

    path = write_bundle(tmp_path / "b.tar.gz", {}, extra=[file_info("../evil.json", b"{}")])
    assert main(["analyze", str(path)]) == Exit.BAD_INPUT
    err = capsys.readouterr().err
    assert (
        err.startswith(f"ztbundle: error: {path}:../evil.json: unsafe member name") and err.count("\n") == 1
    )


def test_clean_bundle_json_to_stdout_validates(clean_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert main(["analyze", str(clean_bundle), "-o", "json", "--out-file", "-"]) == Exit.OK
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    jsonschema.validate(doc, schema())
    assert doc["summary"] == {"error": 0, "warning": 0, "info": 0} and doc["findings"] == []
    assert doc["bundle"]["collected_at"] == at(CLEAN) and doc["bundle"]["complete"] is True
    assert {b["kind"] for b in doc["bundle"]["baseline"]} == {"istiod-ambientz"}
    assert {r["code"] for r in doc["rules"]} >= {"ZT101", "ZT102", "ZT103"}
    assert "0 finding(s)" in captured.err  # the summary never pollutes stdout data


def test_end_to_end_broken_scenario(broken_bundle: Path, tmp_path: Path, capsys: CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert main(["analyze", str(broken_bundle), "-o", "json", "--out-file", str(out)]) == Exit.FINDINGS
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, schema())
    codes = {f["code"] for f in doc["findings"]}
    assert {"ZT101", "ZT102", "ZT103"} <= codes
    zt101 = next(f for f in doc["findings"] if f["code"] == "ZT101")
    assert (
        zt101["subject"]["name"].startswith("productpage-v1")
        and zt101["rule"] == "workload-missing-in-ztunnel"
    )
    assert zt101["evidence"][0].startswith("ztunnel/") and zt101["node"] == scenarios.NODES[0]
    assert {f["subject"]["name"] for f in doc["findings"] if f["code"] == "ZT103"} == {"ambient-worker4"}
    assert doc["collection_errors"] and doc["bundle"]["complete"] is False
    stdout = capsys.readouterr().out
    # incidents first: the crash-looping ztunnel on ambient-worker explains the ZT101 above
    assert stdout.startswith("ERROR") and "ztunnel-kfwpp" in stdout.splitlines()[0]
    assert f"report: {out}" in stdout
    assert re.search(r"bundle incomplete: \d+/\d+ collected, [1-9]\d* missing", stdout)  # `layout.Tally`


def test_fail_on_levels(broken_bundle: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "r.txt")
    assert (
        main(["analyze", str(broken_bundle), "-o", "text", "--out-file", out, "--fail-on", "never"])
        == Exit.OK
    )
    assert (
        main(["analyze", str(broken_bundle), "-o", "text", "--out-file", out, "--fail-on", "info"])
        == Exit.FINDINGS
    )
    text = Path(out).read_text()
    assert "ERROR   ZT103 node-missing-ztunnel-or-cni: Node ambient-worker4" in text
    assert "collection errors:" in text


def test_text_format_prints_every_finding_to_stdout(
    broken_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(broken_bundle), "-o", "text"]) == Exit.FINDINGS
    stdout = capsys.readouterr().out
    assert "ERROR   ZT103 node-missing-ztunnel-or-cni: Node ambient-worker4" in stdout
    assert "… and" not in stdout  # the whole list, not the short summary
    assert not broken_bundle.with_name(f"{broken_bundle.name}.report.text").exists()


def test_disable_and_now(broken_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["analyze", str(broken_bundle), "-o", "json", "--out-file", str(out)]
    assert main(
        [
            *args,
            "--disable",
            "ZT101",
            "--disable",
            "node-missing-ztunnel-or-cni",
            "--now",
            "2030-01-01T00:00:00Z",
        ]
    ) in (Exit.OK, Exit.FINDINGS)
    doc = json.loads(out.read_text())
    assert not {"ZT101", "ZT103"} & {f["code"] for f in doc["findings"]}
    assert {s["code"] for s in doc["skipped"]} >= {"ZT101", "ZT103"}
    assert doc["analyzed_at"] == "2030-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "argv",
    [
        ["--disable", "ZT999"],
        ["--now", "yesterday"],
        ["-o", "pdf"],
        ["--fail-on", "sometimes"],
    ],
)
def test_usage_errors_exit_2(clean_bundle: Path, capsys: CaptureFixture[str], argv: list[str]) -> None:
    assert main(["analyze", str(clean_bundle), *argv]) == Exit.USAGE
    assert "Traceback" not in capsys.readouterr().err


def test_default_html_report_next_to_bundle_escapes_content(
    clean_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    assert main(["analyze", str(clean_bundle)]) == Exit.OK
    report = clean_bundle.with_name(clean_bundle.name + ".report.html")
    html = report.read_text()
    assert html.startswith("<!doctype html>") and 'id="ZT101"' in html
    assert 'src="http' not in html and 'href="http' not in html  # self-contained: no CDN, no network
    assert f"report: {report}" in capsys.readouterr().out


def test_html_report_shows_l4_metrics_from_collected_ztunnels(broken_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    main(["analyze", str(broken_bundle), "--out-file", str(out), "--fail-on", "never"])
    section = out.read_text().split('<section id="metrics">', 1)[1].split("</section>", 1)[0]
    assert "Not included" not in section
    assert "productpage-v1" in section  # a bookinfo workload's counters, read from ztunnel /metrics


def test_rules_dir_adds_a_rule_and_a_crash_is_reported(clean_bundle: Path, tmp_path: Path) -> None:
    rules_dir = tmp_path / "extra"
    rules_dir.mkdir()
    (rules_dir / "always_crashes.py").write_text(
        '"""Crashes.\n\nEvidence:\n    none.\n\nFix:\n    none.\n"""\n'
        "from analyzer.model import Input\nfrom rules import Rule, Severity\n"
        'RULE = Rule(code="ZT990", name="always-crashes", severity=Severity.INFO,\n'
        "            needs=frozenset({Input.PODS}), doc=__doc__)\n"
        "def check(bundle):\n    raise RuntimeError('boom')\n"
    )
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "analyze",
                str(clean_bundle),
                "-o",
                "json",
                "--out-file",
                str(out),
                "--rules-dir",
                str(rules_dir),
            ]
        )
        == Exit.FINDINGS
    )
    doc = json.loads(out.read_text())
    assert [(f["code"], f["subject"]["name"]) for f in doc["findings"]] == [("ZT901", "ZT990-always-crashes")]


def test_missing_input_skips_rules_with_reason(tmp_path: Path) -> None:
    scn = scenarios.bookinfo()
    members = _members(scn)
    for zt in scn.pods_by_role(Role.ZTUNNEL):
        del members[layout.ztunnel_config_dump(zt.name)]
    failed = {
        layout.ztunnel_config_dump(z.name): ("timeout", "no answer in 30s")
        for z in scn.pods_by_role(Role.ZTUNNEL)
    }
    path = write_bundle(tmp_path / "b.tar.gz", members, failed=failed, at=at(scn))
    out = tmp_path / "r.json"
    assert main(["analyze", str(path), "-o", "json", "--out-file", str(out)]) == Exit.OK
    skipped = {s["code"]: s["reason"] for s in json.loads(out.read_text())["skipped"]}
    assert "ZT101" in skipped and "timeout: no answer in 30s" in skipped["ZT101"]
    assert "ZT103" not in skipped


def test_enums_match_the_schema_and_the_cli() -> None:
    from analyzer.model import BaselineKind
    from analyzer.report import Format
    from rules import Severity
    from ztbundle.cli import build_parser

    defs = schema()["$defs"]
    assert defs["severity"]["enum"] == [s.value for s in Severity]
    baseline = schema()["properties"]["bundle"]["properties"]["baseline"]["items"]["properties"]["kind"]
    assert baseline["enum"] == [k.value for k in BaselineKind]
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    analyze = sub.choices["analyze"]  # type: ignore[index]
    fmt = next(a for a in analyze._actions if "-o" in a.option_strings)
    assert list(fmt.type.choices) == [f.value for f in Format]  # type: ignore[union-attr]
    fail_on = next(a for a in analyze._actions if a.dest == "fail_on")
    assert list(fail_on.type.choices) == [s.value for s in Severity] + ["never"]  # type: ignore[union-attr]


def test_expected_non_answers_do_not_call_a_complete_bundle_incomplete(
    tmp_path: Path, capsys: CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two istiod replicas: each answers 404 for the ztunnels on the other, which the collector expects.

    Collected with every replica asked about every ztunnel, as collectors before per-replica routing
    did (and as its fallback still does when syncz does not say where a ztunnel is).
    """
    from collector.steps import istiod_proxy
    from tests.fakecluster.cluster import FakeCluster

    bundle = tmp_path / "b.tar.gz"
    monkeypatch.setattr(istiod_proxy, "routed_items", lambda plan, routes: istiod_proxy.items(plan))
    with FakeCluster(scenarios.synthetic(nodes=2, pods_per_node=3)) as fc:
        rc = main(fc.collect_argv(bundle))
    assert rc == Exit.OK
    capsys.readouterr()
    out = tmp_path / "r.json"
    main(["analyze", str(bundle), "-o", "json", "--out-file", str(out)])
    doc = json.loads(out.read_text())
    stdout = capsys.readouterr().out
    assert doc["bundle"]["complete"] is True and doc["collection_errors"]
    assert "bundle incomplete" not in stdout
    n = len(doc["collection_errors"])
    assert "bundle complete: " in stdout and f", 0 missing, {n} expected non-answer(s)" in stdout
