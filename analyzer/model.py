"""Frozen, typed model of a bundle: the only thing rules read.

Built by `analyzer.load` from a safe `BundleFiles` (or by `tests/builders.py` from a YAML case).
Workload/service/policy entries are interned across ztunnels (identical entries are the same
object), and every `XdsState` carries a per-key content hash so drift checks compare hashes first.

Input tracking: `Bundle`, `Ztunnel` and `Istiod` record which `Input` each attribute a rule
touches comes from into one shared set, `bundle.inputs_read` (the rule meta-test compares it
with `Rule.needs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from ztbundle import layout
from ztbundle.layout import Component, Input, Status

__all__ = [
    "CAPTURE_SETTLE",
    "WAYPOINT_CONTROLLERS",
    "Availability",
    "Baseline",
    "BaselineKind",
    "Bundle",
    "CertInfo",
    "CertState",
    "Certificate",
    "Component",
    "Container",
    "FormatNote",
    "InpodState",
    "Input",
    "Istiod",
    "IstiodConnection",
    "LogFile",
    "Manifest",
    "Namespace",
    "Node",
    "ObjectRef",
    "Pod",
    "PodRelist",
    "Policy",
    "ProxyView",
    "Status",
    "SyncEntry",
    "SyncResource",
    "Workload",
    "XdsService",
    "XdsState",
    "Ztunnel",
    "ZtunnelConfig",
]

CAPTURE_SETTLE = timedelta(seconds=60)
"""Objects younger than this at the earliest dump are not judged (failure-modes §1 guard 2)."""

AMBIENT_LABEL = "istio.io/dataplane-mode"
SIDECAR_STATUS = "sidecar.istio.io/status"
REDIRECTION = "ambient.istio.io/redirection"
CNI_EXCLUDED_NAMESPACES = frozenset({"kube-system"})  # istio-cni chart default excludeNamespaces
WAYPOINT_CONTROLLERS = frozenset({"istio.io-mesh-controller", "istio.io-agentgateway-waypoint-controller"})
"""`gateway.istio.io/managed` of waypoint pods: Envoy's, and agentgateway's (1.31)."""


class _Tracked:
    """Records the Input behind each tracked attribute read into the shared `_reads` set."""

    __slots__ = ()
    _INPUTS: ClassVar[Mapping[str, Input | tuple[Input, ...]]] = {}

    def __getattribute__(self, name: str) -> Any:
        got = type(self)._INPUTS.get(name)
        if got is not None:
            reads: set[Input] = object.__getattribute__(self, "_reads")
            if isinstance(got, tuple):
                reads.update(got)
            else:
                reads.add(got)
        return object.__getattribute__(self, name)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A reference to an object; prints `Kind namespace/name` (or `Kind name` if cluster-scoped)."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


# --- manifest ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether an Input was collected; `reason` is the collector's recorded reason when it was not."""

    input: Input
    ok: bool
    reason: str | None = None
    partial: bool = False  # some targets ok, some failed


@dataclass(frozen=True, slots=True)
class Artifact:
    path: str
    input: Input
    status: Status
    error: str | None
    stored: bool
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Manifest:
    collected_at: datetime
    finished_at: datetime | None
    context: str | None
    istio_versions: tuple[str, ...]
    complete: bool
    interrupted: bool
    availability: Mapping[Input, Availability]
    artifacts: Mapping[str, Artifact]
    errors: tuple[str, ...] = ()
    trimmed: frozenset[str] = frozenset()


# --- Kubernetes objects -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    ready: bool
    restarts: int
    state: str  # running | waiting | terminated | unknown
    reason: str | None = None
    image: str | None = None
    last_reason: str | None = None  # lastState.terminated.reason: why the previous run ended (OOMKilled)


