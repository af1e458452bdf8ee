"""istiod proto JSON entries (base64 bytes, UPPER enums, zero values omitted) → normalized model entries.

The per-proxy config_dump carries raw 4/16-byte IPs; `/debug/ambientz` carries base64 of the
ASCII text. Both decode to the entries ztunnel's dump decodes to, so equal state compares equal.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from analyzer.model.xds import Policy, Workload, XdsService
from analyzer.xds.common import (
    canon_ip,
    match_clause,
    port_pairs,
    strs,
    workload_identity_fields,
)


def _b64(value: str) -> bytes:
    padded = value + "=" * (-len(value) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return base64.urlsafe_b64decode(padded)


def decode_ip(value: str) -> str:
    """Decode a proto-JSON `bytes` IP: raw 4/16 bytes, or (ambientz) base64 of the ASCII text."""
    try:
        raw = _b64(value)
    except (binascii.Error, ValueError):
        return canon_ip(value)  # already text (hand-written fixtures, future formats)
    if len(raw) in (4, 16):
        # As text, 4 or 16 bytes can only be an IPv6 address (dotted IPv4 text is 7 to 15), which
        # has two colons or more: without them it is raw bytes, read without a failed text parse.
        if raw.count(b":") >= 2:
            try:
                text = raw.decode("ascii")
                return str(ipaddress.ip_address(text))  # ambientz ASCII "1.2.3" would be 4+ chars
            except (UnicodeDecodeError, ValueError):
                pass
        if len(raw) == 4:
            return "{}.{}.{}.{}".format(*raw)  # str(IPv4Address(raw)), ~30k times at 1,000 nodes
        return str(ipaddress.ip_address(raw))
    try:
        return canon_ip(raw.decode("ascii"))
    except UnicodeDecodeError:
        return value


def _gateway_proto(gw: Any, ascii_ips: bool) -> str | None:
    if not isinstance(gw, Mapping):
        return None
    if isinstance(gw.get("hostname"), Mapping):
        h = gw["hostname"]
        return f"{h.get('namespace', '')}/{h.get('hostname', '')}"
    if isinstance(gw.get("address"), Mapping):
        a = gw["address"]
        return f"{a.get('network', '')}/{decode_ip(str(a.get('address', '')))}"
    return None


# --- enums ------------------------------------------------------------------------------

_PROTOCOL = {"HBONE": "HBONE", "NONE": "TCP", "TCP": "TCP", "LEGACY_ISTIO_MTLS": "LEGACY_ISTIO_MTLS"}
_STATUS = {"HEALTHY": "Healthy", "UNHEALTHY": "Unhealthy"}
_NETMODE = {"STANDARD": "Standard", "HOST_NETWORK": "HostNetwork"}
_SCOPE = {"GLOBAL": "Global", "NAMESPACE": "Namespace", "WORKLOAD_SELECTOR": "WorkloadSelector"}
_ACTION = {"ALLOW": "Allow", "DENY": "Deny"}
_IPFAM = {"IPV4_ONLY": "IPv4", "IPV6_ONLY": "IPv6", "DUAL": "Dual", "AUTOMATIC": None}
_LBMODE = {
    "UNSPECIFIED_MODE": "Standard",
    "STRICT": "Strict",
    "FAILOVER": "Failover",
    "PASSTHROUGH": "Passthrough",
}
_HEALTH = {"ONLY_HEALTHY": "OnlyHealthy", "ALLOW_ALL": "AllowAll"}


def _camel(value: str) -> str:
    """UPPER_SNAKE → CamelCase (`SUBZONE` → `Subzone`)."""
    return "".join(p.capitalize() for p in value.lower().split("_"))


def workload_from_proto(raw: Mapping[str, Any]) -> Workload:
    """An istiod proto-JSON Workload (per-proxy config_dump or ambientz): defaults re-applied."""
    services = raw.get("services")
    services = services if isinstance(services, Mapping) else {}
    return Workload(
        uid=str(raw.get("uid") or ""),
        name=str(raw.get("name") or ""),
        namespace=str(raw.get("namespace") or ""),
        ips=tuple(sorted(decode_ip(str(a)) for a in raw.get("addresses") or ())),
        protocol=_PROTOCOL.get(str(raw.get("tunnelProtocol") or "NONE"), str(raw.get("tunnelProtocol"))),
        network_mode=_NETMODE.get(str(raw.get("networkMode") or "STANDARD"), "Standard"),
        node=raw.get("node") or None,
        service_account=str(raw.get("serviceAccount") or "default"),
        trust_domain=str(raw.get("trustDomain") or "cluster.local"),
        cluster_id=str(raw.get("clusterId") or "Kubernetes"),
        network=str(raw.get("network") or ""),
        waypoint=_gateway_proto(raw.get("waypoint"), True),
        network_gateway=_gateway_proto(raw.get("networkGateway"), True),
        services=tuple(sorted(services)),
        status=_STATUS.get(str(raw.get("status") or "HEALTHY"), "Healthy"),
        **workload_identity_fields(raw),
    )


def proto_workload_ports(raw: Mapping[str, Any]) -> dict[str, tuple[tuple[int, int], ...]]:
    """`services: {"ns/host": {ports: [...]}}` of a proto workload → service key → port pairs."""
    out: dict[str, tuple[tuple[int, int], ...]] = {}
    services = raw.get("services")
    if not isinstance(services, Mapping):
        return out
    for key, val in services.items():
        ports = val.get("ports", []) if isinstance(val, Mapping) else []
        out[str(key)] = port_pairs(ports)
    return out


def _lb_proto(lb: Any) -> str | None:
    if not isinstance(lb, Mapping):
        return None
    prefs = ",".join(_camel(str(p)) for p in lb.get("routingPreference") or ())
    mode = _LBMODE.get(str(lb.get("mode") or "UNSPECIFIED_MODE"), "Standard")
    health = _HEALTH.get(str(lb.get("healthPolicy") or "ONLY_HEALTHY"), "OnlyHealthy")
    return f"{mode};{health};{prefs}"


def service_from_proto(
    raw: Mapping[str, Any], endpoints: Iterable[tuple[str, tuple[tuple[int, int], ...]]] = ()
) -> XdsService:
    """A proto Service; `endpoints` are derived from istiod's workloads (healthy only)."""
    vips, cidrs = [], []
    for a in raw.get("addresses") or ():
        if not isinstance(a, Mapping):
            continue
        ip = decode_ip(str(a.get("address", "")))
        full = 32 if ":" not in ip else 128
        length = a.get("length")
        if length is not None and int(length) < full:
            cidrs.append(f"{a.get('network', '')}/{ipaddress.ip_network(f'{ip}/{length}', strict=False)}")
        else:
            vips.append(f"{a.get('network', '')}/{ip}")
    return XdsService(
        namespace=str(raw.get("namespace") or ""),
        hostname=str(raw.get("hostname") or ""),
        name=str(raw.get("name") or ""),
        vips=tuple(sorted(vips)),
        cidr_vips=tuple(sorted(cidrs)),
        ports=port_pairs(raw.get("ports") or []),
        endpoints=tuple(sorted(endpoints)),
        subject_alt_names=strs(raw.get("subjectAltNames")),
        waypoint=_gateway_proto(raw.get("waypoint"), True),
        load_balancer=_lb_proto(raw.get("loadBalancing")),
        ip_families=_IPFAM.get(str(raw.get("ipFamilies") or "AUTOMATIC")),
    )


def _cidr_proto(v: Any) -> str:
    if not isinstance(v, Mapping):
        return str(v)
    ip = decode_ip(str(v.get("address", "")))
    length = v.get("length", 32 if ":" not in ip else 128)
    try:
        return str(ipaddress.ip_network(f"{ip}/{length}", strict=False))
    except ValueError:
        return f"{ip}/{length}"


def policy_from_proto(raw: Mapping[str, Any]) -> Policy:
    """Proto Authorization: `groups[].rules[].matches[]` flattened to ztunnel's `rules[][][]`."""
    rules = tuple(
        tuple(
            tuple(match_clause(m, _cidr_proto) for m in rule.get("matches") or () if isinstance(m, Mapping))
            for rule in group.get("rules") or ()
            if isinstance(rule, Mapping)
        )
        for group in raw.get("groups") or ()
        if isinstance(group, Mapping)
    )
    return Policy(
        namespace=str(raw.get("namespace") or ""),
        name=str(raw.get("name") or ""),
        scope=_SCOPE.get(str(raw.get("scope") or "GLOBAL"), "Global"),
        action=_ACTION.get(str(raw.get("action") or "ALLOW"), "Allow"),
        rules=rules,
        dry_run=bool(raw.get("dryRun")),
    )
