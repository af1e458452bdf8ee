"""One ztunnel as its admin `/config_dump` shows it: config, xDS tables, certificates, in-pod state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from analyzer.model.kube import ObjectRef, Pod
from analyzer.model.tracking import Tracked, track_reads
from analyzer.model.xds import Policy, Workload, XdsService, XdsState
from ztbundle.layout import Input


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


@track_reads
@dataclass(frozen=True, slots=True)
class Ztunnel(Tracked):
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
