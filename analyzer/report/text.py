"""Plain-text report: incidents with their findings, the node grid, skipped rules, collection errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.text import printable_line
from analyzer.views.table import tabwrite

if TYPE_CHECKING:
    from analyzer import AnalysisResult
    from analyzer.findings import Finding
    from analyzer.sections.collection import CollectionError


def _status(e: CollectionError) -> str:
    return "expected (another istiod replica served this ztunnel)" if e.expected else e.status


def _finding(f: Finding, indent: str) -> list[str]:
    where = f" [node {f.node}]" if f.node else ""
    caused = " (follows)" if f.caused_by else ""
    line = f"{indent}{f.severity.value.upper():7} {f.code} {f.rule}{caused}: {f.subject}{where}: {f.detail}"
    return [printable_line(line)] + [printable_line(f"{indent}          evidence: {e}") for e in f.evidence]


def render(result: AnalysisResult) -> str:
    lines = [
        f"ztbundle analysis of {result.bundle_path or 'bundle'} "
        f"(collected {result.manifest.collected_at.isoformat().replace('+00:00', 'Z')})",
        result.summary_line(),
        "",
    ]
    groups = [(i, i.findings) for i in result.incidents] or [(None, tuple(result.findings))]
    for n, (incident, findings) in enumerate(groups, 1):
        if incident is not None:
            rule = result.rule(incident.root.code)
            lines.append(printable_line(f"INCIDENT {n} ({incident.severity.value}): {incident.headline}"))
            if rule is not None and rule.fix_line:
                lines.append(printable_line(f"  fix:  {rule.fix_line}"))
            lines += [printable_line(f"  next: {step}") for step in incident.next_steps]
        for f in findings:
            lines += _finding(f, indent="  " if incident is not None else "")
        lines.append("")
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
    if result.format_notes:
        lines += ["", "format notes (config_dump fields this ztbundle does not expect):"]
        lines += [
            printable_line(
                f"  {z}: {n.field}: expected {n.expected}, seen {n.seen} (ztunnel {n.version or '?'})"
            )
            for z, n in result.format_notes
        ]
    return "\n".join(lines) + "\n"
