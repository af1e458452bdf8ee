"""A ztunnel's services differ from what istiod sends it, or endpoints wait for a missing service.

A ztunnel with a missing or outdated service (VIPs, ports, waypoint,
endpoints) cannot resolve the VIP, sends to old endpoints or bypasses the
waypoint; endpoints parked in stagedServices mean a workload arrived but its
Service never did.

Evidence:
    istiod's view of the ztunnel (the per-proxy /debug/config_dump on Istio
    ≤1.24, else /debug/ambientz; the message names it) is compared by
    namespace/hostname with the services in the ztunnel's config_dump, both
    decoded into one comparable form (istiod's endpoints are derived from its
    healthy workloads). Entries matching any istiod replica's view, endpoint
    differences explained elsewhere (pods younger than the capture window,
    workloads the ztunnel lacks, on-demand ztunnels), and
    terminating or freshly started ztunnels are not reported. A settled
    ztunnel with a non-empty stagedServices is reported even without an
    istiod view.

Fix:
    Resync the ztunnel's services; restart it if its xDS stream looks healthy.
    Offline: `ztbundle xds BUNDLE --ztunnel <pod> --diff` and `ztbundle
    ztunnel-config BUNDLE services --node <node>`. Live: `kubectl logs -n
    istio-system <ztunnel-pod> | grep -E "XDS|Nack"` (ZT404 NACKs, ZT405
    disconnects).
"""

from collections.abc import Iterator
from dataclasses import replace

from analyzer.model import Bundle, Ztunnel
from analyzer.model.drift import Kind, comparable, compare
from rules import Hit, Rule, Severity
from rules._xds import DRIFT_NEEDS, drift_fact

RULE = Rule(
    code="ZT402",
    name="xds-drift-services",
    severity=Severity.WARNING,
    needs=DRIFT_NEEDS,
    doc=__doc__,
    grid_columns=frozenset({"xds"}),
    next_steps=("ztbundle xds {bundle} --ztunnel {ztunnel} --diff",),
)


def _explained(bundle: Bundle, ztunnel: Ztunnel, uids: set[str]) -> bool:
    """Endpoint differences that follow from elsewhere: on-demand subsets, workloads the ztunnel
    lacks (ZT401 reports those), or pods too young or going to judge (`docs/rule-guards.md`)."""
    if ztunnel.config.xds_on_demand or all(u not in ztunnel.workloads for u in uids):
        return True
    for uid in uids:
        _, sep, rest = uid.partition("//Pod/")
        if not sep:
            continue
        ns, _, name = rest.partition("/")
        pod = bundle.pod_by_name(ns, name)
        if pod is None or pod.deleting or not bundle.settled(pod.created_at):
            return True
    return False


def check(bundle: Bundle) -> Iterator[Hit]:
    for ztunnel in bundle.ztunnels:
        if not comparable(bundle, ztunnel):
            continue
        facts = []
        evidence = [ztunnel.config_dump_path]
        drift = compare(bundle, ztunnel, Kind.SERVICES)
        if drift is not None:
            changed = []
            for key, lines in drift.changed:
                want = drift.baseline.xds.services[key] if drift.baseline.xds else None
                have = ztunnel.services[key]
                if (
                    want is not None
                    and want.endpoints != have.endpoints
                    and all(line.startswith("['endpoints']") for line in lines)
                ):
                    moved = {u for u, _ in want.endpoints} ^ {u for u, _ in have.endpoints}
                    if _explained(bundle, ztunnel, moved):
                        continue
                changed.append((key, lines))
            drift = replace(drift, changed=tuple(changed))
            if drift:
                facts.append(drift_fact(bundle, ztunnel, drift, "services"))
                evidence.extend(drift.baseline.evidence)
        if ztunnel.staged_services:
            facts.append(
                f"{ztunnel.staged_services} endpoint(s) are parked in stagedServices "
                "(their Service never arrived)"
            )
        if facts:
            yield Hit.on(ztunnel, f"{ztunnel.ref}: " + "; ".join(facts), evidence=tuple(evidence))
