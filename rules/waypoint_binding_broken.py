"""`istio.io/use-waypoint` names a Gateway that is missing, not a waypoint, or unused by ztunnel.

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
    or unready is ZT504's finding, which this one explains. When the waypoint is
    a Programmed `istio-waypoint` Gateway, each ztunnel config_dump's copy of a
    labelled Service (`<name>.<ns>.svc.cluster.local`) that has no `waypoint`
    is named: ztunnel then bypasses the waypoint for it.

Fix:
    Create the waypoint Gateway the label names, or correct the label.
    Offline: `ztbundle ztunnel-config BUNDLE services` shows which services have a
    waypoint. Live: `kubectl get gateway -n <ns> <name> -o yaml`, or
    `istioctl waypoint apply -n <ns> --name <name>`.
"""

from collections.abc import Iterator

from analyzer.model import WAYPOINT_CLASS, Bundle, Input, ObjectRef
from rules import Explains, Hit, Rule, Scope, Severity
from rules._waypoints import USE, target, waypoint_users

RULE = Rule(
    code="ZT702",
    name="waypoint-binding-broken",
    severity=Severity.ERROR,
    needs=frozenset(
        {
            Input.GATEWAYS,
            Input.NAMESPACES,
            Input.SERVICES,
            Input.PODS,
            Input.SERVICE_ENTRIES,
            Input.ZTUNNEL_CONFIG,
        }
    ),
    doc=__doc__,
    explains=(Explains.of(Scope.SUBJECT, "ZT504"),),
    priority=40,
    next_steps=("ztbundle ztunnel-config {bundle} services",),
)


def _bypassed(bundle: Bundle, ns: str, name: str) -> tuple[list[str], tuple[str, ...]]:
    """Labelled Services whose copy in some ztunnel has no waypoint, and those ztunnels' dumps."""
    labelled = [
        s
        for s in bundle.services
        if target(s.labels, s.ref.namespace) == (ns, name)
        or (
            USE not in s.labels
            and (n := bundle.namespaces.get(s.ref.namespace)) is not None
            and target(n.labels, n.name) == (ns, name)
        )
    ]
    missing: dict[str, None] = {}
    dumps: dict[str, None] = {}
    for z in bundle.ztunnels:
        if not z.available:
            continue
        for svc in labelled:
            key = f"{svc.ref.namespace}/{svc.ref.name}.{svc.ref.namespace}.svc.cluster.local"
            copy = z.services.get(key)
            if copy is not None and not copy.waypoint:
                missing[str(svc.ref)] = None
                dumps[z.config_dump_path] = None
    return list(missing), tuple(dumps)


def check(bundle: Bundle) -> Iterator[Hit]:
    for (ns, name), users in sorted(waypoint_users(bundle, service_entries=True).items()):
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
            services, dumps = _bypassed(bundle, ns, name)
            if not services:
                continue
            shown_services = ", ".join(services[:3])
            problem = f"is Programmed, but {len(dumps)} ztunnel(s) hold {shown_services} without a waypoint"
            evidence = (gw.path, *dumps[:3])
        yield Hit(
            subject=ObjectRef("Gateway", ns, name),
            message=f"waypoint Gateway {ns}/{name} used by {shown} {problem}",
            evidence=evidence,
        )
