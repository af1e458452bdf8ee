"""Every view reads an istioctl bug-report or says in one line which input it lacks; `convert` round-trips."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from _pytest.capture import CaptureFixture

from analyzer.bugreport import REASON, source_of
from analyzer.bundle import open_bundle
from tests.bugreport import make_archive, scenario_bundle
from tests.bugreport.analysis import analyze
from tests.fakecluster import scenarios
from tests.fakecluster.scenario import Role, Scenario
from ztbundle.cli import main
from ztbundle.exits import Exit


@pytest.fixture(scope="module")
def scn() -> Scenario:
    return scenarios.broken()


@pytest.fixture(scope="module")
def archive(scn: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_archive.write(tmp_path_factory.mktemp("br") / "bug-report.tar.gz", scn)


def _run(capsys: CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ztunnel_config_reads_the_archive(archive: Path, scn: Scenario, capsys: CaptureFixture[str]) -> None:
    zt = scn.ztunnel_on(scenarios.NODES[1])
    assert zt is not None
    code, out, _ = _run(capsys, "ztunnel-config", str(archive), "workloads", "--ztunnel", zt.name)
    local = [p.name for p in scn.pods_on(scenarios.NODES[1]) if scn.is_enrolled(p)]
    assert code == Exit.OK and local and all(name in out for name in local)
    code, out, _ = _run(capsys, "ztunnel-config", str(archive), "certificates", "--ztunnel", zt.name)
    assert code == Exit.OK and "spiffe://cluster.local/ns/default/sa/" in out


def test_xds_compares_with_ambientz_and_names_the_missing_per_proxy_view(
    archive: Path, scn: Scenario, capsys: CaptureFixture[str]
) -> None:
    zt = scn.pods_by_role(Role.ZTUNNEL)[0]
    code, out, err = _run(capsys, "xds", str(archive), "--ztunnel", zt.name, "--diff")
    # like diff(1): 1 when this ztunnel differs from istiod's view, 0 when it does not
    assert code in (Exit.OK, Exit.DIFFERENCES) and "/debug/ambientz" in err and REASON in err


def test_logs_and_traffic_read_the_split_logs(archive: Path, capsys: CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "logs", str(archive), "--errors", "-o", "wide")
    assert code == Exit.OK and "connection timed out" in out and "policy rejection" in out
    code, out, _ = _run(capsys, "traffic", str(archive))
    assert code == Exit.OK and "productpage-v1" in out and "hbone" in out


def test_metrics_says_in_one_line_what_the_archive_lacks(archive: Path, capsys: CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "metrics", str(archive))
    assert code == Exit.NOT_COLLECTED and out == ""
    assert err.count("\n") == 1 and "metrics.txt: no metrics" in err and REASON in err


def test_diff_compares_an_archive_with_a_bundle(
    archive: Path, scn: Scenario, tmp_path: Path, capsys: CaptureFixture[str]
) -> None:
    bundle = scenario_bundle.write(tmp_path / "later.tar.gz", scn)
    code, out, err = _run(capsys, "diff", str(archive), str(bundle))
    assert code == Exit.OK and out == "no changes\n"  # same cluster: nothing changed in what both carry
    assert "ZT401, ZT402, ZT403 ran on one side only; not compared" in err


def test_extract_writes_the_presented_members(
    archive: Path, tmp_path: Path, capsys: CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "extract", str(archive), str(tmp_path / "out"))
    files = open_bundle(archive)
    assert code == Exit.OK
    for name in files.names():
        assert (tmp_path / "out" / name).read_bytes() == files.read(name)


@pytest.mark.parametrize("case", ["broken", "hostile"])
def test_convert_round_trips(case: str, tmp_path: Path, capsys: CaptureFixture[str]) -> None:
    scn = scenarios.SCENARIOS[case]()
    archive = make_archive.write(tmp_path / "bug-report.tar.gz", scn)
    out = tmp_path / "converted.tar.gz"
    code, stdout, _ = _run(capsys, "convert", str(archive), "--out-file", str(out))
    assert code == Exit.OK and f"wrote {out}" in stdout
    converted, original = open_bundle(out), open_bundle(archive)
    with tarfile.open(out) as tar:
        assert tar.getnames()[-1] == "manifest.json"  # a ztbundle bundle, manifest last
    assert source_of(converted.manifest) == source_of(original.manifest) == "istioctl bug-report 1.26.2"
    skipped = {a["path"]: a["error"] for a in converted.manifest["artifacts"] if a["status"] == "skipped"}
    assert any(p.endswith("metrics.txt") for p in skipped) and REASON in next(iter(skipped.values()))

    def key(files: object) -> set[tuple[str, str, str]]:
        return {(f.code, str(f.subject), f.message) for f in analyze(files).findings}  # type: ignore[arg-type]

    assert key(converted) == key(original)
    stored = b"".join(converted.read(n) for n in converted.names())
    leaked = [s for s in scn.planted_secrets if s.encode() in stored]
    assert not leaked  # the collector's redaction pass ran: istioctl's archive had them in the clear
    if scn.planted_secrets:
        assert converted.manifest["redactions"]


def test_convert_refuses_a_ztbundle_bundle(
    scn: Scenario, tmp_path: Path, capsys: CaptureFixture[str]
) -> None:
    bundle = scenario_bundle.write(tmp_path / "b.tar.gz", scn)
    code, _, err = _run(capsys, "convert", str(bundle), "--out-file", str(tmp_path / "c.tar.gz"))
    assert code == Exit.USAGE and "already a ztbundle bundle" in err and err.count("\n") == 1


def test_report_names_the_source_and_istioctl_version(archive: Path) -> None:
    from analyzer.report import Format, render

    result = analyze(open_bundle(archive))
    doc = json.loads(render(result, Format.JSON))
    run_notes = [e["error"] for e in doc["collection_errors"] if e["path"] is None]
    assert any("istioctl bug-report 1.26.2" in n for n in run_notes)
    assert "istioctl bug-report 1.26.2" in render(result, Format.TEXT)


def test_xds_on_an_istioctl_1_23_archive_says_in_one_line_what_it_lacks(
    scn: Scenario, tmp_path: Path, capsys: CaptureFixture[str]
) -> None:
    old = make_archive.write(
        tmp_path / "old.tar.gz",
        scn,
        istioctl="1.23.2",
        endpoints=make_archive.ENDPOINTS_1_23,
        old_layout=True,
    )
    zt = scn.pods_by_role(Role.ZTUNNEL)[0]
    code, out, err = _run(capsys, "xds", str(old), "--ztunnel", zt.name)
    assert code == Exit.NOT_COLLECTED and out == "" and err.count("\n") == 1
    assert f"no istiod view of {zt.name} was collected" in err and REASON in err
