"""Pure functions scenario → payloads in the real formats of ztunnel and istiod.

Field names, casing, omission rules and sorting follow what ztunnel and istiod serve on their admin ports.
ztunnel's JSON passes through serde_json::Value, so its object keys come out sorted; istiod's
proto JSON (jsonpb) omits zero values and spells enums in upper case with base64 `bytes`.
Logs and metrics live in `tests.fakecluster.logs` and are re-exported here.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from datetime import timedelta
from functools import lru_cache
from typing import Any

from tests.fakecluster import certs
from tests.fakecluster.logs import component_log, ztunnel_metrics  # noqa: F401  (re-export)
from tests.fakecluster.memo import once_cache
from tests.fakecluster.mesh import (
    Mesh,
    ServiceRec,
    WorkloadRec,
    endpoints,
    istiod_view,
    truth,
    version_tuple,
    ztunnel_view,
)
from tests.fakecluster.scenario import CertOverride, CertState, Phase, Pod, Policy, Role, Scenario
from tests.fakecluster.workload_state import workload_state

JsonObj = dict[str, Any]
ADDRESS_TYPE = "type.googleapis.com/istio.workload.Address"
AUTHZ_TYPE = "type.googleapis.com/istio.security.Authorization"


def dumps(obj: Any, *, indent: int | None = 2) -> bytes:
    return json.dumps(obj, indent=indent, sort_keys=False).encode()


def ztunnel_version(scn: Scenario, node: str) -> str:
    return scn.ztunnel_override(node).version or scn.istio_version


# --- ztunnel /config_dump ------------------------------------------------------------------


def _zt_workload(w: WorkloadRec, ver: tuple[int, int]) -> JsonObj:
    out: JsonObj = {"workloadIps": list(w.ips)}
    if w.waypoint:
        out["waypoint"] = {"destination": w.waypoint, "hboneMtlsPort": 15008}
    out["protocol"] = w.protocol
    if ver >= (1, 24):
        out["networkMode"] = "HostNetwork" if w.host_network else "Standard"
    out |= {
        "uid": w.uid,
        "name": w.name,
        "namespace": w.namespace,
        "trustDomain": "cluster.local",
        "serviceAccount": w.service_account or "default",
        "workloadName": w.workload_name,
        "workloadType": w.workload_type,
        "canonicalName": w.canonical_name,
        "canonicalRevision": w.canonical_revision,
    }
    if w.node:
        out["node"] = w.node
    if w.native_tunnel:
        out["nativeTunnel"] = True
    out["status"] = "Healthy" if w.healthy else "Unhealthy"
    out["clusterId"] = "Kubernetes"
    if w.services and ver >= (1, 24):
        out["services"] = sorted(w.services)
    if ver >= (1, 26):
        out["capacity"] = 1
    return dict(sorted(out.items()))


def _zt_service(mesh: Mesh, s: ServiceRec, ver: tuple[int, int]) -> JsonObj:
    eps = {
        w.uid: {"workloadUid": w.uid, "port": {str(k): v for k, v in ports.items()}, "status": "Healthy"}
        for w, ports in endpoints(mesh, s)
    }
    out: JsonObj = {
        "name": s.name,
        "namespace": s.namespace,
        "hostname": s.hostname,
        "vips": [f"/{s.vip}"],
        "ports": {str(k): v for k, v in sorted(s.ports.items())},
        "endpoints": dict(sorted(eps.items())),
        "subjectAltNames": [],
    }
    if s.waypoint:
        out["waypoint"] = {"destination": s.waypoint, "hboneMtlsPort": 15008}
    if ver >= (1, 29):
        out["canonical"] = True
    return dict(sorted(out.items()))


def _zt_policy(p: Policy, ver: tuple[int, int]) -> JsonObj:
    clauses: list[list[JsonObj]] = []
    if p.principals:
        clauses.append([{"principals": [{"Exact": x} for x in p.principals]}])
    if p.ports:
        clauses.append([{"destinationPorts": list(p.ports)}])
    out: JsonObj = {
        "name": p.name,
        "namespace": p.namespace,
        "scope": p.scope,
        "action": p.action,
        "rules": [clauses] if clauses else [],
    }
    if ver >= (1, 29):
        out["dryRun"] = False
    return dict(sorted(out.items()))


def _local_pods(scn: Scenario, node: str) -> list[Pod]:
    return [p for p in scn.pods_on(node) if p.phase is Phase.RUNNING and scn.is_ambient(p)]


def _certificates(scn: Scenario, node: str, ver: tuple[int, int]) -> list[JsonObj]:
    zo = scn.ztunnel_override(node)
    wanted: dict[str, CertOverride] = {}
    for pod in _local_pods(scn, node):
        if scn.is_enrolled(pod):
            wanted[f"{pod.namespace}/{pod.service_account}"] = CertOverride()
    wanted |= dict(zo.certificates)
    root_from = scn.now - timedelta(days=365)
    out = []
    for key, co in wanted.items():
        ns, sa = key.split("/", 1)
        identity = f"spiffe://{scn.trust_domain}/ns/{ns}/sa/{sa}"
        entry: JsonObj = {"identity": identity, "state": str(co.state), "certChain": []}
        if ver >= (1, 26):
            entry["rootCerts"] = []
        if co.state == CertState.AVAILABLE:
            start = (scn.now + co.valid_from).replace(microsecond=0)
            leaf = certs.leaf_cert(identity, zo.root, start, start + co.valid_for, root_from)
            root = certs.root_cert(zo.root, root_from)
            entry["certChain"] = [certs.cert_dump(leaf)]
            if ver >= (1, 26):
                entry["rootCerts"] = [certs.cert_dump(root)]
            else:
                entry["certChain"].append(certs.cert_dump(root))
        out.append(entry)
    return sorted(out, key=lambda e: e["identity"])


def _config(scn: Scenario, node: str, zt: Pod) -> JsonObj:
    zo = scn.ztunnel_override(node)
    istiod = f"https://istiod.{scn.istio_namespace}.svc:15012"
    return {
        "adminAddr": {"Localhost": [False, 15000]},
        "caAddress": istiod,
        "caHeaders": [list(h) for h in scn.ca_headers],
        "clusterDomain": "cluster.local",
        "clusterId": "Kubernetes",
        "dnsProxy": True,
        "dnsProxyAddr": {"Localhost": [False, 15053]},
        "fakeCa": False,
        "illegalPorts": [15008, 15006, 15001],
        "inboundAddr": "[::]:15008",
        "inpodEnabled": True,
        "inpodPortReuse": True,
        "inpodUds": "/var/run/ztunnel/ztunnel.sock",
        "ipv6Enabled": True,
        "localNode": node,
        "network": "",
        "numWorkerThreads": 2,
        "outboundAddr": "[::]:15001",
        "packetMark": 1337,
        "proxyMetadata": {"ISTIO_VERSION": ztunnel_version(scn, node), "CLUSTER_ID": "Kubernetes"},
        "proxyMode": "Shared",
        "readinessAddr": {"SocketAddr": "[::]:15021"},
        "secretTtl": {"nanos": 0, "secs": 86400},
        "selfTerminationDeadline": {"nanos": 0, "secs": 5},
        "statsAddr": {"SocketAddr": "[::]:15020"},
        "xdsAddress": istiod,
        "xdsHeaders": [list(h) for h in scn.xds_headers],
        "xdsOnDemand": zo.xds_on_demand,
        "ztunnelIdentity": f"spiffe://{scn.trust_domain}/ns/{zt.namespace}/sa/{zt.service_account}",
        "ztunnelWorkload": {"name": zt.name, "namespace": zt.namespace, "serviceAccount": zt.service_account},
    }


def _build_info(version: str, ver: tuple[int, int]) -> JsonObj:
    out = {
        "buildProfile": "release",
        "buildStatus": "Clean",
        "gitRevision": "4f7e3c2a9b1d",
        "istioVersion": version,
        "rustVersion": "1.85.0",
        "version": version,
    }
    if ver >= (1, 27):
        out["cryptoProvider"] = "tls-aws-lc"
    return dict(sorted(out.items()))


def ztunnel_config_dump(scn: Scenario, node: str) -> JsonObj:
    """The current (1.23+) list-shaped `/config_dump` of the ztunnel on `node`."""
    mesh, ver = _view_for(scn, node), version_tuple(ztunnel_version(scn, node))
    workloads, services, policies = _rendered(mesh, ver)
    shared = {"policies": policies, "services": services, "workloads": workloads}
    return dict(sorted((_node_parts(scn, node) | shared).items()))


def _node_parts(scn: Scenario, node: str) -> JsonObj:
    """The members of the ztunnel's `/config_dump` that are its own, not the mesh lists it shares."""
    zt = scn.ztunnel_on(node)
    if zt is None:
        raise KeyError(f"no ztunnel on node {node}")
    version = ztunnel_version(scn, node)
    ver = version_tuple(version)
    mesh = _view_for(scn, node)
    staged: JsonObj = {}
    if scn.ztunnel_override(node).staged_services and mesh.workloads:
        w = mesh.workloads[-1]
        staged = {
            f"{w.namespace}/ghost.{w.namespace}.svc.cluster.local": {
                w.uid: {"port": {"80": 8080}, "status": "Healthy", "workloadUid": w.uid}
            }
        }
    return {
        "certificates": _certificates(scn, node, ver),
        "config": _config(scn, node, zt),
        "stagedServices": staged,
        "staticConfig": {"policies": [], "services": [], "workloads": []},
        "version": _build_info(version, ver),
        "workloadState": workload_state(scn, node, ver),
    }


