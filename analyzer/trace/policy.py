"""Hop 5: the L4 authorization policies the destination ztunnels enforce, evaluated for the source."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from typing import Any

from analyzer.model import Bundle, Input, Pod, Policy, Ztunnel
from analyzer.trace.objects import collected_objects
from analyzer.trace.path import Path, workload_of
from analyzer.trace.source import ztunnel_usable
from analyzer.trace.types import Check, Evidence, Hop, HopKey, Verdict, hop

OK, BROKEN, DEGRADED, UNKNOWN = Verdict.OK, Verdict.BROKEN, Verdict.DEGRADED, Verdict.UNKNOWN


def applying(ztunnel: Ztunnel, pod: Pod, root_namespace: str) -> list[Policy]:
    """Policies in `ztunnel`'s table that apply to `pod`: selected, its namespace's, the mesh's."""
    w = workload_of(ztunnel, pod)
    selected = set(w.authorization_policies) if w else set()
    out = []
    for key, pol in ztunnel.policies.items():
        if (
            key in selected
            or (pol.scope == "Namespace" and pol.namespace == pod.namespace)
            or (pol.scope == "Global" and pol.namespace == root_namespace)
        ):
            out.append(pol)
    return out


def _string(pattern: str, value: str) -> bool:
    kind, _, want = pattern.partition(":")
    if kind == "exact":
        return value == want
    if kind == "prefix":
        return value.startswith(want)
    if kind == "suffix":
        return value.endswith(want)
    return kind == "presence" and bool(value)


def _in_cidrs(ip: str | None, cidrs: Sequence[str]) -> bool | None:
    if not ip:
        return None
    try:
        return any(ipaddress.ip_address(ip) in ipaddress.ip_network(c, strict=False) for c in cidrs)
    except ValueError:
        return None


class Source:
    """What the destination ztunnel knows of the peer at L4."""

    def __init__(
        self, principal: str, namespace: str, service_account: str, ip: str | None, port: int | None
    ):
        self.principal, self.namespace, self.sa = principal, namespace, service_account
        self.ip, self.port = ip, port

    def field(self, key: str, values: Sequence[str]) -> bool | None:
        """Whether one match field holds (None: it depends on something the trace cannot know)."""
        negate = key.startswith("not")
        base = key[3].lower() + key[4:] if negate else key
        if base == "principals":
            hit: bool | None = any(_string(v, self.principal) for v in values)
        elif base == "namespaces":
            hit = any(_string(v, self.namespace) for v in values)
        elif base == "serviceAccounts":
            hit = f"{self.namespace}/{self.sa}" in values
        elif base == "sourceIps":
            hit = _in_cidrs(self.ip, values)
        elif base == "destinationPorts":
            hit = None if self.port is None else str(self.port) in values
        else:
            hit = None  # destination IPs: the trace does not pick one endpoint address
        return None if hit is None else (hit != negate)


def _all(results: Sequence[bool | None]) -> bool | None:
    if any(r is False for r in results):
        return False
    return None if any(r is None for r in results) else True


def _any(results: Sequence[bool | None]) -> bool | None:
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def matches(policy: Policy, src: Source) -> bool | None:
    """ztunnel's semantics: a rule matches when every clause does; a clause when any of its matches does."""

    def match(m: Any) -> bool | None:
        return _all([src.field(k, vs) for k, vs in m])

    def clause(c: Any) -> bool | None:
        return _any([match(m) for m in c])

    return _any([_all([clause(c) for c in rule]) for rule in policy.rules])


def policy(bundle: Bundle, path: Path, destinations: Sequence[tuple[Pod, Ztunnel | None]]) -> Hop:
    """Hop 5: whether a policy at the destination would deny the source's identity at L4."""
    return hop(HopKey.POLICY, _checks(bundle, path, destinations))


def _checks(
    bundle: Bundle, path: Path, destinations: Sequence[tuple[Pod, Ztunnel | None]]
) -> Iterator[Check]:
    w = path.source_workload
    if w is None or path.identity is None:
        yield Check(UNKNOWN, "the source identity is unknown: the policies cannot be evaluated")
        return
    if path.outside_mesh:
        yield Check(OK, f"{path.target.label} is outside the mesh: no ztunnel enforces policy for it")
    elif not destinations:
        yield Check(UNKNOWN, "no destination pod known: no policy to evaluate")
    port = path.target.port
    if path.service is not None and port is not None:
        port = dict(path.service.ports).get(port, port)
    src = Source(
        path.identity.removeprefix("spiffe://"), w.namespace, w.service_account, path.source.ip, port
    )
    root = bundle.istiods[0].namespace if bundle.istiods else "istio-system"
    for pod, ztunnel in destinations:
        if bundle.availability(Input.NAMESPACES).ok and not bundle.is_ambient(pod):
            yield Check(OK, f"{pod.ref} is not in ambient: no ztunnel enforces policy for it")
            continue
        blocked = ztunnel_usable(bundle, ztunnel, pod.node, str(pod.ref))
        if blocked is not None or ztunnel is None:
            yield blocked or Check(UNKNOWN, "no ztunnel")
            continue
        yield _decide(pod, ztunnel, applying(ztunnel, pod, root), src)
        yield from _unlinked(pod, ztunnel)
    if collected_objects(bundle, "authorization_policies") is None:
        yield Check(
            UNKNOWN,
            "AuthorizationPolicy objects not collected: L7 rules ztunnel cannot enforce are not shown",
            supplementary=True,
        )


def _unlinked(pod: Pod, ztunnel: Ztunnel) -> Iterator[Check]:
    """WorkloadSelector policies in the pod's namespace that no workload entry links to."""
    linked = {key for w in ztunnel.workloads.values() for key in w.authorization_policies}
    for key, pol in ztunnel.policies.items():
        if pol.scope == "WorkloadSelector" and pol.namespace == pod.namespace and key not in linked:
            yield Check(
                UNKNOWN,
                f"{key} selects workloads by labels, but no workload entry in {ztunnel.ref} "
                "names it: not evaluated",
                (Evidence(ztunnel.config_dump_path),),
                supplementary=True,
            )


def _decide(pod: Pod, ztunnel: Ztunnel, pols: list[Policy], src: Source) -> Check:
    dump = (Evidence(ztunnel.config_dump_path),)
    live = [p for p in pols if not p.dry_run]
    if not live:
        return Check(OK, f"no policy in {ztunnel.ref} applies to {pod.ref}", dump)
    names = ", ".join(p.key for p in live)
    for p in live:
        if p.action == "Deny" and matches(p, src) is not False:
            may = "denies" if matches(p, src) else "may deny"
            return Check(BROKEN, f"{p.key} (Deny) {may} {src.principal} to {pod.ref}", dump)
    allows = [p for p in live if p.action == "Allow"]
    if not allows:
        return Check(OK, f"{names} apply to {pod.ref}; none denies {src.principal}", dump)
    verdicts = [matches(p, src) for p in allows]
    if any(v is True for v in verdicts):
        who = next(p.key for p, v in zip(allows, verdicts, strict=True) if v)
        return Check(OK, f"{who} allows {src.principal} to {pod.ref}", dump)
    if any(v is None for v in verdicts):
        return Check(
            DEGRADED, f"{names} allow {src.principal} to {pod.ref} only on some ports or addresses", dump
        )
    return Check(BROKEN, f"allow policies {names} apply to {pod.ref} and none allows {src.principal}", dump)
