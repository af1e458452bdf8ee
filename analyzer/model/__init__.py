"""Frozen, typed model of a bundle: the only thing rules read.

Built by `analyzer.load` from a safe `BundleFiles` (or by `tests/builders.py` from a YAML case).
One module per job: `kube` (Kubernetes objects), `xds` (normalized workload/service/policy
entries), `ztunnel`, `istiod` (and the baseline each ztunnel is compared against), `manifest`,
`logs`, `bundle` (the whole model with its indexes), `baseline` (which istiod view a ztunnel is
compared with), `tracking` (which inputs a rule read) and `drift` (that comparison). Every model
type is re-exported here; drift's comparison is imported from `analyzer.model.drift`.
"""

from __future__ import annotations

from analyzer.model.bundle import CAPTURE_SETTLE, STATUS_INPUTS, Bundle
from analyzer.model.config import (
    WAYPOINT_CLASS,
    AuthorizationPolicy,
    Condition,
    ConfigObject,
    ConfigSet,
    Gateway,
    IstiodDeployment,
    LabelSelector,
    NetworkPolicy,
    PeerAuthentication,
    PodMetrics,
    ServiceEntry,
)
from analyzer.model.istiod import (
    Baseline,
    BaselineKind,
    Istiod,
    IstiodConnection,
    ProxyView,
    SyncEntry,
    SyncResource,
)
from analyzer.model.kube import (
    WAYPOINT_CONTROLLERS,
    Container,
    KubeService,
    Namespace,
    Node,
    ObjectRef,
    Pod,
    PodRelist,
)
from analyzer.model.logs import LogFile
from analyzer.model.manifest import Artifact, Availability, Manifest
from analyzer.model.xds import Policy, Workload, XdsService, XdsState
from analyzer.model.ztunnel import (
    Certificate,
    CertInfo,
    CertState,
    FormatNote,
    InpodState,
    Ztunnel,
    ZtunnelConfig,
)
from analyzer.parse.logs import AccessRecord, LogEvent, ParsedLog
from ztbundle.layout import Component, Input, Status

__all__ = [
    "WAYPOINT_CLASS",
    "AuthorizationPolicy",
    "Condition",
    "ConfigObject",
    "ConfigSet",
    "Gateway",
    "IstiodDeployment",
    "LabelSelector",
    "NetworkPolicy",
    "PeerAuthentication",
    "PodMetrics",
    "ServiceEntry",
    "CAPTURE_SETTLE",
    "STATUS_INPUTS",
    "WAYPOINT_CONTROLLERS",
    "AccessRecord",
    "Artifact",
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
    "KubeService",
    "LogEvent",
    "LogFile",
    "Manifest",
    "Namespace",
    "Node",
    "ObjectRef",
    "ParsedLog",
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
