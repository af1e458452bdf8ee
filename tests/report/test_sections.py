"""The report as data: sections computed into the result, the JSON contract, renderers reading only it."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import rules
from analyzer import analyze_bundle
from analyzer.bundle import open_bundle
from analyzer.report import html
from analyzer.report.json import SCHEMA_VERSION, schema, to_dict
from analyzer.sections.nodes import Column
from tests.report.conftest import Case

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").glob("*.tar.gz"))
SECTIONS = ("nodes", "ztunnels", "traffic", "metrics", "rule_docs")


@pytest.fixture(scope="module", params=[p.name for p in SAMPLES])
def sample(request: pytest.FixtureRequest) -> tuple[Any, dict[str, Any]]:
    result = analyze_bundle(open_bundle(ROOT / "samples" / request.param), rules.all_rules())
    return result, to_dict(result)


def test_sample_reports_validate_and_carry_every_section(sample: tuple[Any, dict[str, Any]]) -> None:
    result, doc = sample
    jsonschema.validate(doc, schema())
    assert doc["schema_version"] == SCHEMA_VERSION == 2
    assert len(doc["nodes"]["rows"]) == len(result.nodes.rows) > 0
    assert [z["name"] for z in doc["ztunnels"]] == [z.name for z in result.ztunnels]
    assert doc["traffic"] is not None and doc["traffic"]["records"] > 0  # both samples hold access logs
    assert {d["code"] for d in doc["rule_docs"]} >= {r["code"] for r in doc["rules"]}
    if doc["metrics"] is None:  # istioctl bug-report archives carry no ztunnel /metrics
        notes = [e["error"] or "" for e in doc["collection_errors"] if e["path"] is None]
        assert any("istioctl bug-report" in n for n in notes)
        return
    assert doc["metrics"]["workloads"]
    assert all(isinstance(r["opened"], int) for r in doc["metrics"]["workloads"])  # counters, not floats


def test_html_shows_the_grid_the_json_carries(sample: tuple[Any, dict[str, Any]]) -> None:
    result, doc = sample
    page = html.render(result)
    cells = re.findall(
        r'<td class="cell (\w+)" title="[^"]*" data-node="([^"]*)" data-column="([^"]*)">([^<]*)<', page
    )
    labels = {c["id"]: c["label"] for c in doc["nodes"]["columns"]}
    from_json = [
        (c["tone"], row["node"], labels[c["column"]], c["text"])
        for row in doc["nodes"]["rows"]
        for c in row["cells"]
    ]
    assert cells == from_json


def test_schema_rejects_a_report_without_a_section(sample: tuple[Any, dict[str, Any]]) -> None:
    _, doc = sample
    for name in SECTIONS:
        broken = {k: v for k, v in doc.items() if k != name}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema())


def test_every_declared_grid_column_exists_and_zt103_names_both_daemonsets() -> None:
    declared = {r.code: r.grid_columns for r in rules.all_rules()}
    assert set().union(*declared.values()) <= {c.value for c in Column}
    assert declared["ZT103"] == {Column.ZTUNNEL, Column.CNI}
    assert all(declared[c] == {Column.CERTIFICATES} for c in declared if c.startswith("ZT2"))


def test_zt103_colours_only_the_daemonset_that_is_missing(hostile: Case) -> None:
    """n3 has istio-cni but no ztunnel: the one ZT103 finding colours the ztunnel column only."""
    row = next(r for r in hostile.result.nodes.rows if r.node == "n3")
    cells = dict(zip(hostile.result.nodes.columns, row.cells, strict=True))
    assert cells[Column.ZTUNNEL].tone.value == "bad" and "ZT103" in cells[Column.ZTUNNEL].title
    assert cells[Column.CNI].tone.value == "ok" and "ZT103" not in cells[Column.CNI].title


def test_istiod_not_connected_answers_are_expected_only_where_another_replica_served(
    collected_bundle: Path,
) -> None:
    # collected with every replica asked about every ztunnel (the routing fallback), so the other
    # replica's "not connected" answers are there to judge
    result = analyze_bundle(open_bundle(collected_bundle), rules.all_rules())
    not_connected = [e for e in result.collection_errors if (e.error or "").startswith("HTTP 404")]
    assert not_connected and any(e.expected for e in not_connected)
    served = {e.path.rsplit("/", 1)[1].split(".")[0] for e in not_connected if e.path and e.expected}
    gaps = {e.path.rsplit("/", 1)[1].split(".")[0] for e in not_connected if e.path and not e.expected}
    assert served.isdisjoint(gaps)  # a ztunnel no replica answered for (disconnected) stays a gap
    page = html.render(result)
    for e in not_connected:
        row = re.search(
            rf'<tr data-collection-error data-expected="(\w+)"><td><code>{re.escape(e.path or "")}</code>'
            r'.*?<span class="tag (\w+)">(\w+)</span>',
            page,
        )
        assert row is not None
        assert row.groups() == (("true", "unknown", "expected") if e.expected else ("false", "bad", "error"))


def _imports_and_attributes(path: Path) -> tuple[set[str], set[str]]:
    tree = ast.parse(path.read_text())
    imports = set()
    for node in ast.walk(tree):  # inside functions too
        if isinstance(node, ast.ImportFrom) and node.module:
            imports |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            imports |= {a.name for a in node.names}
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return imports, attributes


@pytest.mark.parametrize(
    "path", sorted((ROOT / "analyzer" / "report").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_renderers_read_only_the_result(path: Path) -> None:
    imports, attributes = _imports_and_attributes(path)
    reaching = {
        "analyzer.model",
        "analyzer.load",
        "analyzer.bundle",
        "ztbundle.layout",
        "analyzer.views.source",
    }
    assert not {i for i in imports if i in reaching or i.startswith(("analyzer.model.", "analyzer.load."))}
    assert "model" not in attributes


@pytest.mark.parametrize(
    "path",
    [
        *sorted((ROOT / "analyzer" / "sections").glob("*.py")),
        *sorted((ROOT / "analyzer" / "report" / "parts").glob("*.py")),
    ],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_sections_never_read_a_findings_message(path: Path) -> None:
    _, attributes = _imports_and_attributes(path)
    assert "message" not in attributes


def test_text_report_shows_the_grid_and_marks_expected_answers() -> None:
    from analyzer.report import text

    result = analyze_bundle(open_bundle(ROOT / "samples" / "broken.tar.gz"), rules.all_rules())
    out = text.render(result)
    grid = out[out.index("\nnodes:\n") :].splitlines()[3 : 3 + len(result.nodes.rows)]
    assert len(grid) == len(result.nodes.rows) == 4
    for row, line in zip(result.nodes.rows, grid, strict=True):
        assert line.split()[0] == row.node and f"{row.cells[0].text} ({row.cells[0].tone.value})" in line
    for e in result.collection_errors:
        line = next(x for x in out.splitlines() if x.startswith(f"  {e.path}: "))
        assert line.startswith(f"  {e.path}: expected (") == e.expected
