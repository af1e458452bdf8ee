"""Find the Istio namespace and every ztunnel, istiod, istio-cni and waypoint pod.

Discovery is the first contact with the cluster, so its failures are the run-level ones: an
unreachable server, rejected credentials or no Istio at all become one `ClusterError` line (exit 6).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from collector.failures import StepFailed, Truncated, classify
from collector.kube import api_get
from collector.targets import ContainerRef, PodRef, Selection
from ztbundle.errors import ClusterError
from ztbundle.layout import Component, Status

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

SELECTORS: dict[Component, str] = {
    Component.ISTIOD: "app=istiod",
    Component.ZTUNNEL: "app=ztunnel",
    Component.CNI: "k8s-app=istio-cni-node",
    # Envoy waypoints, and (1.31) waypoints served by agentgateway, whose container is `agentgateway`
    Component.WAYPOINT: (
        "gateway.istio.io/managed in (istio.io-mesh-controller,istio.io-agentgateway-waypoint-controller)"
    ),
}
PAGE = 500


@dataclass(frozen=True, slots=True)
class Options:
    """What the user asked for; steps read it through the plan."""

    istio_namespace: str | None = None
    since_s: int | None = None
    nodes: frozenset[str] = frozenset()
    timeout_s: float = 30.0
    max_bytes: int = 256 * 1024 * 1024
    for_pods: tuple[str, ...] = ()  # `--for`: narrow to these pods' paths (collector.paths)
    to: str | None = None  # `--to`: the target of those paths
    selection: Selection | None = None  # what `--for`/`--to` resolved to


@dataclass(frozen=True, slots=True)
class Plan:
    """The discovered cluster: every Istio component pod, plus the `--node`-filtered view of them."""

    options: Options
    server_version: str | None
    istio_namespace: str
    istiods: tuple[PodRef, ...]
    ztunnels_all: tuple[PodRef, ...]
    cnis_all: tuple[PodRef, ...]
    waypoints_all: tuple[PodRef, ...]
    apis: ServedApis = field(default_factory=lambda: ServedApis({}, None))

    def _on_nodes(self, pods: tuple[PodRef, ...]) -> tuple[PodRef, ...]:
        if not self.options.nodes:
            return pods
        return tuple(p for p in pods if p.node in self.options.nodes)

    @property
    def ztunnels(self) -> tuple[PodRef, ...]:
        return self._on_nodes(self.ztunnels_all)

    @property
    def cnis(self) -> tuple[PodRef, ...]:
        return self._on_nodes(self.cnis_all)

    @property
    def waypoints(self) -> tuple[PodRef, ...]:
        sel = self.options.selection
        if sel is not None:  # the path's waypoint, wherever it runs
            return tuple(p for p in self.waypoints_all if p.ref in sel.waypoints)
        return self._on_nodes(self.waypoints_all)


def discover(api: ApiClient, options: Options, host: str) -> Plan:
    """Probe the server, then find Istio; raise ClusterError when nothing could be collected.

    API discovery (`served_apis`) and the four pod lists go out with the probe: none depends on
    another, so on a current API server finding Istio costs one round trip. The answers are read in a
    fixed order, so a failure reports the same line whatever answered first: the probe's, istiod's
    list, ztunnel's, no Istio found, then istio-cni's, waypoints'. API discovery never raises.
    """
    background = ThreadPoolExecutor(max_workers=5, thread_name_prefix="ztbundle-discovery")
    apis = background.submit(served_apis, api, options)
    lists = {
        component: background.submit(
            lambda c, ns: tuple(_find(api, options, host, c, ns)),
            component,
            options.istio_namespace if component is Component.ISTIOD else None,
        )
        for component in (Component.ISTIOD, Component.ZTUNNEL, Component.CNI, Component.WAYPOINT)
    }
    background.shutdown(wait=False)
    version = _probe(api, options, host)  # its error first: a refused or unreachable server fails all
    istiods = lists[Component.ISTIOD].result()
    ztunnels = lists[Component.ZTUNNEL].result()
    namespace = options.istio_namespace
    if namespace is None:
        if istiods:
            namespace = istiods[0].namespace
        elif ztunnels:
            namespace = ztunnels[0].namespace
    if namespace is None or (not istiods and not ztunnels):
        where = f"namespace {namespace}" if options.istio_namespace else "any namespace"
        raise ClusterError(
            f"{host}: no Istio found: no istiod (app=istiod) or ztunnel (app=ztunnel) pods in {where}; "
            "check --context or --istio-namespace"
        )
    return Plan(
        options=options,
        server_version=version,
        istio_namespace=namespace,
        istiods=istiods,
        ztunnels_all=ztunnels,
        cnis_all=lists[Component.CNI].result(),
        waypoints_all=lists[Component.WAYPOINT].result(),
        apis=apis.result(),
    )


@dataclass(frozen=True, slots=True)
class ServedApis:
    """Which group versions serve which resources (`/apis` discovery), or why that is unknown.

    `resources` maps (group, version) to the resource names that group version serves. When
    discovery itself failed, `error` says why and every configuration list fails with it.
    """

    resources: dict[tuple[str, str], frozenset[str]]
    error: str | None

    def version_for(self, group: str, resource: str, known: tuple[str, ...]) -> str | None:
        """The newest version in `known` (newest first) whose group version serves `resource`."""
        return next((v for v in known if resource in self.resources.get((group, v), frozenset())), None)


# Aggregated discovery (`apidiscovery.k8s.io`, served from Kubernetes 1.26, v2 from 1.30): every
# group, version and resource in one document. A server without it answers the legacy group list.
AGGREGATED = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


def served_apis(api: ApiClient, options: Options) -> ServedApis:
    """Which group versions serve which resources: one GET of `/apis`, aggregated where served.

    From an older server (the legacy group list), each version of the groups the configuration lists
    use is one more GET: a chain of up to four round trips that the aggregated document makes one.
    """
    try:
        doc = _get_json(api, "/apis", options, accept=AGGREGATED)
        if doc.get("kind") == "APIGroupDiscoveryList":
            resources = _aggregated(doc)
        else:
            resources = _per_group(api, doc, options)
    except Exception as exc:  # noqa: BLE001 - recorded on every configuration list, never fatal
        failed = classify(exc, "read API discovery (/apis)", options.timeout_s)
        return ServedApis({}, f"API discovery (/apis) failed: {failed.message}")
    return ServedApis(resources, None)


def _aggregated(doc: dict[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    """(group, version) → resources, from an APIGroupDiscoveryList (subresources are nested there)."""
    return {
        (str(group["metadata"]["name"]), str(version["version"])): frozenset(
            str(r["resource"]) for r in version.get("resources") or []
        )
        for group in doc.get("items") or []
        for version in group.get("versions") or []
    }


def _per_group(
    api: ApiClient, doc: dict[str, Any], options: Options
) -> dict[tuple[str, str], frozenset[str]]:
    """The legacy way: `/apis` names each group's versions; each version lists its resources."""
    from ztbundle.layout import CONFIG_RESOURCES

    served = {
        str(g.get("name")): {str(v.get("version")) for v in g.get("versions") or []}
        for g in doc.get("groups") or []
    }
    groups = sorted({r.group for r in CONFIG_RESOURCES if r.group in served})
    # Groups together (as the preflight does, on one thread-safe pool); within a group, the
    # newest versions first, stopping once every wanted resource has a version.
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="ztbundle-discovery") as pool:
        found = list(pool.map(lambda g: _group(api, g, served[g], options), groups))
    return {gv: names for listing in found for gv, names in listing.items()}


