"""Declarative description of a simulated ambient cluster: the "truth" plus per-node overrides.

A `Scenario` is what the fake API server serves and what every payload is derived from. Build one
with `build(...)` (which adds the Istio component pods and assigns deterministic UIDs and IPs) or
load it from a plain dict with `Scenario.from_dict`. Overrides (`ZtunnelOverride`, `IstiodOverride`,
`Drift`) express the failures the analyzer's rules look for; each is independently usable.

Time: every timestamp a scenario serves is relative to `Scenario.now`. Unless a caller pins it
(`build(now=...)`, `scenario.pinned_at(...)`), `now` is the wall clock (UTC, whole seconds) and
`FakeCluster.start()` moves the scenario to the wall clock of that moment, because the real
collector stamps bundles with real time and the analyzer judges certificates against it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

DEFAULT_NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)  # a fixed clock for byte-exact payload tests
ISTIO_NS = "istio-system"
AMBIENT = "ambient"
REDIRECTION = "ambient.istio.io/redirection"
WAYPOINT_MANAGED = "gateway.istio.io/managed"
WAYPOINT_CONTROLLER = "istio.io-mesh-controller"
AGENTGATEWAY_WAYPOINT_CONTROLLER = "istio.io-agentgateway-waypoint-controller"  # 1.31


class Phase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


class Role(StrEnum):
    """What a pod is to the mesh; decides labels, containers and which payloads it serves."""

    APP = "app"
    ZTUNNEL = "ztunnel"
    ISTIOD = "istiod"
    CNI = "cni"
    WAYPOINT = "waypoint"
    GATEWAY = "gateway"


def wall_clock() -> datetime:
    """The current UTC time truncated to the second (the resolution of Kubernetes timestamps)."""
    return datetime.now(UTC).replace(microsecond=0)


def stable_uid(*parts: str) -> str:
    """Return a UUID derived from names, so every run serves the same UIDs."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "fakecluster:" + "/".join(parts)))


def stable_int(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:8], "big")


_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for generated name suffixes


def k8s_suffix(*parts: str, length: int = 5) -> str:
    """A generated-name suffix (ReplicaSet hash / pod suffix) derived from names."""
    h, out = stable_int(*parts), []
    for _ in range(length):
        h, r = divmod(h, len(_SAFE))
        out.append(_SAFE[r])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    index: int = 0
    ready: bool = True
    zone: str = "zone-a"

    @property
    def ip(self) -> str:
        n = self.index + 2  # past 253 nodes the address carries into the third octet (172.18.0.0/16)
        return f"172.18.{n // 256}.{n % 256}"

    @property
    def pod_cidr(self) -> str:
        return f"{pod_prefix(self.index)}.0/24"

    @property
    def uid(self) -> str:
        return stable_uid("node", self.name)


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def ambient(self) -> bool:
        return self.labels.get("istio.io/dataplane-mode") == AMBIENT

    @property
    def uid(self) -> str:
        return stable_uid("namespace", self.name)


@dataclass(frozen=True, slots=True)
class Pod:
    """A pod; `restarts`/`ready` apply to the first container (the one that matters for Istio pods)."""

    namespace: str
    name: str
    node: str | None = None
    ip: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    phase: Phase = Phase.RUNNING
    restarts: int = 0
    ready: bool = True
    host_network: bool = False
    service_account: str = "default"
    containers: tuple[str, ...] = ("app",)
    created: datetime | None = None
    deleted: datetime | None = None
    workload: str | None = None
    workload_kind: str = "Deployment"
    role: Role = Role.APP
    ports: tuple[int, ...] = ()
    image: str = ""
    env: Mapping[str, str] = field(default_factory=dict)  # the first container's env values
    # Tenant-controlled fields merged as given: into the pod spec (`dnsConfig`) and its first container
    # (`livenessProbe`), for what a hostile tenant can put where the collector reads.
    spec_extra: Mapping[str, Any] = field(default_factory=dict)
    container_extra: Mapping[str, Any] = field(default_factory=dict)
    probe_port: int | None = None  # the first container's httpGet readiness probe
    memory_limit: str | None = None  # the first container's resources.limits.memory ("256Mi")
    last_reason: str = "Error"  # lastState.terminated.reason when the pod restarted ("OOMKilled")

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def uid(self) -> str:
        return stable_uid("pod", self.namespace, self.name)

    @property
    def canonical_name(self) -> str:
        return self.labels.get("app", self.workload or self.name)

    @property
    def canonical_revision(self) -> str:
        return self.labels.get("version", "latest")


