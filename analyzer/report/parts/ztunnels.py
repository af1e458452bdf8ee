"""The ztunnels section: per ztunnel, the workloads on its node and its certificates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analyzer.report.parts.bundle import when

if TYPE_CHECKING:
    from analyzer import AnalysisResult

TEMPLATE = "ztunnels.html.j2"


def context(result: AnalysisResult) -> dict[str, Any]:
    return {"ztunnels": result.ztunnels, "when": when}
