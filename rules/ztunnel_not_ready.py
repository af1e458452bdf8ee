"""A ztunnel pod is Running but not Ready.

ztunnel reports ready only after its first xDS response, its connection to
the istio-cni node agent and its proxy tasks are up; while not ready, new
ambient pods on its node fail to start or run unproxied.

Evidence:
    A non-terminating pod labelled app=ztunnel is in phase Running with its
    Ready condition not True, and it started before the capture window.
    Crash-looping pods are left to ZT501.

Fix:
    Fix what the readiness probe waits for: istio-cni or the xDS connection.
    Offline: `ztbundle logs BUNDLE --ztunnel <pod> --errors`. Live: `kubectl
    describe pod -n istio-system <ztunnel-pod>` shows the probe (`not ready,
    pending: <tasks>`); `failed to connect to the Istio CNI node agent` → restart
    the istio-cni pod on that node; `XDS client connection error` → see ZT405.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input, ObjectRef
from rules import Explains, Hit, Rule, Scope, Severity

RULE = Rule(
    code="ZT502",
    name="ztunnel-not-ready",
    severity=Severity.ERROR,
    needs=frozenset({Input.PODS}),
    doc=__doc__,
    grid_columns=frozenset({"ztunnel"}),
    explains=(
        Explains.of(Scope.NODE, "ZT101", "ZT201", "ZT202", "ZT302", "ZT601", "ZT304", "ZT604", "ZT605"),
        Explains.of(Scope.ZTUNNEL, "ZT401", "ZT402", "ZT403", "ZT102", "ZT602", "ZT406"),
    ),
    priority=30,
    outage=Scope.NODE,  # no ambient pod on the node has a working data plane
    next_steps=("ztbundle logs {bundle} --ztunnel {ztunnel} --errors",),
)


def check(bundle: Bundle) -> Iterator[Hit]:
    for pod in bundle.pods:
        if pod.labels.get("app") != "ztunnel" or pod.deleting or pod.phase != "Running" or pod.ready:
            continue
        started = pod.started_at or pod.created_at
        if not bundle.settled(started):
            continue  # still starting (guard: settle window)
        if any(c.reason == "CrashLoopBackOff" for c in pod.containers):
            continue  # ZT501 reports crash loops
        unready = ", ".join(c.name for c in pod.containers if not c.ready) or "none listed"
        since = f"{started:%Y-%m-%dT%H:%M:%SZ}" if started else "an unknown time"
        ref = ObjectRef("Ztunnel", pod.namespace, pod.name)
        state = f"started {since}; unready: {unready}"
        yield Hit(
            subject=ref,
            message=f"{ref} on node {pod.node} is Running but not Ready ({state})",
            evidence=(bundle.list_path(Input.PODS),),
            node=pod.node,
            ztunnel=pod.name,
        )
