"""Lay an istioctl bug-report's members out as a ztbundle bundle: logical members + a manifest.

Where istioctl puts things (istio/istio tools/bug-report/pkg, read at commit
86c9f01fd735fb01d8192f5bcaf0d424afb7f14c; docs/istioctl-bug-report.md has the table):

    versions                               istioctl's BuildInfo, then each revision's istiod versions
    bug-report.log                         istioctl's own log (its timestamps date the capture)
    cluster/k8s-resources                  `kubectl get --all-namespaces all,…,endpointslices -o yaml`
    cluster/k8s-cluster-resources          `kubectl get nodes,namespaces,… -o yaml` (istioctl 1.30+;
                                           before, nodes and namespaces are in k8s-resources)
    cluster/nodes, cluster/pods            `get nodes -o yaml`, `get pods -o yaml -n <istio ns>`
    cluster/cluster-context, kubectl-version
    proxies/<ns>/<pod>/config_dump         ztunnel admin /config_dump (istioctl 1.18+)
    proxies/<ns>/<pod>/istio-proxy.log     the pod's log, previous container's behind a marker
    istio/<ns>/<pod>/debug/<name>, metrics `pilot-discovery request GET …` in each istiod
    istio/<ns>/<pod>/discovery.log         istiod's log
    cni/<pod>/cni.log                      istio-cni node agent's log

Members that are not one of ztbundle's inputs (Envoy sidecars' dumps, secrets and events tables,
CRs, `istioctl analyze` output) are not presented. Files istioctl derived (a List for each kind,
istiod's version from its `istio_build` metric) are new members; each artifact's `source.request`
names the archive member it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analyzer.bugreport import kube
from analyzer.bugreport.components import lay_out_components
from analyzer.bugreport.out import REASON, SOURCE_FORMAT, Meta, Out
from analyzer.errors import BundleError
from analyzer.limits import Limits
from ztbundle import __version__, layout
from ztbundle.layout import Input

_EPOCH = "1970-01-01T00:00:00Z"
_LOG_TIME = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)", re.MULTILINE)
_CLI_VERSION = re.compile(r'CLI version:\s*\n\s*\S*BuildInfo\{Version:"([^"]*)"')
_VERSION = re.compile(r'\bVersion:"([^"]+)"')
_SERVER = re.compile(r"Server Version:\s*(\S+)")
_KIND_LISTS = {
    Input.PODS: "Pod",
    Input.NODES: "Node",
    Input.NAMESPACES: "Namespace",
    Input.SERVICES: "Service",
    Input.ENDPOINTSLICES: "EndpointSlice",
}
_YAML_MEMBERS = ("cluster/k8s-resources", "cluster/k8s-cluster-resources", "cluster/nodes", "cluster/pods")


def _text(members: Mapping[str, bytes], name: str) -> str:
    return members.get(name, b"").decode("utf-8", "replace")


def read_meta(members: Mapping[str, bytes]) -> Meta:
    """Versions, capture time, context and server version from the archive's own files."""
    versions = _text(members, "versions")
    cli = _CLI_VERSION.search(versions)
    plane = versions.split("control plane", 1)[-1].split("proxy revisions", 1)[0] if versions else ""
    times = _LOG_TIME.findall(members.get("bug-report.log", b""))
    if not times:  # no istioctl log: the newest line of any log is the closest to the capture
        times = [t for n, b in members.items() if n.endswith(".log") for t in _LOG_TIME.findall(b[-4096:])]
        times = [max(times)] if times else []
    server = _SERVER.search(_text(members, "cluster/kubectl-version"))
    context = _text(members, "cluster/cluster-context").strip().splitlines()
    return Meta(
        istioctl_version=cli.group(1) if cli else None,
        control_plane_versions=tuple(sorted(set(_VERSION.findall(plane)))),
        started_at=min(times).decode() if times else _EPOCH,
        finished_at=max(times).decode() if times else _EPOCH,
        context=context[0] if context else None,
        server_version=server.group(1) if server else None,
    )


_WANTED = frozenset(_KIND_LISTS.values())
_IN_ISTIO_NAMESPACE = frozenset({"DaemonSet", "Deployment", "ConfigMap"})


def cluster_objects(path: Path, members: Mapping[str, bytes], limits: Limits) -> kube.Objects:
    """The objects of istioctl's YAML members that ztbundle reads (see `kube.load_list`)."""
    candidates = {"istio-system", *_istiod_folders(members)}
    if "cluster/pods" in members:  # `get pods -n <istio namespace>`: its items' namespace is the one
        candidates |= set(re.findall(r"(?m)^    namespace: (\S+)$", _text(members, "cluster/pods")))

    def keep(kind: str, namespace: str | None) -> bool:
        return kind in _WANTED or (kind in _IN_ISTIO_NAMESPACE and namespace in candidates)

    lists = [
        kube.load_list(path, name, members[name], limits.max_json_depth, keep)
        for name in _YAML_MEMBERS
        if name in members
    ]
    return kube.group(lists)


def _istiod_folders(members: Mapping[str, bytes]) -> list[str]:
    return sorted({n.split("/")[1] for n in members if n.startswith("istio/") and n.count("/") >= 3})