@dataclass(frozen=True, slots=True)
class Pod:
    ref: ObjectRef
    uid: str
    node: str | None
    ip: str | None
    phase: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    host_network: bool = False
    deleting: bool = False
    created_at: datetime | None = None
    started_at: datetime | None = None
    ready: bool = False
    containers: tuple[Container, ...] = ()
    ips: tuple[str, ...] = ()

    @property
    def namespace(self) -> str:
        return self.ref.namespace

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def restarts(self) -> int:
        return sum(c.restarts for c in self.containers)

    @property
    def sidecar_injected(self) -> bool:
        return SIDECAR_STATUS in self.annotations

    @property
    def terminal(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    @property
    def redirection(self) -> str | None:
        """Value of `ambient.istio.io/redirection` (`enabled`, `pending`) or None."""
        return self.annotations.get(REDIRECTION)

    def xds_uid(self, cluster_id: str = "Kubernetes") -> str:
        """The workload uid istiod gives this pod (`<cluster>//Pod/<ns>/<name>`)."""
        return f"{cluster_id}//Pod/{self.ref.namespace}/{self.ref.name}"


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def dataplane_mode(self) -> str | None:
        return self.labels.get(AMBIENT_LABEL)


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ready: bool = True
    unschedulable: bool = False
    created_at: datetime | None = None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Node", "", self.name)

    @property
    def os(self) -> str:
        return self.labels.get("kubernetes.io/os", "linux")

    @property
    def virtual(self) -> bool:
        """virtual-kubelet / Fargate nodes never run DaemonSets."""
        return (
            self.labels.get("type") == "virtual-kubelet"
            or self.labels.get("eks.amazonaws.com/compute-type") == "fargate"
        )


@dataclass(frozen=True, slots=True)
class KubeService:
    ref: ObjectRef
    cluster_ip: str | None
    labels: Mapping[str, str] = field(default_factory=dict)
    selector: Mapping[str, str] = field(default_factory=dict)


# --- xDS entries (one normalized representation for ztunnel and istiod) -------------------


@dataclass(frozen=True, slots=True)
class Workload:
    """A normalized workload entry (formats.md §4.5); identical on both sides when in sync."""

    uid: str
    name: str
    namespace: str
    ips: tuple[str, ...] = ()
    protocol: str = "TCP"
    network_mode: str = "Standard"
    node: str | None = None
    service_account: str = "default"
    trust_domain: str = "cluster.local"
    cluster_id: str = "Kubernetes"
    network: str = ""
    waypoint: str | None = None
    network_gateway: str | None = None
    services: tuple[str, ...] = ()
    status: str = "Healthy"
    workload_name: str = ""
    workload_type: str = "deployment"
    canonical_name: str = ""
    canonical_revision: str = ""
    hostname: str = ""
    native_tunnel: bool = False
    authorization_policies: tuple[str, ...] = ()
    capacity: int = 1
    locality: str | None = None
    application_tunnel: str | None = None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Workload", self.namespace, self.name)

    @property
    def pod_key(self) -> tuple[str, str, str] | None:
        """(cluster, namespace, name) when the uid is a Kubernetes pod's, else None (guard 5)."""
        cluster, sep, rest = self.uid.partition("//Pod/")
        if not sep:
            return None
        ns, _, name = rest.partition("/")
        return (cluster, ns, name) if ns and name else None


@dataclass(frozen=True, slots=True)
class XdsService:
    namespace: str
    hostname: str
    name: str = ""
    vips: tuple[str, ...] = ()
    cidr_vips: tuple[str, ...] = ()
    ports: tuple[tuple[int, int], ...] = ()
    endpoints: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()
    subject_alt_names: tuple[str, ...] = ()
    waypoint: str | None = None
    load_balancer: str | None = None
    ip_families: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.hostname}"


@dataclass(frozen=True, slots=True)
class Policy:
    namespace: str
    name: str
    scope: str = "Global"
    action: str = "Allow"
    rules: tuple[Any, ...] = ()
    dry_run: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class XdsState:
    """One side's workloads/services/policies keyed by uid / `ns/host` / `ns/name`, plus content hashes."""

    workloads: Mapping[str, Workload] = field(default_factory=dict)
    services: Mapping[str, XdsService] = field(default_factory=dict)
    policies: Mapping[str, Policy] = field(default_factory=dict)
    workload_hashes: Mapping[str, str] = field(default_factory=dict)
    service_hashes: Mapping[str, str] = field(default_factory=dict)
    policy_hashes: Mapping[str, str] = field(default_factory=dict)
    absent_fields: frozenset[str] = frozenset()
    """Entry fields this source's version cannot carry (e.g. `network_mode` before ztunnel 1.24):
    their defaulted values mean "unknown", so drift checks pass them as `ignore=` to
    `normalize.same()` / `normalize.diff()` when hashes differ."""


# --- ztunnel ------------------------------------------------------------------------


