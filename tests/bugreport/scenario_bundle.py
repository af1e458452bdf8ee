"""A full ztbundle bundle of a scenario, from the same simulated endpoints `make_archive` reads.

Every input the collector gathers is here (per-proxy views and ztunnel metrics included), at the
scenario's own clock, so the bundle's findings are the reference the bug-report's findings are
compared with: equal for every rule whose inputs the archive carries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.analyzer.tarhelp import write_bundle
from tests.analyzer.test_load import at
from tests.bugreport.make_archive import _admin, _objects
from tests.fakecluster import k8s
from tests.fakecluster.logs import component_log, ztunnel_metrics
from tests.fakecluster.scenario import WAYPOINT_CONTROLLER, Role, Scenario
from ztbundle import layout
from ztbundle.layout import Component

_LISTS = {
    layout.PODS: ("", "pods"),
    layout.NAMESPACES: ("", "namespaces"),
    layout.NODES: ("", "nodes"),
    layout.SERVICES: ("", "services"),
    layout.ENDPOINTSLICES: ("discovery.k8s.io", "endpointslices"),
}


def _list(items: list[dict[str, Any]]) -> bytes:
    import json

    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2).encode()


def _logs(scn: Scenario, pod: Any, component: Component, container: str) -> dict[str, bytes]:
    out = {}
    for previous in (False, True) if k8s.restarts_of(scn, pod) > 0 else (False,):
        text = "".join(f"{line}\n" for _, line in component_log(scn, pod.namespace, pod.name, previous))
        if text:
            path = layout.pod_log(component, pod.namespace, pod.name, container, previous=previous)
            out[path] = text.encode()
    return out


def members(scn: Scenario) -> tuple[dict[str, bytes], dict[str, tuple[str, str]]]:
    """(members, failed) of the scenario's bundle: what answered, and what did not, with why."""
    out: dict[str, bytes] = {path: _list(_objects(scn, res)) for path, res in _LISTS.items()}
    for path, res in (
        (layout.ISTIO_DEPLOYMENTS, ("apps", "deployments")),
        (layout.ISTIO_DAEMONSETS, ("apps", "daemonsets")),
    ):
        out[path] = _list(
            [o for o in _objects(scn, res) if o["metadata"]["namespace"] == scn.istio_namespace]
        )
    failed: dict[str, tuple[str, str]] = {}
    ztunnels = scn.pods_by_role(Role.ZTUNNEL)
    for zt in ztunnels:
        dump = _admin(scn, zt, 15000, "/config_dump")
        if dump:
            out[layout.ztunnel_config_dump(zt.name)] = dump
            out[layout.ztunnel_metrics(zt.name)] = ztunnel_metrics(scn, zt.node or "")
        else:
            failed[layout.ztunnel_config_dump(zt.name)] = ("error", "connection refused")
        out |= _logs(scn, zt, Component.ZTUNNEL, "istio-proxy")
    for istiod in scn.pods_by_role(Role.ISTIOD):
        for path, endpoint in (
            (layout.istiod_ambientz(istiod.name), "/debug/ambientz"),
            (layout.istiod_syncz(istiod.name), "/debug/syncz"),
            (layout.istiod_connections(istiod.name), "/debug/connections"),
            (layout.istiod_version(istiod.name), "/version"),
        ):
            out[path] = _admin(scn, istiod, 15014, endpoint)
        for zt in ztunnels:
            proxy = f"/debug/config_dump?proxyID={zt.name}.{zt.namespace}"
            for path, target in (
                (layout.istiod_proxy_config(istiod.name, zt.name), proxy),
                (layout.istiod_proxy_policies(istiod.name, zt.name), f"{proxy}&types=WADS"),
            ):
                body = _admin(scn, istiod, 15014, target)
                if body:
                    out[path] = body
                else:
                    failed[path] = ("error", "HTTP 404: Proxy not connected to this Pilot instance")
        out |= _logs(scn, istiod, Component.ISTIOD, "discovery")
    for cni in scn.pods_by_role(Role.CNI):
        out |= _logs(scn, cni, Component.CNI, "install-cni")
    for pod in scn.pods:
        if pod.labels.get("gateway.istio.io/managed") == WAYPOINT_CONTROLLER:
            out |= _logs(scn, pod, Component.WAYPOINT, "istio-proxy")
    return out, failed


def write(path: Path, scn: Scenario) -> Path:
    """Write the scenario's ztbundle bundle, collected at the scenario's clock."""
    got, failed = members(scn)
    return write_bundle(path, got, failed=failed, at=at(scn))
