"""Every scenario as an istioctl bug-report finds exactly what its bundle finds, minus rules it cannot run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import rules
from analyzer import AnalysisResult
from analyzer.bugreport import REASON, source_of
from analyzer.bundle import open_bundle
from tests.bugreport import make_archive, scenario_bundle
from tests.bugreport.analysis import analyze
from tests.fakecluster import scenarios
from tests.fakecluster.scenario import Scenario
from ztbundle import layout

CASES: dict[str, Callable[[], Scenario]] = {
    **scenarios.SCENARIOS,
    "waypoint": lambda: scenarios.with_waypoint(scenarios.bookinfo()),
    "istio-1.24": lambda: scenarios.bookinfo(istio_version="1.24.3"),
    "istio-1.22": lambda: scenarios.bookinfo(istio_version="1.22.5"),
}
# istioctl 1.23 (no debug/ambientz, nodes and namespaces inside k8s-resources), written with --dir.
SHAPES: dict[str, dict[str, Any]] = {
    "current": {"prefix": True},
    "1.23-dir": {
        "prefix": False,
        "istioctl": "1.23.2",
        "endpoints": make_archive.ENDPOINTS_1_23,
        "old_layout": True,
    },
}
DRIFT = {"ZT401", "ZT402", "ZT403"}  # need istiod's per-proxy views, which istioctl never fetches


def _key(f: Any) -> tuple[str, str, str]:
    return (f.code, str(f.subject), f.message)


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Scenario, AnalysisResult]]:
    """Each scenario (built once: its clock is its own) and the analysis of its full ztbundle bundle."""
    out = {}
    tmp = tmp_path_factory.mktemp("reference")
    for name, make in CASES.items():
        scn = make()
        out[name] = (scn, analyze(open_bundle(scenario_bundle.write(tmp / f"{name}.tar.gz", scn))))
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", CASES)
def test_archive_finds_what_its_inputs_allow(
    references: dict[str, tuple[Scenario, AnalysisResult]], tmp_path: Path, case: str, shape: str
) -> None:
    scn, bundle = references[case]
    files = open_bundle(make_archive.write(tmp_path / "bug-report.tar.gz", scn, **SHAPES[shape]))
    jsonschema.validate(files.manifest, layout.manifest_schema())
    version = SHAPES[shape].get("istioctl", "1.26.2")
    assert source_of(files.manifest) == f"istioctl bug-report {version}"
    result = analyze(files)
    skipped = {s.code: s.reason for s in result.skipped}
    assert skipped.keys() >= DRIFT
    for code, reason in skipped.items():  # every rule the archive cannot run says why
        assert REASON in reason or code in {s.code for s in bundle.skipped}, (code, reason)
    expected = {_key(f) for f in bundle.findings if f.code not in skipped}
    assert {_key(f) for f in result.findings} == expected
    # nothing else is lost (logs, syncz, adsz, versions all carried) but the configuration rules,
    # which need Istio/Gateway API/NetworkPolicy objects this reader does not take from the archive yet
    config_only = {r.code for r in rules.all_rules() if r.needs & set(layout.CONFIG_PATHS)}
    assert set(skipped) - DRIFT <= config_only


def test_broken_scenario_keeps_its_diagnosis(references: dict[str, tuple[Scenario, AnalysisResult]]) -> None:
    _, bundle = references["broken"]
    assert {"ZT101", "ZT103", "ZT404", "ZT405", "ZT501"} <= {f.code for f in bundle.findings}


def test_extracted_directory_reads_like_the_archive(
    references: dict[str, tuple[Scenario, AnalysisResult]], tmp_path: Path
) -> None:
    scn, _ = references["broken"]
    archive = open_bundle(make_archive.write(tmp_path / "bug-report.tar.gz", scn))
    for root in (tmp_path / "x", tmp_path / "x" / "bug-report"):  # the folder tar made, or its parent
        make_archive.write_dir(tmp_path / "x", scn)
        directory = open_bundle(root)
        assert dict(directory.members) == dict(archive.members)
        assert {_key(f) for f in analyze(directory).findings} == {_key(f) for f in analyze(archive).findings}


def test_ztunnels_in_a_skipped_namespace_are_named(tmp_path: Path) -> None:
    scn = make_archive.ztunnels_in(scenarios.bookinfo(), "kube-system")
    files = open_bundle(make_archive.write(tmp_path / "bug-report.tar.gz", scn))
    zts = sorted(p.name for p in scn.pods if p.labels.get("app") == "ztunnel")
    note = next(e for e in files.manifest["errors"] if "ztunnel pod(s)" in e)
    assert f"{len(zts)} ztunnel pod(s) in namespace kube-system (istioctl skips it by default)" in note
    assert all(z in note for z in zts)
    model = analyze(files)
    for code in ("ZT101", "ZT201"):  # needs every ztunnel's dump: none is there, and the report says why
        reason = next(s.reason for s in model.skipped if s.code == code)
        assert "istioctl bug-report skips namespace kube-system unless --include names it" in reason


def test_previous_log_is_split_from_the_current_one(tmp_path: Path) -> None:
    scn = scenarios.broken()  # its first ztunnel crash-loops: istioctl appended the previous log
    files = open_bundle(make_archive.write(tmp_path / "bug-report.tar.gz", scn))
    previous = [n for n in files.names() if n.endswith(".previous.log")]
    assert previous
    for name in previous:
        current = files.text(name.replace(".previous.log", ".log"))
        assert "=========" not in current and "=========" not in files.text(name)