@dataclass(frozen=True, slots=True)
class ServicePort:
    port: int
    target_port: int
    name: str = "http"
    protocol: str = "TCP"


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    selector: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[ServicePort, ...] = (ServicePort(80, 80),)
    cluster_ip: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def hostname(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    @property
    def uid(self) -> str:
        return stable_uid("service", self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Policy:
    """An ambient AuthorizationPolicy as istiod hands it to ztunnel."""

    namespace: str
    name: str
    action: str = "Allow"
    scope: str = "WorkloadSelector"
    principals: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class StaleWorkload:
    """A workload entry for a pod that no longer exists (or exists elsewhere)."""

    namespace: str
    name: str
    ip: str
    node: str = ""
    service_account: str = "default"
    protocol: str = "HBONE"


@dataclass(frozen=True, slots=True)
class Drift:
    """How one view of the mesh differs from the truth. Keys are `ns/name`."""

    missing_workloads: frozenset[str] = frozenset()
    extra_workloads: tuple[StaleWorkload, ...] = ()
    workload_protocol: Mapping[str, str] = field(default_factory=dict)
    workload_ip: Mapping[str, str] = field(default_factory=dict)
    workload_waypoint: Mapping[str, str | None] = field(default_factory=dict)
    missing_services: frozenset[str] = frozenset()
    extra_services: tuple[Service, ...] = ()
    service_ports: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    missing_policies: frozenset[str] = frozenset()
    extra_policies: tuple[Policy, ...] = ()

    def __bool__(self) -> bool:
        return self != Drift()


class CertState(StrEnum):
    AVAILABLE = "Available"
    INITIALIZING = "Initializing"
    UNAVAILABLE = "Unavailable"


UNAVAILABLE_SIGNING = (
    "Unavailable: signing gRPC error (The service is currently unavailable): "
    "transport error: dns error: failed to lookup address information: Name or service not known"
)


@dataclass(frozen=True, slots=True)
class CertOverride:
    """State/validity of one identity's certificate in a ztunnel (offsets relative to `now`)."""

    state: str = CertState.AVAILABLE
    valid_from: timedelta = timedelta(hours=-1)
    valid_for: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One extra log event; `ago` places it before `now`; `fields` rendered in the component's format."""

    level: str
    target: str
    message: str
    fields: tuple[tuple[str, str | int], ...] = ()
    ago: timedelta = timedelta(seconds=30)
    previous: bool = False


@dataclass(frozen=True, slots=True)
class ZtunnelOverride:
    """Everything that can be wrong with one node's ztunnel."""

    drift: Drift = Drift()
    workload_state: Mapping[str, str | None] = field(default_factory=dict)  # None: absent
    certificates: Mapping[str, CertOverride] = field(default_factory=dict)  # key: "ns/sa"
    root: str = "cluster"
    version: str | None = None
    xds_on_demand: bool = False
    restarts: int = 0
    ready: bool = True
    phase: Phase = Phase.RUNNING
    logs: tuple[LogEvent, ...] = ()
    log_format: str = "plain"
    staged_services: bool = False
    config_dump_shape: str = "current"  # or "1.22"


@dataclass(frozen=True, slots=True)
class IstiodOverride:
    """How istiod sees one node's ztunnel."""

    drift: Drift = Drift()
    connected: bool = True
    nack: str | None = None
    replica: int | None = None


@dataclass(frozen=True, slots=True)
class RbacRule:
    """One allowed (verb, resource[/subresource]) in a namespace; "*" matches anything.

    As in RBAC, a rule naming an object (`name`, i.e. resourceNames) never matches a request
    without a name (a list), and `subresource=""` keeps "pods" from covering "pods/log".
    """

    verb: str = "*"
    resource: str = "*"
    subresource: str = "*"
    namespace: str = "*"
    group: str = "*"  # API group ("" is core)
    name: str = "*"

    def allows(
        self,
        verb: str,
        resource: str,
        subresource: str,
        namespace: str,
        name: str = "",
        group: str | None = None,
    ) -> bool:
        """Whether this rule grants the request; `group=None` skips the group check."""
        return (
            self.verb in ("*", verb)
            and self.resource in ("*", resource)
            and self.subresource in ("*", subresource)
            and self.namespace in ("*", namespace)
            and (group is None or self.group in ("*", group))
            and self.name in ("*", name)
        )


@dataclass(frozen=True, slots=True, eq=False)
class Scenario:
    """A whole simulated cluster; compared by identity so payload caches can key on it."""

    name: str
    nodes: tuple[Node, ...]
    namespaces: tuple[Namespace, ...]
    pods: tuple[Pod, ...]
    services: tuple[Service, ...] = ()
    policies: tuple[Policy, ...] = ()
    istio_version: str = "1.26.2"
    istio_namespace: str = ISTIO_NS
    istiod_replicas: int = 1
    now: datetime = field(default_factory=wall_clock)
    trust_domain: str = "cluster.local"
    ztunnels: Mapping[str, ZtunnelOverride] = field(default_factory=dict)  # key: node name
    istiod: Mapping[str, IstiodOverride] = field(default_factory=dict)  # key: node name
    rbac: tuple[RbacRule, ...] | None = None  # None: allow everything
    user: str = "system:serviceaccount:default:ztbundle"
    istiod_logs: tuple[LogEvent, ...] = ()
    cni_logs: Mapping[str, tuple[LogEvent, ...]] = field(default_factory=dict)  # key: node
    traffic: bool = True
    xds_headers: tuple[tuple[str, str], ...] = (("authorization", "Bearer fake-xds-token-must-be-redacted"),)
    ca_headers: tuple[tuple[str, str], ...] = ()
    planted_secrets: tuple[str, ...] = ()  # values hidden in the served data that must never reach a bundle
    pinned: bool = False  # True: `now` was chosen by the caller, so FakeCluster keeps it
    # Configuration objects as applied (apiVersion, kind, metadata, spec, status); the server fills
    # uid, resourceVersion and creationTimestamp. Served by kind (tests/fakecluster/config.py).
    config: tuple[Mapping[str, Any], ...] = ()
    uninstalled_groups: frozenset[str] = frozenset()  # API groups whose CRDs are not installed
    # False: an API server before Kubernetes 1.26, which ignores the aggregated discovery Accept type
    # and answers /api and /apis with the legacy documents only (each group version then its own GET).
    aggregated_discovery: bool = True
    istiod_env: tuple[tuple[str, str], ...] = (
        ("PILOT_ENABLE_AMBIENT", "true"),
        ("CA_TRUSTED_NODE_ACCOUNTS", "istio-system/ztunnel"),
    )
    working_set: Mapping[str, str] = field(default_factory=dict)  # PodMetrics per Istio pod name ("40Mi")

    # --- time -----------------------------------------------------------------------------

    def rebased(self, now: datetime) -> Scenario:
        """Return a copy living at `now`: the clock and every absolute pod time move together.

        Everything else (certificates, logs, restarts, syncz) is derived from `now` when served.
        """
        delta = now - self.now
        if not delta:
            return self
        pods = tuple(
            replace(
                p,
                created=p.created + delta if p.created else None,
                deleted=p.deleted + delta if p.deleted else None,
            )
            for p in self.pods
        )
        return replace(self, now=now, pods=pods)

    def pinned_at(self, now: datetime) -> Scenario:
        """Return a copy fixed at `now` that FakeCluster will not move (for byte-exact tests)."""
        return replace(self.rebased(now), pinned=True)

    # --- lookups -----------------------------------------------------------------------

    def pods_by_role(self, role: Role) -> list[Pod]:
        return list(index(self).by_role.get(role, ()))

    def pods_on(self, node: str) -> tuple[Pod, ...]:
        """Pods scheduled on `node`, in scenario order (indexed: 20,000 pods, asked per ztunnel)."""
        return index(self).by_node.get(node, ())

    def pod(self, namespace: str, name: str) -> Pod | None:
        return index(self).pods.get((namespace, name))

    def namespace(self, name: str) -> Namespace | None:
        return index(self).namespaces.get(name)

    def ztunnel_on(self, node: str) -> Pod | None:
        return next((p for p in index(self).by_role.get(Role.ZTUNNEL, ()) if p.node == node), None)

    def ztunnel_override(self, node: str) -> ZtunnelOverride:
        return self.ztunnels.get(node, ZtunnelOverride())

    def istiod_override(self, node: str) -> IstiodOverride:
        return self.istiod.get(node, IstiodOverride())

    def is_ambient(self, pod: Pod) -> bool:
        """Enrolled per the namespace/pod labels, excluding hostNetwork and Istio's own pods."""
        if pod.role in (Role.ZTUNNEL, Role.ISTIOD, Role.CNI) or pod.host_network:
            return False
        mode = pod.labels.get("istio.io/dataplane-mode")
        if mode is not None:
            return mode == AMBIENT
        ns = self.namespace(pod.namespace)
        return ns is not None and ns.ambient

    def is_enrolled(self, pod: Pod) -> bool:
        return pod.annotations.get(REDIRECTION) == "enabled"

    def istiod_for(self, node: str) -> Pod | None:
        """The istiod replica a node's ztunnel is attached to (round-robin unless overridden)."""
        idx = index(self)
        if not idx.istiods:
            return None
        override = self.istiod_override(node).replica
        pick = override if override is not None else idx.node_rank.get(node, 0)
        return idx.istiods[pick % len(idx.istiods)]

    def services_of(self, pod: Pod) -> list[Service]:
        """Services whose selector matches the pod (indexed: synthetic clusters have thousands)."""
        return index(self).services_by_pod.get((pod.namespace, pod.name), [])

    def pods_of(self, svc: Service) -> list[Pod]:
        return index(self).pods_by_service.get((svc.namespace, svc.name), [])

    def with_overrides(
        self,
        ztunnels: Mapping[str, ZtunnelOverride] | None = None,
        istiod: Mapping[str, IstiodOverride] | None = None,
        **changes: Any,
    ) -> Scenario:
        """Return a copy with per-node overrides merged in (later wins per node)."""
        return replace(
            self,
            ztunnels={**self.ztunnels, **(ztunnels or {})},
            istiod={**self.istiod, **(istiod or {})},
            **changes,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        from tests.fakecluster.loader import scenario_from_dict

        return scenario_from_dict(data)


@dataclass(frozen=True, slots=True)
class Index:
    namespaces: dict[str, Namespace]
    pods: dict[tuple[str, str], Pod]
    services_by_pod: dict[tuple[str, str], list[Service]]
    pods_by_service: dict[tuple[str, str], list[Pod]]
    by_role: dict[Role, tuple[Pod, ...]]
    by_node: dict[str, tuple[Pod, ...]]
    istiods: tuple[Pod, ...]  # sorted by name: replica i serves the nodes of rank i mod replicas
    node_rank: dict[str, int]  # position of each node name in sorted order


@lru_cache(maxsize=64)
def index(scn: Scenario) -> Index:
    """Lookup tables for a scenario, built once (scenarios are immutable and hashed by identity)."""
    by_label: dict[tuple[str, str, str], list[Pod]] = {}
    for p in scn.pods:
        for k, v in p.labels.items():
            by_label.setdefault((p.namespace, k, v), []).append(p)
    services_by_pod: dict[tuple[str, str], list[Service]] = {}
    pods_by_service: dict[tuple[str, str], list[Pod]] = {}
    for svc in scn.services:
        if not svc.selector:
            continue
        sel = list(svc.selector.items())
        candidates = by_label.get((svc.namespace, *sel[0]), [])
        matched = [p for p in candidates if all(p.labels.get(k) == v for k, v in sel[1:])]
        pods_by_service[(svc.namespace, svc.name)] = matched
        for p in matched:
            services_by_pod.setdefault((p.namespace, p.name), []).append(svc)
    by_role: dict[Role, list[Pod]] = {}
    by_node: dict[str, list[Pod]] = {}
    for p in scn.pods:
        by_role.setdefault(p.role, []).append(p)
        if p.node is not None:
            by_node.setdefault(p.node, []).append(p)
    node_rank: dict[str, int] = {}
    for i, name in enumerate(sorted(n.name for n in scn.nodes)):
        node_rank.setdefault(name, i)
    return Index(
        {n.name: n for n in scn.namespaces},
        {(p.namespace, p.name): p for p in scn.pods},
        services_by_pod,
        pods_by_service,
        {k: tuple(v) for k, v in by_role.items()},
        {k: tuple(v) for k, v in by_node.items()},
        tuple(sorted(by_role.get(Role.ISTIOD, ()), key=lambda p: p.name)),
        node_rank,
    )


# --- building -----------------------------------------------------------------------------


def pod_prefix(index: int) -> str:
    """The first three octets of node `index`'s /24: 10.244.<i> for the first 256 nodes, then 10.245…"""
    return f"10.{244 + index // 256}.{index % 256}"


def _ip_allocator(nodes: Sequence[Node]) -> dict[str, list[int]]:
    return {n.name: [10] for n in nodes}


def component_pods(
    nodes: Sequence[Node],
    *,
    istio_namespace: str,
    version: str,
    istiod_replicas: int,
    now: datetime,
    without_ztunnel: Iterable[str] = (),
    without_cni: Iterable[str] = (),
) -> list[Pod]:
    """Create istiod replicas, and a ztunnel and istio-cni pod per node (names derived from node)."""
    ns, created = istio_namespace, now - timedelta(days=2)
    skip_zt, skip_cni = set(without_ztunnel), set(without_cni)
    pods: list[Pod] = []
    for i in range(istiod_replicas):
        suffix = k8s_suffix("istiod", length=10)
        pods.append(
            Pod(
                ns,
                f"istiod-{suffix}-{k8s_suffix('istiod', str(i))}",
                node=nodes[i % len(nodes)].name,
                labels={
                    "app": "istiod",
                    "istio": "pilot",
                    "istio.io/rev": "default",
                    "istio.io/dataplane-mode": "none",
                    "pod-template-hash": suffix,
                },
                service_account="istiod",
                containers=("discovery",),
                created=created,
                workload="istiod",
                role=Role.ISTIOD,
                ports=(8080, 15010, 15012, 15014, 15017),
                image=f"docker.io/istio/pilot:{version}",
            )
        )
    for node in nodes:
        tag = k8s_suffix("ds", node.name)
        if node.name not in skip_zt:
            pods.append(
                Pod(
                    ns,
                    f"ztunnel-{tag}",
                    node=node.name,
                    labels={
                        "app": "ztunnel",
                        "app.kubernetes.io/name": "ztunnel",
                        "istio.io/dataplane-mode": "none",
                        "sidecar.istio.io/inject": "false",
                    },
                    annotations={"istio.io/rev": "default"},
                    service_account="ztunnel",
                    containers=("istio-proxy",),
                    created=created,
                    workload="ztunnel",
                    workload_kind="DaemonSet",
                    role=Role.ZTUNNEL,
                    ports=(15000, 15008, 15020, 15021),
                    image=f"docker.io/istio/ztunnel:{version}-distroless",
                )
            )
        if node.name not in skip_cni:
            pods.append(
                Pod(
                    ns,
                    f"istio-cni-node-{k8s_suffix('cni', node.name)}",
                    node=node.name,
                    labels={
                        "k8s-app": "istio-cni-node",
                        "app.kubernetes.io/name": "istio-cni",
                        "istio.io/dataplane-mode": "none",
                    },
                    service_account="istio-cni",
                    containers=("install-cni",),
                    created=created,
                    workload="istio-cni-node",
                    workload_kind="DaemonSet",
                    role=Role.CNI,
                    host_network=True,
                    image=f"docker.io/istio/install-cni:{version}-distroless",
                )
            )
    return pods


def waypoint_pod(
    namespace: str, node: str, name: str = "waypoint", version: str = "1.26.2", *, agentgateway: bool = False
) -> Pod:
    """An Envoy waypoint pod, or (1.31) one served by agentgateway: its own controller and container."""
    return Pod(
        namespace,
        f"{name}-{k8s_suffix('wp', namespace, name, length=10)}-{k8s_suffix('wpod', namespace, name)}",
        node=node,
        labels={
            WAYPOINT_MANAGED: AGENTGATEWAY_WAYPOINT_CONTROLLER if agentgateway else WAYPOINT_CONTROLLER,
            "gateway.networking.k8s.io/gateway-name": name,
            "istio.io/dataplane-mode": "none",
            "networking.istio.io/tunnel": "http",
        },
        service_account=name,
        containers=("agentgateway",) if agentgateway else ("istio-proxy",),
        workload=name,
        role=Role.WAYPOINT,
        ports=(15008, 15021, 15090),
        image=f"cr.agentgateway.dev/agentgateway:{version}"
        if agentgateway
        else f"docker.io/istio/proxyv2:{version}",
    )


def build(
    name: str,
    *,
    nodes: Sequence[str] | int,
    namespaces: Sequence[Namespace],
    pods: Sequence[Pod],
    services: Sequence[Service] = (),
    policies: Sequence[Policy] = (),
    istio_version: str = "1.26.2",
    istio_namespace: str = ISTIO_NS,
    istiod_replicas: int = 1,
    now: datetime | None = None,
    without_ztunnel: Iterable[str] = (),
    without_cni: Iterable[str] = (),
    **extra: Any,
) -> Scenario:
    """Assemble a scenario: add Istio components, assign IPs/VIPs/timestamps and enrollment.

    `now=None` means the wall clock, unpinned (FakeCluster moves it to its start time); an explicit
    `now` pins the scenario there.
    """
    pinned = now is not None
    now = now if now is not None else wall_clock()
    node_names = [f"node-{i + 1}" for i in range(nodes)] if isinstance(nodes, int) else list(nodes)
    node_objs = tuple(Node(n, i) for i, n in enumerate(node_names))
    ns_objs = list(namespaces)
    if not any(n.name == istio_namespace for n in ns_objs):
        ns_objs.insert(0, Namespace(istio_namespace))
    for base in ("default", "kube-system"):
        if not any(n.name == base for n in ns_objs):
            ns_objs.append(Namespace(base))
    draft = Scenario(
        name,
        node_objs,
        tuple(ns_objs),
        (),
        istio_version=istio_version,
        istio_namespace=istio_namespace,
        istiod_replicas=istiod_replicas,
        now=now,
        pinned=pinned,
    )
    all_pods = component_pods(
        node_objs,
        istio_namespace=istio_namespace,
        version=istio_version,
        istiod_replicas=istiod_replicas,
        now=now,
        without_ztunnel=without_ztunnel,
        without_cni=without_cni,
    )
    all_pods += list(pods)
    next_ip = _ip_allocator(node_objs)
    by_node = {n.name: n for n in node_objs}
    finished: list[Pod] = []
    for i, pod in enumerate(all_pods):
        node = pod.node or node_names[i % len(node_names)]
        ip = pod.ip
        if ip is None and pod.phase is not Phase.PENDING:
            if pod.host_network:
                ip = by_node[node].ip if node in by_node else "172.18.0.250"
            else:
                idx = by_node[node].index if node in by_node else 250
                ip = f"{pod_prefix(idx)}.{next_ip.setdefault(node, [10])[0]}"
                next_ip[node][0] += 1
        annotations = dict(pod.annotations)
        if draft.is_ambient(pod) and pod.phase is Phase.RUNNING:
            annotations.setdefault(REDIRECTION, "enabled")
        created = pod.created or now - timedelta(hours=6, minutes=stable_int(pod.name) % 60)
        finished.append(replace(pod, node=node, ip=ip, annotations=annotations, created=created))
    svc_objs = tuple(_with_vip(s) for s in services)
    return replace(draft, pods=tuple(finished), services=svc_objs, policies=tuple(policies), **extra)


def add_pod(scn: Scenario, pod: Pod) -> Scenario:
    """Return `scn` with `pod` added and finished as `build` would (node, free IP, created, enrollment)."""
    node = pod.node or scn.nodes[0].name
    idx = next((n.index for n in scn.nodes if n.name == node), 250)
    ip = pod.ip
    if ip is None and pod.phase is not Phase.PENDING:
        used = {p.ip for p in scn.pods}
        ip = next(f"{pod_prefix(idx)}.{i}" for i in range(10, 255) if f"{pod_prefix(idx)}.{i}" not in used)
    pod = replace(
        pod,
        node=node,
        ip=ip,
        created=pod.created or scn.now - timedelta(hours=6, minutes=stable_int(pod.name) % 60),
    )
    if scn.is_ambient(pod) and pod.phase is Phase.RUNNING and REDIRECTION not in pod.annotations:
        pod = replace(pod, annotations={**pod.annotations, REDIRECTION: "enabled"})
    return replace(scn, pods=scn.pods + (pod,))


def _with_vip(svc: Service) -> Service:
    if svc.cluster_ip is not None:
        return svc
    h = stable_int("vip", svc.namespace, svc.name)
    return replace(svc, cluster_ip=f"10.96.{(h >> 8) % 250 + 1}.{h % 250 + 2}")


def app_pod(
    namespace: str,
    workload: str,
    *,
    app: str | None = None,
    version: str | None = None,
    node: str | None = None,
    service_account: str | None = None,
    port: int = 9080,
    **changes: Any,
) -> Pod:
    """A Deployment-owned app pod with a deterministic ReplicaSet-style name."""
    rs, suffix = k8s_suffix("rs", namespace, workload, length=10), k8s_suffix("pod", namespace, workload)
    labels = {"app": app or workload, "pod-template-hash": rs}
    if version:
        labels["version"] = version
    fields: dict[str, Any] = {
        "node": node,
        "labels": labels,
        "service_account": service_account or f"{namespace}-{app or workload}",
        "containers": (app or workload,),
        "workload": workload,
        "ports": (port,),
        "image": f"docker.io/istio/examples-{workload}:1.20.2",
    }
    return Pod(namespace, f"{workload}-{rs}-{suffix}", **(fields | changes))
