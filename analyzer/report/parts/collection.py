"""The collection section: what was not collected (expected non-answers apart), trims, skipped rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult
    from analyzer.sections.collection import CollectionError

TEMPLATE = "collection.html.j2"


def tone(e: CollectionError) -> str:
    """The tag colour of one collection error: neutral when expected, amber when truncated."""
    if e.expected:
        return "unknown"
    return "warn" if e.status == "truncated" else "bad"


def context(result: AnalysisResult) -> dict[str, Any]:
    errors = result.collection_errors
    return {
        "gaps": [e for e in errors if not e.expected],
        "expected": [e for e in errors if e.expected],
        "error_tone": tone,
        "trimmed": sorted(result.manifest.trimmed),
    }
