"""The bundle contract: every member path, the inputs rules declare, and the manifest schema.

The collector writes through these functions and the analyzer reads through them; the two
packages never import each other. Nothing here talks to Kubernetes.

A bundle is a gzip-compressed tar archive whose members sit at the archive root (no prefix
directory), so a member name in an error message is exactly the path below:

    manifest.json                                  what was collected, how, and what failed
    ztbundle.log                                   the collector's own log of the run
    cluster/version.json                           GET /version
    cluster/{nodes,namespaces,pods,services,endpointslices}.json
                                                   one merged v1 List per resource (all pages)
    cluster/pods-after-dumps.json                  pods listed again once every ztunnel dump landed
    istio/{daemonsets,deployments,events}.json     lists in the Istio namespace
    istio/mesh-configmap.json                      the `istio` ConfigMap
    istio/cni-configmap.json                       the `istio-cni-config` ConfigMap
    config/<group>/<resource>.json                 Istio, Gateway API and NetworkPolicy objects,
                                                   one merged List each (`CONFIG_RESOURCES`)
    ztunnel/<pod>/config_dump.json                 admin :15000 /config_dump, bytes as received
    ztunnel/<pod>/metrics.txt                      stats :15020 /metrics
    ztunnel/<pod>/logs/<container>[.previous].log  container logs
    istiod/<pod>/proxy/<ztunnel-pod>.json          :15014 /debug/config_dump?proxyID=<zt>.<ns>
    istiod/<pod>/proxy/<ztunnel-pod>.wads.json     the same with types=WADS (policies)
    istiod/<pod>/{ambientz,syncz,connections,version}.json
    istiod/<pod>/logs/<container>[.previous].log
    cni/<pod>/logs/<container>[.previous].log      istio-cni node agents
    waypoint/<namespace>/<pod>/logs/<container>[.previous].log

Pod names are DNS-1123 labels, so they are safe as single path components; `member()`
still refuses anything that is not.

Storage (format_version 2). The paths above are LOGICAL paths: the manifest lists every artifact
by its logical path with the raw body's `bytes` and `sha256`, and says how it is stored:

    "storage": "raw"      the member at the logical path holds the bytes as received
    "storage": "recipe"   no member at the logical path; "pieces" lists sha256 digests, and the
                          members objects/<sha256> concatenated in that order are the exact raw
                          bytes (the writer checks this before it records the recipe)

    objects/<sha256>      one piece of content, stored once however many artifacts use it

Only the near-identical large JSON artifacts (`DEDUP_INPUTS`) are stored as recipes: the writer
cuts a pretty-printed document before each top-level key (`top_level_keys`), so the `workloads`,
`services` and `policies` sections shared by every ztunnel, and istiod's identical per-proxy
bodies, are each one object. Every object is referenced by at least one recipe. Version 1
bundles (no `storage`, no objects, every artifact raw) still load; `ztbundle collect --no-dedup`
still writes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, overload

FORMAT_VERSION = 2
"""Bumped whenever a path or the manifest changes shape; readers accept every older version."""

RAW_FORMAT_VERSION = 1
"""The newest version in which every artifact is a plain member (what `--no-dedup` writes)."""

MANIFEST = "manifest.json"
TOOL_LOG = "ztbundle.log"
BUNDLE_SUFFIX = ".tar.gz"

_SEGMENT = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")


class Input(StrEnum):
    """A kind of collected data. Rules declare the inputs they need; artifacts carry one."""

    CLUSTER_VERSION = "cluster-version"
    NODES = "nodes"
    NAMESPACES = "namespaces"
    PODS = "pods"
    PODS_AFTER_DUMPS = "pods-after-dumps"  # the second witness that a pod in a dump is gone
    SERVICES = "services"
    ENDPOINTSLICES = "endpointslices"
    ISTIO_DAEMONSETS = "istio-daemonsets"
    ISTIO_DEPLOYMENTS = "istio-deployments"
    ISTIO_EVENTS = "istio-events"
    MESH_CONFIG = "mesh-config"
    ZTUNNEL_CONFIG = "ztunnel-config"
    ZTUNNEL_METRICS = "ztunnel-metrics"
    ZTUNNEL_LOGS = "ztunnel-logs"
    ISTIOD_PROXY_CONFIG = "istiod-proxy-config"
    ISTIOD_PROXY_POLICIES = "istiod-proxy-policies"
    ISTIOD_AMBIENTZ = "istiod-ambientz"
    ISTIOD_SYNCZ = "istiod-syncz"
    ISTIOD_CONNECTIONS = "istiod-connections"
    ISTIOD_VERSION = "istiod-version"
    ISTIOD_LOGS = "istiod-logs"
    CNI_LOGS = "cni-logs"
    WAYPOINT_LOGS = "waypoint-logs"
    TOOL_LOG = "tool-log"
    # Configuration behind the data plane (`CONFIG_RESOURCES`).
    AUTHORIZATION_POLICIES = "authorization-policies"
    PEER_AUTHENTICATIONS = "peer-authentications"
    REQUEST_AUTHENTICATIONS = "request-authentications"
    SERVICE_ENTRIES = "service-entries"
    WORKLOAD_ENTRIES = "workload-entries"
    SIDECARS = "sidecars"
    DESTINATION_RULES = "destination-rules"
    VIRTUAL_SERVICES = "virtual-services"
    TELEMETRIES = "telemetries"
    GATEWAY_CLASSES = "gateway-classes"
    GATEWAYS = "gateways"
    HTTP_ROUTES = "http-routes"
    GRPC_ROUTES = "grpc-routes"
    TCP_ROUTES = "tcp-routes"
    TLS_ROUTES = "tls-routes"
    REFERENCE_GRANTS = "reference-grants"
    NETWORK_POLICIES = "network-policies"
    INJECTION_WEBHOOKS = "injection-webhooks"
    POD_METRICS = "pod-metrics"
    CNI_CONFIG = "cni-config"


class Status(StrEnum):
    """Outcome of collecting one artifact."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    TRUNCATED = "truncated"
    FORBIDDEN = "forbidden"
    SKIPPED = "skipped"
    NOT_INSTALLED = "not-installed"  # the API (a CRD, metrics-server) is not served: nothing to read


