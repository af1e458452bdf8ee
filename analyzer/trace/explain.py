"""Attach the analysis' findings to the hops they explain, and write the trace's last line."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analyzer import AnalysisResult
from analyzer.findings import Finding, Severity
from analyzer.model import ObjectRef, Pod, Ztunnel
from analyzer.trace.path import Path
from analyzer.trace.types import Conclusion, FindingRef, Hop, HopKey, Verdict, worst


def identity_ref(spiffe: str | None) -> ObjectRef | None:
    """`spiffe://td/ns/<ns>/sa/<sa>` → `ServiceAccount ns/sa`, as the certificate rules name it."""
    parts = (spiffe or "").removeprefix("spiffe://").split("/")
    if len(parts) == 5 and parts[1] == "ns" and parts[3] == "sa":
        return ObjectRef("ServiceAccount", parts[2], parts[4])
    return None


@dataclass(frozen=True, slots=True)
class Scope:
    """The objects on this path that findings can be about."""

    source: ObjectRef
    source_node: str | None
    source_ztunnels: frozenset[str]  # the source node's current ztunnel (empty when there is none)
    source_identity: ObjectRef | None
    dest_pods: frozenset[ObjectRef]
    dest_nodes: frozenset[str]
    dest_ztunnels: frozenset[str]
    dest_identities: frozenset[ObjectRef]
    waypoint_namespace: str


def scope_of(path: Path, destinations: Sequence[tuple[Pod, Ztunnel | None]]) -> Scope:
    from analyzer.trace.path import workload_of

    idents = set()
    for pod, z in destinations:
        w = workload_of(z, pod)
        ref = (
            identity_ref(f"spiffe://{w.trust_domain}/ns/{w.namespace}/sa/{w.service_account}") if w else None
        )
        if ref:
            idents.add(ref)
    return Scope(
        source=path.source.ref,
        source_node=path.source.node,
        source_ztunnels=frozenset({path.ztunnel.name} if path.ztunnel else ()),
        source_identity=identity_ref(path.identity),
        dest_pods=frozenset(p.ref for p, _ in destinations),
        dest_nodes=frozenset(p.node for p, _ in destinations if p.node),
        dest_ztunnels=frozenset(z.name for _, z in destinations if z),
        dest_identities=frozenset(idents),
        waypoint_namespace=path.target.namespace,
    )


POD_SIDE = frozenset({"ZT101", "ZT301", "ZT302", "ZT303", "ZT305", "ZT605"})
CERTS = frozenset({"ZT201", "ZT202", "ZT203", "ZT204", "ZT205", "ZT207"})
ZTUNNEL_HEALTH = frozenset({"ZT501", "ZT502"})
XDS = frozenset({"ZT401", "ZT402", "ZT404", "ZT405", "ZT406", "ZT602"})
HBONE_LOGS = frozenset({"ZT601", "ZT603", "ZT604"})


def _on(f: Finding, zts: frozenset[str], nodes: frozenset[str]) -> bool:
    """The finding was seen in one of `zts`, or (not tied to a ztunnel) on one of `nodes`."""
    return (
        (f.ztunnel in zts)
        or (f.subject.kind == "Ztunnel" and f.subject.name in zts)
        or (f.ztunnel is None and f.node in nodes)
    )


def matchers(s: Scope) -> dict[HopKey, Callable[[Finding], bool]]:
    """For each hop, which findings of the analysis are about this path's part of it."""
    src_zt = s.source_ztunnels
    src_node = frozenset({s.source_node} if s.source_node else ())
    none: frozenset[str] = frozenset()
    node_ref = ObjectRef("Node", "", s.source_node or "")
    dest_nodes = {ObjectRef("Node", "", n) for n in s.dest_nodes}
    return {
        HopKey.SOURCE_ENROLLED: lambda f: (
            (f.code in POD_SIDE and f.subject == s.source)
            or (f.code in ("ZT103", "ZT304") and f.subject == node_ref)
            or (f.code in ZTUNNEL_HEALTH and _on(f, src_zt, src_node))
        ),
        HopKey.SOURCE_IDENTITY: lambda f: (
            (f.code in CERTS and f.subject == s.source_identity and _on(f, src_zt, src_node))
            or (f.code == "ZT206" and _on(f, src_zt | s.dest_ztunnels, none))
        ),
        HopKey.DESTINATION_RESOLVED: lambda f: f.code in XDS and _on(f, src_zt, src_node),
        HopKey.WAYPOINT: lambda f: f.code == "ZT504" and f.subject.namespace == s.waypoint_namespace,
        HopKey.POLICY: lambda f: (
            (f.code == "ZT603" and f.subject in s.dest_pods)
            or (f.code == "ZT403" and _on(f, s.dest_ztunnels, none))
        ),
        HopKey.DESTINATION_SIDE: lambda f: (
            (f.code in POD_SIDE | {"ZT601", "ZT604"} and f.subject in s.dest_pods)
            or (f.code in CERTS and f.subject in s.dest_identities and _on(f, s.dest_ztunnels, s.dest_nodes))
            or (f.code == "ZT103" and f.subject in dest_nodes)
            or (f.code in ZTUNNEL_HEALTH and _on(f, s.dest_ztunnels, s.dest_nodes))
        ),
        HopKey.OBSERVED_TRAFFIC: lambda f: f.code in HBONE_LOGS and f.subject in s.dest_pods,
    }


