"""Hops 1 and 2: the source pod is enrolled in its node's ztunnel, which holds a valid certificate for it."""

from __future__ import annotations

from collections.abc import Iterator

from analyzer.model import Bundle, CertState, Input, Ztunnel
from analyzer.trace.path import Path
from analyzer.trace.types import Check, Evidence, Hop, HopKey, Verdict, hop

OK, BROKEN, DEGRADED, UNKNOWN = Verdict.OK, Verdict.BROKEN, Verdict.DEGRADED, Verdict.UNKNOWN


def ztunnel_usable(bundle: Bundle, ztunnel: Ztunnel | None, node: str | None, who: str) -> Check | None:
    """A check saying why `ztunnel` cannot be read (None when its config_dump parsed)."""
    if ztunnel is None:
        if not bundle.availability(Input.PODS).ok:
            return Check(UNKNOWN, f"pod list not collected: {bundle.availability(Input.PODS).reason}")
        return Check(BROKEN, f"no ztunnel pod on {who}'s node {node or '?'}", (Evidence(_pods(bundle)),))
    if not ztunnel.available:
        reason = ztunnel.unavailable_reason or "config_dump not collected"
        return Check(UNKNOWN, f"{ztunnel.ref}: {reason}", (Evidence(ztunnel.config_dump_path),))
    return None


def _pods(bundle: Bundle) -> str:
    return bundle.list_path(Input.PODS)


def enrolled(bundle: Bundle, path: Path) -> Hop:
    """Hop 1: labels and redirection annotation, workloadState Up, HBONE in the workload table."""
    return hop(HopKey.SOURCE_ENROLLED, _enrolled_checks(bundle, path))


def _enrolled_checks(bundle: Bundle, path: Path) -> Iterator[Check]:
    pod, ztunnel = path.source, path.ztunnel
    pods = Evidence(_pods(bundle))
    if not bundle.availability(Input.NAMESPACES).ok:
        yield Check(UNKNOWN, f"namespaces not collected: {bundle.availability(Input.NAMESPACES).reason}")
    elif not bundle.is_ambient(pod):
        yield Check(
            BROKEN,
            f"{pod.ref} is not selected for ambient (no istio.io/dataplane-mode=ambient on the pod "
            "or its namespace, or the pod is excluded)",
            (pods, Evidence(bundle.list_path(Input.NAMESPACES))),
        )
    else:
        yield Check(OK, f"{pod.ref} is selected for ambient", (pods,))
        redirection = pod.redirection
        if redirection == "enabled":
            yield Check(OK, "ambient.istio.io/redirection=enabled", (pods,))
        else:
            yield Check(BROKEN, f"ambient.istio.io/redirection is {redirection or 'absent'}", (pods,))
    blocked = ztunnel_usable(bundle, ztunnel, pod.node, "the source")
    if blocked is not None or ztunnel is None:
        yield blocked or Check(UNKNOWN, "no ztunnel")
        return
    dump = Evidence(ztunnel.config_dump_path)
    if not ztunnel.ready:
        # Not Ready means no first xDS response or CA contact yet: it may still carry old connections.
        yield Check(DEGRADED, f"{ztunnel.ref} on node {ztunnel.node} is not Ready", (pods,))
    if ztunnel.workload_state is None:
        yield Check(UNKNOWN, f"{ztunnel.ref} reports no workloadState (not in-pod mode)", (dump,), True)
    else:
        state = ztunnel.workload_state.get(pod.uid)
        if state is None:
            yield Check(
                BROKEN, f"{ztunnel.ref} has no in-pod proxy (workloadState) for uid {pod.uid}", (dump,)
            )
        elif state.state != "Up":
            yield Check(BROKEN, f"{ztunnel.ref} workloadState for the pod is {state.state}", (dump,))
        else:
            yield Check(OK, f"{ztunnel.ref} workloadState Up", (dump,))
    workload = path.source_workload
    if workload is None:
        yield Check(
            BROKEN, f"{pod.xds_uid(ztunnel.config.cluster_id)} is not in {ztunnel.ref}'s workloads", (dump,)
        )
    elif workload.protocol != "HBONE":
        yield Check(
            DEGRADED, f"{ztunnel.ref} lists the pod with protocol {workload.protocol}, not HBONE", (dump,)
        )
    else:
        yield Check(OK, f"{ztunnel.ref} lists the pod with protocol HBONE", (dump,))