@once_cache(maxsize=8)  # ~150 MB of dicts per whole-mesh view at 1,000 nodes: keep few
def _rendered(mesh: Mesh, ver: tuple[int, int]) -> tuple[list[JsonObj], list[JsonObj], list[JsonObj]]:
    """The mesh lists in ztunnel's shape, shared by every ztunnel holding the same view (do not mutate)."""
    return (
        [_zt_workload(w, ver) for w in mesh.workloads],
        [_zt_service(mesh, s, ver) for s in mesh.services],
        [_zt_policy(p, ver) for p in mesh.policies],
    )


@once_cache(maxsize=24)
def _fragment(mesh: Mesh, ver: tuple[int, int], which: int) -> bytes:
    """One mesh list of the pretty dump, serialized once per view and shared by every ztunnel holding it.

    Bounded: each entry of a 1,000-node synthetic cluster is ~12 MB (workloads) or ~4 MB (services).
    """
    return _nested(json.dumps(_rendered(mesh, ver)[which], indent=2)).encode()


def _nested(text: str) -> str:
    """Re-indent a pretty JSON value so it can sit one level deep in an indent=2 object."""
    return text.replace("\n", "\n  ")


@lru_cache(maxsize=256)
def _view_for(scn: Scenario, node: str) -> Mesh:
    mesh = ztunnel_view(scn, node)
    if not scn.ztunnel_override(node).xds_on_demand:
        return mesh
    # On-demand ztunnels only hold their own node's workloads plus whatever they looked up.
    local = tuple(w for w in mesh.workloads if w.node == node)
    return Mesh(local, mesh.services, mesh.policies)


