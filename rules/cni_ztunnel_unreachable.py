"""istio-cni cannot hand new pods to its node's ztunnel, so they are not enrolled.

istio-cni redirects a new ambient pod's traffic, then sends the pod to the
node's ztunnel over a local socket. With no ztunnel connected (ztunnel down,
crash-looping, or not yet connected after a restart) the add is partial: the
pod is annotated `pending`, its traffic is redirected to nothing, and pod
sandbox creation can fail with a CNI error 500.

Evidence:
    istio-cni log lines `no ztunnel connection`, `failed to add pod to
    ztunnel: pod partially added, annotating with pending status`, `pod:
    <ns>/<pod> was not enrolled and is unhealthy` and `Unable to send pod to
    ztunnel. Will retry`, one finding per istio-cni pod (its node from the pod
    list), when they weigh enough by recency and rate within the capture
    window (a line's weight halves for every 10 min it predates collection):
    the lines of a ztunnel restart an hour ago stay quiet. The pods named in
    the lines (`pod: <ns>/<name>`, `ns=` and `name=` labels) are listed; the
    finding quotes the newest lines as `<member>:<line>`.

Fix:
    Get the node's ztunnel running; istio-cni then retries on its own.
    Offline: `ztbundle logs BUNDLE --ztunnel <ztunnel> --errors` and its previous
    log in `ztbundle extract BUNDLE out/` (ZT501/ZT502/ZT103 say whether it
    crashes, is not ready or is missing). Restart pods still `pending` after
    that. Live: `kubectl -n istio-system logs <istio-cni-pod> | grep -i ztunnel`.
"""

import re
from collections.abc import Iterator

from analyzer.model import Bundle, Component, Input, LogEvent, LogFile, ObjectRef
from rules import Explains, Hit, Rule, Scope, Severity
from rules._logscan import Sighting, find, weigh

RULE = Rule(
    code="ZT304",
    name="cni-ztunnel-unreachable",
    severity=Severity.ERROR,
    needs=frozenset({Input.CNI_LOGS, Input.PODS}),
    doc=__doc__,
    grid_columns=frozenset({"cni"}),
    explains=(Explains.of(Scope.NODE, "ZT301", "ZT302", "ZT303"),),
    priority=50,
    next_steps=("ztbundle ztunnel-config {bundle} workloads --workload-node {node}",),
)

NO_CONNECTION = "no ztunnel connection"
PARTIAL = "pod partially added"
UNHEALTHY = "was not enrolled and is unhealthy"
RETRY = "Unable to send pod to ztunnel. Will retry"
SIGNATURES = (NO_CONNECTION, PARTIAL, UNHEALTHY, RETRY)
SHOWN = 5
_NAMED = re.compile(r"pod: ([a-z0-9-]+)/(\S+) was not enrolled")


def _signature(event: LogEvent) -> bool:
    return any(n in event.message for n in SIGNATURES)


def _pod_named(event: LogEvent) -> str | None:
    m = _NAMED.search(event.message)
    if m:
        return f"{m.group(1)}/{m.group(2)}"
    ns, name = event.fields.get("ns"), event.fields.get("name")
    return f"{ns}/{name}" if ns and name else event.fields.get("pod")


def check(bundle: Bundle) -> Iterator[Hit]:
    by_cni: dict[str, tuple[LogFile, list[Sighting]]] = {}
    for s in find(bundle.logs_of(Component.CNI), SIGNATURES, _signature):
        by_cni.setdefault(s.file.pod, (s.file, []))[1].append(s)
    for cni, (log, seen) in sorted(by_cni.items()):
        w = weigh(seen, bundle.now)
        if not w.live():
            continue  # an old burst (a ztunnel restart long ago) is history
        pod = bundle.pod_by_name(log.namespace or "istio-system", cni)
        node = pod.node if pod else None
        named = sorted({p for s in seen if (p := _pod_named(s.event))})
        pods = ", ".join(named[:SHOWN]) + (f" (+{len(named) - SHOWN} more)" if len(named) > SHOWN else "")
        no_conn = sum(1 for s in seen if NO_CONNECTION in s.event.message)
        own = ObjectRef("Pod", log.namespace or "istio-system", cni)
        yield Hit(
            subject=ObjectRef("Node", "", node) if node else own,
            message=(
                f"istio-cni {cni} could not hand pods to a ztunnel {w.describe()}"
                f"{f' ({no_conn} with no ztunnel connection)' if no_conn else ''}"
                f"{f'; pods left unenrolled: {pods}' if pods else ''}"
                f"; {w.newest}"
            ),
            evidence=w.evidence,
            node=node,
        )