def roots_of(ztunnel: Ztunnel) -> frozenset[str]:
    """Root fingerprints over a ztunnel's Available certificates."""
    return frozenset(
        r.fingerprint for c in ztunnel.certificates if c.state is CertState.AVAILABLE for r in c.roots
    )


def certificate_checks(bundle: Bundle, ztunnel: Ztunnel, identity: str, whose: str) -> Iterator[Check]:
    """State and validity at the analysis time of `identity`'s certificate in `ztunnel`."""
    dump = (Evidence(ztunnel.config_dump_path),)
    cert = next((c for c in ztunnel.certificates if c.identity == identity), None)
    if cert is None:
        yield Check(BROKEN, f"{ztunnel.ref} holds no certificate for {whose} identity {identity}", dump)
        return
    if cert.state is not CertState.AVAILABLE:
        why = f": {cert.state_error}" if cert.state_error else ""
        yield Check(BROKEN, f"{ztunnel.ref}: certificate for {identity} is {cert.state.value}{why}", dump)
        return
    leaf, now = cert.leaf, bundle.now
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if leaf is not None and leaf.valid_from and leaf.valid_from > now:
        yield Check(
            BROKEN,
            f"certificate for {identity} is not valid until {leaf.valid_from:%Y-%m-%dT%H:%M:%SZ} "
            f"(analysis time {stamp})",
            dump,
        )
    elif leaf is not None and leaf.expires and leaf.expires <= now:
        yield Check(
            BROKEN,
            f"certificate for {identity} expired {leaf.expires:%Y-%m-%dT%H:%M:%SZ} (analysis time {stamp})",
            dump,
        )
    else:
        until = f" until {leaf.expires:%Y-%m-%dT%H:%M:%SZ}" if leaf and leaf.expires else ""
        yield Check(OK, f"{ztunnel.ref}: certificate for {identity} Available, valid at {stamp}{until}", dump)


def identity(bundle: Bundle, path: Path, destinations: tuple[Ztunnel, ...]) -> Hop:
    """Hop 2: a valid certificate for the source identity, with a root the destination ztunnels share."""
    return hop(HopKey.SOURCE_IDENTITY, _identity_checks(bundle, path, destinations))


def _identity_checks(bundle: Bundle, path: Path, destinations: tuple[Ztunnel, ...]) -> Iterator[Check]:
    ztunnel = path.ztunnel
    blocked = ztunnel_usable(bundle, ztunnel, path.source.node, "the source")
    if blocked is not None or ztunnel is None:
        yield blocked or Check(UNKNOWN, "no ztunnel")
        return
    spiffe = path.identity
    if spiffe is None:
        yield Check(
            UNKNOWN,
            f"the source identity is unknown: {path.source.ref} is not in {ztunnel.ref}'s workloads",
            (Evidence(ztunnel.config_dump_path),),
        )
        return
    yield from certificate_checks(bundle, ztunnel, spiffe, "the source")
    mine = roots_of(ztunnel)
    for dest in destinations:
        if dest is ztunnel or not dest.available:
            continue
        theirs = roots_of(dest)
        ev = (Evidence(ztunnel.config_dump_path), Evidence(dest.config_dump_path))
        if not mine or not theirs:
            yield Check(UNKNOWN, f"no Available certificate with roots in {ztunnel.ref} or {dest.ref}", ev)
        elif mine & theirs:
            yield Check(OK, f"{ztunnel.ref} and {dest.ref} share a root of trust", ev)
        else:
            yield Check(
                BROKEN, f"{ztunnel.ref} and {dest.ref} (node {dest.node}) share no root certificate", ev
            )
