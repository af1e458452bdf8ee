"""Plain-text report: one line per finding, the node grid, then skipped rules and collection errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.text import printable_line
from analyzer.views.table import tabwrite

if TYPE_CHECKING:
    from analyzer import AnalysisResult
    from analyzer.sections.collection import CollectionError


def _status(e: CollectionError) -> str:
    return "expected (another istiod replica served this ztunnel)" if e.expected else e.status


def render(result: AnalysisResult) -> str:
    lines = [
        f"ztbundle analysis of {result.bundle_path or 'bundle'} "
        f"(collected {result.manifest.collected_at.isoformat()})",
        result.summary_line(),
        "",
    ]
    for f in result.findings:
        where = f" [node {f.node}]" if f.node else ""
        line = f"{f.severity.value.upper():7} {f.code} {f.rule}: {f.subject}{where}: {f.message}"
        lines.append(printable_line(line))
        lines.extend(printable_line(f"          evidence: {e}") for e in f.evidence)
    if result.nodes.rows:
        lines += ["", "nodes:"]
        header = ("  NODE", *(c.label.upper() for c in result.nodes.columns))
        rows = [(f"  {r.node}", *(f"{c.text} ({c.tone.value})" for c in r.cells)) for r in result.nodes.rows]
        lines += tabwrite([header, *rows], padding=2).splitlines()
    if result.skipped:
        lines += ["", "skipped rules:"]
        lines += [f"  {s.code} {s.rule}: {s.reason}" for s in result.skipped]
    if result.collection_errors:
        lines += ["", "collection errors:"]
        lines += [
            printable_line(f"  {e.path or '(run)'}: {_status(e)}: {e.error or ''}".rstrip())
            for e in result.collection_errors
        ]
    return "\n".join(lines) + "\n"