class CertState(StrEnum):
    AVAILABLE = "Available"
    INITIALIZING = "Initializing"
    UNAVAILABLE = "Unavailable"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class CertInfo:
    serial: int | None
    valid_from: datetime | None
    expires: datetime | None
    fingerprint: str  # sha256 of the normalized PEM text; equal certs compare equal


@dataclass(frozen=True, slots=True)
class Certificate:
    identity: str
    state: CertState
    state_error: str | None = None
    chain: tuple[CertInfo, ...] = ()
    roots: tuple[CertInfo, ...] = ()
    roots_inferred: bool = False  # rootCerts absent (≤1.25): the last chain element is the root

    @property
    def leaf(self) -> CertInfo | None:
        return self.chain[0] if self.chain else None


@dataclass(frozen=True, slots=True)
class InpodState:
    pod_uid: str
    name: str
    namespace: str
    state: str  # Up | Pending | anything newer
    service_account: str = ""
    inbound: int = 0
    outbound: int = 0


@dataclass(frozen=True, slots=True)
class ZtunnelConfig:
    local_node: str | None = None
    cluster_id: str = "Kubernetes"
    network: str = ""
    proxy_mode: str = "Shared"
    xds_on_demand: bool = False
    xds_address: str | None = None
    ca_address: str | None = None
    dns_proxy: bool | None = None


@dataclass(frozen=True, slots=True)
class FormatNote:
    """A config_dump field this release of ztbundle did not expect (unknown, or of another type).

    A mistyped field is left out of the model (its default applies); the dump stays in the bundle as is.
    """

    field: str  # e.g. `workloads.capacity`, `config.dnsProxy`, `top.newSection`
    expected: str  # JSON type(s), or "no such field"
    seen: str  # JSON type and a short excerpt of the value
    version: str | None = None  # the ztunnel's Istio release, when its dump says


@dataclass(frozen=True, slots=True)
class Ztunnel(_Tracked):
    name: str
    namespace: str
    pod: Pod | None
    node: str | None
    config_dump_path: str
    available: bool = True  # config_dump parsed; False → `unavailable_reason`
    unavailable_reason: str | None = None
    config: ZtunnelConfig = field(default_factory=ZtunnelConfig)
    version: str | None = None
    xds: XdsState = field(default_factory=XdsState)
    certificates: tuple[Certificate, ...] = ()
    workload_state: Mapping[str, InpodState] | None = None  # None: not in-pod mode / absent
    staged_services: int = 0
    format_notes: tuple[FormatNote, ...] = ()
    _reads: set[Input] = field(default_factory=set, compare=False, repr=False)

    _INPUTS: ClassVar[Mapping[str, Input | tuple[Input, ...]]] = {
        "pod": Input.PODS,
        "available": Input.ZTUNNEL_CONFIG,
        "config": Input.ZTUNNEL_CONFIG,
        "version": Input.ZTUNNEL_CONFIG,
        "xds": Input.ZTUNNEL_CONFIG,
        "certificates": Input.ZTUNNEL_CONFIG,
        "workload_state": Input.ZTUNNEL_CONFIG,
        "staged_services": Input.ZTUNNEL_CONFIG,
        "format_notes": Input.ZTUNNEL_CONFIG,
    }

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Ztunnel", self.namespace, self.name)

    @property
    def workloads(self) -> Mapping[str, Workload]:
        return self.xds.workloads

    @property
    def workload_uids(self) -> Mapping[str, Workload]:
        """Membership test by workload uid (a mapping, so `uid in z.workload_uids` is O(1))."""
        return self.xds.workloads

    @property
    def services(self) -> Mapping[str, XdsService]:
        return self.xds.services

    @property
    def policies(self) -> Mapping[str, Policy]:
        return self.xds.policies

    @property
    def ready(self) -> bool:
        return bool(self.pod and self.pod.ready)

    @property
    def restarts(self) -> int:
        return self.pod.restarts if self.pod else 0

    @property
    def deleting(self) -> bool:
        return bool(self.pod and self.pod.deleting)


# --- istiod -------------------------------------------------------------------------


class BaselineKind(StrEnum):
    PROXY_CONFIG = "istiod-proxy-config"  # per-proxy /debug/config_dump (≤1.24)
    AMBIENTZ = "istiod-ambientz"  # /debug/ambientz + per-proxy WADS (1.25+, per-proxy WDS empty)
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ProxyView:
    """istiod's view of one ztunnel (per-proxy config_dump and its WADS variant)."""

    ztunnel: str
    path: str
    available: bool
    reason: str | None = None
    xds: XdsState = field(default_factory=XdsState)
    policies_path: str | None = None
    policies_available: bool = False