NOT_MISSING: frozenset[Status] = frozenset({Status.OK, Status.NOT_INSTALLED})
"""Statuses that leave a bundle complete: collected, or nothing of that kind exists in the cluster."""


def is_segment(value: str) -> bool:
    """Whether `value` can name a pod, container or namespace in a bundle path (a DNS-1123 name)."""
    return bool(_SEGMENT.match(value))


def _segment(value: str) -> str:
    if not _SEGMENT.match(value):
        raise ValueError(f"not a safe bundle path segment: {value!r}")
    return value


# --- cluster-wide objects ---------------------------------------------------------------

CLUSTER_VERSION = "cluster/version.json"
NODES = "cluster/nodes.json"
NAMESPACES = "cluster/namespaces.json"
PODS = "cluster/pods.json"
PODS_AFTER_DUMPS = "cluster/pods-after-dumps.json"
SERVICES = "cluster/services.json"
ENDPOINTSLICES = "cluster/endpointslices.json"
ISTIO_DAEMONSETS = "istio/daemonsets.json"
ISTIO_DEPLOYMENTS = "istio/deployments.json"
ISTIO_EVENTS = "istio/events.json"
MESH_CONFIG = "istio/mesh-configmap.json"

CNI_CONFIG = "istio/cni-configmap.json"
CNI_CONFIGMAP = "istio-cni-config"  # the istio-cni chart's ConfigMap in the Istio namespace


@dataclass(frozen=True, slots=True)
class ConfigResource:
    """A configuration kind collected as one merged List at `config/<group>/<resource>.json`.

    `versions` lists the versions this tool understands, newest first; the collector uses the
    newest one the server serves (`/apis` discovery). `istio_namespace_only` lists only the Istio
    namespace (PodMetrics); `selector` narrows a cluster-scoped list to Istio's objects.
    """

    input: Input
    group: str
    resource: str
    kind: str
    versions: tuple[str, ...]
    namespaced: bool = True
    istio_namespace_only: bool = False
    selector: str = ""

    @property
    def path(self) -> str:
        return f"config/{self.group}/{self.resource}.json"


