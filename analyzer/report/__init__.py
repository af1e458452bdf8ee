"""Report formats over one `AnalysisResult`: json (the contract), text, html."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer import AnalysisResult


class Format(StrEnum):
    HTML = "html"
    JSON = "json"
    TEXT = "text"


def render(result: AnalysisResult, fmt: Format) -> str:
    """The report text in the given format."""
    if fmt is Format.JSON:
        from analyzer.report import json

        return json.render(result)
    if fmt is Format.TEXT:
        from analyzer.report import text

        return text.render(result)
    from analyzer.report import html

    return html.render(result)