def finding_ref(f: Finding, result: AnalysisResult) -> FindingRef:
    rule = result.rule(f.code)
    incident = next((i for i in result.incidents if any(x.id == f.id for x in i.findings)), None)
    root = incident.root.id if incident is not None and incident.root.id != f.id else None
    return FindingRef(
        id=f.id,
        code=f.code,
        rule=f.rule,
        severity=f.severity.value,
        subject=str(f.subject),
        message=f.message,
        fix=rule.fix_line if rule else "",
        incident=incident.id if incident else None,
        root=root,
    )


def explain(hops: Sequence[Hop], result: AnalysisResult, scope: Scope) -> tuple[Hop, ...]:
    """Each hop with its findings (errors first); a hop its checks call ok but a rule does not is degraded."""
    match = matchers(scope)
    out = []
    for h in hops:
        found = sorted((f for f in result.findings if match[h.key](f)), key=lambda f: f.sort_key)
        verdict = h.verdict
        if any(f.severity is not Severity.INFO for f in found) and verdict in (Verdict.OK, Verdict.UNKNOWN):
            verdict = worst([verdict, Verdict.DEGRADED])
        out.append(
            dataclasses.replace(h, verdict=verdict, findings=tuple(finding_ref(f, result) for f in found))
        )
    return tuple(out)


def conclude(hops: Sequence[Hop]) -> Conclusion:
    """The first broken hop (else degraded, else unknown) and what explains it."""
    for verdict in (Verdict.BROKEN, Verdict.DEGRADED, Verdict.UNKNOWN):
        h = next((h for h in hops if h.verdict is verdict), None)
        if h is None:
            continue
        first = h.findings[0] if h.findings else None
        bad = next((c for c in h.checks if c.verdict is verdict), None)
        text = f"{verdict.value} at hop {h.number} ({h.title})"
        if first is not None:
            text += f": {first.id} {first.rule} on {first.subject}"
            if first.incident:
                via = f", caused by {first.root}" if first.root else ""
                text += f" — incident {first.incident}{via}"
        elif bad is not None:
            text += f": {bad.text}"
        return Conclusion(verdict, h.key, first, text)
    aside = sum(1 for h in hops for c in h.checks if c.supplementary and c.verdict is Verdict.UNKNOWN)
    note = f" ({aside} supplementary check(s) unknown, listed above)" if aside else ""
    return Conclusion(Verdict.OK, None, None, f"ok: every hop is ok{note}")