def ztunnel_config_dump_122(scn: Scenario, node: str) -> JsonObj:
    """The 1.22 map shape: workloads keyed `net/ip`, services `net/vip`, policies `ns/name`."""
    current: JsonObj = json.loads(json.dumps(ztunnel_config_dump(scn, node)))  # deep copy: lists are shared
    workloads = {f"/{ip}": w for w in current["workloads"] for ip in w["workloadIps"]}
    services = {vip: s for s in current["services"] for vip in s["vips"]}
    for s in services.values():
        s["endpoints"] = {
            f"{uid}:/{ip}": {
                "workloadUid": uid,
                "service": f"{s['namespace']}/{s['hostname']}",
                "address": f"/{ip}",
                "port": ep["port"],
            }
            for uid, ep in s["endpoints"].items()
            for ip in _ips_of(current, uid)
        }
    for w in workloads.values():
        w.pop("capacity", None)
        w.pop("services", None)
        w.pop("networkMode", None)
    for c in current["certificates"]:
        c.pop("rootCerts", None)
    for st in current["workloadState"].values():
        st["info"]["trustDomain"] = ""
    current["version"].pop("cryptoProvider", None)
    current |= {
        "workloads": workloads,
        "services": services,
        "policies": {f"{p['namespace']}/{p['name']}": p for p in current["policies"]},
    }
    return current


