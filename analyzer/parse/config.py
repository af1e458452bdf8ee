"""Configuration Lists (Istio, Gateway API, NetworkPolicy, PodMetrics) → `analyzer.model.config` objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from analyzer.model.config import (
    AuthorizationPolicy,
    AuthzRule,
    Condition,
    ConfigObject,
    ConfigSet,
    Gateway,
    IngressRule,
    IstiodDeployment,
    LabelSelector,
    Listener,
    NetworkPolicy,
    PeerAuthentication,
    PodMetrics,
    PolicyPeer,
    PolicyPort,
    Requirement,
    ServiceEntry,
    TargetRef,
)
from analyzer.model.kube import ObjectRef
from analyzer.parse import as_map
from ztbundle import layout
from ztbundle.layout import Input

# Fields istiod's conversion for ztunnel reports as HTTP attributes (its `ZtunnelAccepted` message).
HTTP_OPERATION = ("hosts", "notHosts", "methods", "notMethods", "paths", "notPaths")
HTTP_SOURCE = ("remoteIpBlocks", "notRemoteIpBlocks", "requestPrincipals", "notRequestPrincipals")
L4_WHEN = frozenset(
    {"source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port"}
)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _maps(value: object) -> list[Mapping[str, Any]]:
    return [v for v in _list(value) if isinstance(v, Mapping)]


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in _list(value))


def _strmap(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in as_map(value).items()}


def _ref(obj: Mapping[str, Any], kind: str) -> ObjectRef:
    meta = as_map(obj.get("metadata"))
    return ObjectRef(kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def selector(value: object) -> LabelSelector | None:
    """A label selector, or None when absent (`{}` is the empty selector, which selects everything)."""
    if not isinstance(value, Mapping):
        return None
    exprs = tuple(
        Requirement(str(e.get("key", "")), str(e.get("operator", "")), _strs(e.get("values")))
        for e in _maps(value.get("matchExpressions"))
    )
    return LabelSelector(_strmap(value.get("matchLabels")), exprs)


def conditions(status: object) -> tuple[Condition, ...]:
    """Conditions of the object, of its Gateway listeners, and of a route's parents."""
    status = as_map(status)

    def read(items: object, where: str) -> list[Condition]:
        return [
            Condition(
                str(c.get("type", "")),
                str(c.get("status", "")),
                str(c.get("reason") or ""),
                str(c.get("message") or ""),
                where,
            )
            for c in _maps(items)
        ]

    out = read(status.get("conditions"), "")
    for listener in _maps(status.get("listeners")):
        out += read(listener.get("conditions"), f"listener {listener.get('name', '')}")
    for parent in _maps(status.get("parents")):
        ref = as_map(parent.get("parentRef"))
        name = (
            f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("namespace") else str(ref.get("name", ""))
        )
        out += read(parent.get("conditions"), f"parent {name}")
    return tuple(out)


L4_OPERATION = ("ports", "notPorts")
L4_SOURCE = (
    "ipBlocks",
    "notIpBlocks",
    "namespaces",
    "notNamespaces",
    "principals",
    "notPrincipals",
    "serviceAccounts",
    "notServiceAccounts",
)


def _all_empty(entries: list[Mapping[str, Any]], fields: tuple[str, ...]) -> bool:
    """A non-empty clause whose every entry keeps no L4 field once HTTP attributes are stripped."""
    return bool(entries) and all(not any(_list(e.get(f)) for f in fields) for e in entries)


def _rule(rule: Mapping[str, Any]) -> AuthzRule:
    found: set[str] = set()
    principals: list[str] = []
    operations = [as_map(to.get("operation")) for to in _maps(rule.get("to"))]
    sources = [as_map(src.get("source")) for src in _maps(rule.get("from"))]
    for op in operations:
        found.update(f for f in HTTP_OPERATION if _list(op.get(f)))
    for source in sources:
        found.update(f for f in HTTP_SOURCE if _list(source.get(f)))
        principals += _strs(source.get("principals"))
    http_when = [str(w.get("key")) for w in _maps(rule.get("when")) if str(w.get("key")) not in L4_WHEN]
    found.update(http_when)
    empty = bool(http_when) or _all_empty(operations, L4_OPERATION) or _all_empty(sources, L4_SOURCE)
    return AuthzRule(tuple(sorted(found)), tuple(principals), empty_after_strip=bool(found) and empty)


