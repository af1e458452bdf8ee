"""Turn a terse YAML rule case (`given:`) into the real typed `Bundle` model (tests/rules/cases/).

Everything is optional and defaults to a healthy, old, Running object. Times are seconds before
`COLLECTED_AT` (`age: 30` → created 30 s before capture). Keys:

    namespaces: [{name, dataplane_mode?, labels?}]
    nodes:      [{name, ready?, unschedulable?, os?, labels?, age?}]   (default: one per pod/ztunnel node)
    pods:       [{ref: ns/name, node?, ip?, phase?, labels?, annotations?, dataplane_mode?,
                  host_network?, deleting?, sidecar?, age?, ready?, restarts?, uid?}]
    ztunnels:   [{node, name?, workloads?: [ns/name | {ref, ips?, uid?, cluster?, network_mode?}],
                  xds_on_demand?, cluster_id?, deleting?, age?, phase?, ready?, restarts?,
                  available?: false, pod?: false, workload_state?: [{pod: ns/name, state?}],
                  proxy_mode?, certificates?: [CERT]}]
                workload dicts also take service_account?, trust_domain?, native_tunnel?, protocol?
    cni:        [{node, phase?, deleting?, age?}]  (istio-cni pods; default: one Running per node)
    pods also take service_account?, probe_ports?, memory_limit? ("256Mi"), last_reason?, state?, reason?
    config, pod_metrics, istiod_env: see tests/builders_config.py
    unavailable: {<input>: <reason>}               (manifest: input not collected)
    pods_after: [ns/name | POD] | failed | legacy  (the pod list taken after the dumps; default: the
                                                    `pods`; `failed`: not collected;
                                                    `legacy`: a bundle from before that list existed)
    istiods, services, logs, ztunnel services/policies/version: see tests/builders_xds.py

A CERT is {identity | sa: ns/name, trust_domain?, state?: Available|Initializing|Unavailable,
error?, leaf?: {issued?, expires_in?}, intermediates?: [PART], roots?: [PART]} where a PART is
a name or {name, issued?, expires_in?}; `issued` is seconds before and `expires_in` seconds after
`COLLECTED_AT` (negative = already past). Defaults: a 24 h leaf issued 1 h ago, root `root-1`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.model import (
    Availability,
    Bundle,
    Certificate,
    CertInfo,
    CertState,
    Container,
    InpodState,
    Input,
    Manifest,
    Namespace,
    Node,
    ObjectRef,
    Pod,
    PodRelist,
    Workload,
    Ztunnel,
    ZtunnelConfig,
)
from analyzer.parse.config import quantity as parse_quantity
from analyzer.xds import content_hash, state_from
from tests.builders_config import with_config
from tests.builders_xds import extend_bundle
from ztbundle import layout

COLLECTED_AT = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
OLD = 3600.0
ISTIO_NS = "istio-system"


def _time(age: float | None) -> datetime:
    return COLLECTED_AT - timedelta(seconds=OLD if age is None else float(age))


def _manifest(given: Mapping[str, Any]) -> Manifest:
    unavailable: Mapping[str, str] = given.get("unavailable") or {}
    availability = {i: Availability(i, True) for i in Input}
    for name, reason in unavailable.items():
        availability[Input(name)] = Availability(Input(name), False, reason)
    return Manifest(
        COLLECTED_AT,
        COLLECTED_AT,
        "test",
        ("1.26.0",),
        not unavailable,
        False,
        availability,
        {},
    )


def _relist(given: Mapping[str, Any]) -> PodRelist | None:
    spec = given.get("pods_after")
    if spec == "legacy":
        return None
    if spec == "failed":
        return PodRelist(False, reason="timeout: list pods in all namespaces")
    specs = (
        given.get("pods") or () if spec is None else [r if isinstance(r, dict) else {"ref": r} for r in spec]
    )
    pods = [_pod(p, _Ips()) for p in specs]
    return PodRelist(True, frozenset((p.namespace, p.name) for p in pods), frozenset(p.uid for p in pods))


def _ztunnel_name(spec: Mapping[str, Any], index: int) -> str:
    return str(spec.get("name") or f"ztunnel-{spec.get('node', 'n1')}-{index}")


class _Ips:
    """Deterministic pod IPs for cases that don't care."""

    def __init__(self) -> None:
        self._n = itertools.count(10)

    def __call__(self) -> str:
        return f"10.244.0.{next(self._n)}"


