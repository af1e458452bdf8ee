"""The ztunnels section: per ztunnel, the workloads on its node, its certificates, and the fields of its
config_dump this release did not expect (format notes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analyzer.report.parts.bundle import when

if TYPE_CHECKING:
    from analyzer import AnalysisResult

TEMPLATE = "ztunnels.html.j2"


def context(result: AnalysisResult) -> dict[str, Any]:
    notes: dict[str, list[Any]] = {}
    for ztunnel, note in result.format_notes:
        notes.setdefault(ztunnel, []).append(note)
    return {"ztunnels": result.ztunnels, "when": when, "format_notes": notes}