def authorization_policy(obj: Mapping[str, Any], path: str) -> AuthorizationPolicy:
    spec = as_map(obj.get("spec"))
    refs = _maps(spec.get("targetRefs")) + ([as_map(spec["targetRef"])] if spec.get("targetRef") else [])
    return AuthorizationPolicy(
        ref=_ref(obj, "AuthorizationPolicy"),
        path=path,
        action=str(spec.get("action") or "ALLOW"),
        selector=(
            LabelSelector(_strmap(as_map(spec["selector"]).get("matchLabels")))
            if spec.get("selector") is not None
            else None
        ),
        target_refs=tuple(
            TargetRef(str(r.get("group", "")), str(r.get("kind", "")), str(r.get("name", ""))) for r in refs
        ),
        rules=tuple(_rule(r) for r in _maps(spec.get("rules"))),
        conditions=conditions(obj.get("status")),
    )


def peer_authentication(obj: Mapping[str, Any], path: str) -> PeerAuthentication:
    spec = as_map(obj.get("spec"))
    sel = as_map(spec.get("selector")).get("matchLabels")
    ports = {
        int(k): str(as_map(v).get("mode") or "UNSET")
        for k, v in as_map(spec.get("portLevelMtls")).items()
        if str(k).isdigit()
    }
    return PeerAuthentication(
        ref=_ref(obj, "PeerAuthentication"),
        path=path,
        selector=LabelSelector(_strmap(sel)) if sel else None,
        mode=str(as_map(spec.get("mtls")).get("mode") or "UNSET"),
        port_modes=ports,
    )


def _port(p: Mapping[str, Any]) -> PolicyPort:
    raw = p.get("port")
    port: int | str | None = raw if isinstance(raw, int) else (str(raw) if raw is not None else None)
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    end = p.get("endPort")
    return PolicyPort(str(p.get("protocol") or "TCP"), port, end if isinstance(end, int) else None)


def _peer(p: Mapping[str, Any]) -> PolicyPeer:
    block = as_map(p.get("ipBlock"))
    return PolicyPeer(
        pod_selector=selector(p.get("podSelector")),
        namespace_selector=selector(p.get("namespaceSelector")),
        cidr=str(block["cidr"]) if block.get("cidr") else None,
        excepted=_strs(block.get("except")),
    )


def network_policy(obj: Mapping[str, Any], path: str) -> NetworkPolicy:
    spec = as_map(obj.get("spec"))
    types = _strs(spec.get("policyTypes"))
    # Without policyTypes, Kubernetes treats every policy as Ingress (and Egress only if it has egress).
    restricts = "Ingress" in types if types else True
    return NetworkPolicy(
        ref=_ref(obj, "NetworkPolicy"),
        path=path,
        pod_selector=selector(spec.get("podSelector")) or LabelSelector(),
        restricts_ingress=restricts,
        ingress=tuple(
            IngressRule(
                tuple(_port(p) for p in _maps(r.get("ports"))), tuple(_peer(p) for p in _maps(r.get("from")))
            )
            for r in _maps(spec.get("ingress"))
        ),
    )


def gateway(obj: Mapping[str, Any], path: str) -> Gateway:
    spec = as_map(obj.get("spec"))
    return Gateway(
        ref=_ref(obj, "Gateway"),
        path=path,
        class_name=str(spec.get("gatewayClassName") or ""),
        labels=_strmap(as_map(obj.get("metadata")).get("labels")),
        listeners=tuple(
            Listener(str(li.get("name", "")), int(li.get("port") or 0), str(li.get("protocol", "")))
            for li in _maps(spec.get("listeners"))
        ),
        conditions=conditions(obj.get("status")),
    )


def service_entry(obj: Mapping[str, Any], path: str) -> ServiceEntry:
    spec = as_map(obj.get("spec"))
    return ServiceEntry(
        ref=_ref(obj, "ServiceEntry"),
        path=path,
        hosts=_strs(spec.get("hosts")),
        labels=_strmap(as_map(obj.get("metadata")).get("labels")),
        conditions=conditions(obj.get("status")),
    )


_UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 1000, "M": 10**6, "G": 10**9}
_UNITS_LONGEST_FIRST = tuple(sorted(_UNITS.items(), key=lambda kv: -len(kv[0])))


def quantity(value: object) -> int | None:
    """A Kubernetes memory quantity (`512Mi`, `1G`, `123456`) in bytes, or None when unreadable."""
    text = str(value or "").strip()
    if not text:  # no limit set: most containers at 1,000 nodes
        return None
    for suffix, scale in _UNITS_LONGEST_FIRST:
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return int(float(text[: -len(suffix)]) * scale)
    return int(text) if text.isdigit() else None


def pod_metrics(obj: Mapping[str, Any], path: str) -> PodMetrics:
    memory = {}
    for c in _maps(obj.get("containers")):
        got = quantity(as_map(c.get("usage")).get("memory"))
        if got is not None:
            memory[str(c.get("name", ""))] = got
    return PodMetrics(_ref(obj, "Pod"), path, memory, str(obj.get("window") or ""))


def generic(obj: Mapping[str, Any], path: str, kind: str) -> ConfigObject:
    return ConfigObject(
        _ref(obj, kind),
        path,
        _strmap(as_map(obj.get("metadata")).get("labels")),
        conditions(obj.get("status")),
    )


def istiod_deployment(obj: Mapping[str, Any], path: str) -> IstiodDeployment | None:
    """The Deployment whose pods are istiod (label app=istiod), with its discovery container's env."""
    template = as_map(as_map(obj.get("spec")).get("template"))
    if _strmap(as_map(template.get("metadata")).get("labels")).get("app") != "istiod":
        return None
    containers = _maps(as_map(template.get("spec")).get("containers"))
    main = next((c for c in containers if c.get("name") == "discovery"), containers[0] if containers else {})
    env = {
        str(e.get("name")): (str(e["value"]) if "value" in e else None)
        for e in _maps(main.get("env"))
        if e.get("name")
    }
    return IstiodDeployment(_ref(obj, "Deployment"), path, env)


def items(doc: object) -> Iterable[Mapping[str, Any]]:
    return _maps(as_map(doc).get("items"))


_BUILDERS: dict[Input, Callable[[Mapping[str, Any], str], Any]] = {
    Input.AUTHORIZATION_POLICIES: authorization_policy,
    Input.PEER_AUTHENTICATIONS: peer_authentication,
    Input.NETWORK_POLICIES: network_policy,
    Input.GATEWAYS: gateway,
    Input.SERVICE_ENTRIES: service_entry,
    Input.POD_METRICS: pod_metrics,
}


def config_set(doc: Callable[[str], Any], guard: Callable[[str], AbstractContextManager[None]]) -> ConfigSet:
    """Every configuration List read through `doc(path)` (None when unusable), each parsed under `guard`."""
    found: dict[Input, list[Any]] = {}
    for res in layout.CONFIG_RESOURCES:
        with guard(res.path):
            build = _BUILDERS.get(res.input)
            found[res.input] = [
                build(d, res.path) if build else generic(d, res.path, res.kind) for d in items(doc(res.path))
            ]
    with guard(layout.ISTIO_DEPLOYMENTS):
        deployments = [
            istiod_deployment(d, layout.ISTIO_DEPLOYMENTS) for d in items(doc(layout.ISTIO_DEPLOYMENTS))
        ]
    specific = set(_BUILDERS) | {Input.GATEWAY_CLASSES, Input.INJECTION_WEBHOOKS}
    return ConfigSet(
        authorization_policies=tuple(found[Input.AUTHORIZATION_POLICIES]),
        peer_authentications=tuple(found[Input.PEER_AUTHENTICATIONS]),
        network_policies=tuple(found[Input.NETWORK_POLICIES]),
        gateways=tuple(found[Input.GATEWAYS]),
        gateway_classes=tuple(found[Input.GATEWAY_CLASSES]),
        service_entries=tuple(found[Input.SERVICE_ENTRIES]),
        pod_metrics=tuple(found[Input.POD_METRICS]),
        others=tuple(o for inp, objs in found.items() if inp not in specific for o in objs),
        istiod_deployments=tuple(d for d in deployments if d is not None),
    )
