"""`xds` (istiod's view, --diff), `diff` (two bundles), and every view command's --help example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _pytest.capture import CaptureFixture

from ztbundle.cli import main
from ztbundle.exits import Exit

VIEWS = ("ztunnel-config", "xds", "logs", "traffic", "metrics", "diff")


def _ztunnel_on_first_node(bundle: Path) -> str:
    from analyzer.bundle import open_bundle  # logical paths: format-2 dumps are recipes, not members

    return sorted(n.split("/")[1] for n in open_bundle(bundle).names() if n.endswith("config_dump.json"))[0]


@pytest.mark.parametrize("command", VIEWS)
def test_every_view_help_has_an_example(command: str, capsys: CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == Exit.OK
    out = capsys.readouterr().out
    assert "examples:" in out and f"ztbundle {command} bundle.tar.gz" in out.replace(
        "before.tar.gz", "bundle.tar.gz"
    )


def test_xds_names_its_source_and_is_in_sync_on_a_healthy_bundle(
    bookinfo_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    zt = _ztunnel_on_first_node(bookinfo_bundle)
    assert main(["xds", str(bookinfo_bundle), "--ztunnel", zt]) == Exit.OK
    out = capsys.readouterr()
    assert "/debug/ambientz" in out.err and out.out.startswith("NAMESPACE")
    assert main(["xds", str(bookinfo_bundle), "--ztunnel", zt, "--diff", "-o", "json"]) == Exit.OK
    assert json.loads(capsys.readouterr().out) == []


def test_xds_diff_shows_missing_extra_and_changed_fields(
    broken_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    zt = _ztunnel_on_first_node(broken_bundle)  # node 1 of `broken`: missing, stale and TCP-protocol entries
    assert main(["xds", str(broken_bundle), "--ztunnel", zt, "--diff", "-o", "json"]) == Exit.DIFFERENCES
    changes = json.loads(capsys.readouterr().out)
    kinds = {(c["section"], c["change"]) for c in changes}
    assert {("workloads", "missing-in-ztunnel"), ("workloads", "extra-in-ztunnel")} <= kinds
    changed = [c for c in changes if c["change"] == "changed" and c["section"] == "workloads"]
    assert any("protocol: istiod 'HBONE', ztunnel 'TCP'" in c["fields"] for c in changed)


def test_diff_reports_workloads_certificates_and_findings(
    bookinfo_bundle: Path, broken_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    assert main(["diff", str(bookinfo_bundle), str(broken_bundle), "-o", "json"]) == Exit.DIFFERENCES
    changes = json.loads(capsys.readouterr().out)
    got = {(c["section"], c["change"]) for c in changes}
    assert {("workloads", "added"), ("workloads", "removed"), ("workloads", "changed")} <= got
    assert {("certificates", "lost"), ("certificates", "rotated"), ("findings", "appeared")} <= got
    assert main(["diff", str(bookinfo_bundle), str(bookinfo_bundle)]) == Exit.OK
    assert capsys.readouterr().out == "no changes\n"


def test_xds_without_istiod_view_is_one_line_exit_3(tmp_path: Path, capsys: CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.tar.gz"
    assert main(["xds", str(missing), "--ztunnel", "ztunnel-x"]) == Exit.BAD_INPUT
    assert capsys.readouterr().err == f"ztbundle: error: {missing}: no such file\n"
