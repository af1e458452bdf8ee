"""What changed between two bundles of one cluster: per ztunnel (paired by node) and in the findings.

Workloads are keyed by uid, services by `ns/hostname`, policies by `ns/name`, certificates by
identity; changed entries get field-level lines in ztunnel's terms (`views.fields`). ztunnel pods
are paired by node because a DaemonSet rollout renames them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from analyzer.findings import Finding
from analyzer.model import Bundle, Certificate, CertState, Ztunnel
from analyzer.views import fields


@dataclass(frozen=True, slots=True)
class Change:
    scope: str  # `node <name>` for a ztunnel's state, `findings` for analysis results
    section: str  # workloads | services | policies | certificates | ztunnel | findings
    key: str
    change: str  # added | removed | changed | rotated | lost | appeared | cleared
    details: tuple[str, ...] = ()


def _entries(scope: str, section: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    out = [Change(scope, section, k, "removed") for k in sorted(old.keys() - new.keys())]
    out += [Change(scope, section, k, "added") for k in sorted(new.keys() - old.keys())]
    for k in sorted(old.keys() & new.keys()):
        if old[k] != new[k]:
            out.append(Change(scope, section, k, "changed", tuple(fields.lines(old[k], new[k]))))
    return out


def _cert_line(c: Certificate) -> str:
    leaf = c.leaf
    if leaf is None:
        return c.state.value
    serial = format(leaf.serial, "x") if leaf.serial is not None else "?"
    expires = leaf.expires.isoformat().replace("+00:00", "Z") if leaf.expires else "?"
    return f"{c.state.value}, serial {serial}, expires {expires}"


def _certificates(scope: str, old: Iterable[Certificate], new: Iterable[Certificate]) -> list[Change]:
    before, after = {c.identity: c for c in old}, {c.identity: c for c in new}
    out = []
    for ident in sorted(before.keys() | after.keys()):
        a, b = before.get(ident), after.get(ident)
        if a is None and b is not None:
            out.append(Change(scope, "certificates", ident, "added", (_cert_line(b),)))
        elif b is None or (
            a is not None and a.state is CertState.AVAILABLE and b.state is not CertState.AVAILABLE
        ):
            was = _cert_line(a) if a else "?"
            now = _cert_line(b) if b else "absent"
            change = "lost" if a is not None and a.state is CertState.AVAILABLE else "removed"
            out.append(Change(scope, "certificates", ident, change, (f"{was} → {now}",)))
        elif a is not None and (a.leaf and b.leaf and a.leaf.fingerprint != b.leaf.fingerprint):
            out.append(
                Change(scope, "certificates", ident, "rotated", (f"{_cert_line(a)} → {_cert_line(b)}",))
            )
        elif a is not None and a.state != b.state:
            out.append(
                Change(scope, "certificates", ident, "changed", (f"{_cert_line(a)} → {_cert_line(b)}",))
            )
    return out


def _by_node(bundle: Bundle) -> dict[str, Ztunnel]:
    out = {}
    for z in bundle.ztunnels:
        key = z.node or z.name
        current = bundle.ztunnel_on(z.node) if z.node else z
        out[key] = current or z
    return out


def ztunnel_changes(old: Bundle, new: Bundle) -> list[Change]:
    """Per node: ztunnel added/removed/replaced, then its workloads, services, policies, certificates."""
    before, after = _by_node(old), _by_node(new)
    out: list[Change] = []
    for node in sorted(before.keys() | after.keys()):
        scope = f"node {node}"
        a, b = before.get(node), after.get(node)
        if a is None or b is None:
            z = b or a
            assert z is not None
            out.append(Change(scope, "ztunnel", z.name, "added" if a is None else "removed"))
            continue
        if a.name != b.name:
            out.append(Change(scope, "ztunnel", b.name, "changed", (f"pod {a.name} → {b.name}",)))
        if not (a.available and b.available):
            why = a.unavailable_reason if not a.available else b.unavailable_reason
            out.append(Change(scope, "ztunnel", b.name, "changed", (f"config_dump not comparable: {why}",)))
            continue
        out += _entries(scope, "workloads", a.xds.workloads, b.xds.workloads)
        out += _entries(scope, "services", a.xds.services, b.xds.services)
        out += _entries(scope, "policies", a.xds.policies, b.xds.policies)
        out += _certificates(scope, a.certificates, b.certificates)
    return out


def finding_changes(old: Iterable[Finding], new: Iterable[Finding]) -> list[Change]:
    """Findings that appeared or cleared, keyed by (code, subject)."""
    before = {(f.code, str(f.subject)): f for f in old}
    after = {(f.code, str(f.subject)): f for f in new}
    out = [
        Change("findings", "findings", f"{k[0]} {k[1]}", "cleared", (before[k].message,))
        for k in sorted(before.keys() - after.keys())
    ]
    out += [
        Change("findings", "findings", f"{k[0]} {k[1]}", "appeared", (after[k].message,))
        for k in sorted(after.keys() - before.keys())
    ]
    return out


_NOUN = {
    "workloads": "workload",
    "services": "service",
    "policies": "policy",
    "certificates": "certificate",
    "ztunnel": "ztunnel",
}


def text(changes: list[Change]) -> str:
    """`node w1: removed workload <uid>`, `findings: appeared ZT101 Pod shop/cart-0`, details indented."""
    if not changes:
        return "no changes\n"
    lines = []
    for c in changes:
        noun = _NOUN.get(c.section)
        what = f"{c.change} {noun} {c.key}" if noun else f"{c.change} {c.key}"
        lines.append(f"{c.scope}: {what}")
        lines += [f"    {d}" for d in c.details]
    return "\n".join(lines) + "\n"
