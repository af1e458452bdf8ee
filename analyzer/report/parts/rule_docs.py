"""The rule documentation appendix, anchored by code so every finding links to its rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult

TEMPLATE = "rule_docs.html.j2"


def context(result: AnalysisResult) -> dict[str, Any]:
    return {"docs": result.rule_docs}