@dataclass(frozen=True, slots=True)
class SyncResource:
    type_url: str
    sent: str | None
    acked: str | None
    last_error: str | None = None
    sent_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncEntry:
    proxy: str  # `<pod>.<namespace>`
    proxy_type: str
    istio_version: str | None
    cluster_id: str | None
    resources: tuple[SyncResource, ...] = ()


@dataclass(frozen=True, slots=True)
class IstiodConnection:
    connection_id: str
    connected_at: datetime | None
    address: str | None

    @property
    def proxy(self) -> str:
        """`<pod>.<ns>` from the connection id `<pod>.<ns>-<counter>`."""
        return self.connection_id.rsplit("-", 1)[0]


@dataclass(frozen=True, slots=True)
class Istiod(_Tracked):
    name: str
    namespace: str
    pod: Pod | None
    version: str | None = None
    views: Mapping[str, ProxyView] = field(default_factory=dict)
    ambientz: XdsState | None = None
    ambientz_path: str | None = None
    syncz: tuple[SyncEntry, ...] | None = None
    connections: tuple[IstiodConnection, ...] | None = None
    _reads: set[Input] = field(default_factory=set, compare=False, repr=False)

    _INPUTS: ClassVar[Mapping[str, Input | tuple[Input, ...]]] = {
        "pod": Input.PODS,
        "version": Input.ISTIOD_VERSION,
        "views": (Input.ISTIOD_PROXY_CONFIG, Input.ISTIOD_PROXY_POLICIES),
        "ambientz": Input.ISTIOD_AMBIENTZ,
        "syncz": Input.ISTIOD_SYNCZ,
        "connections": Input.ISTIOD_CONNECTIONS,
    }

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Pod", self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Baseline:
    """Which istiod view a ztunnel is compared against (the report states it per ztunnel)."""

    ztunnel: str
    kind: BaselineKind
    istiod: str | None = None
    xds: XdsState | None = None
    evidence: tuple[str, ...] = ()
    note: str | None = None


# --- logs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class LogFile:
    """A container log as collected; parse it with `analyzer.parse.logs` (cached per file)."""

    component: Component
    namespace: str
    pod: str
    container: str
    previous: bool
    path: str
    source: str | Callable[[], str] = field(repr=False)
    """The text, or how to read it: the loader passes a reader, so a 1,000-ztunnel bundle's logs are
    not held as text beside their bytes (decoded for each parse or view, then dropped)."""
    trimmed: bool = False
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def text(self) -> str:
        return self.source if isinstance(self.source, str) else self.source()

    def __eq__(self, other: object) -> bool:  # by content: a reader and a string may hold one text
        if not isinstance(other, LogFile):
            return NotImplemented
        mine = (self.component, self.namespace, self.pod, self.container, self.previous, self.path)
        theirs = (other.component, other.namespace, other.pod, other.container, other.previous, other.path)
        return mine == theirs and self.trimmed == other.trimmed and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.path)

    def parsed(self) -> Any:
        """The whole parse (`analyzer.parse.logs.ParsedLog`: events, malformed count), done once."""
        if "events" not in self._cache:
            from analyzer.parse.logs import parse_log

            self._cache["events"] = parse_log(self.text)
        return self._cache["events"]

    def events(self) -> list[Any]:
        """Parsed events (`analyzer.parse.logs.LogEvent`), parsed once on first use."""
        events: list[Any] = self.parsed().events
        return events

    def access_records(self) -> list[Any]:
        """`connection complete/failed` records (`analyzer.parse.logs.AccessRecord`)."""
        if "access" not in self._cache:
            from analyzer.parse.logs import access_records

            self._cache["access"] = access_records(self.events())
        records: list[Any] = self._cache["access"]
        return records


# --- the bundle ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PodRelist:
    """The pod list taken again once every ztunnel dump had landed (`cluster/pods-after-dumps.json`)."""

    collected: bool  # False: attempted but not usable, so it proves nothing
    names: frozenset[tuple[str, str]] = frozenset()  # (namespace, name)
    uids: frozenset[str] = frozenset()
    reason: str | None = None


def _latest_first(z: Ztunnel) -> tuple[bool, float]:
    pod = object.__getattribute__(z, "pod")
    created = pod.created_at.timestamp() if pod and pod.created_at else 0.0
    return (bool(pod and pod.deleting), -created)


