"""Configuration objects of the bookinfo and broken scenarios, in the shapes Istio 1.26 writes.

Status conditions are the ones istiod and its Gateway controller set (Gateway `Accepted` and
`Programmed` with their messages, route parent conditions, `ZtunnelAccepted` on policies); the
probe SNAT addresses are the ones istio-cni uses for ambient pods.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.fakecluster.scenario import (
    Pod,
    Role,
    Scenario,
    Service,
    ServicePort,
    _with_vip,
    pod_prefix,
    waypoint_pod,
)

Obj = dict[str, Any]
PROBE_V4, PROBE_V6 = "169.254.7.127/32", "fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128"
GW = "gateway.networking.k8s.io"


def _cond(type_: str, status: str, reason: str, message: str) -> Obj:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": 1,
        "lastTransitionTime": "2025-12-30T12:00:00Z",
    }


def _meta(name: str, namespace: str | None = None, **labels: str) -> Obj:
    out: Obj = {"name": name}
    if namespace:
        out["namespace"] = namespace
    if labels:
        out["labels"] = labels
    return out


def gateway_classes() -> list[Obj]:
    return [
        {
            "apiVersion": f"{GW}/v1",
            "kind": "GatewayClass",
            "metadata": _meta(name),
            "spec": {"controllerName": controller, "description": description},
            "status": {"conditions": [_cond("Accepted", "True", "Accepted", "Handled by Istio controller")]},
        }
        for name, controller, description in (
            ("istio", "istio.io/gateway-controller", "The default Istio GatewayClass"),
            ("istio-waypoint", "istio.io/mesh-controller", "The default Istio waypoint GatewayClass"),
        )
    ]


def waypoint_gateway(namespace: str, name: str, address: str) -> Obj:
    host = f"{name}.{namespace}.svc.cluster.local"
    listener_conditions = [
        _cond("Accepted", "True", "Accepted", "No errors found"),
        _cond("Conflicted", "False", "NoConflicts", "No errors found"),
        _cond("Programmed", "True", "Programmed", "No errors found"),
        _cond("ResolvedRefs", "True", "ResolvedRefs", "No errors found"),
    ]
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "Gateway",
        "metadata": _meta(name, namespace, **{"istio.io/waypoint-for": "service"}),
        "spec": {
            "gatewayClassName": "istio-waypoint",
            "listeners": [
                {
                    "name": "mesh",
                    "port": 15008,
                    "protocol": "HBONE",
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                }
            ],
        },
        "status": {
            "addresses": [{"type": "IPAddress", "value": address}],
            "conditions": [
                _cond("Accepted", "True", "Accepted", "Resource accepted"),
                _cond(
                    "Programmed",
                    "True",
                    "Programmed",
                    f"Resource programmed, assigned to service(s) {host}:15008",
                ),
            ],
            "listeners": [
                {
                    "name": "mesh",
                    "attachedRoutes": 0,
                    "conditions": listener_conditions,
                    "supportedKinds": [],
                },
            ],
        },
    }


def with_service_waypoint(scn: Scenario, service: str = "reviews", namespace: str = "default") -> Scenario:
    """A waypoint (pod, Service, Gateway) in `namespace`, with only `service` bound to it by label."""
    node = scn.nodes[-1]
    pod: Pod = waypoint_pod(namespace, node.name, version=scn.istio_version)
    svc = _with_vip(
        Service(
            namespace,
            "waypoint",
            selector={"gateway.networking.k8s.io/gateway-name": "waypoint"},
            ports=(ServicePort(15008, 15008, "mesh"), ServicePort(15021, 15021, "status")),
            labels={
                "gateway.istio.io/managed": "istio.io-mesh-controller",
                "gateway.networking.k8s.io/gateway-name": "waypoint",
            },
        )
    )
    services = tuple(
        replace(s, labels={**s.labels, "istio.io/use-waypoint": "waypoint"})
        if (s.namespace, s.name) == (namespace, service)
        else s
        for s in scn.services
    )
    ip = f"{pod_prefix(node.index)}.200"
    return replace(
        scn,
        pods=scn.pods + (replace(pod, ip=ip, created=scn.now - timedelta(hours=3)),),
        services=services + (svc,),
        config=scn.config + (waypoint_gateway(namespace, "waypoint", svc.cluster_ip or ""),),
    )


def bookinfo_config(scn: Scenario) -> tuple[Obj, ...]:
    """A namespace-wide ALLOW, mesh-wide STRICT mTLS, access logs, a GAMMA route, a correct NetworkPolicy."""
    ns = "default"
    allow = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": _meta("allow-in-namespace", ns),
        "spec": {
            "action": "ALLOW",
            "rules": [{"from": [{"source": {"namespaces": ["default", "istio-ingress"]}}]}],
        },
    }
    viewer = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": _meta("productpage-viewer", ns),
        "spec": {
            "selector": {"matchLabels": {"app": "productpage"}},
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": ["cluster.local/ns/default/sa/curl"]}}],
                    "to": [{"operation": {"ports": ["9080"]}}],
                }
            ],
        },
    }
    strict = {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": _meta("default", scn.istio_namespace),
        "spec": {"mtls": {"mode": "STRICT"}},
    }
    telemetry = {
        "apiVersion": "telemetry.istio.io/v1",
        "kind": "Telemetry",
        "metadata": _meta("mesh-default", scn.istio_namespace),
        "spec": {"accessLogging": [{"providers": [{"name": "envoy"}]}]},
    }
    route = {
        "apiVersion": f"{GW}/v1",
        "kind": "HTTPRoute",
        "metadata": _meta("reviews", ns),
        "spec": {
            "parentRefs": [{"group": "", "kind": "Service", "name": "reviews", "port": 9080}],
            "rules": [{"backendRefs": [{"name": "reviews", "port": 9080}]}],
        },
        "status": {
            "parents": [
                {
                    "parentRef": {"group": "", "kind": "Service", "name": "reviews", "port": 9080},
                    "controllerName": "istio.io/gateway-controller",
                    "conditions": [
                        _cond("Accepted", "True", "Accepted", "Route was valid"),
                        _cond("ResolvedRefs", "True", "ResolvedRefs", "All references resolved"),
                    ],
                }
            ]
        },
    }
    netpol = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("bookinfo-ingress", ns),
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}}}
                        for n in ("default", "istio-ingress")
                    ],
                    "ports": [{"protocol": "TCP", "port": 9080}, {"protocol": "TCP", "port": 80}],
                },
                {"ports": [{"protocol": "TCP", "port": 15008}]},  # HBONE from any ztunnel
                {
                    "from": [{"ipBlock": {"cidr": PROBE_V4}}, {"ipBlock": {"cidr": PROBE_V6}}]
                },  # kubelet probes
            ],
        },
    }
    return (*gateway_classes(), allow, viewer, strict, telemetry, route, netpol)


def with_probes(scn: Scenario, *apps: str, port: int = 9080) -> Scenario:
    """Give the named apps' pods an httpGet readiness probe on `port`."""
    pods = tuple(
        replace(p, probe_port=port) if p.role is Role.APP and p.labels.get("app") in apps else p
        for p in scn.pods
    )
    return replace(scn, pods=pods)


