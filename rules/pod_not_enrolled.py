"""A Running pod selected for ambient was never captured by istio-cni.

Without the `ambient.istio.io/redirection` annotation the pod's traffic is
not redirected to ztunnel: it leaves as plain TCP, bypassing mTLS and L4
policy, and peers with STRICT PeerAuthentication reject it. Common after a
node reboot or when pods start before the istio-cni agent is ready.

Evidence:
    The pod is Running with an IP, older than the capture window, selected
    for ambient (pod label `istio.io/dataplane-mode=ambient`, or its namespace
    labelled so without a pod label `none`), not excluded (hostNetwork,
    sidecar-injected, kube-system, ztunnel or gateway pods), its node runs a
    Running istio-cni pod, yet the pod has no `ambient.istio.io/redirection`
    annotation (`pending` is ZT303). The message notes when istio-cni on the
    node started after the pod (the node-start race).

Fix:
    Restart pods that started before istio-cni so they are captured.
    Offline: `ztbundle ztunnel-config BUNDLE workloads --node <node>` shows the
    pod's protocol (TCP instead of HBONE). Live: `kubectl logs -n istio-system
    -l k8s-app=istio-cni-node` on its node for `excluded by excludeNamespaces` or
    capture errors, then `kubectl rollout restart` the pod's owner.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input, Pod
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT301",
    name="pod-not-enrolled",
    severity=Severity.ERROR,
    needs=frozenset({Input.PODS, Input.NAMESPACES}),
    doc=__doc__,
    grid_columns=frozenset({"pods"}),
    next_steps=("ztbundle ztunnel-config {bundle} workloads --node {node}",),
)

AMBIENT_LABEL = "istio.io/dataplane-mode"
CAPTURED = ("enabled", "pending")


def _running_cni(bundle: Bundle, node: str) -> Pod | None:
    cni = [
        p
        for p in bundle.pods_on(node)
        if p.labels.get("k8s-app") == "istio-cni-node" and p.phase == "Running" and not p.deleting
    ]
    return max(cni, key=lambda p: (p.started_at is not None, p.started_at)) if cni else None


def _selected_by(pod: Pod) -> str:
    if pod.labels.get(AMBIENT_LABEL) == "ambient":
        return f"pod label {AMBIENT_LABEL}=ambient"
    return f"namespace {pod.namespace} label {AMBIENT_LABEL}=ambient"


def check(bundle: Bundle) -> Iterator[Hit]:
    for pod in bundle.ambient_pods():
        if pod.phase != "Running" or pod.redirection in CAPTURED:
            continue
        assert pod.node is not None  # ambient_pods() only yields scheduled pods
        cni = _running_cni(bundle, pod.node)
        if cni is None:
            continue  # no istio-cni on the node: ZT103 reports the node
        race = ""
        if cni.started_at and pod.started_at and cni.started_at > pod.started_at:
            race = f"; {cni.ref} started after the pod ({cni.started_at:%Y-%m-%dT%H:%M:%SZ})"
        annotation = (
            f"ambient.istio.io/redirection={pod.redirection} (neither enabled nor pending)"
            if pod.redirection
            else "no ambient.istio.io/redirection annotation"
        )
        yield Hit(
            subject=pod.ref,
            message=(
                f"{pod.ref} ({pod.ip}) on node {pod.node} is selected for ambient by {_selected_by(pod)} "
                f"and Running, but has {annotation}: istio-cni did not capture it, so its traffic "
                f"bypasses ztunnel{race}"
            ),
            evidence=(bundle.list_path(Input.PODS), bundle.list_path(Input.NAMESPACES)),
            node=pod.node,
        )