@dataclass(frozen=True, slots=True)
class Bundle(_Tracked):
    manifest: Manifest
    pods: tuple[Pod, ...] = ()
    namespaces: Mapping[str, Namespace] = field(default_factory=dict)
    nodes: tuple[Node, ...] = ()
    services: tuple[KubeService, ...] = ()
    ztunnels: tuple[Ztunnel, ...] = ()
    istiods: tuple[Istiod, ...] = ()
    logs: tuple[LogFile, ...] = ()
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

    def _idx(self, name: str) -> Any:
        index = object.__getattribute__(self, "_index")
        if name not in index:
            index.update(self._build_index())
        return index[name]

    def _build_index(self) -> dict[str, Any]:
        pods = object.__getattribute__(self, "pods")
        by_uid = {p.uid: p for p in pods}
        by_name = {(p.ref.namespace, p.ref.name): p for p in pods}
        by_ip: dict[str, Pod] = {}
        by_node: dict[str, list[Pod]] = {}
        for p in pods:
            by_node.setdefault(p.node or "", []).append(p)
            if p.host_network or p.terminal:
                continue
            for ip in p.ips or ((p.ip,) if p.ip else ()):
                by_ip[ip] = p
        zt_by_node: dict[str, list[Ztunnel]] = {}
        for z in object.__getattribute__(self, "ztunnels"):
            zt_by_node.setdefault(z.node or "", []).append(z)
        for zs in zt_by_node.values():
            zs.sort(key=_latest_first)
        return {
            "by_uid": by_uid,
            "by_name": by_name,
            "by_ip": by_ip,
            "by_node": by_node,
            "zt_by_node": zt_by_node,
        }

    def pod_by_uid(self, uid: str) -> Pod | None:
        return self._idx("by_uid").get(uid)  # type: ignore[no-any-return]

    def pod_by_name(self, namespace: str, name: str) -> Pod | None:
        return self._idx("by_name").get((namespace, name))  # type: ignore[no-any-return]

    def pod_by_ip(self, ip: str) -> Pod | None:
        """The non-terminal, non-hostNetwork pod holding this IP."""
        return self._idx("by_ip").get(ip)  # type: ignore[no-any-return]

    def pods_on(self, node: str) -> tuple[Pod, ...]:
        return tuple(self._idx("by_node").get(node, ()))

    # -- ambient enrollment --------------------------------------------------------

    def is_ambient(self, pod: Pod) -> bool:
        """The pod is labelled (itself or via its namespace) for ambient and eligible for capture."""
        own = pod.labels.get(AMBIENT_LABEL)
        if own == "none":
            return False
        ns = object.__getattribute__(self, "namespaces").get(pod.namespace)
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
        """True when an object created then is old enough to be judged (guard 2)."""
        return created_at is None or created_at <= self.earliest_dump - CAPTURE_SETTLE

    def ambient_pods(self) -> Iterator[Pod]:
        """Ambient pods that every ztunnel should know: failure-modes §1 guards 1-3 applied."""
        for pod in object.__getattribute__(self, "pods"):
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
        return tuple(self._idx("zt_by_node").get(node or "", ()))

    def ztunnel_on(self, node: str | None) -> Ztunnel | None:
        """The node's current ztunnel during rollouts (guard 7), or None."""
        found = self.ztunnels_on(node)
        return found[0] if found else None

    def ztunnel_named(self, name: str) -> Ztunnel | None:
        return next((z for z in self.ztunnels if z.name == name), None)

    def baseline_for(self, ztunnel: Ztunnel) -> Baseline:
        """istiod's expected state for this ztunnel (per-proxy dump, else ambientz + WADS)."""
        from analyzer.baseline import choose_baseline

        return choose_baseline(self, ztunnel)

    # -- logs --------------------------------------------------------------------

    def logs_of(self, component: Component) -> tuple[LogFile, ...]:
        self._reads.add(_LOG_INPUT[component])
        return tuple(f for f in self.logs if f.component is component)


_LOG_INPUT = {
    Component.ZTUNNEL: Input.ZTUNNEL_LOGS,
    Component.ISTIOD: Input.ISTIOD_LOGS,
    Component.CNI: Input.CNI_LOGS,
    Component.WAYPOINT: Input.WAYPOINT_LOGS,
}