def broken_config(scn: Scenario) -> Scenario:
    """The configuration faults of the broken scenario, one per configuration rule (ZT701-ZT708).

    - ZT701: an ALLOW policy on ratings that names HTTP methods, with istiod's ZtunnelAccepted warning.
    - ZT703: an HTTPRoute whose backend does not exist (ResolvedRefs False).
    - ZT704: details' NetworkPolicy allows 9080 but not 15008 (its HBONE timeouts are ZT601's).
    - ZT705: ratings' NetworkPolicy admits only reviews pods, not the probe SNAT address.
    - ZT706: a namespace labelled for ambient and for sidecar injection.
    - ZT707: istiod trusts kube-system/ztunnel, but ztunnel runs in istio-system.
    - ZT708: node 3's ztunnel uses 243Mi of its 256Mi limit.
    ZT702 (a label naming a missing waypoint) comes from samples/make.py's reviews label.
    """
    from tests.fakecluster.scenario import Namespace

    ns = "default"
    kept = tuple(o for o in scn.config if o["kind"] != "NetworkPolicy")
    l7 = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": _meta("ratings-get-only", ns),
        "spec": {
            "selector": {"matchLabels": {"app": "ratings"}},
            "action": "ALLOW",
            "rules": [{"to": [{"operation": {"methods": ["GET"], "paths": ["/ratings/*"]}}]}],
        },
        "status": {
            "conditions": [
                _cond(
                    "ZtunnelAccepted",
                    "True",
                    "UnsupportedValue",
                    "ztunnel does not support HTTP attributes (found: methods, paths). "
                    "In ambient mode you must "
                    "use a waypoint proxy to enforce HTTP rules. Within an ALLOW policy, rules matching HTTP "
                    "attributes are omitted. This will be more restrictive than requested.",
                )
            ]
        },
    }
    bad_route = {
        "apiVersion": f"{GW}/v1",
        "kind": "HTTPRoute",
        "metadata": _meta("ratings-canary", ns),
        "spec": {
            "parentRefs": [{"group": "", "kind": "Service", "name": "ratings", "port": 9080}],
            "rules": [{"backendRefs": [{"name": "ratings-v9", "port": 9080}]}],
        },
        "status": {
            "parents": [
                {
                    "parentRef": {"group": "", "kind": "Service", "name": "ratings", "port": 9080},
                    "controllerName": "istio.io/gateway-controller",
                    "conditions": [
                        _cond("Accepted", "True", "Accepted", "Route was valid"),
                        _cond(
                            "ResolvedRefs",
                            "False",
                            "BackendNotFound",
                            "backend(ratings-v9.default.svc.cluster.local) not found",
                        ),
                    ],
                }
            ]
        },
    }
    details_np = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("details-ingress", ns),
        "spec": {
            "podSelector": {"matchLabels": {"app": "details"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "productpage"}}}],
                    "ports": [{"protocol": "TCP", "port": 9080}],
                }
            ],
        },
    }
    ratings_np = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("ratings-ingress", ns),
        "spec": {
            "podSelector": {"matchLabels": {"app": "ratings"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "reviews"}}}],
                    "ports": [{"protocol": "TCP", "port": 9080}, {"protocol": "TCP", "port": 15008}],
                }
            ],
        },
    }
    n3 = scn.nodes[2].name
    zt3 = next(p for p in scn.pods if p.role is Role.ZTUNNEL and p.node == n3)
    pods = tuple(
        replace(p, memory_limit="256Mi")
        if p is zt3
        else (replace(p, probe_port=None) if p.labels.get("app") == "details" else p)
        for p in scn.pods
    )
    return replace(
        scn,
        config=(*kept, l7, bad_route, details_np, ratings_np),
        pods=pods,
        namespaces=scn.namespaces
        + (Namespace("shop", {"istio.io/dataplane-mode": "ambient", "istio-injection": "enabled"}),),
        istiod_env=(("PILOT_ENABLE_AMBIENT", "true"), ("CA_TRUSTED_NODE_ACCOUNTS", "kube-system/ztunnel")),
        working_set={**scn.working_set, zt3.name: "243Mi"},
    )
