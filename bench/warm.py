"""Warm the simulated cluster's render caches before a collect, so collect and floor meet the same server.

The floor (`bench.floor`) replays a collect's requests after the collect, against caches the collect
filled: mesh views, ztunnel dumps and metrics, component logs, serialized lists. A cold collect then
pays ~2.5 s of server CPU (100 nodes) that its floor does not, on the same two cores. `warm(scn)`
renders, in this process and without any socket, what a collect asks the fake for: it costs only the
renders (no TLS, no latency), far less than a second collect or a floor run before it.

The caches are bounded (e.g. 256 component logs, 256 ztunnel metrics): where a collect asks for more
than one holds (1,000 nodes), that kind is not warmed, since the collect would evict it, and collect
and floor both render it as they go: still the same server for both.
"""

from __future__ import annotations

import time
from typing import Any

from collector.discovery import SELECTORS
from collector.steps import istiod_debug, istiod_proxy
from tests.fakecluster import k8s, payloads
from tests.fakecluster.admin import admin_response
from tests.fakecluster.logs import component_log, ztunnel_metrics
from tests.fakecluster.scenario import Role, Scenario
from ztbundle import layout

_LOGGED = (Role.ZTUNNEL, Role.ISTIOD, Role.CNI, Role.WAYPOINT)


def _fits(cached: Any, entries: int) -> bool:
    """Whether `entries` renders fit in that cache: if not, the collect evicts what was warmed (the
    floor after it meets the same evictions), so warming them would be time spent for nothing."""
    maxsize = cached.cache_parameters()["maxsize"]
    return maxsize is None or entries <= maxsize


def warm(scn: Scenario) -> float:
    """Render what a collect of `scn` asks for; return the seconds it took."""
    started = time.perf_counter()
    # The selected lists: discovery's pods by component, and the config kinds narrowed to Istio's.
    for selector in SELECTORS.values():
        k8s.list_items_json(scn, "", "pods", None, selector, "")
    for conf in layout.CONFIG_RESOURCES:
        if conf.selector and (conf.group, conf.resource) in k8s.RESOURCES:
            k8s.list_items_json(scn, conf.group, conf.resource, None, conf.selector, "")
    # Last, so the biggest (the pods) stay in the bounded cache, which holds fewer lists than a collect asks.
    for res in k8s.RESOURCES.values():
        k8s.list_items_json(scn, res.group, res.name, None, "", "")
    ztunnels = scn.pods_by_role(Role.ZTUNNEL)
    metrics = _fits(ztunnel_metrics, len(ztunnels))
    for zt in ztunnels:
        if zt.node:
            payloads.ztunnel_config_dump_pieces(scn, zt.node)
            if metrics:
                ztunnel_metrics(scn, zt.node)
    for istiod in scn.pods_by_role(Role.ISTIOD):
        for path in istiod_debug.REQUESTS:
            admin_response(scn, istiod, istiod_debug.PORT, path)
        for zt in ztunnels:
            for path in istiod_proxy.view_requests(f"{zt.name}.{zt.namespace}"):
                admin_response(scn, istiod, istiod_proxy.PORT, path)
    logged = [pod for role in _LOGGED for pod in scn.pods_by_role(role)]
    if not _fits(component_log, len(logged)):
        return time.perf_counter() - started
    for pod in logged:
        component_log(scn, pod.namespace, pod.name, False)
        if k8s.restarts_of(scn, pod):
            component_log(scn, pod.namespace, pod.name, True)
    return time.perf_counter() - started
