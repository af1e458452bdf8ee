"""istiod proto JSON: per-proxy `/debug/config_dump` (Address + Authorization) and `/debug/ambientz`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from analyzer import xds
from analyzer.model import Policy, Workload, XdsService, XdsState
from analyzer.parse import as_list

ADDRESS = "type.googleapis.com/istio.workload.Address"
AUTHORIZATION = "type.googleapis.com/istio.security.Authorization"


def _endpoints(
    workloads: Iterable[Mapping[str, Any]], allow_all: set[str]
) -> dict[str, list[tuple[str, tuple[tuple[int, int], ...]]]]:
    """service key → [(workload uid, port pairs)], healthy workloads only unless AllowAll."""
    out: dict[str, list[tuple[str, tuple[tuple[int, int], ...]]]] = {}
    for raw in workloads:
        healthy = str(raw.get("status") or "HEALTHY") == "HEALTHY"
        for key, ports in xds.proto_workload_ports(raw).items():
            if healthy or key in allow_all:
                out.setdefault(key, []).append((str(raw.get("uid") or ""), ports))
    return out


def _state(
    workloads: list[Mapping[str, Any]],
    services: list[Mapping[str, Any]],
    policies: list[Mapping[str, Any]],
    intern: xds.Interner,
    source: str,
) -> XdsState:
    allow_all = {
        f"{s.get('namespace', '')}/{s.get('hostname', '')}"
        for s in services
        if isinstance(s.get("loadBalancing"), Mapping)
        and s["loadBalancing"].get("healthPolicy") == "ALLOW_ALL"
    }
    eps = _endpoints(workloads, allow_all)
    svcs: list[tuple[XdsService, str]] = []
    for raw in services:
        svc = xds.service_from_proto(
            raw, eps.get(f"{raw.get('namespace', '')}/{raw.get('hostname', '')}", ())
        )
        svcs.append((svc, intern.hash_of(svc)))
    wls: Iterable[tuple[Workload, str]] = intern.batch("iw", source, workloads, xds.workload_from_proto)
    pols: Iterable[tuple[Policy, str]] = intern.batch("ip", source, policies, xds.policy_from_proto)
    return xds.state_from(wls, svcs, pols)


def parse_proxy_config(doc: Any, intern: xds.Interner) -> tuple[XdsState, int, int]:
    """(state, address count, authorization count) of a per-proxy dump; `{}` gives zero counts."""
    configs = doc.get("configs") if isinstance(doc, Mapping) else None
    workloads: list[Mapping[str, Any]] = []
    services: list[Mapping[str, Any]] = []
    policies: list[Mapping[str, Any]] = []
    for entry in as_list(configs):
        if not isinstance(entry, Mapping):
            continue
        kind = str(entry.get("@type", ""))
        if kind == AUTHORIZATION or (not kind and "groups" in entry):
            policies.append(entry)
        elif isinstance(entry.get("workload"), Mapping):
            workloads.append(entry["workload"])
        elif isinstance(entry.get("service"), Mapping):
            services.append(entry["service"])
    state = _state(workloads, services, policies, intern, "proxy")
    return state, len(workloads) + len(services), len(policies)


def parse_ambientz(doc: Any, intern: xds.Interner) -> XdsState:
    """`/debug/ambientz`: cluster-wide lists; IPs are base64 of ASCII text (decode_ip handles both)."""
    doc = doc if isinstance(doc, Mapping) else {}

    def entries(key: str) -> list[Mapping[str, Any]]:
        return [e for e in as_list(doc.get(key)) if isinstance(e, Mapping)]

    return _state(entries("workloads"), entries("services"), entries("policies"), intern, "ambientz")
