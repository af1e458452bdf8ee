"""ztunnel `/config_dump` entries (camelCase, strings, CamelCase enums) → normalized model entries."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from analyzer.model.xds import Policy, Workload, XdsService
from analyzer.xds.common import (
    canon_ip,
    match_clause,
    net_ip,
    port_pairs,
    split_net,
    strs,
    workload_identity_fields,
)


def _gateway_ztunnel(gw: Any) -> str | None:
    if not isinstance(gw, Mapping) or not gw.get("destination"):
        return None
    dest = str(gw["destination"])
    net, rest = split_net(dest)
    try:
        return f"{net}/{ipaddress.ip_address(rest)}"
    except ValueError:
        return dest  # namespace/hostname form


def workload_from_ztunnel(raw: Mapping[str, Any]) -> Workload:
    """A ztunnel `/config_dump` workload (1.22+ camelCase; 1.18 `workloadIp` tolerated)."""
    ips = raw.get("workloadIps")
    if ips is None and raw.get("workloadIp"):
        ips = [raw["workloadIp"]]
    return Workload(
        uid=str(raw.get("uid") or ""),
        name=str(raw.get("name") or ""),
        namespace=str(raw.get("namespace") or ""),
        ips=tuple(sorted(canon_ip(str(i)) for i in ips or ())),
        protocol=str(raw.get("protocol") or "TCP"),
        network_mode=str(raw.get("networkMode") or "Standard"),
        node=raw.get("node") or None,
        service_account=str(raw.get("serviceAccount") or "default"),
        trust_domain=str(raw.get("trustDomain") or "cluster.local"),
        cluster_id=str(raw.get("clusterId") or "Kubernetes"),
        network=str(raw.get("network") or ""),
        waypoint=_gateway_ztunnel(raw.get("waypoint")),
        network_gateway=_gateway_ztunnel(raw.get("networkGateway")),
        services=strs(raw.get("services"))
        if isinstance(raw.get("services"), list)
        else tuple(sorted(raw.get("services") or ())),
        status=str(raw.get("status") or "Healthy"),
        **workload_identity_fields(raw),
    )


def _lb_ztunnel(lb: Any) -> str | None:
    if not isinstance(lb, Mapping):
        return None
    prefs = ",".join(str(p) for p in lb.get("routingPreferences") or ())
    return f"{lb.get('mode') or 'Standard'};{lb.get('healthPolicy') or 'OnlyHealthy'};{prefs}"


def _ztunnel_endpoints(raw: Any) -> tuple[tuple[str, tuple[tuple[int, int], ...]], ...]:
    if not isinstance(raw, Mapping):
        return ()
    out = {}
    for key, ep in raw.items():
        if not isinstance(ep, Mapping):
            continue
        uid = str(ep.get("workloadUid") or str(key).split(":", 1)[0])  # ≤1.23 keys `uid:net/ip`
        out[uid] = port_pairs(ep.get("port") or {})
    return tuple(sorted(out.items()))


def service_from_ztunnel(raw: Mapping[str, Any]) -> XdsService:
    cidrs = []
    for c in raw.get("cidrVips") or ():
        cidrs.append(f"{c.get('network', '')}/{c.get('cidr', '')}" if isinstance(c, Mapping) else str(c))
    return XdsService(
        namespace=str(raw.get("namespace") or ""),
        hostname=str(raw.get("hostname") or ""),
        name=str(raw.get("name") or ""),
        vips=tuple(sorted(net_ip(str(v)) for v in raw.get("vips") or ())),
        cidr_vips=tuple(sorted(cidrs)),
        ports=port_pairs(raw.get("ports") or {}),
        endpoints=_ztunnel_endpoints(raw.get("endpoints")),
        subject_alt_names=strs(raw.get("subjectAltNames")),
        waypoint=_gateway_ztunnel(raw.get("waypoint")),
        load_balancer=_lb_ztunnel(raw.get("loadBalancer")),
        ip_families=raw.get("ipFamilies") or None,
    )


def _cidr_ztunnel(v: Any) -> str:
    try:
        return str(ipaddress.ip_network(str(v), strict=False))
    except ValueError:
        return str(v)


def policy_from_ztunnel(raw: Mapping[str, Any]) -> Policy:
    rules = tuple(
        tuple(
            tuple(match_clause(m, _cidr_ztunnel) for m in clause if isinstance(m, Mapping)) for clause in rule
        )
        for rule in raw.get("rules") or ()
        if isinstance(rule, list)
    )
    return Policy(
        namespace=str(raw.get("namespace") or ""),
        name=str(raw.get("name") or ""),
        scope=str(raw.get("scope") or "Global"),
        action=str(raw.get("action") or "Allow"),
        rules=rules,
        dry_run=bool(raw.get("dryRun")),
    )
