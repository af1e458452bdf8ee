"""Log-signature rules end to end: FakeCluster → `collect` → `analyze`; evidence lines are in the bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.bundle import open_bundle
from tests.fakecluster import scenarios
from ztbundle.cli import main
from ztbundle.exits import Exit

LOG_RULES: dict[str, tuple[str, ...]] = {  # code → texts one of which each quoted line holds
    "ZT207": ("impersonat",),
    "ZT304": ("no ztunnel connection", "partially added", "was not enrolled"),
    "ZT305": ("inpod",),
    "ZT406": ("ACK ERROR", "Timeout writing", "Send failure"),
    "ZT601": ("HBONE port 15008", "deadline has elapsed"),
    "ZT604": ("Connection refused (os error 111)",),
    "ZT605": ("timed out waiting for workload", "local workload"),
}


def _collect_and_analyze(tmp: Path, name: str) -> tuple[Path, list[dict[str, object]]]:
    from tests.fakecluster.cluster import FakeCluster

    bundle, report = tmp / f"{name}.tar.gz", tmp / f"{name}.json"
    with FakeCluster(getattr(scenarios, name)()) as fc:
        rc = main(fc.collect_argv(bundle))
    assert rc in (Exit.OK, Exit.INCOMPLETE)
    main(["analyze", str(bundle), "-o", "json", "--out-file", str(report)])
    findings = [f for f in json.loads(report.read_text())["findings"] if f["code"] in LOG_RULES]
    return bundle, findings


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    return _collect_and_analyze(tmp_path_factory.mktemp("logsig"), "broken")


def test_broken_scenario_log_signatures_fire_once_each(broken: tuple[Path, list[dict[str, object]]]) -> None:
    _, findings = broken
    got = {(f["code"], f["subject"]["kind"], str(f["subject"]["name"]).split("-")[0]) for f in findings}
    assert got == {
        ("ZT304", "Node", "ambient"),  # istio-cni on node 1: no ztunnel connection
        ("ZT305", "Pod", "productpage"),  # istio-cni cannot open its netns
        ("ZT406", "Ztunnel", "ztunnel"),  # istiod logs node 1's NACK as ACK ERROR
        ("ZT601", "Pod", "details"),  # HBONE timeout to :15008
        ("ZT604", "Pod", "reviews"),  # :15008 refused: no in-pod proxy on node 2
        ("ZT605", "Pod", "productpage"),  # node 1's ztunnel timed out waiting for it from xDS
    }


def test_every_log_finding_quotes_lines_that_exist_in_the_bundle(
    broken: tuple[Path, list[dict[str, object]]],
) -> None:
    bundle, findings = broken
    files = open_bundle(bundle)
    for f in findings:
        evidence = f["evidence"]
        assert isinstance(evidence, list) and evidence, f
        for ref in evidence:
            member, _, line = str(ref).rpartition(":")
            text = files.text(member).splitlines()[int(line) - 1]
            assert any(sig in text for sig in LOG_RULES[str(f["code"])]), (ref, text)
        assert f'newest {evidence[0]}: "' in str(f["message"])


def test_clean_scenario_has_no_log_signature_findings(tmp_path: Path) -> None:
    assert _collect_and_analyze(tmp_path, "bookinfo")[1] == []