def istio_namespace(objects: kube.Objects, members: Mapping[str, bytes]) -> str:
    """Where istiod runs: its pods' namespace, else the `istio/<ns>/…` folder, else istio-system."""
    for pod in objects.get("Pod", ()):
        meta = pod.get("metadata") or {}
        if (meta.get("labels") or {}).get("app") == "istiod" and meta.get("namespace"):
            return str(meta["namespace"])
    folders = _istiod_folders(members)
    return folders[0] if folders else "istio-system"


def _list_doc(kind: str, items: list[dict[str, Any]]) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": f"{kind}List", "metadata": {}, "items": items}).encode()


def lay_out_cluster(out: Out, members: Mapping[str, bytes], objects: kube.Objects, istio_ns: str) -> None:
    """The cluster lists and the Istio namespace's objects, as JSON Lists at their layout paths."""
    origin = ", ".join(n for n in _YAML_MEMBERS if n in members)
    everything = "cluster/k8s-resources" in members
    for inp, kind in _KIND_LISTS.items():
        items = objects.get(kind, [])
        if items or (everything and kind in ("Service", "EndpointSlice")):
            out.ok(layout.CLUSTER_LISTS[inp], inp, _list_doc(kind, items), f"{kind} objects in {origin}")
        else:
            out.absent(layout.CLUSTER_LISTS[inp], inp, f"{REASON} (no {kind} objects in it)")
    if objects.get("Pod") and not everything:
        out.errors.append(f"{SOURCE_FORMAT}: no cluster/k8s-resources; pods are only those of {istio_ns}")

    def in_istio(kind: str) -> list[dict[str, Any]]:
        return [o for o in objects.get(kind, []) if (o.get("metadata") or {}).get("namespace") == istio_ns]

    for inp, kind, path in (
        (Input.ISTIO_DAEMONSETS, "DaemonSet", layout.ISTIO_DAEMONSETS),
        (Input.ISTIO_DEPLOYMENTS, "Deployment", layout.ISTIO_DEPLOYMENTS),
    ):
        if everything:
            out.ok(path, inp, _list_doc(kind, in_istio(kind)), f"{kind} objects in cluster/k8s-resources")
        else:
            out.absent(path, inp)
    mesh = next((c for c in in_istio("ConfigMap") if (c.get("metadata") or {}).get("name") == "istio"), None)
    if mesh is not None:
        out.ok(layout.MESH_CONFIG, Input.MESH_CONFIG, json.dumps(mesh).encode(), "cluster/k8s-resources")
    else:
        out.absent(layout.MESH_CONFIG, Input.MESH_CONFIG)
    out.absent(layout.ISTIO_EVENTS, Input.ISTIO_EVENTS, f"{REASON} as objects (cluster/events is a table)")
    for inp, path in layout.CONFIG_PATHS.items():  # Istio, Gateway API and NetworkPolicy objects
        out.absent(path, inp, f"{REASON} (its configuration objects are not read yet)")
    out.absent(layout.CLUSTER_VERSION, Input.CLUSTER_VERSION, f"{REASON} as JSON (kubectl-version is text)")


def build(
    path: Path, members: Mapping[str, bytes], limits: Limits, *, prefixed: bool
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(members at logical paths, manifest) for a bug-report archive's (prefix-less) members."""
    meta = read_meta(members)
    tool = f"{SOURCE_FORMAT} {meta.istioctl_version}" if meta.istioctl_version else SOURCE_FORMAT
    out = Out(path, meta.started_at, tool)
    if meta.started_at == _EPOCH:
        out.errors.append(f"{SOURCE_FORMAT}: capture time unknown (no timestamps in bug-report.log or logs)")
    objects = cluster_objects(path, members, limits)
    istio_ns = istio_namespace(objects, members)
    lay_out_cluster(out, members, objects, istio_ns)
    lay_out_components(out, members, objects, meta)
    if not any(a["status"] == "ok" for a in out.artifacts.values()):
        raise BundleError(path, None, f"an {SOURCE_FORMAT} archive with nothing ztbundle can read in it")
    manifest = {
        "format_version": layout.RAW_FORMAT_VERSION,
        "tool": {"name": "ztbundle", "version": __version__},
        "command": ["istioctl", "bug-report"],
        "started_at": meta.started_at,
        "finished_at": meta.finished_at,
        "context": meta.context,
        "server_version": meta.server_version,
        "istio_namespace": istio_ns,
        "istio_versions": list(meta.control_plane_versions),
        "complete": all(a["status"] == "ok" for a in out.artifacts.values()),
        "interrupted": False,
        "options": {
            "source_format": SOURCE_FORMAT,
            "istioctl_version": meta.istioctl_version,
            "archive_prefix": "bug-report/" if prefixed else "",
        },
        "errors": [
            f"read from an {tool} archive; inputs it does not carry are listed as skipped",
            *out.errors,
        ],
        "artifacts": sorted(out.artifacts.values(), key=lambda a: a["path"]),
        "redactions": [],
        "trims": [],
    }
    return out.members, manifest
