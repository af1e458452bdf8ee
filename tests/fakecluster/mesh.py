"""The mesh as istiod computes it from a scenario (the "truth"), and the drifted views of it.

Neutral records here are rendered by `payloads` into each side's real format: ztunnel's
config_dump (CamelCase enums, string IPs) and istiod's proto JSON (upper-case enums, base64 bytes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

from tests.fakecluster.memo import once_cache
from tests.fakecluster.scenario import Drift, Phase, Pod, Policy, Role, Scenario, Service, StaleWorkload


def version_tuple(version: str) -> tuple[int, int]:
    parts = version.split("-")[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return (1, 26)


@dataclass(frozen=True, slots=True)
class WorkloadRec:
    uid: str  # xDS resource name, Kubernetes//Pod/<ns>/<name>
    pod_uid: str
    name: str
    namespace: str
    ips: tuple[str, ...]
    protocol: str  # HBONE | TCP
    service_account: str
    node: str
    workload_name: str
    workload_type: str  # deployment | daemonset→pod | pod
    canonical_name: str
    canonical_revision: str
    services: dict[str, dict[int, int]] = field(default_factory=dict)  # "ns/host" → {port: target}
    healthy: bool = True
    host_network: bool = False
    native_tunnel: bool = False
    waypoint: str | None = None  # "network/ip"

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ServiceRec:
    name: str
    namespace: str
    hostname: str
    vip: str
    ports: dict[int, int]
    waypoint: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.hostname}"


@dataclass(frozen=True, slots=True, eq=False)
class Mesh:
    workloads: tuple[WorkloadRec, ...]
    services: tuple[ServiceRec, ...]
    policies: tuple[Policy, ...]


def _workload_type(pod: Pod) -> str:
    # istiod reports DaemonSet- and ReplicaSet-less pods as POD; Deployment pods as DEPLOYMENT.
    return "deployment" if pod.workload_kind == "Deployment" and pod.workload else "pod"


def _waypoint_vip(scn: Scenario, namespace: str, labels: Mapping[str, str] | None = None) -> str | None:
    ns = scn.namespace(namespace)
    name = (labels or {}).get("istio.io/use-waypoint") or (
        ns.labels.get("istio.io/use-waypoint") if ns else None
    )
    if not name or name == "none":
        return None
    svc = next((s for s in scn.services if s.namespace == namespace and s.name == name), None)
    return f"/{svc.cluster_ip}" if svc else None


def _service_rec(scn: Scenario, svc: Service) -> ServiceRec:
    return ServiceRec(
        svc.name,
        svc.namespace,
        svc.hostname,
        svc.cluster_ip or "",
        {p.port: p.target_port for p in svc.ports},
        waypoint=_waypoint_vip(scn, svc.namespace, svc.labels)
        if svc.labels.get("gateway.istio.io/managed") is None
        else None,
    )


def _workload_rec(scn: Scenario, pod: Pod) -> WorkloadRec:
    services = {
        f"{s.namespace}/{s.hostname}": {p.port: p.target_port for p in s.ports} for s in scn.services_of(pod)
    }
    return WorkloadRec(
        uid=f"Kubernetes//Pod/{pod.namespace}/{pod.name}",
        pod_uid=pod.uid,
        name=pod.name,
        namespace=pod.namespace,
        ips=(pod.ip,) if pod.ip else (),
        # Waypoints speak HBONE natively (label networking.istio.io/tunnel=http) without being captured.
        protocol="HBONE" if scn.is_enrolled(pod) or pod.role is Role.WAYPOINT else "TCP",
        service_account=pod.service_account,
        node=pod.node or "",
        workload_name=pod.workload or pod.name,
        workload_type=_workload_type(pod),
        canonical_name=pod.canonical_name,
        canonical_revision=pod.canonical_revision,
        services=services,
        healthy=pod.ready and pod.phase is Phase.RUNNING,
        host_network=pod.host_network,
        native_tunnel=pod.role is Role.WAYPOINT,
    )


@once_cache(maxsize=32)
def truth(scn: Scenario) -> Mesh:
    """What istiod would send to a wildcard ztunnel: every pod with an IP, every service, every policy."""
    pods = [p for p in scn.pods if p.ip and p.phase in (Phase.RUNNING, Phase.PENDING)]
    workloads = tuple(sorted((_workload_rec(scn, p) for p in pods), key=lambda w: w.uid))
    services = tuple(
        sorted((_service_rec(scn, s) for s in scn.services), key=lambda s: (s.hostname, s.namespace))
    )
    policies = tuple(sorted(scn.policies, key=lambda p: p.ref))
    return Mesh(workloads, services, policies)


def _stale(w: StaleWorkload) -> WorkloadRec:
    return WorkloadRec(
        uid=f"Kubernetes//Pod/{w.namespace}/{w.name}",
        pod_uid="",
        name=w.name,
        namespace=w.namespace,
        ips=(w.ip,),
        protocol=w.protocol,
        service_account=w.service_account,
        node=w.node,
        workload_name=w.name.rsplit("-", 2)[0],
        workload_type="deployment",
        canonical_name=w.name.rsplit("-", 2)[0],
        canonical_revision="latest",
    )


def apply_drift(mesh: Mesh, drift: Drift, scn: Scenario) -> Mesh:
    """Return the mesh as seen through `drift` (missing, extra and changed entries)."""
    if not drift:
        return mesh
    workloads: list[WorkloadRec] = []
    for w in mesh.workloads:
        if w.ref in drift.missing_workloads:
            continue
        if w.ref in drift.workload_protocol:
            w = replace(w, protocol=drift.workload_protocol[w.ref])
        if w.ref in drift.workload_ip:
            w = replace(w, ips=(drift.workload_ip[w.ref],))
        if w.ref in drift.workload_waypoint:
            w = replace(w, waypoint=drift.workload_waypoint[w.ref])
        workloads.append(w)
    workloads += [_stale(s) for s in drift.extra_workloads]
    services: list[ServiceRec] = []
    for s in mesh.services:
        if s.ref in drift.missing_services:
            continue
        if s.ref in drift.service_ports:
            s = replace(s, ports=dict(drift.service_ports[s.ref]))
        services.append(s)
    services += [_service_rec(scn, s) for s in drift.extra_services]
    policies = [p for p in mesh.policies if p.ref not in drift.missing_policies] + list(drift.extra_policies)
    return Mesh(
        tuple(sorted(workloads, key=lambda w: w.uid)),
        tuple(sorted(services, key=lambda s: (s.hostname, s.namespace))),
        tuple(sorted(policies, key=lambda p: p.ref)),
    )


@lru_cache(maxsize=256)
def ztunnel_view(scn: Scenario, node: str) -> Mesh:
    """The truth as one ztunnel holds it; the very same object as `truth()` when it has no drift."""
    return apply_drift(truth(scn), scn.ztunnel_override(node).drift, scn)


@lru_cache(maxsize=256)
def istiod_view(scn: Scenario, node: str) -> Mesh:
    return apply_drift(truth(scn), scn.istiod_override(node).drift, scn)


@lru_cache(maxsize=64)
def _endpoint_index(mesh: Mesh) -> dict[str, list[tuple[WorkloadRec, dict[int, int]]]]:
    out: dict[str, list[tuple[WorkloadRec, dict[int, int]]]] = {}
    for w in mesh.workloads:
        if w.healthy:
            for key, ports in w.services.items():
                out.setdefault(key, []).append((w, ports))
    return out


def endpoints(mesh: Mesh, svc: ServiceRec) -> Iterator[tuple[WorkloadRec, dict[int, int]]]:
    """Workloads backing a service (healthy ones only, as ztunnel keeps them)."""
    yield from _endpoint_index(mesh).get(svc.key, [])
