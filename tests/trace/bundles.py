"""Bundles for trace tests, written straight from a fake-cluster scenario (no HTTP round trip).

`_members` (tests/analyzer/test_load.py) gives the cluster lists, ztunnel and istiod dumps; this adds
what the trace reads beyond them: the services list, every ztunnel's log and `/metrics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rules
from analyzer import AnalysisResult, analyze_bundle
from analyzer.bundle import open_bundle
from analyzer.load import load_bundle
from analyzer.model import Bundle, Component
from analyzer.trace import Trace, trace
from tests.analyzer.tarhelp import jbytes, write_bundle
from tests.analyzer.test_load import _members, at
from tests.fakecluster import k8s, logs
from tests.fakecluster.scenario import Role, Scenario
from ztbundle import layout


def members(scn: Scenario, *, without: Iterable[str] = ()) -> dict[str, bytes]:
    """Every member the trace reads; `without` drops members whose path starts with one of its prefixes."""
    out = _members(scn)
    out[layout.NAMESPACES] = jbytes(
        {
            "kind": "NamespaceList",
            "items": [k8s.namespace_object(scn, n.name, dict(n.labels)) for n in scn.namespaces],
        }
    )
    out[layout.SERVICES] = jbytes(
        {"kind": "ServiceList", "items": [k8s.service_object(scn, s) for s in scn.services]}
    )
    for zt in scn.pods_by_role(Role.ZTUNNEL):
        lines = logs.component_log(scn, zt.namespace, zt.name, previous=False)
        member = layout.pod_log(Component.ZTUNNEL, zt.namespace, zt.name, "istio-proxy", previous=False)
        out[member] = ("\n".join(text for _, text in lines) + "\n").encode()
        out[layout.ztunnel_metrics(zt.name)] = logs.ztunnel_metrics(scn, zt.node or "")
    drop = tuple(without)
    return {k: v for k, v in out.items() if not (drop and k.startswith(drop))}


@dataclass(frozen=True, slots=True)
class Traced:
    """A bundle loaded and analysed once, to trace many connections in."""

    model: Bundle
    result: AnalysisResult
    metrics: dict[str, str]
    scn: Any

    def pod(self, app: str, **labels: str) -> str:
        """`namespace/name` of the first pod with this app label (and `labels`)."""
        want = {"app": app, **labels}
        p = next(p for p in self.scn.pods if all(p.labels.get(k) == v for k, v in want.items()))
        return f"{p.namespace}/{p.name}"

    def trace(self, source: str, target: str) -> Trace:
        return trace(self.model, self.result, source, target, self.metrics)


def traced(scn: Scenario, tmp: Path, *, without: Iterable[str] = ()) -> Traced:
    path = write_bundle(tmp / f"{scn.name}.tar.gz", members(scn, without=without), at=at(scn))
    files = open_bundle(path)
    model = load_bundle(files)
    result = analyze_bundle(model, rules.combined())
    metrics = {
        z.name: files.text(layout.ztunnel_metrics(z.name))
        for z in model.ztunnels
        if files.has(layout.ztunnel_metrics(z.name))
    }
    return Traced(model, result, metrics, scn)