_ISTIO_NET = ("v1", "v1beta1", "v1alpha3")
CONFIG_RESOURCES: tuple[ConfigResource, ...] = (
    ConfigResource(
        Input.AUTHORIZATION_POLICIES,
        "security.istio.io",
        "authorizationpolicies",
        "AuthorizationPolicy",
        ("v1", "v1beta1"),
    ),
    ConfigResource(
        Input.PEER_AUTHENTICATIONS,
        "security.istio.io",
        "peerauthentications",
        "PeerAuthentication",
        ("v1", "v1beta1"),
    ),
    ConfigResource(
        Input.REQUEST_AUTHENTICATIONS,
        "security.istio.io",
        "requestauthentications",
        "RequestAuthentication",
        ("v1", "v1beta1"),
    ),
    ConfigResource(
        Input.SERVICE_ENTRIES, "networking.istio.io", "serviceentries", "ServiceEntry", _ISTIO_NET
    ),
    ConfigResource(
        Input.WORKLOAD_ENTRIES, "networking.istio.io", "workloadentries", "WorkloadEntry", _ISTIO_NET
    ),
    ConfigResource(Input.SIDECARS, "networking.istio.io", "sidecars", "Sidecar", _ISTIO_NET),
    ConfigResource(
        Input.DESTINATION_RULES, "networking.istio.io", "destinationrules", "DestinationRule", _ISTIO_NET
    ),
    ConfigResource(
        Input.VIRTUAL_SERVICES, "networking.istio.io", "virtualservices", "VirtualService", _ISTIO_NET
    ),
    ConfigResource(Input.TELEMETRIES, "telemetry.istio.io", "telemetries", "Telemetry", ("v1", "v1alpha1")),
    ConfigResource(
        Input.GATEWAY_CLASSES,
        "gateway.networking.k8s.io",
        "gatewayclasses",
        "GatewayClass",
        ("v1", "v1beta1"),
        namespaced=False,
    ),
    ConfigResource(Input.GATEWAYS, "gateway.networking.k8s.io", "gateways", "Gateway", ("v1", "v1beta1")),
    ConfigResource(
        Input.HTTP_ROUTES, "gateway.networking.k8s.io", "httproutes", "HTTPRoute", ("v1", "v1beta1")
    ),
    ConfigResource(
        Input.GRPC_ROUTES, "gateway.networking.k8s.io", "grpcroutes", "GRPCRoute", ("v1", "v1alpha2")
    ),
    ConfigResource(Input.TCP_ROUTES, "gateway.networking.k8s.io", "tcproutes", "TCPRoute", ("v1alpha2",)),
    ConfigResource(
        Input.TLS_ROUTES, "gateway.networking.k8s.io", "tlsroutes", "TLSRoute", ("v1alpha3", "v1alpha2")
    ),
    ConfigResource(
        Input.REFERENCE_GRANTS,
        "gateway.networking.k8s.io",
        "referencegrants",
        "ReferenceGrant",
        ("v1", "v1beta1"),
    ),
    ConfigResource(Input.NETWORK_POLICIES, "networking.k8s.io", "networkpolicies", "NetworkPolicy", ("v1",)),
    ConfigResource(
        Input.INJECTION_WEBHOOKS,
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        ("v1",),
        namespaced=False,
        selector="app=sidecar-injector",
    ),
    ConfigResource(
        Input.POD_METRICS, "metrics.k8s.io", "pods", "PodMetrics", ("v1beta1",), istio_namespace_only=True
    ),
)
CONFIG_PATHS: dict[Input, str] = {r.input: r.path for r in CONFIG_RESOURCES} | {Input.CNI_CONFIG: CNI_CONFIG}

CLUSTER_LISTS: dict[Input, str] = {
    Input.NODES: NODES,
    Input.NAMESPACES: NAMESPACES,
    Input.PODS: PODS,
    Input.SERVICES: SERVICES,
    Input.ENDPOINTSLICES: ENDPOINTSLICES,
}


# --- per-pod artifacts ---------------------------------------------------------------


def ztunnel_config_dump(pod: str) -> str:
    return f"ztunnel/{_segment(pod)}/config_dump.json"


def ztunnel_metrics(pod: str) -> str:
    return f"ztunnel/{_segment(pod)}/metrics.txt"


def istiod_proxy_config(istiod: str, ztunnel: str) -> str:
    return f"istiod/{_segment(istiod)}/proxy/{_segment(ztunnel)}.json"


def istiod_proxy_policies(istiod: str, ztunnel: str) -> str:
    return f"istiod/{_segment(istiod)}/proxy/{_segment(ztunnel)}.wads.json"


def istiod_ambientz(istiod: str) -> str:
    return f"istiod/{_segment(istiod)}/ambientz.json"


def istiod_syncz(istiod: str) -> str:
    return f"istiod/{_segment(istiod)}/syncz.json"


def istiod_connections(istiod: str) -> str:
    return f"istiod/{_segment(istiod)}/connections.json"


def istiod_version(istiod: str) -> str:
    return f"istiod/{_segment(istiod)}/version.json"


class Component(StrEnum):
    """Which Istio component a pod belongs to; decides the log folder."""

    ZTUNNEL = "ztunnel"
    ISTIOD = "istiod"
    CNI = "cni"
    WAYPOINT = "waypoint"


