"""istio-cni failed to install or reconcile a pod's in-pod traffic redirection.

istio-cni writes iptables (or nftables) rules inside each ambient pod's network
namespace so its traffic goes to ztunnel. When that fails (the netns is gone
after a sandbox was recreated, a rule conflicts), the pod keeps running with
missing or stale redirection: its traffic bypasses ztunnel or goes nowhere.

Evidence:
    istio-cni log lines `failed to update POD inpod: <ns>/<pod> <error>` and
    `failed to reconcile inpod rules for pod, try restarting the pod, or
    removing and re-adding it to the mesh` (with `ns=`/`name=` labels), for a
    pod that still exists and is not terminating, when they weigh enough by
    recency and rate within the capture window (a line's weight halves for
    every 10 min it predates collection). The finding quotes the newest lines
    as `<member>:<line>`.

Fix:
    Restart the pod so istio-cni sets up its redirection from scratch.
    Offline: `ztbundle extract BUNDLE out/` then `grep -n inpod
    out/cni/*/logs/*.log`. Live: `kubectl -n <ns> delete pod <pod>`, then confirm
    with `istioctl ztunnel-config workloads --node <node>` that it is HBONE again.
"""

import re
from collections.abc import Iterator

from analyzer.model import Bundle, Component, Input, LogEvent, ObjectRef, Pod
from rules import Explains, Hit, Rule, Scope, Severity
from rules._logscan import Sighting, find, weigh

RULE = Rule(
    code="ZT305",
    name="cni-inpod-rules-failed",
    severity=Severity.ERROR,
    needs=frozenset({Input.CNI_LOGS, Input.PODS}),
    doc=__doc__,
    grid_columns=frozenset({"pods"}),
    explains=(Explains.of(Scope.SUBJECT, "ZT302", "ZT604"),),
    priority=50,
    next_steps=("ztbundle ztunnel-config {bundle} workloads --node {node}",),
)

UPDATE = "failed to update POD inpod"
RECONCILE = "failed to reconcile inpod rules for pod"
_UPDATE = re.compile(r"failed to update POD inpod: ([a-z0-9-]+)/(\S+) ?(.*)$")


def _signature(event: LogEvent) -> bool:
    return event.message.startswith((UPDATE, RECONCILE))


def _target(s: Sighting) -> tuple[str, str, str] | None:
    """(namespace, pod, error) of a failure line."""
    m = _UPDATE.match(s.event.message)
    if m:
        return m.group(1), m.group(2), m.group(3)
    ns, name = s.field("ns"), s.field("name")
    error = s.event.message.rpartition("re-adding it to the mesh: ")[2]
    return (ns, name, error) if ns and name else None


def check(bundle: Bundle) -> Iterator[Hit]:
    groups: dict[ObjectRef, tuple[Pod, list[Sighting], set[str]]] = {}
    for s in find(bundle.logs_of(Component.CNI), [UPDATE, RECONCILE], _signature):
        target = _target(s)
        pod = bundle.pod_by_name(target[0], target[1]) if target else None
        if target is None or pod is None or pod.deleting or pod.terminal:
            continue  # a pod that is gone needs no redirection
        entry = groups.setdefault(pod.ref, (pod, [], set()))
        entry[1].append(s)
        if target[2]:
            entry[2].add(target[2])
    for pod, seen, errors in sorted(groups.values(), key=lambda v: str(v[0].ref)):
        w = weigh(seen, bundle.now)
        if not w.live():
            continue
        reconcile = any(RECONCILE in s.event.message for s in seen)
        what = "reconcile" if reconcile else "install"
        yield Hit(
            subject=pod.ref,
            message=(
                f"istio-cni {', '.join(sorted({s.file.pod for s in seen}))} failed to {what} the in-pod "
                f"redirection on node {pod.node} {w.describe()}"
                + (f": {'; '.join(sorted(errors)[:2])}" if errors else "")
                + f"; {w.newest}"
            ),
            evidence=w.evidence,
            node=pod.node,
        )
