"""Hops 3 and 4: the source ztunnel resolves the target (VIP, ports, endpoints) and its waypoint."""

from __future__ import annotations

from collections.abc import Iterator

from analyzer.model import Bundle, Input, XdsService
from analyzer.trace.objects import collected_objects
from analyzer.trace.observed import logs_of, pair_records
from analyzer.trace.path import Path, service_in, workload_of
from analyzer.trace.source import ztunnel_usable
from analyzer.trace.types import Check, Evidence, Hop, HopKey, Verdict, hop

OK, BROKEN, DEGRADED, UNKNOWN = Verdict.OK, Verdict.BROKEN, Verdict.DEGRADED, Verdict.UNKNOWN
USE_WAYPOINT = "istio.io/use-waypoint"


def resolved(bundle: Bundle, path: Path) -> Hop:
    """Hop 3: the target's VIP and port mapping, its endpoints, their health and nodes."""
    return hop(HopKey.DESTINATION_RESOLVED, _resolved_checks(bundle, path))


def _ports(svc: XdsService) -> str:
    return ", ".join(f"{p}→{t}" for p, t in svc.ports) or "none"


def _resolved_checks(bundle: Bundle, path: Path) -> Iterator[Check]:
    ztunnel, target = path.ztunnel, path.target
    blocked = ztunnel_usable(bundle, ztunnel, path.source.node, "the source")
    if blocked is not None or ztunnel is None:
        yield blocked or Check(UNKNOWN, "no ztunnel")
        return
    dump = (Evidence(ztunnel.config_dump_path),)
    if target.kind == "ip":
        yield Check(BROKEN, f"{target.ip} is neither a pod IP nor a service VIP the bundle knows", dump)
        return
    if target.kind == "pod":
        yield from _pod_target(path, dump)
        return
    svc = path.service
    if svc is None:
        yield Check(BROKEN, f"{target.hostname} is not in {ztunnel.ref}'s service table", dump)
        return
    vips = ", ".join(v.rpartition("/")[2] for v in svc.vips) or "no VIP"
    yield Check(OK, f"{ztunnel.ref} knows {svc.hostname} ({vips}; ports {_ports(svc)})", dump)
    expected = _expected(bundle, path)
    if expected is not None and expected.ports != svc.ports:
        yield Check(
            BROKEN,
            f"port mapping differs from istiod's: ztunnel {_ports(svc)}, istiod {_ports(expected)}",
            dump,
        )
    if target.port is not None and all(p != target.port for p, _ in svc.ports):
        yield Check(BROKEN, f"port {target.port} is not a port of {svc.hostname} ({_ports(svc)})", dump)
    yield from _endpoints(bundle, path, svc, dump)
    yield _spread(bundle, path)


def _expected(bundle: Bundle, path: Path) -> XdsService | None:
    """istiod's copy of the target service for the source ztunnel, when istiod's view was collected."""
    if path.ztunnel is None:
        return None
    base = bundle.baseline_for(path.ztunnel)
    if base.xds is None:
        return None
    return base.xds.services.get(f"{path.target.namespace}/{path.target.hostname}")


def _endpoints(bundle: Bundle, path: Path, svc: XdsService, dump: tuple[Evidence, ...]) -> Iterator[Check]:
    ztunnel = path.ztunnel
    assert ztunnel is not None
    if not svc.endpoints:
        ks = path.target.kube_service
        if ks is not None and not ks.selector:
            yield Check(
                OK,
                f"{svc.hostname} has no selector and no mesh endpoints: ztunnel passes its traffic "
                "to the VIP outside the mesh",
                dump,
            )
        else:
            yield Check(BROKEN, f"{svc.hostname} has no endpoints in {ztunnel.ref}", dump)
        return
    healthy, unknown, bad = [], [], []
    for uid, _ports in svc.endpoints:
        w = ztunnel.workloads.get(uid)
        if w is None:
            unknown.append(uid)
        elif w.status != "Healthy":
            bad.append(f"{w.namespace}/{w.name} ({w.status})")
        else:
            healthy.append(f"{w.namespace}/{w.name} on {w.node or '?'}")
    if healthy:
        yield Check(OK, f"{len(healthy)} healthy endpoint(s): {', '.join(healthy)}", dump)
    if bad or unknown:
        verdict = BROKEN if not healthy else DEGRADED
        gone = [f"{u} (not in the workload table)" for u in unknown]
        yield Check(verdict, f"{len(bad) + len(unknown)} endpoint(s) unusable: {', '.join(bad + gone)}", dump)


def _spread(bundle: Bundle, path: Path) -> Check:
    """How the source's connections spread over the endpoints, per the source ztunnel's access log."""
    if path.ztunnel is None or not logs_of(bundle, (path.ztunnel,)):
        why = bundle.availability(Input.ZTUNNEL_LOGS).reason or "no log of the source ztunnel in the bundle"
        return Check(UNKNOWN, f"L4 spread: ztunnel logs not collected: {why}", supplementary=True)
    by_ip = {ip: p for p in path.destinations for ip in (p.ips or ((p.ip,) if p.ip else ()))}
    counts = dict.fromkeys((p.name for p in path.destinations), 0)
    first: Evidence | None = None
    for r in pair_records(bundle, path, (path.ztunnel,)):
        if r.record.direction != "outbound":
            continue
        pod = by_ip.get((r.record.dst_hbone_addr or r.record.dst_addr or "").rpartition(":")[0])
        if pod is not None:
            counts[pod.name] += 1
            first = first or r.evidence
    if first is None:
        return Check(
            OK, "L4 spread: no outbound record for this pair in the source ztunnel's log", supplementary=True
        )
    shown = ", ".join(f"{name} {n}" for name, n in counts.items())
    return Check(
        OK, f"L4 spread over endpoints (source ztunnel access log): {shown}", (first,), supplementary=True
    )


