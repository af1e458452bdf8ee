"""The JSON contract: `to_dict(result)` (validated by schemas/report.schema.json in tests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ztbundle import __version__

if TYPE_CHECKING:
    from analyzer import AnalysisResult

SCHEMA_VERSION = 1


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
        "findings": [
            {
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
            {"path": e.path, "input": e.input, "status": e.status, "error": e.error}
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
    }


def render(result: AnalysisResult) -> str:
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False) + "\n"