def _ips_of(dump: JsonObj, uid: str) -> list[str]:
    return next((list(w["workloadIps"]) for w in dump["workloads"] if w["uid"] == uid), [])


def ztunnel_config_dump_bytes(scn: Scenario, node: str) -> bytes:
    """Serialized `/config_dump` (pretty, as ztunnel writes it): the pieces below, joined."""
    return b"".join(ztunnel_config_dump_pieces(scn, node))


@lru_cache(maxsize=2048)
def ztunnel_config_dump_pieces(scn: Scenario, node: str) -> tuple[bytes, ...]:
    """`/config_dump` as byte pieces whose concatenation is the body, cached per (scenario, node).

    The big lists are serialized once per distinct view and shared by reference, so N ztunnels of
    a synthetic cluster cost one serialization of the mesh plus N small node-specific parts, and
    the cache holds a few KB per node instead of a 12 MB copy of the mesh each.
    """
    if scn.ztunnel_override(node).config_dump_shape == "1.22":
        return (dumps(ztunnel_config_dump_122(scn, node)),)
    own = _node_parts(scn, node)
    mesh, ver = _view_for(scn, node), version_tuple(ztunnel_version(scn, node))
    shared = {"workloads": 0, "services": 1, "policies": 2}
    pieces: list[bytes] = []
    text = "{\n"  # small node-specific text accumulates here between the shared pieces
    for i, key in enumerate(sorted([*own, *shared])):
        text += ("" if i == 0 else ",\n") + f"  {json.dumps(key)}: "
        if key in shared:
            pieces += [text.encode(), _fragment(mesh, ver, shared[key])]
            text = ""
        else:
            text += _nested(json.dumps(own[key], indent=2))
    pieces.append((text + "\n}").encode())
    return tuple(pieces)


# --- istiod proto JSON ---------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def _b64_ip(ip: str, *, ascii_text: bool = False) -> str:
    # Cached: ipaddress parsing was most of istiod's render time (20,000 workloads, each view).
    raw = ip.encode() if ascii_text else ipaddress.ip_address(ip).packed
    return base64.b64encode(raw).decode()


def _pb_gateway(dest: str, ascii_text: bool) -> JsonObj:
    network, _, ip = dest.partition("/")
    addr: JsonObj = {"address": _b64_ip(ip, ascii_text=ascii_text)}
    if network:
        addr = {"network": network} | addr
    return {"address": addr, "hboneMtlsPort": 15008}


def pb_workload(w: WorkloadRec, *, ascii_ips: bool = False) -> JsonObj:
    """A workload in istio.workload.Workload proto JSON (zero values omitted)."""
    out: JsonObj = {
        "uid": w.uid,
        "name": w.name,
        "namespace": w.namespace,
        "addresses": [_b64_ip(ip, ascii_text=ascii_ips) for ip in w.ips],
    }
    if w.protocol == "HBONE":
        out["tunnelProtocol"] = "HBONE"
    if w.service_account:
        out["serviceAccount"] = w.service_account
    if w.waypoint:
        out["waypoint"] = _pb_gateway(w.waypoint, ascii_ips)
    if w.node:
        out["node"] = w.node
    out |= {"canonicalName": w.canonical_name, "canonicalRevision": w.canonical_revision}
    if w.workload_type != "deployment":
        out["workloadType"] = w.workload_type.upper()
    out["workloadName"] = w.workload_name
    if w.native_tunnel:
        out["nativeTunnel"] = True
    if w.services:
        out["services"] = {
            k: {"ports": [{"servicePort": p, "targetPort": t} for p, t in sorted(v.items())]}
            for k, v in sorted(w.services.items())
        }
    if not w.healthy:
        out["status"] = "UNHEALTHY"
    out["clusterId"] = "Kubernetes"
    if w.host_network:
        out["networkMode"] = "HOST_NETWORK"
    return out