def _group(
    api: ApiClient, group: str, served: set[str], options: Options
) -> dict[tuple[str, str], frozenset[str]]:
    from ztbundle.layout import CONFIG_RESOURCES

    wanted = [r for r in CONFIG_RESOURCES if r.group == group]
    order: list[str] = []
    for r in wanted:
        order += [v for v in r.versions if v in served and v not in order]
    order.sort(key=lambda v: min(r.versions.index(v) for r in wanted if v in r.versions))
    out: dict[tuple[str, str], frozenset[str]] = {}
    missing = {r.resource for r in wanted}
    for version in order:
        if not missing:
            break
        listing = _get_json(api, f"/apis/{group}/{version}", options)
        names = frozenset(
            str(r.get("name")) for r in listing.get("resources") or [] if "/" not in str(r.get("name"))
        )
        out[(group, version)] = names
        missing -= names
    return out


def _get_json(
    api: ApiClient, path: str, options: Options, accept: str = "application/json"
) -> dict[str, Any]:
    body = api_get(api, path, timeout_s=options.timeout_s, max_bytes=8 << 20, accept=accept).read_bytes()
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return doc


def _fatal(exc: BaseException, host: str, action: str, timeout_s: float) -> ClusterError:
    failed = classify(exc, action, timeout_s)
    status = getattr(exc, "status", None)
    if status == 401:
        return ClusterError(
            f"{host}: credentials rejected (401 Unauthorized); check --context or refresh the token"
        )
    if failed.status is Status.FORBIDDEN:
        return ClusterError(f"{host}: {failed.message}; the collector needs get/list on pods cluster-wide")
    if failed.status is Status.TIMEOUT:
        return ClusterError(f"{host}: API server did not answer within {timeout_s:g}s; check --context")
    if status:
        return ClusterError(f"{host}: {failed.message}")
    return ClusterError(f"cannot reach the API server at {host}: {_root(exc)}; check --context")


