"""ztunnel holds a workload whose pod is gone, finished, or has another IP.

A stale entry keeps a dead or recycled IP mapped to an old identity, so traffic
to that IP can be sent to the wrong pod or rejected by identity checks.

Evidence:
    A Kubernetes pod workload (uid <cluster>//Pod/<ns>/<name> in the ztunnel's
    own cluster) in a ztunnel config_dump whose pod is absent from the pod
    list, is Succeeded/Failed, or whose workloadIps differ from the pod's IPs.
    Pods being deleted or younger than the capture window, HostNetwork
    workloads and non-pod workloads (WorkloadEntry, ServiceEntry, remote
    clusters) are ignored. A pod counts as gone only when it is in neither
    `cluster/pods.json` nor `cluster/pods-after-dumps.json`, the pod list
    taken again once every dump had landed: a pod created after the first
    list is in the second, however long the dumps took. If that second list
    could not be collected, absence proves nothing and is not reported;
    bundles written before it existed are judged on the first list alone.
    One finding per workload lists every ztunnel that
    still holds it. Also: an in-pod proxy (workloadState entry, keyed by pod
    UID) for a pod UID in neither pod list, when no pod of that name is
    younger than the capture window (its replacement may still be draining
    the old one).

Fix:
    Restart the ztunnel that missed the removal, unless istiod still lists it.
    Offline: `ztbundle xds BUNDLE --ztunnel <pod> --diff` compares with
    istiod's view (ZT401). If istiod no longer lists the workload, restart that
    ztunnel. If istiod still lists it, look for a stuck pod deletion or a
    finalizer. Live: `kubectl get pods -A -o wide | grep <ip>`.
"""

from collections.abc import Iterator, Mapping

from analyzer.model import Bundle, Input, ObjectRef, Workload, Ztunnel
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT102",
    name="stale-workload",
    severity=Severity.WARNING,
    needs=frozenset({Input.PODS, Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
    grid_columns=frozenset({"pods"}),
    next_steps=("ztbundle xds {bundle} --ztunnel {ztunnel} --diff",),
)

NO_POD = "has no pod in the cluster"


def _problem(bundle: Bundle, ztunnel: Ztunnel, workload: Workload) -> str | None:
    key = workload.pod_key
    if key is None or key[0] != ztunnel.config.cluster_id or workload.network_mode == "HostNetwork":
        return None  # guard: pod workloads only; HostNetwork shares the node IP by design
    pod = bundle.pod_by_name(key[1], key[2])
    if pod is None:
        # Absent from the first list: gone only if the list taken after the dumps lacks it too (a
        # pod created in between is there, and is judged at the next collection).
        return NO_POD if _gone(bundle, name=(key[1], key[2])) else None
    if pod.deleting or not bundle.settled(pod.created_at):
        return None  # changing during capture (guard: settle window)
    if pod.terminal:
        return f"belongs to a pod in phase {pod.phase}"
    pod_ips = set(pod.ips or ((pod.ip,) if pod.ip else ()))
    if pod_ips and workload.ips and not set(workload.ips) <= pod_ips:
        return f"has IPs {', '.join(workload.ips)} but the pod has {', '.join(sorted(pod_ips))}"
    return None


def _gone(bundle: Bundle, name: tuple[str, str] | None = None, uid: str | None = None) -> bool:
    """The pod is absent from the list taken after every dump too (a bundle without one: assume so)."""
    relist = bundle.pods_relisted
    if relist is None:
        return True  # written before the second list existed: the first list decides
    if not relist.collected:
        return False  # the pod may have been created after the first list
    return name not in relist.names and uid not in relist.uids


def _leaked_proxies(bundle: Bundle, ztunnel: Ztunnel) -> Iterator[Hit]:
    for uid, state in (ztunnel.workload_state or {}).items():
        if bundle.pod_by_uid(uid) is not None or not state.name or not _gone(bundle, uid=uid):
            continue
        successor = bundle.pod_by_name(state.namespace, state.name)
        if successor is not None and not bundle.settled(successor.created_at):
            continue  # a recreated pod (StatefulSet) while the old proxy drains (guard: settle window)
        yield Hit.on(
            ztunnel,
            f"{ztunnel.ref} still runs an in-pod proxy ({state.state}) for pod UID {uid}, "
            "which no longer exists",
            subject=ObjectRef("Pod", state.namespace, state.name),
        )


def check(bundle: Bundle) -> Iterator[Hit]:
    found: dict[str, tuple[Workload, str, list[Ztunnel]]] = {}
    # Entries are interned across ztunnels, so judge each distinct entry once per cluster id
    # instead of once per ztunnel (1,000 ztunnels hold the same 20,000 objects).
    judged: dict[tuple[str, int], str | None] = {}
    # Ztunnels with identical tables share one mapping. A table already walked for this cluster id
    # has put every problem it holds into `found`, so a later holder only joins those entries.
    walked: dict[tuple[int, str], Mapping[str, Workload]] = {}  # pins each table, so ids stay unique
    for ztunnel in bundle.ztunnels:
        if not ztunnel.available:
            continue
        cluster_id = ztunnel.config.cluster_id
        table = ztunnel.workloads
        if walked.get((id(table), cluster_id)) is table:
            for uid, (_, _, holders) in found.items():
                if uid in table:
                    holders.append(ztunnel)
            continue
        walked[(id(table), cluster_id)] = table
        for uid, workload in table.items():
            if uid in found:
                found[uid][2].append(ztunnel)
                continue
            key = (cluster_id, id(workload))
            if key not in judged:
                judged[key] = _problem(bundle, ztunnel, workload)
            problem = judged[key]
            if problem:
                found[uid] = (workload, problem, [ztunnel])
    for ztunnel in bundle.ztunnels:
        if ztunnel.available:
            yield from _leaked_proxies(bundle, ztunnel)
    for workload, problem, holders in found.values():
        names = ", ".join(z.name for z in holders)
        yield Hit(
            subject=workload.ref,
            message=f"workload {workload.uid} {problem}; still held by {len(holders)} ztunnel(s): {names}",
            evidence=tuple(z.config_dump_path for z in holders),
            ztunnel=holders[0].name if len(holders) == 1 else None,
        )
