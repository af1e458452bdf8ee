"""xDS entries: one normalized representation of workloads, services and policies for both sides.

ztunnel's `/config_dump` and istiod's proto JSON decode (`analyzer.xds`) into the same frozen
entries, interned so identical entries are one object; every `XdsState` carries a per-key content
hash so drift checks compare hashes first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analyzer.model.kube import ObjectRef


@dataclass(frozen=True, slots=True)
class Workload:
    """A normalized workload entry; identical on both sides when in sync."""

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
        """(cluster, namespace, name) when the uid is a pod's, else None (guard: pod workloads only)."""
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
    `drift.same()` / `drift.diff()` when hashes differ."""