def _root(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    while isinstance(reason, BaseException) and getattr(reason, "reason", None) is not None:
        reason = getattr(reason, "reason", None)
    text = str(reason if isinstance(reason, BaseException) else exc)
    return text.split(": ", 1)[-1] if "object at 0x" in text else text


def _probe(api: ApiClient, options: Options, host: str) -> str | None:
    try:
        body = api_get(api, "/version", timeout_s=options.timeout_s, max_bytes=1 << 20).read_bytes()
    except (StepFailed, Truncated) as exc:
        raise ClusterError(f"{host}: /version: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - every cause becomes one line naming it
        raise _fatal(exc, host, "get /version", options.timeout_s) from None
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    value = doc.get("gitVersion") if isinstance(doc, dict) else None
    return str(value) if value else None


def list_pages(
    api: ApiClient,
    path: str,
    query: list[tuple[str, str]],
    *,
    timeout_s: float,
    max_bytes: int,
    accept: str = "application/json",
    page_size: int = PAGE,
) -> Iterator[dict[str, Any]]:
    """Yield each page of a List, following `continue` with `limit` until the server says done."""
    token: str | None = None
    while True:
        q = [*query, ("limit", str(page_size))] + ([("continue", token)] if token else [])
        body = api_get(api, path, q, timeout_s=timeout_s, max_bytes=max_bytes, accept=accept).read_bytes()
        page = json.loads(body)
        if not isinstance(page, dict):
            raise ValueError(f"{path}: expected a List object")
        yield page
        token = (page.get("metadata") or {}).get("continue") or None
        if not token:
            return


def _find(
    api: ApiClient, options: Options, host: str, component: Component, namespace: str | None
) -> Iterator[PodRef]:
    path = f"/api/v1/namespaces/{quote(namespace)}/pods" if namespace else "/api/v1/pods"
    selector = SELECTORS[component]
    where = f"in namespace {namespace}" if namespace else "in all namespaces"
    try:
        pages = list(
            list_pages(
                api,
                path,
                [("labelSelector", selector)],
                timeout_s=options.timeout_s,
                max_bytes=options.max_bytes,
            )
        )
    except Exception as exc:  # noqa: BLE001 - discovery failure ends the run with one line
        raise _fatal(exc, host, f"list pods {where} ({selector})", options.timeout_s) from None
    for page in pages:
        for obj in page.get("items") or []:
            pod = pod_ref(component, obj)
            if pod is not None:
                yield pod


def pod_ref(component: Component, obj: dict[str, Any]) -> PodRef | None:
    """Build a PodRef from a v1 Pod JSON object; pods without a name are ignored."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if not meta.get("name") or not meta.get("namespace"):
        return None
    restarts = {
        cs.get("name"): int(cs.get("restartCount") or 0) for cs in status.get("containerStatuses") or []
    }
    containers = tuple(
        ContainerRef(name=c["name"], restart_count=restarts.get(c["name"], 0))
        for c in spec.get("containers") or []
        if c.get("name")
    )
    return PodRef(
        component=component,
        namespace=meta["namespace"],
        name=meta["name"],
        node=spec.get("nodeName"),
        containers=containers,
        phase=status.get("phase"),
    )
