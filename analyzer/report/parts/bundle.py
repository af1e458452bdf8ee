"""The bundle section: where and when it was collected, and the istiod baseline used per ztunnel."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult

TEMPLATE = "bundle.html.j2"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def context(result: AnalysisResult) -> dict[str, Any]:
    return {"m": result.manifest, "when": when}
