"""The rendered HTML page: escaping, CSP, no network loads, every finding, anchors, grid, CLI wiring."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analyzer import AnalysisResult, with_sections
from analyzer.report import html
from analyzer.sections import rule_docs, ztunnels
from tests.report.conftest import HOSTILE, Case
from ztbundle.cli import main
from ztbundle.exits import Exit

_V1_FIELDS = (
    "manifest",
    "now",
    "findings",
    "skipped",
    "baselines",
    "collection_errors",
    "rules",
    "bundle_path",
)
"""What a result held before the report sections were computed into it."""


class Page(HTMLParser):
    """Tags with attributes, script bodies and the CSP of a rendered page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def attr(self, name: str) -> list[str]:
        return [a[name] for _, a in self.tags if name in a]

    def with_attr(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if name in a]

    @property
    def csp(self) -> str:
        meta = [a for t, a in self.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
        assert len(meta) == 1
        return meta[0]["content"]


@pytest.fixture(scope="module")
def page(hostile: Case) -> str:
    return html.render(hostile.result)


def test_hostile_pod_name_is_escaped_everywhere(page: str) -> None:
    assert HOSTILE not in page
    assert "Pod shop/&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == 1  # only our own inline script


def test_csp_is_strict_and_allows_exactly_the_inline_script(page: str) -> None:
    parsed = Page(page)
    (script,) = parsed.scripts
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert parsed.csp == (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; img-src data:"
    )
    assert "unsafe-inline" not in parsed.csp.split("script-src")[1]
    assert not parsed.with_attr("onclick") and not parsed.with_attr("onsubmit")  # CSP would block them


def test_page_loads_nothing_from_anywhere(page: str) -> None:
    parsed = Page(page)
    assert not parsed.attr("src") and not parsed.attr("srcset") and not parsed.attr("action")
    assert not [t for t, _ in parsed.tags if t in ("link", "img", "iframe", "object", "embed", "base")]
    assert all(href.startswith("#") for href in parsed.attr("href"))
    assert not re.search(r"url\(|@import", page)
    assert "http://" not in page and "https://" not in page


def test_every_finding_is_a_row_with_its_message(hostile: Case, page: str) -> None:
    rows = Page(page).with_attr("data-finding")
    assert len(rows) == len(hostile.result.findings)
    # Other engineers keep adding rules; these three are what the case was built to trigger.
    assert {"ZT101", "ZT103", "ZT203"} <= {r["data-code"] for r in rows}
    for f in hostile.result.findings:
        assert html_escape(f.message) in page
        assert html_escape(str(f.subject)) in page


def test_every_link_has_a_target_and_rules_are_anchored_by_code(hostile: Case, page: str) -> None:
    parsed = Page(page)
    ids = set(parsed.attr("id"))
    assert {h[1:] for h in parsed.attr("href")} <= ids
    assert {r.code for r in hostile.result.rules} <= ids
    for f in hostile.result.findings:
        assert f'<a href="#{f.code}">{f.code}</a>' in page


def test_grid_marks_the_nodes_where_the_trouble_is(page: str) -> None:
    cells = {(c["data-column"], c["data-node"]): c for c in Page(page).with_attr("data-column")}
    tone = {k: v["class"].split()[1] for k, v in cells.items()}
    assert tone[("ztunnel ready", "n3")] == "bad"  # ZT103: no ztunnel there
    assert tone[("istio-cni ready", "n3")] == "ok"  # ZT103 names only the ztunnel
    assert tone[("certificates valid", "n1")] == "bad" and tone[("certificates valid", "n2")] == "ok"
    assert tone[("pods Up", "n1")] == "bad" and tone[("pods Up", "n2")] == "ok"
    unknown = cells[("in sync with istiod", "n1")]
    assert unknown["class"] == "cell unknown" and "no istiod baseline" in unknown["title"]


def test_finding_escalates_a_green_cell_and_names_its_code(hostile: Case) -> None:
    import dataclasses

    import rules
    from analyzer.findings import Finding
    from analyzer.model import Baseline, BaselineKind, ObjectRef
    from rules import Severity

    drift = Finding(
        "ZT499", "made-up-drift", Severity.WARNING, ObjectRef("Pod", "shop", "api-0"), "drifted", node="n2"
    )
    note = dataclasses.replace(drift, code="ZT299", severity=Severity.INFO, node="n1")
    n2 = hostile.model.ztunnel_on("n2")
    assert n2 is not None
    # The made-up rules colour the grid columns they declare, as a real drift or certificate rule does.
    made_up = (
        dataclasses.replace(rules.by_code("ZT401"), code="ZT499", name="made-up-drift"),
        dataclasses.replace(rules.by_code("ZT205"), code="ZT299", name="made-up-note"),
    )
    result = dataclasses.replace(
        hostile.result,
        rules=(*hostile.result.rules, *made_up),
        findings=(*hostile.result.findings, drift, note),
        baselines=(Baseline(n2.name, BaselineKind.AMBIENTZ, "istiod-0"),),
    )
    page = html.render(with_sections(result, hostile.model))
    cells = {(c["data-column"], c["data-node"]): c for c in Page(page).with_attr("data-column")}
    assert cells[("in sync with istiod", "n2")]["class"] == "cell warn"
    assert 'data-node="n2" data-column="in sync with istiod">ZT499</td>' in page  # not "in sync" any more
    assert cells[("in sync with istiod", "n1")]["class"] == "cell unknown"  # no baseline for n1
    certs = cells[("certificates valid", "n1")]
    assert certs["class"] == "cell bad" and "ZT299" in certs["title"]  # info never recolours
    assert 'data-node="n1" data-column="certificates valid">0/1</td>' in page  # a count survives


def test_ztunnel_tables_and_fix_text(hostile: Case, page: str) -> None:
    assert (
        page.count('<details class="ztunnel"') == len(hostile.model.ztunnels) == len(hostile.result.ztunnels)
    )
    assert "<th>POD NAME</th>" in page and "spiffe://cluster.local/ns/shop/sa/default" in page
    assert '<p class="fix"><b>Fix:</b>' in page


def test_workload_tables_are_capped(hostile: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    page = html.render(hostile.result)
    assert page.count("2 workloads (1 on its node)") == 2  # each ztunnel lists only its own node's
    monkeypatch.setattr(ztunnels, "WORKLOAD_ROWS", 0)
    page = html.render(with_sections(hostile.result, hostile.model))
    assert page.count("… and 1 more workloads on this node") == 2


def test_renders_from_the_result_alone(hostile: Case) -> None:
    """The page needs nothing but the result: without computed sections it still lists every finding."""
    bare = AnalysisResult(*(getattr(hostile.result, f) for f in _V1_FIELDS))
    page = html.render(bare)
    assert len(Page(page).with_attr("data-finding")) == len(hostile.result.findings)
    assert "No nodes in the bundle." in page and not Page(page).with_attr("data-column")


@pytest.mark.parametrize(
    ("counts", "expected"),
    [({"error": 1, "warning": 2, "info": 0}, "1 error, 2 warnings"), ({}, "No problems found")],
)
def test_verdict_wording(hostile: Case, counts: dict[str, int], expected: str) -> None:
    import dataclasses

    findings = []
    base = hostile.result.findings[0]
    for sev, n in counts.items():
        findings += [dataclasses.replace(base, severity=type(base.severity)(sev))] * n
    result = dataclasses.replace(hostile.result, findings=tuple(findings))
    assert html.verdict(result)[0] == expected


def test_doc_sections_split_and_reflow() -> None:
    text = "Summary line.\n\nWhy it\nmatters.\n\nEvidence:\n    Seen in\n    a dump.\n\nFix:\n"
    text += "    - one\n    - two"
    doc = rule_docs.doc_sections(text)
    assert doc == rule_docs.DocSections("Summary line.", "Why it matters.", "Seen in a dump.", "- one\n- two")


def test_cli_writes_html_with_the_model(collected_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["analyze", str(collected_bundle), "--out-file", str(out)]) == Exit.FINDINGS
    page = out.read_text()
    assert 'data-node="ambient-worker4" data-column="ztunnel ready">none</td>' in page
    assert "The typed model was not passed" not in page
    assert str(collected_bundle) in page


def html_escape(text: str) -> str:
    """Escape as jinja2's autoescape does (markupsafe writes ' as &#39;)."""
    from markupsafe import escape

    return str(escape(text))


def test_page_opens_with_the_verdict_and_incidents_then_findings_then_the_bundle_facts(page: str) -> None:
    order = ['id="verdict"', '<section id="incidents"', '<section id="findings"', '<section id="grid"']
    order += ['<section id="facts"', '<section id="health"', '<section id="ztunnels"', '<section id="rules"']
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_each_incident_shows_its_headline_fix_next_step_and_consequences(hostile: Case) -> None:
    result = hostile.result
    assert result.incidents, "the hostile case has findings, so it has incidents"
    page = html.render(result)
    section = page[page.index('<section id="incidents"') : page.index('<section id="findings"')]
    for incident in result.incidents:
        assert f'id="{incident.id}"' in section
        assert html_escape(incident.headline) in section
        for step in incident.next_steps:
            assert html_escape(step) in section
        for f in incident.explains:
            assert html_escape(f.message) in section


def test_no_incident_section_without_findings(hostile: Case) -> None:
    import dataclasses

    empty = dataclasses.replace(hostile.result, findings=(), incidents=())
    assert '<section id="incidents"' not in html.render(empty)