def _pod(spec: Mapping[str, Any], ips: _Ips) -> Pod:
    ns, _, name = str(spec["ref"]).partition("/")
    labels = dict(spec.get("labels") or {})
    if spec.get("dataplane_mode"):
        labels["istio.io/dataplane-mode"] = spec["dataplane_mode"]
    annotations = dict(spec.get("annotations") or {})
    if spec.get("sidecar"):
        annotations["sidecar.istio.io/status"] = '{"containers":["istio-proxy"]}'
    ip = spec["ip"] if "ip" in spec else ips()
    phase = str(spec.get("phase", "Running"))
    ready = bool(spec.get("ready", phase == "Running"))
    restarts = int(spec.get("restarts", 0))
    return Pod(
        ref=ObjectRef("Pod", ns, name),
        uid=str(spec.get("uid") or f"uid-{ns}-{name}"),
        node=spec.get("node", "n1"),
        ip=ip,
        ips=(ip,) if ip else (),
        phase=phase,
        labels=labels,
        annotations=annotations,
        host_network=bool(spec.get("host_network", False)),
        deleting=bool(spec.get("deleting", False)),
        created_at=_time(spec.get("age")),
        started_at=_time(spec.get("age")),
        ready=ready,
        containers=(
            Container(
                "main",
                ready,
                restarts,
                str(spec.get("state", "running" if phase == "Running" else "waiting")),
                reason=spec.get("reason"),
                last_reason=spec.get("last_reason"),
            ),
        ),
        service_account=str(spec.get("service_account", "default")),
        probe_ports=tuple(spec.get("probe_ports") or ()),
        memory_limits={"main": parse_quantity(spec["memory_limit"])} if spec.get("memory_limit") else {},
    )


def _workload(spec: Any, pods: Mapping[str, Pod], cluster: str) -> Workload:
    spec = {"ref": spec} if isinstance(spec, str) else dict(spec)
    ns, _, name = str(spec["ref"]).partition("/")
    pod = pods.get(spec["ref"])
    ips = spec.get("ips", [pod.ip] if pod and pod.ip else [])
    return Workload(
        uid=str(spec.get("uid") or f"{spec.get('cluster', cluster)}//Pod/{ns}/{name}"),
        name=name,
        namespace=ns,
        ips=tuple(sorted(ips)),
        protocol=str(spec.get("protocol", "HBONE")),
        network_mode=str(spec.get("network_mode", "Standard")),
        node=spec.get("node", pod.node if pod else None),
        cluster_id=str(spec.get("cluster", cluster)),
        service_account=str(spec.get("service_account", "default")),
        trust_domain=str(spec.get("trust_domain", "cluster.local")),
        native_tunnel=bool(spec.get("native_tunnel", False)),
    )


def _cert_part(spec: Any, issued: float, expires_in: float) -> CertInfo:
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    digest = hashlib.sha256(str(spec["name"]).encode()).hexdigest()
    return CertInfo(
        serial=int(digest[:12], 16),
        valid_from=COLLECTED_AT - timedelta(seconds=float(spec.get("issued", issued))),
        expires=COLLECTED_AT + timedelta(seconds=float(spec.get("expires_in", expires_in))),
        fingerprint=digest[:32],
    )


def _certificate(spec: Mapping[str, Any]) -> Certificate:
    ns, _, sa = str(spec.get("sa", "default/default")).partition("/")
    identity = str(
        spec.get("identity") or f"spiffe://{spec.get('trust_domain', 'cluster.local')}/ns/{ns}/sa/{sa}"
    )
    state = CertState(spec.get("state", "Available"))
    if state is not CertState.AVAILABLE:  # ztunnel dumps empty chains unless Available
        return Certificate(identity, state, spec.get("error"))
    day = 86400.0
    leaf = _cert_part({"name": f"leaf:{identity}", **(spec.get("leaf") or {})}, 3600, day - 3600)
    chain = (leaf, *(_cert_part(i, 30 * day, 335 * day) for i in spec.get("intermediates") or ()))
    roots = tuple(_cert_part(r, 365 * day, 3650 * day) for r in spec.get("roots", ["root-1"]))
    return Certificate(identity, state, None, chain, roots)


