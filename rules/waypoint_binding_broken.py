"""`istio.io/use-waypoint` names a Gateway that is missing, not a waypoint, or not Programmed.

istiod binds a namespace, service, pod or ServiceEntry to the waypoint its
`istio.io/use-waypoint` label names (in `istio.io/use-waypoint-namespace`, else
the object's own namespace). When that Gateway does not exist, is not of class
`istio-waypoint`, or is not Programmed, istiod does not bind it: ztunnel sends
the traffic straight to the destination and the waypoint's L7 policy and
routing are bypassed.

Evidence:
    The label on a Namespace, Service or Pod (cluster lists) or ServiceEntry
    (config list), and the Gateway list: the named Gateway is absent, its
    `gatewayClassName` is not `istio-waypoint`, or its `Programmed` condition
    is not True (reason and message quoted). A waypoint whose pods are missing
    or unready is ZT504's finding, which this one explains.

Fix:
    Create the waypoint Gateway the label names, or correct the label.
    Offline: `ztbundle ztunnel-config BUNDLE services` shows which services have a
    waypoint. Live: `kubectl get gateway -n <ns> <name> -o yaml`, or
    `istioctl waypoint apply -n <ns> --name <name>`.
"""

from collections.abc import Iterator, Mapping

from analyzer.model import WAYPOINT_CLASS, Bundle, Input, ObjectRef
from rules import Explains, Hit, Rule, Scope, Severity

RULE = Rule(
    code="ZT702",
    name="waypoint-binding-broken",
    severity=Severity.ERROR,
    needs=frozenset({Input.GATEWAYS, Input.NAMESPACES, Input.SERVICES, Input.PODS, Input.SERVICE_ENTRIES}),
    doc=__doc__,
    explains=(Explains.of(Scope.SUBJECT, "ZT504"),),
    priority=40,
    next_steps=("ztbundle ztunnel-config {bundle} services",),
)

USE = "istio.io/use-waypoint"
USE_NS = "istio.io/use-waypoint-namespace"
GATEWAY_LABEL = "gateway.networking.k8s.io/gateway-name"


def _target(labels: Mapping[str, str], own_ns: str) -> tuple[str, str] | None:
    name = labels.get(USE)
    if not name or name == "none":
        return None
    return (labels.get(USE_NS) or own_ns, name)


def _users(bundle: Bundle) -> dict[tuple[str, str], list[str]]:
    users: dict[tuple[str, str], list[str]] = {}
    for ns in bundle.namespaces.values():
        if t := _target(ns.labels, ns.name):
            users.setdefault(t, []).append(f"Namespace {ns.name}")
    for svc in bundle.services:
        if t := _target(svc.labels, svc.ref.namespace):
            users.setdefault(t, []).append(str(svc.ref))
    for se in bundle.service_entries:
        if t := _target(se.labels, se.ref.namespace):
            users.setdefault(t, []).append(str(se.ref))
    for pod in bundle.pods:
        if pod.terminal or pod.deleting or GATEWAY_LABEL in pod.labels:
            continue
        if t := _target(pod.labels, pod.namespace):
            users.setdefault(t, []).append(str(pod.ref))
    return users


def check(bundle: Bundle) -> Iterator[Hit]:
    for (ns, name), users in sorted(_users(bundle).items()):
        gw = bundle.gateway_named(ns, name)
        shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
        evidence: tuple[str, ...] = (bundle.list_path(Input.NAMESPACES), bundle.list_path(Input.SERVICES))
        if gw is None:
            problem = "does not exist"
        elif not gw.is_waypoint:
            problem, evidence = f"has gatewayClassName {gw.class_name!r}, not {WAYPOINT_CLASS!r}", (gw.path,)
        elif not gw.programmed:
            c = gw.condition("Programmed")
            why = f"Programmed={c.status} ({c.reason}: {c.message})" if c else "no Programmed condition"
            problem, evidence = f"is not Programmed: {why}", (gw.path,)
        else:
            continue
        yield Hit(
            subject=ObjectRef("Gateway", ns, name),
            message=f"waypoint Gateway {ns}/{name} used by {shown} {problem}",
            evidence=evidence,
        )
