"""A pod marked as captured has no running in-pod proxy in its node's ztunnel.

istio-cni annotates a pod `enabled` only after ztunnel accepted it, so the
pod's traffic is redirected; if ztunnel then has no proxy for it (or the
proxy is stuck Pending), peers get `Connection refused` on <podIP>:15008 and
the pod's own traffic goes nowhere, for the pod's whole lifetime.

Evidence:
    The pod is annotated `ambient.istio.io/redirection=enabled`, Running,
    selected for ambient and older than the capture window, but the
    `workloadState` of the ztunnel on its node (keyed by Kubernetes pod UID)
    has no entry for the pod's UID, or the entry is `Pending`. Skipped when
    that ztunnel started within the capture window (it is still re-learning
    pods), during rollouts the newest ztunnel is used, and dumps that did not
    parse or carry no `workloadState` (not in-pod mode) are not judged.

Fix:
    Restart the pod so istio-cni enrols it again with a fresh network namespace.
    Offline: `ztbundle ztunnel-config BUNDLE workloads --ztunnel <pod>` and
    `ztbundle logs BUNDLE --ztunnel <pod> --errors`. Live: `kubectl logs -n
    istio-system <ztunnel-pod> | grep -E "pod received|failed to start proxy"`
    and `failed to reconcile inpod rules` in the node's istio-cni log. If many
    pods on the node are affected, restart istio-cni and then ztunnel there.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input
from rules import Explains, Hit, Rule, Scope, Severity

RULE = Rule(
    code="ZT302",
    name="enrolled-pod-no-inpod-proxy",
    severity=Severity.ERROR,
    needs=frozenset({Input.PODS, Input.NAMESPACES, Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
    explains=(Explains.of(Scope.SUBJECT, "ZT604"),),
    priority=60,
    grid_columns=frozenset({"pods"}),
    next_steps=("ztbundle ztunnel-config {bundle} workloads --ztunnel {ztunnel}",),
)


def check(bundle: Bundle) -> Iterator[Hit]:
    for pod in bundle.ambient_pods():
        if pod.phase != "Running" or pod.redirection != "enabled":
            continue
        ztunnel = bundle.ztunnel_on(pod.node)
        if ztunnel is None or not ztunnel.available:
            continue  # ZT103 covers a missing ztunnel; an unparsed dump is a skipped input
        state = ztunnel.workload_state
        if state is None:
            continue  # no in-pod state in this dump: nothing to compare against
        zpod = ztunnel.pod
        if zpod is not None and not bundle.settled(zpod.started_at or zpod.created_at):
            continue  # a freshly (re)started ztunnel is still being handed its pods
        entry = state.get(pod.uid)
        if entry is None:
            problem = f"has no workloadState entry for the pod's UID {pod.uid}"
        elif entry.state == "Pending":
            problem = "lists its in-pod proxy as Pending (the proxy failed to start and is being retried)"
        else:
            continue
        up = sum(1 for s in state.values() if s.state == "Up")
        yield Hit(
            subject=pod.ref,
            message=(
                f"{pod.ref} ({pod.ip}) is annotated ambient.istio.io/redirection=enabled but {ztunnel.ref} "
                f"on node {pod.node} {problem}; that ztunnel has {up} in-pod proxies Up"
            ),
            evidence=(ztunnel.config_dump_path, bundle.list_path(Input.PODS)),
            node=pod.node,
            ztunnel=ztunnel.name,
        )
