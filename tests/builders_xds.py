"""Case-builder extension (`extend_bundle`): istiods, Services, logs, ztunnel services/policies.

`tests/builders.py` calls these from `build_bundle`; they add the YAML keys the xDS, health and
log-signature rules (ZT4xx-ZT6xx) need. Everything is optional. Keys:

    ztunnels:  [{..., services?: [svc], policies?: [pol], version?, dns_proxy?, xds_address?,
                 staged_services?, state?, reason?, last_reason?, image?}]   (container extras)
    istiods:   [{name?, version?, ready?, pod?: false,
                 ambientz?: {workloads?, services?, policies?},
                 views?: {<ztunnel name>: {workloads?, services?, policies?, available?,
                                           policies_available?}},
                 syncz?: [{proxy: <ztunnel name>, namespace?, type?, version?,
                           address?: {sent?, acked?, error?, sent_age?}, authorization?: {...}}],
                 connections?: [<ztunnel name>, ...]}]
    services:  [{ref: ns/name, labels?, selector?, conditions?}]  (Kubernetes Services)
    logs:      [{component: ztunnel|istiod|cni|waypoint, pod, namespace?, container?, previous?,
                 trimmed?, lines: [raw text | {age?, level?, target?, message, fields?, repeat?,
                                               every?} | {age?, raw, repeat?, every?}]}]

    svc: {ref: ns/name, hostname?, vips?, ports?: {80: 8080}, waypoint?, endpoints?: [uid]}
    pol: {ref: ns/name, action?, scope?, principals?: [...]}

Workload specs are the same as in builders.py (`ns/name` or `{ref, ips?, uid?, protocol?, waypoint?}`).
Log `age` is seconds before COLLECTED_AT; `repeat: n, every: s` emits n lines s seconds apart (oldest first).
`raw` is a published log line kept verbatim except its leading RFC 3339 timestamp, which is replaced
by one `age` seconds before COLLECTED_AT (so a real line from an issue can be placed in the window).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from analyzer.model import (
    Bundle,
    Component,
    Input,
    Istiod,
    IstiodConnection,
    KubeService,
    LogFile,
    ObjectRef,
    Pod,
    Policy,
    ProxyView,
    SyncEntry,
    SyncResource,
    Workload,
    XdsService,
    XdsState,
    Ztunnel,
    ZtunnelConfig,
)
from analyzer.model.tracking import untracked
from analyzer.xds import content_hash, state_from
from ztbundle import layout

ADDRESS = "type.googleapis.com/istio.workload.Address"
AUTHORIZATION = "type.googleapis.com/istio.security.Authorization"


def _service(spec: Any) -> XdsService:
    spec = {"ref": spec} if isinstance(spec, str) else dict(spec)
    ns, _, name = str(spec["ref"]).partition("/")
    ports = tuple(sorted((int(k), int(v)) for k, v in (spec.get("ports") or {80: 8080}).items()))
    endpoints = tuple(sorted((str(uid), ports) for uid in spec.get("endpoints") or ()))
    return XdsService(
        namespace=ns,
        hostname=str(spec.get("hostname") or f"{name}.{ns}.svc.cluster.local"),
        name=name,
        vips=tuple(sorted(f"/{v}" for v in spec.get("vips") or ())),
        ports=ports,
        endpoints=endpoints,
        waypoint=spec.get("waypoint"),
    )


def _policy(spec: Any) -> Policy:
    spec = {"ref": spec} if isinstance(spec, str) else dict(spec)
    ns, _, name = str(spec["ref"]).partition("/")
    principals = tuple(sorted(f"exact:{p}" for p in spec.get("principals") or ()))
    rules = ((((("principals", principals),),),),) if principals else ()
    return Policy(
        namespace=ns,
        name=name,
        scope=str(spec.get("scope", "WorkloadSelector")),
        action=str(spec.get("action", "Allow")),
        rules=rules,
    )


def _workloads(specs: Any, pods: Mapping[str, Pod], cluster: str) -> list[Workload]:
    """builders._workload plus the fields drift cases vary (waypoint, status)."""
    from tests.builders import _workload  # the one workload builder; lazy to avoid an import cycle

    out = []
    for spec in specs or ():
        w = _workload(spec, pods, cluster)
        if isinstance(spec, Mapping):
            w = dataclasses.replace(
                w, waypoint=spec.get("waypoint"), status=str(spec.get("status", "Healthy"))
            )
        out.append(w)
    return out


def xds_state(
    spec: Mapping[str, Any] | None, pods: Mapping[str, Pod], cluster: str = "Kubernetes"
) -> XdsState:
    """An XdsState with hashes, built the same way for ztunnel and istiod sides (equal specs → equal)."""
    spec = spec or {}
    workloads = _workloads(spec.get("workloads"), pods, cluster)
    services = [_service(s) for s in spec.get("services") or ()]
    policies = [_policy(p) for p in spec.get("policies") or ()]
    return state_from(
        ((w, content_hash(w)) for w in workloads),
        ((s, content_hash(s)) for s in services),
        ((p, content_hash(p)) for p in policies),
    )


def _fields(obj: Any) -> dict[str, Any]:
    """Dataclass fields read without `_Tracked` bookkeeping (the builder must not count as a rule read)."""
    return {f.name: untracked(obj, f.name) for f in dataclasses.fields(obj)}


_ZT_KEYS = ("services", "policies", "version", "dns_proxy", "xds_address", "staged_services", "workloads")
_POD_KEYS = ("reason", "state", "image", "last_reason")


def _retouch_pod(pod: Pod, spec: Mapping[str, Any]) -> Pod:
    """Container state/reason/image (CrashLoopBackOff, OOMKilled) for a ztunnel pod."""
    containers = tuple(
        dataclasses.replace(
            c,
            state=str(spec.get("state", c.state)),
            reason=spec.get("reason", c.reason),
            image=spec.get("image", c.image),
            last_reason=spec.get("last_reason", c.last_reason),
        )
        for c in pod.containers
    )
    return dataclasses.replace(pod, containers=containers)


def extend_ztunnel(zt: Ztunnel, spec: Mapping[str, Any], pods: Mapping[str, Pod], pod: Pod | None) -> Ztunnel:
    """Rebuild a ztunnel with services, policies, waypoints, version and config extras."""
    values = _fields(zt)
    values["pod"] = pod
    if not any(k in spec for k in _ZT_KEYS):
        return Ztunnel(**values)
    config: ZtunnelConfig = values["config"]
    values["xds"] = xds_state(spec, pods, config.cluster_id)
    values["config"] = dataclasses.replace(
        config,
        dns_proxy=spec.get("dns_proxy", config.dns_proxy),
        xds_address=spec.get("xds_address", config.xds_address),
    )
    values["version"] = spec.get("version", values["version"])
    values["staged_services"] = int(spec.get("staged_services", 0))
    return Ztunnel(**values)


def extend_bundle(bundle: Bundle, given: Mapping[str, Any]) -> Bundle:
    """The bundle with istiods, Services, logs and ztunnel extras from `given` added."""
    values = _fields(bundle)
    pods = {f"{p.namespace}/{p.name}": p for p in values["pods"]}
    replaced: dict[str, Pod] = {}
    ztunnels = []
    for zt, spec in zip(values["ztunnels"], given.get("ztunnels") or (), strict=True):
        pod = _fields(zt)["pod"]
        if pod is not None and any(k in spec for k in _POD_KEYS):
            pod = replaced[f"{pod.namespace}/{pod.name}"] = _retouch_pod(pod, spec)
        ztunnels.append(extend_ztunnel(zt, spec, pods, pod))
    found, istiod_pods = istiods(given, pods, values["_reads"])
    all_pods = tuple(replaced.get(f"{p.namespace}/{p.name}", p) for p in values["pods"])
    values.update(
        pods=all_pods + tuple(istiod_pods),
        ztunnels=tuple(ztunnels),
        istiods=found,
        services=services(given),
        logs=logs(given),
        _index={},
    )
    return Bundle(**values)


def _sync_resource(type_url: str, spec: Mapping[str, Any]) -> SyncResource:
    from tests.builders import _time

    sent = spec.get("sent", "v1")
    return SyncResource(
        type_url=type_url,
        sent=sent,
        acked=spec.get("acked", sent),
        last_error=spec.get("error"),
        sent_time=_time(spec.get("sent_age")),
    )


def _syncz(specs: list[Mapping[str, Any]]) -> tuple[SyncEntry, ...]:
    out = []
    for s in specs:
        resources = []
        for key, url in (("address", ADDRESS), ("authorization", AUTHORIZATION)):
            resources.append(_sync_resource(url, s.get(key) or {}))
        out.append(
            SyncEntry(
                proxy=f"{s['proxy']}.{s.get('namespace', 'istio-system')}",
                proxy_type=str(s.get("type", "ztunnel")),
                istio_version=s.get("version", "1.26.0"),
                cluster_id="Kubernetes",
                resources=tuple(resources),
            )
        )
    return tuple(out)


def _view(istiod: str, zt: str, spec: Any, pods: Mapping[str, Pod]) -> ProxyView:
    spec = dict(spec or {})
    available = bool(spec.get("available", True))
    has_policies = bool(spec.get("policies_available", "policies" in spec))
    return ProxyView(
        ztunnel=zt,
        path=layout.istiod_proxy_config(istiod, zt),
        available=available,
        reason=None if available else "empty per-proxy WDS dump (expected on Istio 1.25+)",
        xds=xds_state(spec if available else {"policies": spec.get("policies")}, pods),
        policies_path=layout.istiod_proxy_policies(istiod, zt) if has_policies else None,
        policies_available=has_policies,
    )


def istiods(
    given: Mapping[str, Any], pods: Mapping[str, Pod], reads: set[Input]
) -> tuple[tuple[Istiod, ...], list[Pod]]:
    """istiod replicas (and their pods, labelled app=istiod) from `istiods:`."""
    from tests.builders import ISTIO_NS, _Ips, _pod, _time

    out, out_pods = [], []
    ips = _Ips()
    for i, spec in enumerate(given.get("istiods") or ()):
        name = str(spec.get("name") or f"istiod-{i}")
        pod = None
        if spec.get("pod", True):
            extra = {k: spec[k] for k in ("ready", "age", "phase") if k in spec}
            pod = _pod({"ref": f"{ISTIO_NS}/{name}", "node": "cp", "labels": {"app": "istiod"}, **extra}, ips)
            out_pods.append(pod)
        amb = spec.get("ambientz")
        out.append(
            Istiod(
                name=name,
                namespace=ISTIO_NS,
                pod=pod,
                version=spec.get("version", "1.26.0"),
                views={zt: _view(name, zt, v, pods) for zt, v in (spec.get("views") or {}).items()},
                ambientz=xds_state(amb, pods) if amb is not None else None,
                ambientz_path=layout.istiod_ambientz(name) if amb is not None else None,
                syncz=_syncz(spec["syncz"]) if "syncz" in spec else None,
                connections=tuple(
                    IstiodConnection(f"{zt}.{ISTIO_NS}-{n}", _time(None), "10.244.9.9")
                    for n, zt in enumerate(spec["connections"], start=1)
                )
                if "connections" in spec
                else None,
                _reads=reads,
            )
        )
    return tuple(out), out_pods


def services(given: Mapping[str, Any]) -> tuple[KubeService, ...]:
    from analyzer.parse.config import conditions

    out = []
    for spec in given.get("services") or ():
        ns, _, name = str(spec["ref"]).partition("/")
        out.append(
            KubeService(
                ref=ObjectRef("Service", ns, name),
                cluster_ip=spec.get("cluster_ip", "10.96.0.10"),
                labels=dict(spec.get("labels") or {}),
                selector=dict(spec.get("selector") or {}),
                conditions=conditions({"conditions": spec.get("conditions") or []}),
            )
        )
    return tuple(out)


def _value(v: Any) -> str:
    text = str(v)
    return json.dumps(text) if isinstance(v, str) and (not text or any(c in text for c in ' "=\t')) else text


_RAW_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


def _lines(spec: Any) -> list[str]:
    from tests.builders import COLLECTED_AT

    if isinstance(spec, str):
        return [spec]
    repeat, every = int(spec.get("repeat", 1)), float(spec.get("every", 1))
    age = float(spec.get("age", 10))
    fields = " ".join(f"{k}={_value(v)}" for k, v in (spec.get("fields") or {}).items())
    out = []
    for n in range(repeat):
        t = COLLECTED_AT - timedelta(seconds=age + (repeat - 1 - n) * every)
        ts = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if "raw" in spec:
            out.append(_RAW_TS.sub(ts, str(spec["raw"]), count=1))
            continue
        out.append(
            f"{ts}\t{spec.get('level', 'info')}\t{spec.get('target', 'access')}\t{spec['message']}\t{fields}"
        )
    return out


def logs(given: Mapping[str, Any]) -> tuple[LogFile, ...]:
    out = []
    for spec in given.get("logs") or ():
        component = Component(spec.get("component", "ztunnel"))
        ns = str(spec.get("namespace", "") if component is not Component.WAYPOINT else spec["namespace"])
        container = str(
            spec.get("container")
            or {"istiod": "discovery", "cni": "install-cni"}.get(component.value, "istio-proxy")
        )
        previous = bool(spec.get("previous", False))
        text = "\n".join(line for s in spec.get("lines") or () for line in _lines(s)) + "\n"
        out.append(
            LogFile(
                component=component,
                namespace=ns,
                pod=str(spec["pod"]),
                container=container,
                previous=previous,
                path=layout.pod_log(
                    component, ns or "istio-system", str(spec["pod"]), container, previous=previous
                ),
                source=text,
                trimmed=bool(spec.get("trimmed", False)),
            )
        )
    return tuple(out)
