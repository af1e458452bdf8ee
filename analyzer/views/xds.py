"""istiod's view of one ztunnel (per-proxy dump or ambientz) as tables, JSON, and a field-level diff."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analyzer.model import Baseline, BaselineKind, Bundle, XdsService, XdsState, Ztunnel, drift
from analyzer.views import fields
from analyzer.views.table import Table


@dataclass(frozen=True, slots=True)
class Change:
    section: str  # workloads | services | policies
    key: str  # uid, `ns/hostname`, `ns/name`
    change: str  # missing-in-ztunnel | extra-in-ztunnel | changed
    fields: tuple[str, ...] = ()  # `protocol: istiod 'HBONE', ztunnel 'TCP'` lines (`views.fields`)


def describe(b: Baseline) -> str:
    """One line saying which istiod view is shown and why."""
    if b.kind is BaselineKind.PROXY_CONFIG:
        return f"istiod {b.istiod} per-proxy config_dump of {b.ztunnel} ({', '.join(b.evidence)})"
    if b.kind is BaselineKind.AMBIENTZ:
        why = f"; per-proxy dump not used: {b.note}" if b.note else ""
        return f"istiod {b.istiod} /debug/ambientz (+ per-proxy WADS policies) ({', '.join(b.evidence)}){why}"
    return f"no istiod view of {b.ztunnel}: {b.note}"


def _waypoint(w: str | None) -> str:
    return w or "None"


def _endpoints(xds: XdsState, s: XdsService) -> str:
    """`healthy/all` as `istioctl ztunnel-config services` prints ENDPOINTS."""
    healthy = sum(
        1 for uid, _ in s.endpoints if (w := xds.workloads.get(uid)) is not None and w.status == "Healthy"
    )
    return f"{healthy}/{len(s.endpoints)}"


def tables(xds: XdsState) -> tuple[Table, Table, Table]:
    """Workloads, services and policies of a normalized state, in istioctl-like columns."""
    wl = tuple(
        (w.namespace, w.name, ",".join(w.ips) or w.hostname, w.node or "", _waypoint(w.waypoint), w.protocol)
        for w in sorted(xds.workloads.values(), key=lambda w: (f"{w.namespace}.{w.name}", w.node or ""))
    )
    sv = tuple(
        (s.namespace, s.name, ",".join(v.partition("/")[2] for v in s.vips), _waypoint(s.waypoint),
         _endpoints(xds, s))
        for s in sorted(xds.services.values(), key=lambda s: (s.namespace, s.name, s.hostname))
    )  # fmt: skip
    pol = tuple(
        (p.namespace, p.name, p.action, p.scope)
        for p in sorted(xds.policies.values(), key=lambda p: (p.namespace, p.name))
    )
    return (
        Table(("NAMESPACE", "POD NAME", "ADDRESS", "NODE", "WAYPOINT", "PROTOCOL"), wl),
        Table(("NAMESPACE", "SERVICE NAME", "SERVICE VIP", "WAYPOINT", "ENDPOINTS"), sv),
        Table(("NAMESPACE", "POLICY NAME", "ACTION", "SCOPE"), pol),
    )


def state_json(xds: XdsState) -> dict[str, Any]:
    """The normalized entries, keyed as the model keys them (uid, `ns/host`, `ns/name`)."""
    return {
        "workloads": {k: dataclasses.asdict(v) for k, v in sorted(xds.workloads.items())},
        "services": {k: dataclasses.asdict(v) for k, v in sorted(xds.services.items())},
        "policies": {k: dataclasses.asdict(v) for k, v in sorted(xds.policies.items())},
    }


def changes(bundle: Bundle, ztunnel: Ztunnel) -> list[Change]:
    """Every normalized difference between istiod's view and the ztunnel's own dump (no guards)."""
    out: list[Change] = []
    for kind in drift.Kind:
        d = drift.compare(bundle, ztunnel, kind, others=())
        if d is None:
            continue
        out += [Change(kind.value, k, "missing-in-ztunnel") for k in d.missing]
        out += [Change(kind.value, k, "extra-in-ztunnel") for k in d.extra]
        expected = bundle.baseline_for(ztunnel).xds
        for k, raw in d.changed:
            said: tuple[str, ...] = ()
            if expected is not None:
                want, have = _section(expected, kind.value)[k], _section(ztunnel.xds, kind.value)[k]
                said = tuple(fields.lines(want, have, sides=("istiod", "ztunnel")))
            out.append(Change(kind.value, k, "changed", said or raw))
    return out


_NOUN = {"workloads": "workload", "services": "service", "policies": "policy"}


def _section(xds: XdsState, section: str) -> Mapping[str, Any]:
    """One section of a state by name (a `drift.Kind` value): workloads, services or policies."""
    entries: Mapping[str, Any] = getattr(xds, section)
    return entries


def changes_text(found: list[Change], ztunnel: str) -> str:
    """One line per entry, naming the side that holds what: istiod (what it sends) or the ztunnel."""
    if not found:
        return f"no differences: {ztunnel} holds exactly what istiod sends\n"
    lines = []
    for c in found:
        noun = _NOUN.get(c.section, c.section)
        if c.change == "missing-in-ztunnel":
            lines.append(f"{noun} {c.key}: istiod sends it; {ztunnel} does not have it")
        elif c.change == "extra-in-ztunnel":
            lines.append(f"{noun} {c.key}: {ztunnel} has it; istiod does not send it")
        else:
            lines.append(f"{noun} {c.key}: differs between istiod and {ztunnel}")
        lines += [f"    {f}" for f in c.fields]
    return "\n".join(lines) + "\n"
