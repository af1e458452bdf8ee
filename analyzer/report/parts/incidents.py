"""The incidents section, first on the page: headline, blast radius, Fix and next step of each.

Each incident expands to the findings that follow from its root.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult
    from analyzer.findings import Finding
    from analyzer.incidents import BlastRadius

TEMPLATE = "incidents.html.j2"


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: str
    severity: str
    headline: str
    blast: str
    fix: str
    next_steps: tuple[str, ...]
    root_code: str
    root_subject: str
    explains: tuple[Finding, ...]


def _blast(b: BlastRadius) -> str:
    parts = [(b.pods, "pod"), (b.nodes, "node"), (b.ztunnels, "ztunnel")]
    return " · ".join(f"{n} {word}{'s' if n != 1 else ''}" for n, word in parts if n)


def context(result: AnalysisResult) -> dict[str, Any]:
    fixes = {r.code: r.fix_line for r in result.rules}
    views = tuple(
        IncidentView(
            id=i.id,
            severity=i.severity.value,
            headline=i.headline,
            blast=_blast(i.blast_radius),
            fix=fixes.get(i.root.code, ""),
            next_steps=i.next_steps,
            root_code=i.root.code,
            root_subject=str(i.root.subject),
            explains=i.explains,
        )
        for i in result.incidents
    )
    return {"incidents": views, "total": len(result.findings)}
