"""Ambient pod is missing from its node's ztunnel.

ztunnel carries traffic only for workloads it knows; an ambient pod absent from
its own node's ztunnel workload table has no working HBONE path, and its
connections fail with "failed to fetch information about local workload".

Evidence:
    The pod is enrolled in ambient (pod or namespace label
    istio.io/dataplane-mode=ambient), Running or Pending with an IP, older than
    the capture window, yet neither its workload uid
    (<cluster>//Pod/<ns>/<name>) nor its IP is among the workloads in the
    config_dump of the ztunnel on its node. The message says how many other
    ztunnels know it: none means istiod never published it (check istiod's
    discoverySelectors); some means that ztunnel is stale.

Fix:
    Restore the ztunnel's xDS stream; if no ztunnel knows the pod, check istiod.
    Offline: `ztbundle xds BUNDLE --ztunnel <pod> --diff`. If other ztunnels
    list the workload, that ztunnel lost its xDS stream (ZT405/ZT401): restart
    it if it does not recover. If none lists it, check that istiod watches the
    namespace (meshConfig.discoverySelectors) and istiod's logs for push
    errors. Live: `kubectl logs -n istio-system -l app=istiod`.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input, Pod, Ztunnel
from rules import Explains, Hit, Rule, Scope, Severity

RULE = Rule(
    code="ZT101",
    name="workload-missing-in-ztunnel",
    severity=Severity.ERROR,
    needs=frozenset({Input.PODS, Input.NAMESPACES, Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
    explains=(Explains.of(Scope.SUBJECT, "ZT605"),),
    priority=70,
    grid_columns=frozenset({"pods"}),
    next_steps=("ztbundle xds {bundle} --ztunnel {ztunnel} --diff",),
)


class _Known:
    """Per-ztunnel lookups by uid, then by IP (the uid's cluster part can differ from the pod's)."""

    def __init__(self) -> None:
        self._ips: dict[str, set[str]] = {}

    def __call__(self, ztunnel: Ztunnel, pod: Pod) -> bool:
        if pod.xds_uid(ztunnel.config.cluster_id) in ztunnel.workload_uids:
            return True
        if ztunnel.name not in self._ips:
            self._ips[ztunnel.name] = {ip for w in ztunnel.workloads.values() for ip in w.ips}
        return pod.ip in self._ips[ztunnel.name]


def check(bundle: Bundle) -> Iterator[Hit]:
    knows = _Known()
    for pod in bundle.ambient_pods():
        ztunnel = bundle.ztunnel_on(pod.node)
        if ztunnel is None or not ztunnel.available:
            continue  # ZT103 reports nodes without a ztunnel; an uncollected dump is a skipped input.
        if ztunnel.config.xds_on_demand or knows(ztunnel, pod):
            continue  # on-demand ztunnels legitimately hold a subset (guard: on-demand subset)
        others = [z for z in bundle.ztunnels if z is not ztunnel and z.available]
        knowing = sum(1 for z in others if knows(z, pod))
        yield Hit(
            subject=pod.ref,
            message=(
                f"{pod.ref} ({pod.ip}) on node {pod.node} is not in the workload table of "
                f"{ztunnel.ref}; {knowing} of {len(others)} other ztunnels know it"
            ),
            evidence=(ztunnel.config_dump_path,),
            node=pod.node,
            ztunnel=ztunnel.name,
        )
