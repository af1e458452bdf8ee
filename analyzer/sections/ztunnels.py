"""Per-ztunnel tables: the workloads on its own node and its certificates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from analyzer.sections import Tone

if TYPE_CHECKING:
    from analyzer.findings import Finding
    from analyzer.model import Bundle, Certificate

__all__ = ["WORKLOAD_ROWS", "CertRow", "WorkloadRow", "ZtunnelSummary", "cert_row", "ztunnel_summaries"]

WORKLOAD_ROWS = 300
"""Local workload rows kept per ztunnel, so one crowded node cannot make the report unopenable."""


@dataclass(frozen=True, slots=True)
class WorkloadRow:
    namespace: str
    pod: str
    address: str
    node: str
    waypoint: str
    protocol: str


@dataclass(frozen=True, slots=True)
class CertRow:
    identity: str
    state: str
    valid: bool
    not_before: datetime | None
    not_after: datetime | None
    tone: Tone


@dataclass(frozen=True, slots=True)
class ZtunnelSummary:
    name: str
    namespace: str
    node: str | None
    ready: bool
    version: str | None
    problem: str | None  # why the config_dump could not be read
    workloads: tuple[WorkloadRow, ...]  # those on the ztunnel's node, at most WORKLOAD_ROWS
    hidden_workloads: int  # on its node, beyond WORKLOAD_ROWS
    total_workloads: int  # in its whole workload table
    config_dump_path: str
    certificates: tuple[CertRow, ...]
    findings: int  # findings naming this ztunnel


def cert_row(cert: Certificate, now: datetime) -> CertRow:
    """One certificate: its state, and whether `now` lies within the leaf's validity."""
    leaf = cert.leaf
    state = cert.state.value + (f": {cert.state_error}" if cert.state_error else "")
    if cert.state.value != "Available" or leaf is None:
        tone = Tone.WARN if cert.state.value == "Initializing" else Tone.BAD
        return CertRow(cert.identity, state, False, None, None, tone)
    valid = (leaf.valid_from is None or leaf.valid_from <= now) and (
        leaf.expires is None or now < leaf.expires
    )
    return CertRow(cert.identity, state, valid, leaf.valid_from, leaf.expires, Tone.OK if valid else Tone.BAD)


def ztunnel_summaries(
    model: Bundle, findings: Iterable[Finding], now: datetime
) -> tuple[ZtunnelSummary, ...]:
    """One summary per ztunnel, ordered by node then name."""
    rows = WORKLOAD_ROWS
    hits = Counter(f.ztunnel or f.subject.name for f in findings)
    out = []
    for zt in sorted(model.ztunnels, key=lambda z: (z.node or "", z.name)):
        # Only the ztunnel's own node: every ztunnel holds the whole mesh, so listing it all would
        # repeat one 20k-row table per node. The full table is the config_dump in the bundle.
        local = sorted(model.workloads_on(zt, zt.node), key=lambda w: (w.namespace, w.name))
        workloads = tuple(
            WorkloadRow(
                w.namespace, w.name, ",".join(w.ips) or "None", w.node or "", w.waypoint or "None", w.protocol
            )
            for w in local[:rows]
        )
        out.append(
            ZtunnelSummary(
                name=zt.name,
                namespace=zt.namespace,
                node=zt.node,
                ready=zt.ready,
                version=zt.version,
                problem=None if zt.available else f"config_dump not available: {zt.unavailable_reason}",
                workloads=workloads,
                hidden_workloads=max(0, len(local) - rows),
                total_workloads=len(zt.workloads),
                config_dump_path=zt.config_dump_path,
                certificates=tuple(cert_row(c, now) for c in zt.certificates),
                findings=hits[zt.name],
            )
        )
    return tuple(out)
