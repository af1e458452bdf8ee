"""Plain-text report: one line per finding, then skipped rules and collection errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.text import printable_line

if TYPE_CHECKING:
    from analyzer import AnalysisResult


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
    if result.skipped:
        lines += ["", "skipped rules:"]
        lines += [f"  {s.code} {s.rule}: {s.reason}" for s in result.skipped]
    if result.collection_errors:
        lines += ["", "collection errors:"]
        lines += [
            printable_line(f"  {e.path or '(run)'}: {e.status}: {e.error or ''}".rstrip())
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
