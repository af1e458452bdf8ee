"""The whole bundle as rules read it: the objects, indexes over them, and ambient enrollment.

`Bundle` is the model; `analyzer.bundle.BundleFiles` is the archive it is loaded from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from analyzer.model.baseline import choose_baseline
from analyzer.model.config import (
    AuthorizationPolicy,
    ConfigObject,
    ConfigSet,
    Gateway,
    IstiodDeployment,
    NetworkPolicy,
    PeerAuthentication,
    PodMetrics,
    ServiceEntry,
)
from analyzer.model.istiod import Baseline, Istiod
from analyzer.model.kube import (
    AMBIENT_LABEL,
    CNI_EXCLUDED_NAMESPACES,
    WAYPOINT_CONTROLLERS,
    KubeService,
    Namespace,
    Node,
    Pod,
    PodRelist,
)
from analyzer.model.logs import LogFile
from analyzer.model.manifest import Availability, Manifest
from analyzer.model.tracking import Tracked, track_reads, untracked
from analyzer.model.xds import Workload
from analyzer.model.ztunnel import Ztunnel
from ztbundle import layout
from ztbundle.layout import Component, Input

STATUS_INPUTS: tuple[Input, ...] = (
    Input.AUTHORIZATION_POLICIES,
    Input.PEER_AUTHENTICATIONS,
    Input.REQUEST_AUTHENTICATIONS,
    Input.SERVICE_ENTRIES,
    Input.WORKLOAD_ENTRIES,
    Input.SIDECARS,
    Input.DESTINATION_RULES,
    Input.VIRTUAL_SERVICES,
    Input.TELEMETRIES,
    Input.GATEWAY_CLASSES,
    Input.GATEWAYS,
    Input.HTTP_ROUTES,
    Input.GRPC_ROUTES,
    Input.TCP_ROUTES,
    Input.TLS_ROUTES,
    Input.REFERENCE_GRANTS,
    Input.SERVICES,  # istiod's istio.io/WaypointBound condition
)
"""The kinds whose status conditions `Bundle.status_carriers` reads."""

CAPTURE_SETTLE = timedelta(seconds=60)
"""Objects younger than this at the earliest dump are not judged (`docs/rule-guards.md`, settle window)."""


def _latest_first(z: Ztunnel) -> tuple[bool, float]:
    pod = untracked(z, "pod")
    created = pod.created_at.timestamp() if pod and pod.created_at else 0.0
    return (bool(pod and pod.deleting), -created)


@dataclass(frozen=True, slots=True)
class _Indexes:
    """Lookups over the pods and ztunnels, built once on first use."""

    by_uid: Mapping[str, Pod]
    by_name: Mapping[tuple[str, str], Pod]
    by_ip: Mapping[str, Pod]  # non-terminal, non-hostNetwork pods only: their IPs are their own
    by_node: Mapping[str, list[Pod]]
    ztunnels_by_node: Mapping[str, list[Ztunnel]]  # the one to use first leads each list

    @classmethod
    def build(cls, pods: Iterable[Pod], ztunnels: Iterable[Ztunnel]) -> _Indexes:
        pods = tuple(pods)
        by_ip: dict[str, Pod] = {}
        by_node: dict[str, list[Pod]] = {}
        for p in pods:
            by_node.setdefault(p.node or "", []).append(p)
            if p.host_network or p.terminal:
                continue
            for ip in p.ips or ((p.ip,) if p.ip else ()):
                by_ip[ip] = p
        zt_by_node: dict[str, list[Ztunnel]] = {}
        for z in ztunnels:
            zt_by_node.setdefault(z.node or "", []).append(z)
        for zs in zt_by_node.values():
            zs.sort(key=_latest_first)
        by_uid = {p.uid: p for p in pods}
        by_name = {(p.ref.namespace, p.ref.name): p for p in pods}
        return cls(by_uid, by_name, by_ip, by_node, zt_by_node)


@track_reads
@dataclass(frozen=True, slots=True)
class Bundle(Tracked):
    """One bundle's model: what rules, the report and the views read (never the archive itself)."""

    manifest: Manifest
    pods: tuple[Pod, ...] = ()
    namespaces: Mapping[str, Namespace] = field(default_factory=dict)
    nodes: tuple[Node, ...] = ()
    services: tuple[KubeService, ...] = ()
    ztunnels: tuple[Ztunnel, ...] = ()
    istiods: tuple[Istiod, ...] = ()
    logs: tuple[LogFile, ...] = ()
    config: ConfigSet = field(default_factory=ConfigSet)  # read through the accessors below
    capture_start: datetime | None = None  # earliest ztunnel/istiod dump; defaults to collected_at
    pods_relisted: PodRelist | None = None  # None: the bundle predates the second pod list
    now_override: datetime | None = None  # `--now`; time-based rules use `bundle.now`
    _reads: set[Input] = field(default_factory=set, compare=False, repr=False)
    _index: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    _INPUTS: ClassVar[Mapping[str, Input | tuple[Input, ...]]] = {
        "pods": Input.PODS,
        "pod_by_uid": Input.PODS,
        "pod_by_ip": Input.PODS,
        "pod_by_name": Input.PODS,
        # The same kind of evidence as the first list; a rule reading it must cope with its absence.
        "pods_relisted": Input.PODS,
        "pods_on": Input.PODS,
        "cni_pods": Input.PODS,
        "waypoint_pods": Input.PODS,
        "namespaces": Input.NAMESPACES,
        "ambient_pods": (Input.PODS, Input.NAMESPACES),
        "is_ambient": (Input.PODS, Input.NAMESPACES),
        "nodes": Input.NODES,
        "services": Input.SERVICES,
        "authorization_policies": Input.AUTHORIZATION_POLICIES,
        "peer_authentications": Input.PEER_AUTHENTICATIONS,
        "network_policies": Input.NETWORK_POLICIES,
        "gateways": Input.GATEWAYS,
        "gateway_classes": Input.GATEWAY_CLASSES,
        "service_entries": Input.SERVICE_ENTRIES,
        "pod_metrics": Input.POD_METRICS,
        "istiod_deployments": Input.ISTIO_DEPLOYMENTS,
        "status_carriers": STATUS_INPUTS,
    }

    @property
    def inputs_read(self) -> set[Input]:
        """Inputs touched so far; Ztunnel/Istiod objects of this bundle share the same set."""
        reads: set[Input] = object.__getattribute__(self, "_reads")
        return reads

    # -- manifest --------------------------------------------------------------

    @property
    def collected_at(self) -> datetime:
        return self.manifest.collected_at

    @property
    def now(self) -> datetime:
        """The analysis time: the bundle's collection time unless `--now` overrode it."""
        return self.now_override or self.manifest.collected_at

    @property
    def earliest_dump(self) -> datetime:
        return self.capture_start or self.manifest.collected_at

    def list_path(self, cluster_list: Input) -> str:
        """Bundle member of a cluster-wide list (`cluster/pods.json`), for evidence."""
        return layout.CLUSTER_LISTS[cluster_list]

    def availability(self, needed: Input) -> Availability:
        got = self.manifest.availability.get(needed)
        return got or Availability(needed, False, "not collected (no artifact in the manifest)")

    # -- indexes ----------------------------------------------------------------

    def memo(self, name: str) -> dict[Any, Any]:
        """A cache for results derived from this (immutable) model, shared by rules and helpers."""
        index = object.__getattribute__(self, "_index")
        memo: dict[Any, Any] = index.setdefault(f"memo:{name}", {})
        return memo

    def workloads_on(self, ztunnel: Ztunnel, node: str | None) -> list[Workload]:
        """The ztunnel's workloads on `node`, in table order.

        Ztunnels with identical tables share one mapping (the loader interns them), grouped by node
        once: 1,000 ztunnels then look at their 20 local workloads each, not at all 20,000.
        """
        table = ztunnel.workloads
        cache = self.memo("workloads-by-node")
        hit = cache.get(id(table))
        if hit is None or hit[0] is not table:  # the cache pins the table, so its id stays its own
            by_node: dict[str | None, list[Workload]] = {}
            for workload in table.values():
                by_node.setdefault(workload.node, []).append(workload)
            hit = cache[id(table)] = (table, by_node)
        local: list[Workload] = hit[1].get(node, [])
        return local

    def _indexes(self) -> _Indexes:
        index = object.__getattribute__(self, "_index")
        built: _Indexes | None = index.get("indexes")
        if built is None:
            pods = untracked(self, "pods")
            built = index["indexes"] = _Indexes.build(pods, untracked(self, "ztunnels"))
        return built

    def pod_by_uid(self, uid: str) -> Pod | None:
        return self._indexes().by_uid.get(uid)

    def pod_by_name(self, namespace: str, name: str) -> Pod | None:
        return self._indexes().by_name.get((namespace, name))

    def pod_by_ip(self, ip: str) -> Pod | None:
        """The non-terminal, non-hostNetwork pod holding this IP."""
        return self._indexes().by_ip.get(ip)

    def pods_on(self, node: str) -> tuple[Pod, ...]:
        return tuple(self._indexes().by_node.get(node, ()))

    # -- ambient enrollment --------------------------------------------------------

    def is_ambient(self, pod: Pod) -> bool:
        """The pod is labelled (itself or via its namespace) for ambient and eligible for capture."""
        own = pod.labels.get(AMBIENT_LABEL)
        if own == "none":
            return False
        ns = untracked(self, "namespaces").get(pod.namespace)
        enrolled = own == "ambient" or (ns is not None and ns.dataplane_mode == "ambient")
        if not enrolled:
            return False
        return not (
            pod.host_network
            or pod.sidecar_injected
            or pod.namespace in CNI_EXCLUDED_NAMESPACES
            or pod.labels.get("app") == "ztunnel"
            or "gateway.networking.k8s.io/gateway-name" in pod.labels
        )

    def settled(self, created_at: datetime | None) -> bool:
        """True when an object created then is old enough to be judged (guard: settle window)."""
        return created_at is None or created_at <= self.earliest_dump - CAPTURE_SETTLE

    def ambient_pods(self) -> Iterator[Pod]:
        """Ambient pods every ztunnel should know (guards: pod lifecycle, settle window, eligibility).

        Chosen once per model (nine rules and sections ask; 20,000 pods at 1,000 nodes): nothing it
        reads changes, and `--now` (`now_override`) is not among them."""
        memo = self.memo("ambient-pods")
        chosen: tuple[Pod, ...] | None = memo.get("pods")
        if chosen is None:
            chosen = memo["pods"] = tuple(self._ambient_pods())
        return iter(chosen)

    def _ambient_pods(self) -> Iterator[Pod]:
        for pod in untracked(self, "pods"):
            if pod.terminal or not pod.ip or pod.deleting or not pod.node:
                continue
            if not self.settled(pod.created_at) or not self.is_ambient(pod):
                continue
            yield pod

    def cni_pods(self) -> tuple[Pod, ...]:
        return tuple(p for p in self.pods if p.labels.get("k8s-app") == "istio-cni-node")

    def waypoint_pods(self) -> tuple[Pod, ...]:
        return tuple(p for p in self.pods if p.labels.get("gateway.istio.io/managed") in WAYPOINT_CONTROLLERS)

    # -- ztunnels ----------------------------------------------------------------

    def ztunnels_on(self, node: str | None) -> tuple[Ztunnel, ...]:
        """All ztunnels on a node, the one to use first (non-terminating, newest)."""
        return tuple(self._indexes().ztunnels_by_node.get(node or "", ()))

    def ztunnel_on(self, node: str | None) -> Ztunnel | None:
        """The node's current ztunnel during rollouts (guard: current ztunnel), or None."""
        found = self.ztunnels_on(node)
        return found[0] if found else None

    def ztunnel_named(self, name: str) -> Ztunnel | None:
        return next((z for z in self.ztunnels if z.name == name), None)

    def baseline_for(self, ztunnel: Ztunnel) -> Baseline:
        """istiod's expected state for this ztunnel (per-proxy dump, else ambientz + WADS)."""
        return choose_baseline(self.istiods, ztunnel)

    # -- configuration (analyzer.model.config) -------------------------------------

    @property
    def authorization_policies(self) -> tuple[AuthorizationPolicy, ...]:
        return self.config.authorization_policies

    @property
    def peer_authentications(self) -> tuple[PeerAuthentication, ...]:
        return self.config.peer_authentications

    @property
    def network_policies(self) -> tuple[NetworkPolicy, ...]:
        return self.config.network_policies

    @property
    def gateways(self) -> tuple[Gateway, ...]:
        return self.config.gateways

    @property
    def gateway_classes(self) -> tuple[ConfigObject, ...]:
        return self.config.gateway_classes

    @property
    def service_entries(self) -> tuple[ServiceEntry, ...]:
        return self.config.service_entries

    @property
    def pod_metrics(self) -> tuple[PodMetrics, ...]:
        return self.config.pod_metrics

    @property
    def istiod_deployments(self) -> tuple[IstiodDeployment, ...]:
        return self.config.istiod_deployments

    @property
    def status_carriers(self) -> tuple[AuthorizationPolicy | Gateway | ServiceEntry | ConfigObject, ...]:
        """Every Istio and Gateway API object that carries status conditions."""
        c = self.config
        services = tuple(
            ConfigObject(s.ref, layout.SERVICES, s.labels, s.conditions)
            for s in self.services
            if s.conditions
        )
        return (
            *c.authorization_policies,
            *c.gateways,
            *c.gateway_classes,
            *c.service_entries,
            *c.others,
            *services,
        )

    def gateway_named(self, namespace: str, name: str) -> Gateway | None:
        return next((g for g in self.gateways if g.ref.namespace == namespace and g.ref.name == name), None)

    # -- logs --------------------------------------------------------------------

    def logs_of(self, component: Component) -> tuple[LogFile, ...]:
        self._reads.add(layout.LOG_INPUTS[component])
        return tuple(f for f in self.logs if f.component is component)
