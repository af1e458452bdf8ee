"""A namespace, service or pod uses a waypoint that has no pods, no Ready pod, or no Service.

istiod silently omits a waypoint it cannot find or that is not ready, so
ztunnel sends the traffic straight to the destination and the waypoint's L7
policies (AuthorizationPolicy with HTTP rules, routing) are bypassed.

Evidence:
    A Namespace, Service or Pod carries `istio.io/use-waypoint=<name>` (not
    `none`; the waypoint lives in `istio.io/use-waypoint-namespace` or the
    object's own namespace), but the pod list has no non-terminating pod
    labelled `gateway.networking.k8s.io/gateway-name=<name>` in that
    namespace, none of them is Ready, or there is no Service of that name.
    Waypoint pods that all started inside the capture window (rollout) are
    not judged.

Fix:
    Create the waypoint or fix the label that names it.
    Offline: `ztbundle ztunnel-config BUNDLE services` shows which services
    point at it. Live: `kubectl get gateway -n <ns> <name>` and `kubectl get pods
    -n <ns> -l gateway.networking.k8s.io/gateway-name=<name>`; create it with
    `istioctl waypoint apply -n <ns> --name <name>`.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input, ObjectRef, Pod
from rules import Hit, Rule, Severity
from rules._waypoints import GATEWAY, waypoint_users

RULE = Rule(
    code="ZT504",
    name="waypoint-missing-or-unready",
    severity=Severity.WARNING,
    needs=frozenset({Input.NAMESPACES, Input.PODS, Input.SERVICES}),
    doc=__doc__,
    next_steps=("ztbundle ztunnel-config {bundle} services",),
)


def _problem(bundle: Bundle, pods: list[Pod], has_service: bool) -> str | None:
    live = [p for p in pods if not p.terminal and not p.deleting]
    problems = []
    if not live:
        problems.append("has no pods")
    elif not any(p.ready for p in live):
        if not any(bundle.settled(p.started_at or p.created_at) for p in live):
            return None  # rolling out right now (guard: settle window)
        problems.append(f"has 0 of {len(live)} pod(s) Ready")
    if not has_service:
        problems.append("has no Service")
    return " and ".join(problems) or None


def check(bundle: Bundle) -> Iterator[Hit]:
    services = {(s.ref.namespace, s.ref.name) for s in bundle.services}
    for (ns, name), users in sorted(waypoint_users(bundle).items()):
        pods = [p for p in bundle.pods if p.namespace == ns and p.labels.get(GATEWAY) == name]
        problem = _problem(bundle, pods, (ns, name) in services)
        if problem is None:
            continue
        shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
        yield Hit(
            subject=ObjectRef("Gateway", ns, name),
            message=f"waypoint {ns}/{name} used by {shown} {problem}",
            evidence=(
                bundle.list_path(Input.NAMESPACES),
                bundle.list_path(Input.SERVICES),
                bundle.list_path(Input.PODS),
            ),
        )