def _pod_target(path: Path, dump: tuple[Evidence, ...]) -> Iterator[Check]:
    assert path.ztunnel is not None and path.target.pod is not None
    ztunnel, pod = path.ztunnel, path.target.pod
    w = workload_of(ztunnel, pod)
    if w is None:
        yield Check(BROKEN, f"{pod.ref} is not in {ztunnel.ref}'s workloads", dump)
    elif w.protocol != "HBONE":
        yield Check(
            DEGRADED, f"{ztunnel.ref} would reach {pod.ref} with protocol {w.protocol}, not HBONE", dump
        )
    elif w.status != "Healthy":
        yield Check(BROKEN, f"{ztunnel.ref} lists {pod.ref} as {w.status}", dump)
    else:
        yield Check(
            OK, f"{ztunnel.ref} knows {pod.ref} ({', '.join(w.ips)}) on node {w.node or '?'}, HBONE", dump
        )


# --- hop 4 -------------------------------------------------------------------------------------


def waypoint_name(bundle: Bundle, path: Path) -> tuple[str | None, str]:
    """The waypoint the target should use per its labels (service, then namespace), and where it says so."""
    target = path.target
    ks = target.kube_service
    if ks is not None and USE_WAYPOINT in ks.labels:
        value = ks.labels[USE_WAYPOINT]
        return (None if value == "none" else value), f"label on {ks.ref}"
    if target.pod is not None and USE_WAYPOINT in target.pod.labels:
        value = target.pod.labels[USE_WAYPOINT]
        return (None if value == "none" else value), f"label on {target.pod.ref}"
    ns = bundle.namespaces.get(target.namespace)
    if ns is not None and USE_WAYPOINT in ns.labels:
        value = ns.labels[USE_WAYPOINT]
        return (None if value == "none" else value), f"label on Namespace {ns.name}"
    return None, "no istio.io/use-waypoint label"


def waypoint(bundle: Bundle, path: Path) -> Hop:
    """Hop 4: whether the target uses a waypoint; it has ready pods; the source ztunnel points at it."""
    return hop(HopKey.WAYPOINT, _waypoint_checks(bundle, path))


def _waypoint_checks(bundle: Bundle, path: Path) -> Iterator[Check]:
    if path.target.kind == "ip":
        yield Check(UNKNOWN, "the target is a bare IP: its waypoint cannot be told")
        return
    if not bundle.availability(Input.NAMESPACES).ok or not bundle.availability(Input.PODS).ok:
        yield Check(UNKNOWN, "namespaces or pods not collected: the waypoint labels cannot be read")
        return
    name, where = waypoint_name(bundle, path)
    lists = (Evidence(bundle.list_path(Input.NAMESPACES)), Evidence(bundle.list_path(Input.PODS)))
    programmed = _programmed(path)
    if name is None:
        yield Check(OK, f"no waypoint ({where})", lists[:1])
        if programmed:
            yield Check(DEGRADED, f"yet the source ztunnel sends it through waypoint {programmed}", lists[:1])
        return
    ns = path.target.namespace
    pods = [
        p
        for p in bundle.waypoint_pods()
        if p.namespace == ns and p.labels.get("gateway.networking.k8s.io/gateway-name") == name
    ]
    ready = [p for p in pods if p.ready]
    label = f"waypoint {ns}/{name} ({where})"
    if not pods:
        yield Check(BROKEN, f"{label} has no pods", lists)
    elif not ready:
        yield Check(BROKEN, f"{label}: none of its {len(pods)} pod(s) is Ready", lists)
    else:
        yield Check(OK, f"{label}: {len(ready)} Ready pod(s)", lists)
    if collected_objects(bundle, "gateways") is None:
        yield Check(
            UNKNOWN,
            "Gateway objects not collected: whether the waypoint is Programmed is unknown",
            supplementary=True,
        )
    if path.ztunnel is not None and path.ztunnel.available:
        dump = (Evidence(path.ztunnel.config_dump_path),)
        vip = _waypoint_vip(bundle, ns, name)
        if programmed and vip and programmed.rpartition("/")[2] != vip:
            yield Check(
                BROKEN, f"the source ztunnel sends it to {programmed}, not to the waypoint's VIP {vip}", dump
            )
        elif programmed:
            yield Check(OK, f"the source ztunnel's copy points at waypoint {programmed}", dump)
        else:
            yield Check(BROKEN, f"the source ztunnel's copy of {path.target.label} has no waypoint", dump)


def _waypoint_vip(bundle: Bundle, namespace: str, name: str) -> str | None:
    """The cluster IP of the waypoint's Service, when the services list was collected."""
    if not bundle.availability(Input.SERVICES).ok:
        return None
    svc = next((s for s in bundle.services if (s.ref.namespace, s.ref.name) == (namespace, name)), None)
    return svc.cluster_ip if svc else None


def _programmed(path: Path) -> str | None:
    """The waypoint the source ztunnel's copy of the target names (service, else destination workload)."""
    svc = service_in(path.ztunnel, path.target)
    if svc is not None:
        return svc.waypoint
    if path.target.pod is not None:
        w = workload_of(path.ztunnel, path.target.pod)
        return w.waypoint if w else None
    return None
