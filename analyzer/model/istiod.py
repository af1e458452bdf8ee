"""One istiod replica: its per-proxy views of each ztunnel, ambientz, syncz, connections; baselines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from analyzer.model.kube import ObjectRef, Pod
from analyzer.model.tracking import Tracked, track_reads
from analyzer.model.xds import XdsState
from ztbundle import layout
from ztbundle.layout import Input


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


@track_reads
@dataclass(frozen=True, slots=True)
class Istiod(Tracked):
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

    @property
    def version_path(self) -> str:
        """Bundle member of this replica's version, for evidence."""
        return layout.istiod_version(self.name)

    @property
    def syncz_path(self) -> str:
        """Bundle member of this replica's /debug/syncz, for evidence."""
        return layout.istiod_syncz(self.name)

    @property
    def connections_path(self) -> str:
        """Bundle member of this replica's /debug/connections, for evidence."""
        return layout.istiod_connections(self.name)


@dataclass(frozen=True, slots=True)
class Baseline:
    """Which istiod view a ztunnel is compared against (the report states it per ztunnel)."""

    ztunnel: str
    kind: BaselineKind
    istiod: str | None = None
    xds: XdsState | None = None
    evidence: tuple[str, ...] = ()
    note: str | None = None
