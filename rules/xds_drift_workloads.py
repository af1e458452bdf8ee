"""A ztunnel's workloads differ from what istiod sends it.

istiod is the source of truth for the workload table; a ztunnel whose copy is
missing entries, holds extra ones, or has different fields (protocol, waypoint,
IPs, services, policies) routes and authorizes traffic on stale data.

Evidence:
    istiod's view of the ztunnel (the per-proxy /debug/config_dump on Istio
    ≤1.24, else /debug/ambientz; the message names the one used) is compared
    key by key with the workloads in the ztunnel's config_dump, both
    decoded into one comparable form: hashes first, field diffs only for differing
    entries. Entries that match any istiod replica's view, pods younger than
    the capture window or being deleted, missing entries on on-demand
    (xdsOnDemand) ztunnels, and terminating or freshly started ztunnels are
    not reported.

Fix:
    Resync the ztunnel's workloads; restart it if its xDS stream looks healthy.
    Offline: `ztbundle xds BUNDLE --ztunnel <pod> --diff` and `ztbundle
    ztunnel-config BUNDLE workloads --node <node>`. Live: `kubectl logs -n
    istio-system <ztunnel-pod> | grep -E "XDS|Nack"` (ZT404 NACKs, ZT405
    disconnects).
"""

from collections.abc import Iterator

from analyzer.model import Bundle
from analyzer.model.drift import Kind, comparable, compare
from rules import Hit, Rule, Severity
from rules._xds import DRIFT_NEEDS, drift_hit

RULE = Rule(
    code="ZT401",
    name="xds-drift-workloads",
    severity=Severity.WARNING,
    needs=DRIFT_NEEDS,
    doc=__doc__,
    grid_columns=frozenset({"xds"}),
    next_steps=("ztbundle xds {bundle} --ztunnel {ztunnel} --diff",),
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
        if drift:
            yield drift_hit(bundle, ztunnel, drift, "workloads")