def pb_service(s: ServiceRec, *, ascii_ips: bool = False) -> JsonObj:
    out: JsonObj = {
        "name": s.name,
        "namespace": s.namespace,
        "hostname": s.hostname,
        "addresses": [{"address": _b64_ip(s.vip, ascii_text=ascii_ips)}],
        "ports": [{"servicePort": p, "targetPort": t} for p, t in sorted(s.ports.items())],
    }
    if s.waypoint:
        out["waypoint"] = _pb_gateway(s.waypoint, ascii_ips)
    return out


def pb_policy(p: Policy) -> JsonObj:
    matches: list[JsonObj] = []
    if p.principals:
        matches.append({"principals": [{"exact": x} for x in p.principals]})
    if p.ports:
        matches.append({"destinationPorts": list(p.ports)})
    out: JsonObj = {"name": p.name, "namespace": p.namespace}
    scope = {"Global": None, "Namespace": "NAMESPACE", "WorkloadSelector": "WORKLOAD_SELECTOR"}[p.scope]
    if scope:
        out["scope"] = scope
    if p.action == "Deny":
        out["action"] = "DENY"
    if matches:
        out["groups"] = [{"rules": [{"matches": [m]} for m in matches]}]
    return out


def istiod_config_dump(scn: Scenario, node: str, types: str | None) -> JsonObj:
    """`/debug/config_dump?proxyID=<ztunnel>` as istiod renders it for that ztunnel.

    For Istio ≥ 1.25 the WDS part is empty (analyzer/model/baseline.py), so without `types` it is `{}`.
    """
    return _istiod_dump(*_istiod_key(scn, node, types))


def istiod_config_dump_bytes(scn: Scenario, node: str, types: str | None, indent: int | None) -> bytes:
    """`istiod_config_dump` serialized, shared by every ztunnel whose istiod view is the same mesh.

    Without drift `istiod_view` is the truth object itself, so 1,000 ztunnels cost one render per
    (types, indent); a drifted node has its own view object and so its own entry.
    """
    return _istiod_dump_bytes(*_istiod_key(scn, node, types), indent)


def _istiod_key(scn: Scenario, node: str, types: str | None) -> tuple[Mesh, bool, frozenset[str]]:
    """What istiod's answer depends on: the view, whether WDS is served (< 1.25), the types asked."""
    wanted = frozenset(t.strip().upper() for t in (types or "").split(",") if t.strip())
    return istiod_view(scn, node), version_tuple(scn.istio_version) < (1, 25), wanted


def _istiod_dump(mesh: Mesh, wds: bool, wanted: frozenset[str]) -> JsonObj:
    configs: list[JsonObj] = []
    if (not wanted or "WDS" in wanted) and wds:
        configs += [{"@type": ADDRESS_TYPE, "workload": pb_workload(w)} for w in mesh.workloads]
        configs += [{"@type": ADDRESS_TYPE, "service": pb_service(s)} for s in mesh.services]
    if "WADS" in wanted:
        configs += [{"@type": AUTHZ_TYPE} | pb_policy(p) for p in mesh.policies]
    return {"configs": configs} if configs else {}


@once_cache(maxsize=16)  # bounded: a whole-mesh WDS view is ~12 MB at 1,000 nodes × 20 pods
def _istiod_dump_bytes(mesh: Mesh, wds: bool, wanted: frozenset[str], indent: int | None) -> bytes:
    return json.dumps(_istiod_dump(mesh, wds, wanted), indent=indent).encode()


@once_cache(maxsize=8)
def ambientz_bytes(scn: Scenario, indent: int | None) -> bytes:
    """`ambientz` serialized once per scenario and indent (~10 MB at 1,000 nodes × 20 pods)."""
    return json.dumps(ambientz(scn), indent=indent).encode()


def ambientz(scn: Scenario) -> JsonObj:
    """Cluster-wide `/debug/ambientz` with its base64-of-ASCII IP quirk."""
    mesh = truth(scn)
    return {
        "workloads": [pb_workload(w, ascii_ips=True) for w in mesh.workloads],
        "services": [pb_service(s, ascii_ips=True) for s in mesh.services],
        "policies": [pb_policy(p) for p in mesh.policies],
    }


