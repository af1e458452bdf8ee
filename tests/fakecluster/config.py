"""Configuration objects (Istio, Gateway API, NetworkPolicy) and PodMetrics, as the apiserver serves them.

A scenario carries its objects as applied (`Scenario.config`); here they gain the server-set
metadata (uid, resourceVersion, creationTimestamp, generation) and are listed by kind. Which kinds
exist and at which versions follows `ztbundle.layout.CONFIG_RESOURCES`; a group named in
`Scenario.uninstalled_groups` is absent from discovery and its lists answer 404, as without the CRDs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.fakecluster.scenario import Role, Scenario, Service, stable_int, stable_uid

Obj = dict[str, Any]

# Versions the fake server serves per kind, newest first (as Istio 1.26 and Gateway API 1.2 do).
SERVED: dict[str, tuple[str, ...]] = {
    "AuthorizationPolicy": ("v1", "v1beta1"),
    "PeerAuthentication": ("v1", "v1beta1"),
    "RequestAuthentication": ("v1", "v1beta1"),
    "ServiceEntry": ("v1", "v1beta1", "v1alpha3"),
    "WorkloadEntry": ("v1", "v1beta1", "v1alpha3"),
    "Sidecar": ("v1", "v1beta1", "v1alpha3"),
    "DestinationRule": ("v1", "v1beta1", "v1alpha3"),
    "VirtualService": ("v1", "v1beta1", "v1alpha3"),
    "Telemetry": ("v1", "v1alpha1"),
    "GatewayClass": ("v1", "v1beta1"),
    "Gateway": ("v1", "v1beta1"),
    "HTTPRoute": ("v1", "v1beta1"),
    "GRPCRoute": ("v1",),
    "TCPRoute": ("v1alpha2",),
    "TLSRoute": ("v1alpha2",),
    "ReferenceGrant": ("v1beta1",),
    "NetworkPolicy": ("v1",),
    "MutatingWebhookConfiguration": ("v1",),
    "PodMetrics": ("v1beta1",),
}


def _with_server_fields(scn: Scenario, obj: Any) -> Obj:
    out: Obj = copy.deepcopy(dict(obj))
    m = out.setdefault("metadata", {})
    key = (out.get("kind", ""), m.get("namespace", ""), m.get("name", ""))
    m.setdefault("uid", stable_uid("config", *key))
    m.setdefault("resourceVersion", str(10_000 + stable_int("rv", *key) % 900_000))
    m.setdefault("creationTimestamp", (scn.now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    m.setdefault("generation", 1)
    return out


def of_kind(kind: str) -> Callable[[Scenario], list[Obj]]:
    """The scenario's objects of one kind, with server-set metadata."""
    if kind == "PodMetrics":
        return pod_metrics
    if kind == "MutatingWebhookConfiguration":
        return lambda s: (
            injection_webhooks(s) + [_with_server_fields(s, o) for o in s.config if o["kind"] == kind]
        )
    return lambda s: [_with_server_fields(s, o) for o in s.config if o.get("kind") == kind]


def injection_webhooks(scn: Scenario) -> list[Obj]:
    """istiod's sidecar injector, with the namespace and object selectors Istio's chart installs."""
    ns = scn.istio_namespace
    hook = {
        "admissionReviewVersions": ["v1"],
        "clientConfig": {"service": {"name": "istiod", "namespace": ns, "path": "/inject", "port": 443}},
        "failurePolicy": "Fail",
        "sideEffects": "None",
        "reinvocationPolicy": "Never",
        "rules": [
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}
        ],
    }
    return [
        _with_server_fields(
            scn,
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "MutatingWebhookConfiguration",
                "metadata": {
                    "name": "istio-sidecar-injector",
                    "labels": {"app": "sidecar-injector", "istio.io/rev": "default"},
                },
                "webhooks": [
                    hook
                    | {
                        "name": "namespace.sidecar-injector.istio.io",
                        "namespaceSelector": {
                            "matchExpressions": [
                                {"key": "istio-injection", "operator": "In", "values": ["enabled"]}
                            ]
                        },
                        "objectSelector": {
                            "matchExpressions": [
                                {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}
                            ]
                        },
                    },
                ],
            },
        )
    ]


def pod_metrics(scn: Scenario) -> list[Obj]:
    """metrics-server's PodMetrics for the Istio namespace's pods (ztunnel, istiod, istio-cni)."""
    out = []
    for pod in scn.pods:
        if pod.namespace != scn.istio_namespace or pod.role not in (Role.ZTUNNEL, Role.ISTIOD, Role.CNI):
            continue
        memory = scn.working_set.get(pod.name, "48Mi")
        out.append(
            {
                "apiVersion": "metrics.k8s.io/v1beta1",
                "kind": "PodMetrics",
                "metadata": {
                    "name": pod.name,
                    "namespace": pod.namespace,
                    "creationTimestamp": scn.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "labels": dict(pod.labels),
                },
                "timestamp": (scn.now - timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "window": "15.018s",
                "containers": [
                    {"name": c, "usage": {"cpu": "3m", "memory": memory if i == 0 else "8Mi"}}
                    for i, c in enumerate(pod.containers)
                ],
            }
        )
    return out


def waypoint_bound(scn: Scenario, svc: Service) -> Obj:
    """istiod's `istio.io/WaypointBound` condition on a Service that uses a waypoint (istio/istio#53845).

    True (`WaypointAccepted`) when the waypoint's pods run; False (`WaypointIsNotReady`) when it does
    not exist or is not ready (the reasons of istio/istio#59993). Nothing for a Service without one.
    """
    ns = next((n for n in scn.namespaces if n.name == svc.namespace), None)
    name = svc.labels.get("istio.io/use-waypoint") or (ns.labels.get("istio.io/use-waypoint") if ns else None)
    if not name or name == "none" or svc.labels.get("gateway.istio.io/managed"):
        return {}
    where = svc.labels.get("istio.io/use-waypoint-namespace") or svc.namespace
    ready = any(
        p.role is Role.WAYPOINT
        and p.namespace == where
        and p.labels.get("gateway.networking.k8s.io/gateway-name") == name
        and p.ready
        for p in scn.pods
    )
    when = (scn.now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if ready:
        cond = {
            "reason": "WaypointAccepted",
            "status": "True",
            "message": f"Successfully attached to waypoint {where}/{name}",
        }
    else:
        cond = {
            "reason": "WaypointIsNotReady",
            "status": "False",
            "message": f"waypoint {where}/{name} does not exist or is not ready",
        }
    return {"conditions": [{"lastTransitionTime": when, "type": "istio.io/WaypointBound", **cond}]}