LOG_INPUTS: dict[Component, Input] = {
    Component.ZTUNNEL: Input.ZTUNNEL_LOGS,
    Component.ISTIOD: Input.ISTIOD_LOGS,
    Component.CNI: Input.CNI_LOGS,
    Component.WAYPOINT: Input.WAYPOINT_LOGS,
}


def pod_log(component: Component, namespace: str, pod: str, container: str, *, previous: bool) -> str:
    """Path of a container log; waypoints are namespaced because they live in app namespaces."""
    suffix = ".previous.log" if previous else ".log"
    base = f"{component.value}/{_segment(pod)}"
    if component is Component.WAYPOINT:
        base = f"{component.value}/{_segment(namespace)}/{_segment(pod)}"
    return f"{base}/logs/{_segment(container)}{suffix}"


@dataclass(frozen=True, slots=True)
class PodLog:
    """What a container log's path names; `namespace` is empty except for waypoints."""

    component: Component
    namespace: str
    pod: str
    container: str
    previous: bool


_POD_LOG = re.compile(
    r"^(?:(ztunnel|istiod|cni)/|(waypoint)/([^/]+)/)([^/]+)/logs/([^/]+?)(\.previous)?\.log$"
)


def parse_pod_log(path: str) -> PodLog | None:
    """Return what a container log member path names (the inverse of `pod_log`), else None."""
    m = _POD_LOG.match(path)
    if not m:
        return None
    component = Component(m.group(1) or m.group(2))
    return PodLog(component, m.group(3) or "", m.group(4), m.group(5), m.group(6) is not None)


# --- deduplicated storage (format_version 2) --------------------------------------------------


class Storage(StrEnum):
    """How one artifact's bytes are kept in the archive (manifest `storage`; absent means raw)."""

    RAW = "raw"
    RECIPE = "recipe"


OBJECTS_DIR = "objects"

DEDUP_INPUTS: frozenset[Input] = frozenset(
    {
        Input.ZTUNNEL_CONFIG,
        Input.ISTIOD_PROXY_CONFIG,
        Input.ISTIOD_PROXY_POLICIES,
        Input.ISTIOD_AMBIENTZ,
    }
)
"""Artifacts stored as recipes of shared objects: large, and near-identical across ztunnels."""

_OBJECT = re.compile(rf"^{OBJECTS_DIR}/([0-9a-f]{{64}})$")


