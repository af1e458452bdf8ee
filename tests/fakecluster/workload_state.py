"""ztunnel's in-pod `workloadState` (in its config_dump), with connections drawn from the scenario's traffic.

Each flow of `logs.flows()` is one open connection at `now`, to the same backend the access log
names for the latest step. The source pod's entry lists it outbound (`originalDst` is the service
VIP and port; `actualDst` the peer's HBONE port 15008, or its app port when the peer is not
captured); the destination pod's entry lists it inbound (`originalDst` the service hostname,
`actualDst` its own app port). A namespace bound to a waypoint routes through the waypoint pod.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tests.fakecluster.logs import flows
from tests.fakecluster.mesh import version_tuple
from tests.fakecluster.scenario import Phase, Pod, Role, Scenario, Service, stable_int

JsonObj = dict[str, Any]
HBONE_PORT = 15008


@dataclass(frozen=True, slots=True)
class Conn:
    """One connection in workloadState's shape (`protocol` is rendered only for ztunnel 1.26+)."""

    src: str
    original_dst: str
    actual_dst: str
    protocol: str  # HBONE | TCP

    def render(self, ver: tuple[int, int]) -> JsonObj:
        out: JsonObj = {"src": self.src, "originalDst": self.original_dst, "actualDst": self.actual_dst}
        if ver >= (1, 26):
            out["protocol"] = self.protocol
        return out


@dataclass(frozen=True, slots=True)
class PodConns:
    inbound: tuple[Conn, ...] = ()
    outbound: tuple[Conn, ...] = ()


def _waypoint_of(scn: Scenario, svc: Service) -> Pod | None:
    ns = scn.namespace(svc.namespace)
    name = svc.labels.get("istio.io/use-waypoint") or (ns.labels.get("istio.io/use-waypoint") if ns else None)
    if not name or name == "none":
        return None
    return next(
        (
            p
            for p in scn.pods_by_role(Role.WAYPOINT)
            if p.namespace == svc.namespace
            and p.labels.get("gateway.networking.k8s.io/gateway-name") == name
            and p.ip
        ),
        None,
    )


@lru_cache(maxsize=32)
def open_connections(scn: Scenario) -> dict[str, PodConns]:
    """Connections open at `now`, keyed by the Kubernetes pod UID of the pod holding them."""
    inbound: dict[str, list[Conn]] = {}
    outbound: dict[str, list[Conn]] = {}
    for i, flow in enumerate(flows(scn)):
        dst = flow.targets[i % len(flow.targets)]  # the access log's backend at step 0 (now)
        port = next(iter(flow.svc.ports))
        sport = 32768 + stable_int("conn", flow.src.name, flow.svc.name, str(i)) % 28000
        src_addr = f"{flow.src.ip}:{sport}"
        waypoint = _waypoint_of(scn, flow.svc)
        hbone = scn.is_enrolled(dst)
        if waypoint is not None:
            peer = f"{waypoint.ip}:{HBONE_PORT}"
        else:
            peer = f"{dst.ip}:{HBONE_PORT}" if hbone else f"{dst.ip}:{port.target_port}"
        outbound.setdefault(flow.src.uid, []).append(
            Conn(
                src_addr,
                f"{flow.svc.cluster_ip}:{port.port}",
                peer,
                "HBONE" if hbone or waypoint else "TCP",
            )
        )
        if not hbone:
            continue
        # Behind a waypoint the destination sees the waypoint's connection, not the client's.
        origin = f"{waypoint.ip}:{32768 + (sport + 1) % 28000}" if waypoint else src_addr
        from_mesh = waypoint is not None or scn.is_enrolled(flow.src)
        inbound.setdefault(dst.uid, []).append(
            Conn(
                origin,
                flow.svc.hostname,
                f"{dst.ip}:{port.target_port}",
                "HBONE" if from_mesh else "TCP",
            )
        )
    return {
        uid: PodConns(tuple(inbound.get(uid, ())), tuple(outbound.get(uid, ())))
        for uid in set(inbound) | set(outbound)
    }


def workload_state(scn: Scenario, node: str, ver: tuple[int, int] | None = None) -> JsonObj:
    """The `workloadState` object of the ztunnel on `node`, keyed by pod UID, sorted."""
    from tests.fakecluster.payloads import ztunnel_version

    ver = ver or version_tuple(ztunnel_version(scn, node))
    override = scn.ztunnel_override(node).workload_state
    conns = open_connections(scn)
    out: JsonObj = {}
    local = (p for p in scn.pods_on(node) if p.phase is Phase.RUNNING and scn.is_ambient(p))
    for pod in local:
        annotation = pod.annotations.get("ambient.istio.io/redirection")
        state = override.get(pod.ref, "Up" if annotation == "enabled" else "Pending" if annotation else None)
        if pod.ref in override and override[pod.ref] is None or state is None:
            continue
        entry: JsonObj = {
            "info": {"name": pod.name, "namespace": pod.namespace, "serviceAccount": pod.service_account},
            "state": state,
        }
        if state == "Up":
            mine = conns.get(pod.uid, PodConns())
            entry["connections"] = {
                "inbound": [c.render(ver) for c in mine.inbound],
                "outbound": [c.render(ver) for c in mine.outbound],
            }
        out[pod.uid] = dict(sorted(entry.items()))
    return dict(sorted(out.items()))
