"""Hop 6: each destination's ztunnel serves it (workload, in-pod proxy Up, certificate) and :15008 answers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from analyzer.model import Bundle, Input, Pod, Ztunnel
from analyzer.trace.objects import collected_objects
from analyzer.trace.observed import hbone_failures
from analyzer.trace.path import Path, workload_of
from analyzer.trace.source import certificate_checks, ztunnel_usable
from analyzer.trace.types import Check, Evidence, Hop, HopKey, Verdict, hop, worst

OK, BROKEN, DEGRADED, UNKNOWN = Verdict.OK, Verdict.BROKEN, Verdict.DEGRADED, Verdict.UNKNOWN


def destination_side(bundle: Bundle, path: Path, destinations: Sequence[tuple[Pod, Ztunnel | None]]) -> Hop:
    """Hop 6: broken when no destination can answer, degraded when only some can."""
    checks: list[Check] = []
    fates: list[Verdict] = []
    for pod, ztunnel in destinations:
        mine = list(_one(bundle, pod, ztunnel))
        fates.append(worst(c.verdict for c in mine))
        checks.extend(mine)
    if path.outside_mesh:
        checks.append(Check(OK, f"{path.target.label} is outside the mesh: no destination ztunnel"))
    elif not destinations:
        checks.append(Check(UNKNOWN, f"no destination pod known for {path.target.label}"))
    elif len(destinations) > 1 and Verdict.BROKEN in fates and any(v is OK for v in fates):
        # One endpoint that cannot answer fails a share of the connections, not all of them.
        checks = [Check(DEGRADED, c.text, c.evidence) if c.verdict is BROKEN else c for c in checks]
    if collected_objects(bundle, "network_policies") is None:
        checks.append(
            Check(
                UNKNOWN,
                "NetworkPolicy objects not collected: a policy blocking :15008 is not ruled out",
                supplementary=True,
            )
        )
    return hop(HopKey.DESTINATION_SIDE, checks)


def _one(bundle: Bundle, pod: Pod, ztunnel: Ztunnel | None) -> Iterator[Check]:
    if bundle.availability(Input.NAMESPACES).ok and not bundle.is_ambient(pod):
        yield Check(
            OK,
            f"{pod.ref} is not in ambient: reached without HBONE, no destination ztunnel",
            (Evidence(bundle.list_path(Input.PODS)),),
        )
        return
    blocked = ztunnel_usable(bundle, ztunnel, pod.node, str(pod.ref))
    if blocked is not None or ztunnel is None:
        yield blocked or Check(UNKNOWN, "no ztunnel")
        return
    dump = (Evidence(ztunnel.config_dump_path),)
    w = workload_of(ztunnel, pod)
    if w is None:
        yield Check(BROKEN, f"{pod.ref} is not in its node's {ztunnel.ref} workloads", dump)
    if ztunnel.workload_state is not None:
        state = ztunnel.workload_state.get(pod.uid)
        if state is None:
            yield Check(
                BROKEN, f"{ztunnel.ref} has no in-pod proxy for {pod.ref}: nothing serves its :15008", dump
            )
        elif state.state != "Up":
            yield Check(BROKEN, f"{ztunnel.ref}'s in-pod proxy for {pod.ref} is {state.state}", dump)
        else:
            yield Check(OK, f"{ztunnel.ref} serves {pod.ref} (in-pod proxy Up)", dump)
    if w is not None:
        spiffe = f"spiffe://{w.trust_domain}/ns/{w.namespace}/sa/{w.service_account}"
        yield from certificate_checks(bundle, ztunnel, spiffe, "the destination")
    failures = hbone_failures(bundle, pod)
    for r in failures[:3]:
        yield Check(
            BROKEN, f"{r.log.pod}: connection to {r.record.dst_addr} failed: {r.record.error}", (r.evidence,)
        )