def _attached(scn: Scenario, istiod: Pod) -> tuple[tuple[str, Pod], ...]:
    """(node, ztunnel pod) pairs connected to this istiod replica."""
    return _attached_to(scn, istiod.name)


@lru_cache(maxsize=64)
def _attached_to(scn: Scenario, istiod: str) -> tuple[tuple[str, Pod], ...]:
    # Cached: every per-proxy request asks, and the scan is O(ztunnels) (1,000 in the benchmark).
    out = []
    for zt in sorted(scn.pods_by_role(Role.ZTUNNEL), key=lambda p: p.name):
        node = zt.node or ""
        owner = scn.istiod_for(node)
        if owner is not None and owner.name == istiod and scn.istiod_override(node).connected:
            out.append((node, zt))
    return tuple(out)


def proxy_attached(scn: Scenario, istiod: Pod, proxy_id: str) -> str | None:
    """The node of the ztunnel whose ID contains `proxy_id` (istiod does a substring match)."""
    for node, zt in _attached(scn, istiod):
        if proxy_id in f"{zt.name}.{zt.namespace}":
            return node
    return None


def _push_version(scn: Scenario, istiod: Pod, ago: timedelta) -> str:
    """istiod's push version: the push's time (RFC 3339, seconds) and the replica's push counter."""
    from tests.fakecluster.scenario import stable_int

    counter = 40 + stable_int("push", istiod.name) % 50 - int(ago / timedelta(minutes=5))
    return f"{certs.rfc3339(scn.now - ago)}/{counter}"


def _nonce(push_version: str, *parts: str) -> str:
    """istiod's xDS nonce: the push version it was sent at, then a random UUID (stable here)."""
    from tests.fakecluster.scenario import stable_uid

    return push_version + stable_uid("nonce", *parts)


def syncz(scn: Scenario, istiod: Pod) -> list[JsonObj]:
    """Every attached ztunnel acked the replica's latest push of both types, except when overridden.

    A ztunnel whose istiod view is drifted was last pushed an older version (a view that differs comes
    with a different push state), and a NACKing one has the latest push sent but an older one acked.
    """
    latest = _push_version(scn, istiod, timedelta(minutes=5))
    older = _push_version(scn, istiod, timedelta(minutes=30))
    out = []
    for node, zt in _attached(scn, istiod):
        override = scn.istiod_override(node)
        sent_time = (scn.now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        resources = {}
        for type_url in (ADDRESS_TYPE, AUTHZ_TYPE):
            nonce = _nonce(older if override.drift else latest, zt.name, type_url)
            entry: JsonObj = {"sent": nonce, "acked": nonce, "sentTime": sent_time}
            if override.nack and type_url == ADDRESS_TYPE:
                entry["acked"] = _nonce(older, zt.name, type_url, "old")
                entry["lastError"] = override.nack
            resources[type_url] = entry
        out.append(
            {
                "cluster_id": "Kubernetes",
                "proxy": f"{zt.name}.{zt.namespace}",
                "proxy_type": "ztunnel",
                "istio_version": ztunnel_version(scn, node),
                "resources": resources,
            }
        )
    return out


def connections(scn: Scenario, istiod: Pod) -> JsonObj:
    clients = []
    for i, (_node, zt) in enumerate(_attached(scn, istiod)):
        connected = (zt.created or scn.now) + timedelta(seconds=7)
        clients.append(
            {
                "connectionId": f"{zt.name}.{zt.namespace}-{i + 1}",
                "connectedAt": connected.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "address": f"{zt.ip}:{40000 + i}",
            }
        )
    return {"totalClients": len(clients), "clients": clients}


def istiod_version(scn: Scenario) -> bytes:
    """istiod's monitoring-port `/version`: plain text `BuildInfo.String()`, i.e. `<ver>-<sha>-<status>`."""
    return f"{scn.istio_version}-4f7e3c2a9b1d8e6f0a2c4b6d8e0f1a3c5b7d9e1f-Clean".encode()
