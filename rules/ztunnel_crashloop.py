"""A ztunnel pod is crash-looping or restarting repeatedly.

Every ztunnel restart resets all long-lived connections of the ambient pods on
its node, and while it is down new ambient pods there cannot start.

Evidence:
    A non-terminating pod labelled app=ztunnel has a container waiting in
    CrashLoopBackOff, a container terminated (now, or in its last run per
    lastState) with OOMKilled or Error, or three or more restarts in the pod
    list. A single restart that ended cleanly is not reported.

Fix:
    Find why the ztunnel died, then fix its memory limit or the crash.
    Offline: `ztbundle logs BUNDLE --ztunnel <pod> --previous --errors` reads the
    log of the run that died (a panic shows as `panicked at`). Live: `kubectl
    describe pod -n istio-system <ztunnel-pod>` (Last State: OOMKilled → raise
    the memory limit and check ztunnel memory issues for your version).
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input, ObjectRef
from rules import Explains, Hit, Rule, Scope, Severity

RULE = Rule(
    code="ZT501",
    name="ztunnel-crashloop",
    severity=Severity.ERROR,
    needs=frozenset({Input.PODS}),
    doc=__doc__,
    grid_columns=frozenset({"ztunnel"}),
    explains=(
        Explains.of(Scope.NODE, "ZT101", "ZT201", "ZT202", "ZT302", "ZT601", "ZT304", "ZT604", "ZT605"),
        Explains.of(Scope.ZTUNNEL, "ZT502", "ZT401", "ZT402", "ZT403", "ZT102", "ZT602", "ZT406"),
    ),
    priority=10,
    outage=Scope.NODE,  # no ambient pod on the node has a working data plane
    next_steps=(
        "ztbundle logs {bundle} --ztunnel {ztunnel} --previous --errors",
        "ztbundle ztunnel-config {bundle} workloads --ztunnel {ztunnel}",
    ),
)

MIN_RESTARTS = 3
CRASH_REASONS = frozenset({"OOMKilled", "Error"})


def check(bundle: Bundle) -> Iterator[Hit]:
    for pod in bundle.pods:
        if pod.labels.get("app") != "ztunnel" or pod.deleting:
            continue
        facts = []
        for c in pod.containers:
            if c.state == "waiting" and c.reason == "CrashLoopBackOff":
                facts.append(
                    f"container {c.name} is waiting in CrashLoopBackOff after {c.restarts} restart(s)"
                )
            elif c.state == "terminated" and c.reason in CRASH_REASONS:
                facts.append(f"container {c.name} terminated with {c.reason} ({c.restarts} restart(s))")
            elif c.restarts > 0 and c.last_reason in CRASH_REASONS:
                facts.append(f"container {c.name} restarted {c.restarts} time(s), last exit {c.last_reason}")
            elif c.restarts >= MIN_RESTARTS:
                facts.append(f"container {c.name} restarted {c.restarts} times")
        if facts:
            ref = ObjectRef("Ztunnel", pod.namespace, pod.name)
            yield Hit(
                subject=ref,
                message=f"{ref} on node {pod.node}: " + "; ".join(facts),
                evidence=(bundle.list_path(Input.PODS),),
                node=pod.node,
                ztunnel=pod.name,
            )
