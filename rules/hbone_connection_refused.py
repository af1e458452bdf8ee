"""Connections to a pod's HBONE port 15008 are refused: nothing listens there for it.

ztunnel tunnels ambient traffic to the destination pod's port 15008, where the
destination node's ztunnel runs an in-pod listener for every enrolled pod. A
refusal means that listener is missing: the pod is advertised as HBONE but its
node's ztunnel has no in-pod proxy for it (the sandbox was recreated, a
reconcile was skipped), or it is a sidecar pod that does not accept HBONE.

Evidence:
    ztunnel access logs (outbound) whose `error` contains `Connection refused
    (os error 111)` with `dst.addr` on port 15008, for a destination pod
    (dst.workload, else the pod holding the dst.addr IP) that still exists and
    is not terminating (a deleted pod refuses too). The lines are weighed by
    recency and rate within the capture window (a line's weight halves for
    every 10 min it predates collection): one refusal a minute before
    collection is enough, the same line hours old is history. The finding
    quotes the newest lines as `<member>:<line>`.

Fix:
    Re-enrol the destination pod so its in-pod proxy listens on 15008 again.
    Offline: `ztbundle logs BUNDLE --ztunnel <ztunnel> --errors`, then `ztbundle
    ztunnel-config BUNDLE workloads --node <node>` (ZT302 when its in-pod proxy is
    missing). Live: `kubectl -n <ns> delete pod <pod>` and `istioctl
    ztunnel-config workloads --node <node>`. A sidecar destination needs HBONE
    enabled or the client out of ambient.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Component, Input, LogEvent, ObjectRef, Pod
from rules import Hit, Rule, Severity
from rules._logscan import Sighting, destination_pod, find, weigh

RULE = Rule(
    code="ZT604",
    name="hbone-connection-refused",
    severity=Severity.ERROR,
    needs=frozenset({Input.ZTUNNEL_LOGS, Input.PODS}),
    doc=__doc__,
    next_steps=("ztbundle logs {bundle} --workload {name} --errors",),
)

REFUSED = "Connection refused (os error 111)"


def _refused(event: LogEvent) -> bool:
    if event.target != "access" or event.fields.get("direction", "outbound") != "outbound":
        return False
    return REFUSED in event.fields.get("error", "") and event.fields.get("dst.addr", "").endswith(":15008")


def check(bundle: Bundle) -> Iterator[Hit]:
    by_pod: dict[ObjectRef, tuple[Pod, list[Sighting]]] = {}
    for s in find(bundle.logs_of(Component.ZTUNNEL), [REFUSED], _refused):
        pod = destination_pod(bundle, s)
        if pod is None or pod.deleting or pod.terminal:
            continue  # destination gone: a refusal is expected then
        by_pod.setdefault(pod.ref, (pod, []))[1].append(s)
    for pod, seen in sorted(by_pod.values(), key=lambda v: str(v[0].ref)):
        w = weigh(seen, bundle.now)
        if not w.live():
            continue
        sources = ", ".join(sorted({s.file.pod for s in seen}))
        yield Hit(
            subject=pod.ref,
            message=(
                f"HBONE connections to {pod.ip}:15008 (node {pod.node}) were refused {w.describe()}, "
                f"seen by ztunnel(s) {sources}"
                f"; {w.newest}"
            ),
            evidence=w.evidence,
            node=pod.node,
        )
