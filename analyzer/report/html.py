"""The self-contained HTML report: jinja2 over the same `AnalysisResult` the JSON contract renders.

One file, no network: inline CSS, inline JS (allowed by its sha256 in a strict CSP), inline SVG.
Every bundle string reaches the page through autoescaped `{{ }}`; the only `Markup` is our own
static script. The page opens with the verdict, the incidents and the findings; each section is a
module of `analyzer.report.parts` with its own template, laid out by `templates/report.html.j2`.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from analyzer.report.parts import (
    bundle,
    collection,
    findings,
    incidents,
    metrics,
    nodes,
    rule_docs,
    traffic,
    ztunnels,
)
from analyzer.sections import Tone

if TYPE_CHECKING:
    from analyzer import AnalysisResult

__all__ = ["render", "script_hash", "verdict"]

_SCRIPT = "report.js"
PARTS = (incidents, findings, nodes, bundle, collection, ztunnels, traffic, metrics, rule_docs)
"""Every section module; their order on the page is the layout template's."""


def verdict(result: AnalysisResult) -> tuple[str, Tone]:
    """The one-line verdict ("3 errors, 2 warnings") and its tone."""
    c = result.counts()
    parts = [f"{n} {sev}{'' if n == 1 else 's'}" for sev, n in c.items() if n]
    if c["error"]:
        return ", ".join(parts), Tone.BAD
    if c["warning"]:
        return ", ".join(parts), Tone.WARN
    text = ", ".join(parts) if parts else "No problems found"
    return text, Tone.UNKNOWN if result.skipped or not result.manifest.complete else Tone.OK


def _visible(value: object) -> object:
    """Show control and bidi-override characters of bundle text as escapes (our own Markup passes)."""
    from markupsafe import Markup

    from analyzer.text import printable

    if isinstance(value, Markup) or value is None or isinstance(value, int | float):
        return value
    return printable(str(value))  # objects such as a finding's subject print via __str__


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("analyzer", "report/templates"),
        autoescape=True,
        finalize=_visible,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def script_hash(script: str) -> str:
    """The base64 sha256 that CSP `script-src 'sha256-…'` needs to allow exactly this inline script."""
    return base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def _sections(result: AnalysisResult) -> dict[str, Any]:
    """Every part's context, in one namespace: a name two parts share must mean the same thing."""
    merged: dict[str, Any] = {}
    for part in PARTS:
        for name, value in part.context(result).items():
            if name in merged and merged[name] is not value:
                raise AssertionError(f"report parts disagree on {name!r}")  # our bug, not the bundle's
            merged[name] = value
    return merged


def render(result: AnalysisResult) -> str:
    """Render the report page."""
    from markupsafe import Markup

    from analyzer.findings import Severity

    env = _environment()
    script = env.get_template(_SCRIPT).render()
    text, tone = verdict(result)
    return str(
        env.get_template("report.html.j2").render(
            r=result,
            verdict=text,
            tone=tone.value,
            counts=result.counts(),
            severities=[s.value for s in Severity],
            csp_script=script_hash(script),
            # Our own static asset, never bundle data; its hash is what the CSP allows.
            script=Markup(script),
            **_sections(result),
        )
    )
