"""The configuration behind the data plane: Istio, Gateway API and NetworkPolicy objects, typed.

Loaded from `config/<group>/<resource>.json` (`ztbundle.layout.CONFIG_RESOURCES`) by
`analyzer.parse.config`; `Bundle` exposes them as `authorization_policies`, `gateways`, ….
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from analyzer.model.kube import Condition, ObjectRef

WAYPOINT_CLASS = "istio-waypoint"
USE_WAYPOINT = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE = "istio.io/use-waypoint-namespace"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One `matchExpressions` entry of a label selector."""

    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":
            return labels.get(self.key) not in self.values
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        return False  # an unknown operator selects nothing, as the apiserver would reject it


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A Kubernetes label selector; the empty selector selects everything."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    match_expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            r.matches(labels) for r in self.match_expressions
        )

    def __str__(self) -> str:
        terms = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        terms += [f"{r.key} {r.operator} ({','.join(r.values)})" for r in self.match_expressions]
        return ",".join(terms) or "(all pods)"


@dataclass(frozen=True, slots=True)
class ConfigObject:
    """Any collected configuration object: its name, labels and status conditions."""

    ref: ObjectRef
    path: str  # bundle member, for evidence
    labels: Mapping[str, str] = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetRef:
    group: str
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class AuthzRule:
    """One rule of an AuthorizationPolicy, as far as ztunnel's conversion cares.

    `http_attributes` lists the fields ztunnel cannot evaluate, named as istiod names them in its
    `ZtunnelAccepted` message (methods, paths, requestPrincipals, request.auth.claims[…], …).
    """

    http_attributes: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    # Once istiod strips the HTTP attributes, a `to`/`from` clause left with only empty matches (or a
    # `when` on an HTTP key) never matches in ztunnel, which skips empty matches (src/rbac.rs).
    empty_after_strip: bool = False


@dataclass(frozen=True, slots=True)
class AuthorizationPolicy:
    ref: ObjectRef
    path: str
    action: str  # ALLOW | DENY | AUDIT | CUSTOM
    selector: LabelSelector | None  # None: the whole namespace (or mesh, in the root namespace)
    target_refs: tuple[TargetRef, ...] = ()
    rules: tuple[AuthzRule, ...] = ()
    conditions: tuple[Condition, ...] = ()

    @property
    def http_attributes(self) -> tuple[str, ...]:
        return tuple(sorted({a for r in self.rules for a in r.http_attributes}))

    def applies_to(self, namespace: str, labels: Mapping[str, str], root_namespace: str) -> bool:
        """Whether ztunnel enforces this policy on a pod (targetRefs policies are a waypoint's)."""
        if self.target_refs:
            return False
        if self.ref.namespace != namespace and self.ref.namespace != root_namespace:
            return False
        return self.selector is None or self.selector.matches(labels)


@dataclass(frozen=True, slots=True)
class PeerAuthentication:
    ref: ObjectRef
    path: str
    selector: LabelSelector | None
    mode: str  # STRICT | PERMISSIVE | DISABLE | UNSET
    port_modes: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PolicyPort:
    protocol: str  # TCP | UDP | SCTP
    port: int | str | None  # None: every port; a string is a named container port
    end_port: int | None = None

    def allows(self, port: int | str, protocol: str = "TCP") -> bool:
        """Whether this entry admits `port` (a number, or a container port's name)."""
        if self.protocol != protocol:
            return False
        if self.port is None:
            return True
        if isinstance(self.port, str) or isinstance(port, str):
            return self.port == port  # HBONE's 15008 is never a named port in the pod spec
        return self.port <= port <= (self.end_port or self.port)


@dataclass(frozen=True, slots=True)
class PolicyPeer:
    """One `from` entry: pods and namespaces by selector, or an IP block."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    cidr: str | None = None
    excepted: tuple[str, ...] = ()

    def admits_address(self, address: str) -> bool:
        """Whether this peer admits a source outside every pod (a link-local SNAT address)."""
        if self.cidr is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
            net = ipaddress.ip_network(self.cidr, strict=False)
            if ip.version != net.version or ip not in net:
                return False
            return not any(
                ip in ipaddress.ip_network(e, strict=False)
                for e in self.excepted
                if ipaddress.ip_network(e, strict=False).version == ip.version
            )
        except ValueError:
            return False


@dataclass(frozen=True, slots=True)
class IngressRule:
    """One ingress rule: empty `ports` allows every port, empty `peers` every source."""

    ports: tuple[PolicyPort, ...] = ()
    peers: tuple[PolicyPeer, ...] = ()

    def allows_port(self, port: int | str) -> bool:
        return not self.ports or any(p.allows(port) for p in self.ports)

    def allows_address(self, address: str) -> bool:
        return not self.peers or any(p.admits_address(address) for p in self.peers)


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    ref: ObjectRef
    path: str
    pod_selector: LabelSelector
    restricts_ingress: bool  # policyTypes has Ingress (or, unset, the policy has no egress-only shape)
    ingress: tuple[IngressRule, ...] = ()

    def selects(self, namespace: str, labels: Mapping[str, str]) -> bool:
        return self.ref.namespace == namespace and self.pod_selector.matches(labels)


@dataclass(frozen=True, slots=True)
class Listener:
    name: str
    port: int
    protocol: str


@dataclass(frozen=True, slots=True)
class Gateway:
    ref: ObjectRef
    path: str
    class_name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    listeners: tuple[Listener, ...] = ()
    conditions: tuple[Condition, ...] = ()

    @property
    def is_waypoint(self) -> bool:
        return self.class_name == WAYPOINT_CLASS

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_ and not c.where), None)

    @property
    def programmed(self) -> bool:
        c = self.condition("Programmed")
        return c is not None and c.status == "True"


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    ref: ObjectRef
    path: str
    hosts: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class PodMetrics:
    """metrics-server's last sample of a pod: each container's working set in bytes."""

    ref: ObjectRef
    path: str
    memory: Mapping[str, int] = field(default_factory=dict)
    window: str = ""


@dataclass(frozen=True, slots=True)
class IstiodDeployment:
    """istiod's Deployment as `istio/deployments.json` shows it: the discovery container's env."""

    ref: ObjectRef
    path: str
    env: Mapping[str, str | None] = field(default_factory=dict)  # None: set from a ConfigMap or field


@dataclass(frozen=True, slots=True)
class ConfigSet:
    """Every collected configuration object, by kind (empty for a kind not collected or not installed)."""

    authorization_policies: tuple[AuthorizationPolicy, ...] = ()
    peer_authentications: tuple[PeerAuthentication, ...] = ()
    network_policies: tuple[NetworkPolicy, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    gateway_classes: tuple[ConfigObject, ...] = ()
    service_entries: tuple[ServiceEntry, ...] = ()
    pod_metrics: tuple[PodMetrics, ...] = ()
    others: tuple[ConfigObject, ...] = ()  # the remaining kinds, for their status conditions
    istiod_deployments: tuple[IstiodDeployment, ...] = ()
