"""A ztunnel's memory is near its limit, or it was OOMKilled and restarted.

ztunnel exports no memory metric of its own; the kubelet kills a container
that exceeds its memory limit, dropping every connection of every pod on the
node. One OOM kill is a warning before the crash loop.

Evidence:
    metrics-server's PodMetrics for the ztunnel pod (config list, Istio
    namespace): a container's working set at 90 % or more of its
    `resources.limits.memory` (cluster pod list); or the container's last
    termination reason `OOMKilled` while it runs again (not yet in
    CrashLoopBackOff, which is ZT501's).

Fix:
    Raise the ztunnel memory limit, or find what holds its connections.
    Offline: `ztbundle metrics BUNDLE --ztunnel <pod>` shows its connection counts.
    Live: `kubectl top pod -n istio-system -l app=ztunnel` and the ztunnel chart's
    `resources.limits.memory`.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input, ObjectRef
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT708",
    name="ztunnel-memory-pressure",
    severity=Severity.WARNING,
    needs=frozenset({Input.PODS, Input.POD_METRICS}),
    doc=__doc__,
    next_steps=("ztbundle metrics {bundle} --ztunnel {ztunnel}",),
)

NEAR = 0.9


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.0f}Mi"


def check(bundle: Bundle) -> Iterator[Hit]:
    usage = {(m.ref.namespace, m.ref.name): m for m in bundle.pod_metrics}
    for pod in bundle.pods:
        if pod.labels.get("app") != "ztunnel" or pod.terminal:
            continue
        said = []
        metrics = usage.get((pod.namespace, pod.name))
        for container, limit in sorted(pod.memory_limits.items()):
            used = metrics.memory.get(container) if metrics else None
            if used is not None and limit and used >= NEAR * limit:
                said.append(
                    f"{container} working set {_mib(used)} of its {_mib(limit)} limit ({used / limit:.0%})"
                )
        for c in pod.containers:
            if c.last_reason == "OOMKilled" and c.state == "running":
                said.append(f"{c.name} was OOMKilled and runs again ({c.restarts} restart(s))")
        if not said:
            continue
        evidence = (bundle.list_path(Input.PODS),) + ((metrics.path,) if metrics else ())
        yield Hit(
            subject=ObjectRef("Ztunnel", pod.namespace, pod.name),
            message=f"ztunnel {pod.namespace}/{pod.name} on {pod.node}: {'; '.join(said)}",
            evidence=evidence,
            node=pod.node,
            ztunnel=pod.name,
        )
