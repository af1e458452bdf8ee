"""A ztunnel's workloads differ from what istiod sends it.

istiod is the source of truth for the workload table; a ztunnel whose copy is
missing entries, holds extra ones, or has different fields (protocol, waypoint,
IPs, services, policies) routes and authorizes traffic on stale data.

Evidence:
    istiod's view of the ztunnel (the per-proxy /debug/config_dump on Istio
    ≤1.24, else /debug/ambientz; the message names the one used) is compared
    key by key with the workloads in the ztunnel's config_dump, both
    normalized (formats.md §4.5): hashes first, field diffs only for differing
    entries. Entries that match any istiod replica's view, pods younger than
    the capture window or being deleted, missing entries on on-demand
    (xdsOnDemand) ztunnels, and terminating or freshly started ztunnels are
    not reported.

Fix:
    Compare `istioctl ztunnel-config workloads --node <node>` with
    `istioctl x internal-debug ambientz`; look for NACKs (ZT404) and
    disconnects (ZT405) in `kubectl logs -n istio-system <ztunnel-pod> | grep
    -E "XDS|Nack"`. If the stream looks healthy but the data stays stale,
    restart that ztunnel pod (it resyncs from scratch).
"""

from collections.abc import Iterator

from analyzer.drift import Kind, comparable, compare, skew_note
from analyzer.model import Bundle, Input
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT401",
    name="xds-drift-workloads",
    severity=Severity.WARNING,
    needs=frozenset(
        {
            Input.PODS,
            Input.ZTUNNEL_CONFIG,
            Input.ISTIOD_PROXY_CONFIG,
            Input.ISTIOD_PROXY_POLICIES,
            Input.ISTIOD_AMBIENTZ,
        }
    ),
    doc=__doc__,
)


def check(bundle: Bundle) -> Iterator[Hit]:
    def settled(uid: str, in_istiod: bool) -> bool:
        cluster, sep, rest = uid.partition("//Pod/")
        if not sep:
            return True  # WorkloadEntry/ServiceEntry/remote: no pod to age
        ns, _, name = rest.partition("/")
        pod = bundle.pod_by_name(ns, name)
        if pod is None:
            return not in_istiod  # istiod still lists a pod that is gone: deleted mid-capture
        return not pod.deleting and bundle.settled(pod.created_at)

    for ztunnel in bundle.ztunnels:
        if not comparable(bundle, ztunnel):
            continue
        drift = compare(bundle, ztunnel, Kind.WORKLOADS, settled)
        if not drift:
            continue
        skew = skew_note(bundle, ztunnel, drift.baseline)
        yield Hit(
            subject=ztunnel.ref,
            message=f"{ztunnel.ref} workloads differ from {drift.source}{skew}: {drift.summary()}",
            evidence=(ztunnel.config_dump_path, *drift.baseline.evidence),
            node=ztunnel.node,
            ztunnel=ztunnel.name,
        )
