"""A pod or namespace is set up for both sidecar injection and ambient.

istio-cni leaves a pod that has an injected `istio-proxy` sidecar out of
ambient, so the sidecar carries its traffic while the labels say ambient; a
namespace labelled for both gets sidecars on every new pod (istioctl's
IST0123, Kiali's KIA1311). Which data plane a workload uses then depends on
when its pods were created.

Evidence:
    A pod (cluster pod list) with the `sidecar.istio.io/status` annotation
    whose own or namespace's `istio.io/dataplane-mode` is `ambient`; or a
    namespace labelled `istio.io/dataplane-mode=ambient` and also
    `istio-injection=enabled` or `istio.io/rev=<revision>`.

Fix:
    Choose one data plane: remove the injection label, or the ambient one.
    Offline: `ztbundle ztunnel-config BUNDLE workloads` shows which pods ztunnel
    captures. Live: `kubectl label namespace <ns> istio-injection-`, then
    restart the pods (`kubectl rollout restart deploy -n <ns>`).
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input, ObjectRef
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT706",
    name="sidecar-and-ambient",
    severity=Severity.WARNING,
    needs=frozenset({Input.PODS, Input.NAMESPACES}),
    doc=__doc__,
    next_steps=("ztbundle ztunnel-config {bundle} workloads",),
)

AMBIENT = "istio.io/dataplane-mode"


def check(bundle: Bundle) -> Iterator[Hit]:
    for ns in sorted(bundle.namespaces.values(), key=lambda n: n.name):
        if ns.labels.get(AMBIENT) != "ambient":
            continue
        injection = [
            f"{k}={v}"
            for k, v in sorted(ns.labels.items())
            if (k, v) == ("istio-injection", "enabled") or k == "istio.io/rev"
        ]
        if injection:
            yield Hit(
                subject=ObjectRef("Namespace", "", ns.name),
                message=f"Namespace {ns.name} is labelled {AMBIENT}=ambient and {', '.join(injection)}",
                evidence=(bundle.list_path(Input.NAMESPACES),),
            )
    for pod in bundle.pods:
        if pod.terminal or not pod.sidecar_injected:
            continue
        own = pod.labels.get(AMBIENT)
        own_ns = bundle.namespaces.get(pod.namespace)
        via = "its label" if own == "ambient" else f"Namespace {pod.namespace}"
        if own == "ambient" or (own is None and own_ns is not None and own_ns.dataplane_mode == "ambient"):
            yield Hit(
                subject=pod.ref,
                message=f"{pod.ref} has an injected istio-proxy sidecar and is ambient by {via}",
                evidence=(bundle.list_path(Input.PODS),),
                node=pod.node,
            )
