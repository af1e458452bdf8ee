"""The JSON contract: `to_dict(result)` (validated by schemas/report.schema.json in tests).

Version 2 added the incidents (`incidents[]`, and `id`, `caused_by`, `also_caused_by` on each
finding), the sections the HTML shows beside the findings (`nodes`, `ztunnels`, `traffic`,
`metrics`, `rule_docs`) and `collection_errors[].expected`; everything version 1 had is unchanged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from analyzer.gc_pause import no_cycle_collection
from analyzer.report import json_sections as sections
from ztbundle import __version__

if TYPE_CHECKING:
    from analyzer import AnalysisResult
    from analyzer.incidents import Incident

SCHEMA_VERSION = 2


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@cache
def schema() -> dict[str, Any]:
    text = resources.files("analyzer").joinpath("schemas/report.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def to_dict(result: AnalysisResult) -> dict[str, Any]:
    m = result.manifest
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_by": f"ztbundle {__version__}",
        "analyzed_at": _time(result.now),
        "bundle": {
            "path": result.bundle_path,
            "collected_at": _time(m.collected_at),
            "context": m.context,
            "istio_versions": list(m.istio_versions),
            "complete": m.complete,
            "interrupted": m.interrupted,
            "baseline": [
                {
                    "ztunnel": b.ztunnel,
                    "kind": b.kind.value,
                    "istiod": b.istiod,
                    "evidence": list(b.evidence),
                    "note": b.note,
                }
                for b in result.baselines
            ],
        },
        "summary": result.counts(),
        "incidents": [_incident(i, result) for i in result.incidents],
        "findings": [
            {
                "id": f.id,
                "caused_by": f.caused_by,
                "also_caused_by": list(f.also_caused_by),
                "rule": f.rule,
                "code": f.code,
                "severity": f.severity.value,
                "subject": {"kind": f.subject.kind, "namespace": f.subject.namespace, "name": f.subject.name},
                "node": f.node,
                "ztunnel": f.ztunnel,
                "message": f.message,
                "evidence": list(f.evidence),
            }
            for f in result.findings
        ],
        "skipped": [{"rule": s.rule, "code": s.code, "reason": s.reason} for s in result.skipped],
        "collection_errors": [
            {"path": e.path, "input": e.input, "status": e.status, "error": e.error, "expected": e.expected}
            for e in result.collection_errors
        ],
        "format_notes": [
            {"ztunnel": z, "field": n.field, "expected": n.expected, "seen": n.seen, "version": n.version}
            for z, n in result.format_notes
        ],
        "rules": [
            {
                "code": r.code,
                "rule": r.name,
                "severity": r.severity.value,
                "summary": r.summary,
                "needs": sorted(i.value for i in r.needs),
            }
            for r in result.rules
        ],
        "nodes": sections.nodes(result),
        "ztunnels": sections.ztunnels(result),
        "traffic": sections.traffic(result),
        "metrics": sections.metrics(result),
        "rule_docs": sections.rule_docs(result),
    }


def _incident(i: Incident, result: AnalysisResult) -> dict[str, Any]:
    rule = result.rule(i.root.code)
    b = i.blast_radius
    return {
        "id": i.id,
        "severity": i.severity.value,
        "root": i.root.id,
        "explains": [f.id for f in i.explains],
        "headline": i.headline,
        "blast_radius": {"pods": b.pods, "nodes": b.nodes, "ztunnels": b.ztunnels},
        "next_steps": list(i.next_steps),
        "fix": rule.fix_line if rule else "",
    }


def render(result: AnalysisResult) -> str:
    with no_cycle_collection():  # ~2 million containers, all alive until written
        return indented(to_dict(result)) + "\n"


def indented(doc: Any) -> str:
    """`json.dumps(doc, indent=2, ensure_ascii=False)`, byte for byte, at C speed.

    `json.dumps` with an indent runs its pure-Python encoder (~0.5 s for a 1,000-node report); without
    one it runs the C encoder. So: the C encoder writes the compact text (every string escape and number
    exactly as `json` writes them) and `msgspec.json.format` re-indents it, copying each token as it is.
    Text msgspec cannot read (NaN or Infinity from `allow_nan`, a lone surrogate) takes the slow path.
    """
    import msgspec

    compact = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    try:
        return msgspec.json.format(compact, indent=2)
    except (msgspec.DecodeError, UnicodeError):
        return json.dumps(doc, indent=2, ensure_ascii=False)
