"""`collect --for POD --to TARGET`: the nodes and waypoints the paths of those connections touch.

The source pods' nodes and the nodes of the target's pods (a service's selected pods, or the pod
itself) give the ztunnels to collect, hence istiod's views of them; the waypoint the target uses
(its `istio.io/use-waypoint` label, else its namespace's) adds that waypoint's pods. Cluster objects
are collected whole. The selection is recorded in the manifest's options.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from collector.discovery import Options, Plan, _fatal, list_pages
from collector.targets import Selection
from ztbundle.errors import UsageError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

Obj = Mapping[str, Any]
USE_WAYPOINT = "istio.io/use-waypoint"
GATEWAY_NAME = "gateway.networking.k8s.io/gateway-name"


def _meta(o: Obj) -> tuple[str, str]:
    m = o.get("metadata") or {}
    return str(m.get("namespace") or ""), str(m.get("name") or "")


def _ref(o: Obj) -> str:
    ns, name = _meta(o)
    return f"{ns}/{name}"


def _labels(o: Obj) -> Mapping[str, str]:
    return (o.get("metadata") or {}).get("labels") or {}


def _closest(word: str, names: list[str]) -> str:
    near = difflib.get_close_matches(word, names, n=3, cutoff=0.4)
    return f" (closest: {', '.join(near)})" if near else ""


def _live(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def find_pod(pods: list[Obj], text: str, flag: str) -> Obj:
    """A pod by `namespace/name` or by a name unique in the cluster; UsageError names the closest."""
    ns, sep, name = text.partition("/")
    found = [p for p in pods if (_meta(p) == (ns, name) if sep else _meta(p)[1] == text)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise UsageError(f"{flag} {text}: ambiguous: {', '.join(sorted(_ref(p) for p in found))}")
    raise UsageError(f"{flag} {text}: no such pod{_closest(text, sorted(_ref(p) for p in pods))}")


def _selected(pods: list[Obj], svc: Obj) -> list[Obj]:
    ns, _ = _meta(svc)
    sel = (svc.get("spec") or {}).get("selector") or {}
    if not sel:
        return []
    return [
        p
        for p in pods
        if _meta(p)[0] == ns and _live(p) and all(_labels(p).get(k) == v for k, v in sel.items())
    ]


def resolve_target(pods: list[Obj], services: list[Obj], text: str) -> tuple[str, list[Obj], Obj | None]:
    """(label, target pods, the service or None) for a service, a pod or `IP[:port]`."""
    head, sep, tail = text.rpartition(":")
    body = head if sep and tail.isdigit() else text
    try:
        ip = str(ipaddress.ip_address(body.strip("[]")))
    except ValueError:
        ip = None
    if ip is not None:
        for p in pods:
            if (p.get("status") or {}).get("podIP") == ip and not (p.get("spec") or {}).get("hostNetwork"):
                return f"Pod {_ref(p)}", [p], None
        for s in services:
            if (s.get("spec") or {}).get("clusterIP") == ip:
                return f"Service {_ref(s)}", _selected(pods, s), s
        raise UsageError(f"--to {text}: no pod or service has IP {ip}")
    ns, slash, name = body.partition("/")
    if slash:
        key = (ns, name)
    elif "." in body:
        parts = body.split(".")
        key = (parts[1], parts[0])
    else:
        named = [_meta(s) for s in services if _meta(s)[1] == body]
        key = named[0] if len(named) == 1 else ("", body)
    svc = next((s for s in services if _meta(s) == key), None)
    if svc is not None:
        return f"Service {_ref(svc)}", _selected(pods, svc), svc
    try:
        pod = find_pod(pods, body, "--to")
    except UsageError:
        names = sorted({_ref(s) for s in services} | {_ref(p) for p in pods})
        raise UsageError(f"--to {text}: no such service or pod{_closest(body, names)}") from None
    return f"Pod {_ref(pod)}", [pod], None


def _waypoint(
    target_pods: list[Obj], svc: Obj | None, namespaces: Mapping[str, Obj]
) -> tuple[str, str] | None:
    holders = [svc] if svc is not None else target_pods[:1]
    for o in holders:
        if USE_WAYPOINT in _labels(o):
            value = _labels(o)[USE_WAYPOINT]
            return None if value == "none" else (_meta(o)[0], value)
    ns = _meta(holders[0])[0] if holders else ""
    label = _labels(namespaces.get(ns) or {}).get(USE_WAYPOINT)
    return (ns, label) if label and label != "none" else None


def _all(api: ApiClient, path: str, options: Options) -> list[Obj]:
    pages = list_pages(api, path, [], timeout_s=options.timeout_s, max_bytes=options.max_bytes)
    return [o for page in pages for o in page.get("items") or []]


def select(api: ApiClient, options: Options) -> Selection:
    """Resolve `--for` and `--to` against the live cluster (UsageError for names it does not know)."""
    pods = _all(api, "/api/v1/pods", options)
    sources = [find_pod(pods, text, "--for") for text in options.for_pods]
    target: str | None = None
    target_pods: list[Obj] = []
    waypoint: tuple[str, str] | None = None
    if options.to:
        services = _all(api, "/api/v1/services", options)
        namespaces = {_meta(n)[1]: n for n in _all(api, "/api/v1/namespaces", options)}
        target, target_pods, svc = resolve_target(pods, services, options.to)
        waypoint = _waypoint(target_pods, svc, namespaces)
    nodes = {(p.get("spec") or {}).get("nodeName") for p in [*sources, *target_pods]}
    waypoints = _waypoint_pods(pods, waypoint)
    return Selection(
        sources=tuple(_ref(p) for p in sources),
        target=target,
        target_pods=tuple(_ref(p) for p in target_pods),
        nodes=frozenset(n for n in nodes if n),
        waypoints=frozenset(waypoints),
    )


def _waypoint_pods(pods: list[Obj], waypoint: tuple[str, str] | None) -> Iterator[str]:
    if waypoint is None:
        return
    for p in pods:
        if _meta(p)[0] == waypoint[0] and _labels(p).get(GATEWAY_NAME) == waypoint[1]:
            yield _ref(p)


def narrow(api: ApiClient, plan: Plan, host: str) -> Plan:
    """The plan limited to the selected paths' nodes and waypoints (and `--node`'s, when also given)."""
    try:
        sel = select(api, plan.options)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - without the pods there is no path to narrow to
        raise _fatal(exc, host, "list pods and services for --for/--to", plan.options.timeout_s) from None
    options = dataclasses.replace(plan.options, nodes=plan.options.nodes | sel.nodes, selection=sel)
    return dataclasses.replace(plan, options=options)
