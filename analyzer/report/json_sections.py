"""The JSON form of the report sections beside the findings (`analyzer.sections`), one function each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult
    from analyzer.views.metrics import L4Row

JsonObj = dict[str, Any]


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _count(value: float) -> int | float:
    """Prometheus counters arrive as floats; whole ones are written as integers."""
    return int(value) if float(value).is_integer() else value


def nodes(result: AnalysisResult) -> JsonObj:
    grid = result.nodes
    return {
        "columns": [{"id": c.value, "label": c.label} for c in grid.columns],
        "rows": [
            {
                "node": row.node,
                "cells": [
                    {"column": col.value, "tone": cell.tone.value, "text": cell.text, "title": cell.title}
                    for col, cell in zip(grid.columns, row.cells, strict=True)
                ],
            }
            for row in grid.rows
        ],
    }


def ztunnels(result: AnalysisResult) -> list[JsonObj]:
    return [
        {
            "name": z.name,
            "namespace": z.namespace,
            "node": z.node,
            "ready": z.ready,
            "version": z.version,
            "problem": z.problem,
            "config_dump": z.config_dump_path,
            "total_workloads": z.total_workloads,
            "hidden_workloads": z.hidden_workloads,
            "workloads": [
                {
                    "namespace": w.namespace,
                    "pod": w.pod,
                    "address": w.address,
                    "node": w.node,
                    "waypoint": w.waypoint,
                    "protocol": w.protocol,
                }
                for w in z.workloads
            ],
            "certificates": [
                {
                    "identity": c.identity,
                    "state": c.state,
                    "valid": c.valid,
                    "not_before": _time(c.not_before),
                    "not_after": _time(c.not_after),
                    "tone": c.tone.value,
                }
                for c in z.certificates
            ],
            "findings": z.findings,
        }
        for z in result.ztunnels
    ]


def traffic(result: AnalysisResult) -> JsonObj | None:
    t = result.traffic
    if t is None:
        return None
    return {
        "records": t.records,
        "workloads": [
            {
                "namespace": w.namespace,
                "name": w.name,
                "node": w.node,
                "inbound": w.inbound.value,
                "outbound": w.outbound.value,
                "inbound_count": w.inbound_count,
                "outbound_count": w.outbound_count,
            }
            for w in t.workloads
        ],
        "services": [
            {
                "service": s.service,
                "endpoints": [{"workload": label, "connections": n} for label, n in s.counts],
                "total": s.total,
                "chi2": s.chi2,
                "p_value": s.p_value,
                "verdict": s.verdict.value,
            }
            for s in t.services
        ],
    }


def _l4(row: L4Row) -> JsonObj:
    return {
        "ztunnel": row.ztunnel,
        "reporter": row.reporter,
        "namespace": row.namespace,
        "workload": row.workload,
        "opened": _count(row.opened),
        "closed": _count(row.closed),
        "sent_bytes": _count(row.sent),
        "received_bytes": _count(row.received),
    }


def metrics(result: AnalysisResult) -> JsonObj | None:
    m = result.metrics
    if m is None:
        return None
    return {
        "workloads": [_l4(r) for r in m.workloads],
        "ztunnels": [_l4(r) for r in m.ztunnels],
        "malformed": [{"ztunnel": zt, "lines": n} for zt, n in m.malformed],
    }


def rule_docs(result: AnalysisResult) -> list[JsonObj]:
    return [
        {
            "code": d.code,
            "rule": d.name,
            "severity": d.severity,
            "needs": list(d.needs),
            "summary": d.doc.summary,
            "body": d.doc.body,
            "evidence": d.doc.evidence,
            "fix": d.doc.fix,
        }
        for d in result.rule_docs
    ]