def object_member(sha256: str) -> str:
    """Member path of the content-addressed piece whose sha256 is `sha256`."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return f"{OBJECTS_DIR}/{sha256}"


def parse_object_member(path: str) -> str | None:
    """Return the sha256 named by an object member path, else None."""
    m = _OBJECT.match(path)
    return m.group(1) if m else None


_TOP_KEY = r'\n  ("(?:[^"\\\n]|\\.)*"): '
# Public for writers that search from an offset (`pattern.search(data, pos, end)`); readers iterate
# with `top_level_keys`.
TOP_KEY_BYTES = re.compile(_TOP_KEY.encode())
_TOP_KEY_TEXT = re.compile(_TOP_KEY)


@overload
def top_level_keys(data: bytes, end: int | None = None) -> Iterator[re.Match[bytes]]: ...
@overload
def top_level_keys(data: str, end: int | None = None) -> Iterator[re.Match[str]]: ...
def top_level_keys(data: bytes | str, end: int | None = None) -> Iterator[re.Match[Any]]:
    """Each top-level key of a 2-space pretty-printed JSON object, in order (up to `end`).

    This is where a recipe cuts a document: a match starts at the newline before its key (every
    piece after the first starts there), `group(1)` is the key as written (with its quotes), and
    `end()` is where the value starts. A raw newline never occurs inside a JSON string and deeper
    members are indented further, so in 2-space pretty JSON nothing else matches.
    """
    stop = len(data) if end is None else end
    if isinstance(data, bytes):
        return TOP_KEY_BYTES.finditer(data, 0, stop)
    return _TOP_KEY_TEXT.finditer(data, 0, stop)


# --- path parsing for readers ---------------------------------------------------------

_ZTUNNEL_CONFIG = re.compile(r"^ztunnel/([^/]+)/config_dump\.json$")
_ISTIOD_PROXY = re.compile(r"^istiod/([^/]+)/proxy/([^/]+?)(\.wads)?\.json$")
_ISTIOD_MEMBER = re.compile(r"^istiod/([^/]+)/(?!logs/)")


def parse_ztunnel_config_dump(path: str) -> str | None:
    """Return the ztunnel pod name of a config_dump member path, else None."""
    m = _ZTUNNEL_CONFIG.match(path)
    return m.group(1) if m else None


def parse_istiod_member(path: str) -> str | None:
    """Return the istiod pod whose debug endpoints a member holds (`istiod/<pod>/…`, not its logs)."""
    m = _ISTIOD_MEMBER.match(path)
    return m.group(1) if m else None


def parse_istiod_proxy(path: str) -> tuple[str, str, bool] | None:
    """Return (istiod pod, ztunnel pod, is_policies) of a per-proxy member path, else None."""
    m = _ISTIOD_PROXY.match(path)
    return (m.group(1), m.group(2), m.group(3) is not None) if m else None


# --- counting outcomes -------------------------------------------------------------------------

NOT_CONNECTED = "HTTP 404"
"""How a per-proxy request fails when the ztunnel is connected to another istiod replica (istiod
answers 404 "Proxy not connected to this Pilot instance"): expected, as long as a replica served it."""


class Outcome(StrEnum):
    """What one attempted artifact counts as, everywhere counts are shown."""

    COLLECTED = "collected"
    EXPECTED = "expected"  # an expected non-answer: another istiod replica served that ztunnel
    MISSING = "missing"


@dataclass(slots=True)
class Tally:
    """The one count of a run: collected, missing, and expected non-answers.

    The progress bar, `collect`'s summary, `analyze`'s summary and the report all count with this,
    so they agree. Feed it artifacts with `add` in any order (the progress bar feeds it as they
    land); an istiod 404 turns from missing into expected once another replica serves that ztunnel.
    Our own log (`TOOL_LOG`) is not a collected artifact and is not counted.
    """

    collected: int = 0
    not_installed: int = 0  # kinds the cluster does not serve (no CRD): nothing to collect, not missing
    _failed: dict[str, tuple[tuple[str, bool] | None, str | None]] = field(default_factory=dict)
    _served: set[tuple[str, bool]] = field(default_factory=set)

    def add(self, path: str, input: Input | str, status: Status | str, error: str | None) -> None:
        if Input(input) is Input.TOOL_LOG:
            return
        proxy = parse_istiod_proxy(path)
        peer = (proxy[1], proxy[2]) if proxy else None
        if Status(status) is Status.OK:
            self.collected += 1
            if peer is not None:
                self._served.add(peer)
            return
        if Status(status) is Status.NOT_INSTALLED:
            self.not_installed += 1
            return
        self._failed[path] = (peer, error)

    def outcome(self, path: str) -> Outcome:
        """How `path` counts (COLLECTED for anything added without failing)."""
        if path not in self._failed:
            return Outcome.COLLECTED
        peer, error = self._failed[path]
        if peer is not None and (error or "").startswith(NOT_CONNECTED) and peer in self._served:
            return Outcome.EXPECTED
        return Outcome.MISSING

    @property
    def missing(self) -> list[str]:
        return [p for p in self._failed if self.outcome(p) is Outcome.MISSING]

    @property
    def expected(self) -> list[str]:
        return [p for p in self._failed if self.outcome(p) is Outcome.EXPECTED]

    @property
    def total(self) -> int:
        return self.collected + self.not_installed + len(self._failed)

    def line(self) -> str:
        """`38/45 collected, 4 missing, 3 expected non-answers (istiod replicas)`: the shared wording."""
        expected = len(self.expected)
        tail = f", {expected} expected non-answer(s) from istiod replicas" if expected else ""
        absent = f", {self.not_installed} not installed" if self.not_installed else ""
        return f"{self.collected}/{self.total} collected, {len(self.missing)} missing{absent}{tail}"


def tally(artifacts: Iterable[tuple[str, Input | str, Status | str, str | None]]) -> Tally:
    """A `Tally` over (path, input, status, error) records, e.g. a manifest's artifacts."""
    out = Tally()
    for path, input_, status, error in artifacts:
        out.add(path, input_, status, error)
    return out


# --- naming the archive -----------------------------------------------------------------


def default_bundle_name(context: str, timestamp_utc: str) -> str:
    """`ztbundle-<context>-<YYYYmmddTHHMMSSZ>.tar.gz`, with the context made filename-safe."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", context or "cluster").strip("_") or "cluster"
    return f"ztbundle-{safe}-{timestamp_utc}{BUNDLE_SUFFIX}"


# --- manifest -------------------------------------------------------------------------


@cache
def manifest_schema() -> dict[str, Any]:
    """The JSON Schema every manifest is validated against, at write time and at read time."""
    text = resources.files("ztbundle").joinpath("schemas/manifest.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
