"""The incidents section, first on the page: each incident's headline and the findings it explains.

Renders `result.incidents` when the result carries them (items with `headline`, `root` and
`explains`, findings both); until then the section is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult

TEMPLATE = "incidents.html.j2"


def context(result: AnalysisResult) -> dict[str, Any]:
    return {"incidents": tuple(getattr(result, "incidents", ()))}