def _ztunnel(
    spec: Mapping[str, Any], index: int, pods: Mapping[str, Pod], reads: set[Input], ips: _Ips
) -> tuple[Ztunnel, Pod | None]:
    node = str(spec.get("node", "n1"))
    name = _ztunnel_name(spec, index)
    pod = None
    if spec.get("pod", True):
        pod = _pod(
            {
                "ref": f"{ISTIO_NS}/{name}",
                "node": node,
                "labels": {"app": "ztunnel"},
                "service_account": "ztunnel",
                **{
                    k: spec[k]
                    for k in (
                        "deleting",
                        "age",
                        "phase",
                        "ready",
                        "restarts",
                        "service_account",
                        "memory_limit",
                        "last_reason",
                        "state",
                        "reason",
                    )
                    if k in spec
                },
            },
            ips,
        )
    cluster = str(spec.get("cluster_id", "Kubernetes"))
    workloads = [_workload(w, pods, cluster) for w in spec.get("workloads") or ()]
    state = None
    if "workload_state" in spec:
        state = {}
        for entry in spec["workload_state"] or ():
            target = pods.get(entry["pod"])
            ns, _, pname = str(entry["pod"]).partition("/")
            uid = str(entry.get("uid") or (target.uid if target else f"uid-{ns}-{pname}"))
            state[uid] = InpodState(uid, pname, ns, str(entry.get("state", "Up")))
    available = bool(spec.get("available", True))
    zt = Ztunnel(
        name=name,
        namespace=ISTIO_NS,
        pod=pod,
        node=node,
        config_dump_path=layout.ztunnel_config_dump(name),
        available=available,
        unavailable_reason=None if available else "error: HTTP 500",
        config=ZtunnelConfig(
            local_node=node,
            cluster_id=cluster,
            xds_on_demand=bool(spec.get("xds_on_demand", False)),
            proxy_mode=str(spec.get("proxy_mode", "Shared")),
        ),
        version="1.26.0",
        xds=state_from(((w, content_hash(w)) for w in workloads), (), ()),
        workload_state=state,
        certificates=tuple(_certificate(c) for c in spec.get("certificates") or ()),
        _reads=reads,
    )
    return zt, pod


def build_bundle(given: Mapping[str, Any] | None) -> Bundle:
    """Build the model a rule sees from a case's `given:` mapping."""
    given = given or {}
    ips = _Ips()
    reads: set[Input] = set()
    pods = {str(p["ref"]): _pod(p, ips) for p in given.get("pods") or ()}
    namespaces = {}
    for spec in given.get("namespaces") or ():
        labels = dict(spec.get("labels") or {})
        if spec.get("dataplane_mode"):
            labels["istio.io/dataplane-mode"] = spec["dataplane_mode"]
        namespaces[spec["name"]] = Namespace(spec["name"], labels)
    ztunnels = []
    all_pods = list(pods.values())
    for i, spec in enumerate(given.get("ztunnels") or ()):
        zt, zpod = _ztunnel(spec, i, pods, reads, ips)
        ztunnels.append(zt)
        if zpod:
            all_pods.append(zpod)
    node_names = sorted({p.node for p in all_pods if p.node})
    cni_specs = given.get("cni")
    if cni_specs is None:
        cni_specs = [{"node": n} for n in node_names]
    for i, spec in enumerate(cni_specs):
        all_pods.append(
            _pod(
                {
                    "ref": f"{ISTIO_NS}/istio-cni-node-{i}",
                    "node": spec["node"],
                    "labels": {"k8s-app": "istio-cni-node"},
                    **{k: spec[k] for k in ("phase", "deleting", "age") if k in spec},
                },
                ips,
            )
        )
    nodes = tuple(
        Node(
            name=str(spec["name"]),
            labels={"kubernetes.io/os": str(spec.get("os", "linux")), **(spec.get("labels") or {})},
            ready=bool(spec.get("ready", True)),
            unschedulable=bool(spec.get("unschedulable", False)),
            created_at=_time(spec.get("age")),
        )
        for spec in given.get("nodes") or [{"name": n} for n in node_names]
    )
    bundle = Bundle(
        manifest=_manifest(given),
        pods=tuple(all_pods),
        namespaces=namespaces,
        nodes=nodes,
        ztunnels=tuple(ztunnels),
        capture_start=COLLECTED_AT,
        pods_relisted=_relist(given),
        _reads=reads,
    )
    # istiods, Services, logs: tests/builders_xds.py; configuration objects: tests/builders_config.py
    return with_config(extend_bundle(bundle, given), given)
