"""A node running ambient pods has no running ztunnel or istio-cni pod.

Without istio-cni new ambient pods on the node cannot start or are not
captured; without ztunnel captured pods are cut off from the network.

Evidence:
    The node is Ready, schedulable, Linux, not virtual (virtual-kubelet,
    Fargate) and older than the capture window, it hosts at least one ambient
    pod, and the pod list shows no Running, non-terminating pod labelled
    app=ztunnel and/or k8s-app=istio-cni-node on it.

Fix:
    Get the ztunnel and istio-cni DaemonSets scheduled on the node.
    Offline: `ztbundle ztunnel-config BUNDLE workloads --workload-node <node>`
    lists the pods left without a proxy. Live: `kubectl -n istio-system describe
    ds` — tolerations for the node's taints, a nodeSelector that excludes it,
    image pull errors, or (GKE) a missing ResourceQuota for the
    system-node-critical priority class outside kube-system.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input, Pod
from rules import Explains, Hit, Rule, Scope, Severity

RULE = Rule(
    code="ZT103",
    name="node-missing-ztunnel-or-cni",
    severity=Severity.ERROR,
    needs=frozenset({Input.NODES, Input.PODS, Input.NAMESPACES}),
    doc=__doc__,
    grid_columns=frozenset({"ztunnel", "cni"}),
    explains=(Explains.of(Scope.NODE, "ZT101", "ZT301", "ZT302", "ZT303", "ZT601", "ZT304", "ZT604"),),
    priority=10,
    outage=Scope.NODE,  # no ambient pod on the node has a working data plane
    next_steps=("ztbundle ztunnel-config {bundle} workloads --workload-node {name}",),
)


def _running(pods: list[Pod]) -> bool:
    return any(p.phase == "Running" and not p.deleting for p in pods)


def check(bundle: Bundle) -> Iterator[Hit]:
    ambient_nodes: dict[str, int] = {}
    for pod in bundle.ambient_pods():
        ambient_nodes[pod.node or ""] = ambient_nodes.get(pod.node or "", 0) + 1
    for node in bundle.nodes:
        if not node.ready or node.unschedulable or node.os != "linux" or node.virtual:
            continue  # only nodes a DaemonSet must cover (guard: DaemonSet coverage)
        if not bundle.settled(node.created_at) or node.name not in ambient_nodes:
            continue
        on_node = bundle.pods_on(node.name)
        missing = [
            name
            for name, key, value in (
                ("ztunnel", "app", "ztunnel"),
                ("istio-cni", "k8s-app", "istio-cni-node"),
            )
            if not _running([p for p in on_node if p.labels.get(key) == value])
        ]
        if missing:
            yield Hit(
                subject=node.ref,
                message=(
                    f"{node.ref} hosts {ambient_nodes[node.name]} ambient pod(s) but has no running "
                    f"{' or '.join(missing)} pod"
                ),
                evidence=(bundle.list_path(Input.NODES), bundle.list_path(Input.PODS)),
                node=node.name,
            )
