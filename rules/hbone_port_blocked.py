"""HBONE connections to port 15008 of a pod time out: something blocks port 15008.

Cross-node ambient traffic is tunnelled to the destination pod's port 15008; a
NetworkPolicy, security group or firewall that allows the application port
but not 15008 makes those connections hang and time out.

Evidence:
    ztunnel access logs (outbound) with `error="connection timed out, maybe a
    NetworkPolicy is blocking HBONE port 15008"`, or the older `deadline has
    elapsed` with dst.addr on port 15008, for a destination pod that still
    exists and is not terminating (a deleted destination also times out).
    The lines are weighed by recency and rate within the capture window:
    one timeout a minute before collection is enough, the same line hours old
    is history (a line's weight halves for every 10 min it predates
    collection). The finding quotes the newest lines as `<member>:<line>`.

Fix:
    Allow TCP 15008 to ambient pods wherever their application ports are allowed.
    Offline: `ztbundle logs BUNDLE --workload <pod> --errors` shows the timeouts
    (the ztunnels named in the message carry them).
    Live: `kubectl get networkpolicy -n <dst-namespace>` (and cloud security
    groups / host firewalls), then `kubectl logs -n istio-system -l app=ztunnel
    | grep 15008`.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Component, Input, LogEvent, ObjectRef, Pod
from rules import Hit, Rule, Severity
from rules._logscan import Sighting, destination_pod, find, weigh

RULE = Rule(
    code="ZT601",
    name="hbone-port-blocked",
    severity=Severity.ERROR,
    needs=frozenset({Input.ZTUNNEL_LOGS, Input.PODS}),
    doc=__doc__,
    next_steps=("ztbundle logs {bundle} --workload {name} --errors",),
)

HINT = "maybe a NetworkPolicy is blocking HBONE port 15008"
LEGACY = "deadline has elapsed"


def _timeout(event: LogEvent) -> bool:
    if event.target != "access" or event.fields.get("direction", "outbound") != "outbound":
        return False
    error = event.fields.get("error", "")
    return HINT in error or (LEGACY in error and event.fields.get("dst.addr", "").endswith(":15008"))


def check(bundle: Bundle) -> Iterator[Hit]:
    by_pod: dict[ObjectRef, tuple[Pod, list[Sighting]]] = {}
    for s in find(bundle.logs_of(Component.ZTUNNEL), [HINT, LEGACY], _timeout):
        pod = destination_pod(bundle, s)
        if pod is None or pod.deleting or pod.terminal:
            continue  # destination gone: a timeout is expected then
        by_pod.setdefault(pod.ref, (pod, []))[1].append(s)
    for pod, seen in by_pod.values():
        w = weigh(seen, bundle.now)
        if not w.live():
            continue  # old or rare: history, not a live block
        sources = ", ".join(sorted({s.file.pod for s in seen}))
        yield Hit(
            subject=pod.ref,
            message=(
                f"HBONE connections to {pod.ip}:15008 (node {pod.node}) timed out "
                f"{w.describe()}, seen by ztunnel(s) {sources}"
                f"; {w.newest}"
            ),
            evidence=w.evidence,
            node=pod.node,
        )
