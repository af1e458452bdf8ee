"""A pod is stuck half-enrolled: istio-cni redirected it but no ztunnel accepted it.

The `pending` annotation means the pod's traffic is already redirected while
no ztunnel proxies it, so the pod has no connectivity at all; new pods on the
same node typically fail sandbox creation with `no ztunnel connection`.

Evidence:
    The pod is annotated `ambient.istio.io/redirection=pending`, has an IP, is
    selected for ambient and older than the capture window. Skipped when the
    node's ztunnel pod started within the capture window (a ztunnel restart
    briefly leaves pods pending). The message states the node's ztunnel
    (absent, not Running/Ready, restart count) from the pod list.

Fix:
    Get the node's ztunnel Running and Ready; istio-cni then retries on its own.
    Offline: `ztbundle ztunnel-config BUNDLE workloads --node <node>`. Live:
    `kubectl -n istio-system get pods -l app=ztunnel -o wide` and `kubectl logs
    -n istio-system -l k8s-app=istio-cni-node | grep -E "no ztunnel
    connection|pending status"`. Pods still pending after that must be restarted.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input, Pod
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT303",
    name="cni-enrollment-pending",
    severity=Severity.ERROR,
    needs=frozenset({Input.PODS, Input.NAMESPACES}),
    doc=__doc__,
    grid_columns=frozenset({"cni"}),
    next_steps=("ztbundle ztunnel-config {bundle} workloads --workload-node {node}",),
)


def _node_ztunnel(bundle: Bundle, node: str) -> Pod | None:
    """The node's current ztunnel pod: non-terminating first, then the newest (guard: current ztunnel)."""
    pods = [p for p in bundle.pods_on(node) if p.labels.get("app") == "ztunnel"]
    pods.sort(key=lambda p: (p.deleting, -(p.created_at.timestamp() if p.created_at else 0.0)))
    return pods[0] if pods else None


def _ztunnel_status(zpod: Pod | None, node: str) -> str:
    if zpod is None:
        return f"node {node} has no ztunnel pod"
    parts = [f"phase {zpod.phase}", "Ready" if zpod.ready else "not Ready"]
    if zpod.restarts:
        parts.append(f"{zpod.restarts} restart(s)")
    if zpod.deleting:
        parts.append("terminating")
    return f"the node's ztunnel {zpod.ref} is {', '.join(parts)}"


def check(bundle: Bundle) -> Iterator[Hit]:
    for pod in bundle.ambient_pods():
        if pod.redirection != "pending":
            continue
        assert pod.node is not None  # ambient_pods() only yields scheduled pods
        zpod = _node_ztunnel(bundle, pod.node)
        if zpod is not None and not bundle.settled(zpod.started_at or zpod.created_at):
            continue  # a ztunnel (re)starting inside the capture window leaves pods briefly pending
        yield Hit(
            subject=pod.ref,
            message=(
                f"{pod.ref} ({pod.ip}, phase {pod.phase}) on node {pod.node} is annotated "
                f"ambient.istio.io/redirection=pending: its traffic is redirected but no ztunnel "
                f"proxies it; {_ztunnel_status(zpod, pod.node)}"
            ),
            evidence=(bundle.list_path(Input.PODS),),
            node=pod.node,
            ztunnel=zpod.name if zpod else None,
        )
