"""The node grid section: one row per node, one coloured cell per column (`analyzer.sections.nodes`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult

TEMPLATE = "nodes.html.j2"


def context(result: AnalysisResult) -> dict[str, Any]:
    return {"grid": result.nodes, "columns": [c.label for c in result.nodes.columns]}
