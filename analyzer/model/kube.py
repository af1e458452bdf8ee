"""Kubernetes objects as the bundle's cluster lists show them, and `ObjectRef` to name any object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

AMBIENT_LABEL = "istio.io/dataplane-mode"
SIDECAR_STATUS = "sidecar.istio.io/status"
REDIRECTION = "ambient.istio.io/redirection"
CNI_EXCLUDED_NAMESPACES = frozenset({"kube-system"})  # istio-cni chart default excludeNamespaces
WAYPOINT_CONTROLLERS = frozenset({"istio.io-mesh-controller", "istio.io-agentgateway-waypoint-controller"})
"""`gateway.istio.io/managed` of waypoint pods: Envoy's, and agentgateway's (1.31)."""


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A reference to an object; prints `Kind namespace/name` (or `Kind name` if cluster-scoped)."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Condition:
    """One status condition; `where` names a nested owner (`listener mesh`, `parent ns/gw`) or is empty."""

    type: str
    status: str
    reason: str = ""
    message: str = ""
    where: str = ""


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
    service_account: str = ""
    probe_ports: tuple[int | str, ...] = ()  # httpGet/tcpSocket/grpc probes: the kubelet connects to these
    memory_limits: Mapping[str, int] = field(default_factory=dict)  # container → resources.limits.memory

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
    conditions: tuple[Condition, ...] = ()  # status.conditions istiod writes (istio.io/WaypointBound)


@dataclass(frozen=True, slots=True)
class PodRelist:
    """The pod list taken again once every ztunnel dump had landed (`cluster/pods-after-dumps.json`)."""

    collected: bool  # False: attempted but not usable, so it proves nothing
    names: frozenset[tuple[str, str]] = frozenset()  # (namespace, name)
    uids: frozenset[str] = frozenset()
    reason: str | None = None
