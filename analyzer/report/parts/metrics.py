"""The L4 metrics section: opened/closed connections and bytes per workload and reporter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult

TEMPLATE = "metrics.html.j2"


def context(result: AnalysisResult) -> dict[str, Any]:
    return {"metrics": result.metrics}
