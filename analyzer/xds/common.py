"""Decoding helpers both sides share: canonical IPs, port pairs, locality, policy match clauses."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_V4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")  # no leading zero, each octet ≤ 255


def canon_ip(text: str) -> str:
    """Canonical text of an IP (`::FFFF:1` → `::ffff:1`); unparsable text is returned as is."""
    text = text.strip()
    if _CANONICAL_V4.fullmatch(text):  # already what ipaddress would print: ~60k IPs at 1,000 nodes
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def split_net(value: str) -> tuple[str, str]:
    """Split `network/ip` (or `ns/host`) on the FIRST slash; no slash → ("", value)."""
    net, sep, rest = value.partition("/")
    return (net, rest) if sep else ("", value)


def net_ip(value: str) -> str:
    """`network/ip` → `network/<canonical ip>`; a bare IP gets the empty network."""
    net, ip = split_net(value)
    return f"{net}/{canon_ip(ip)}"


def strs(value: Any) -> tuple[str, ...]:
    return tuple(sorted(str(v) for v in value)) if isinstance(value, list) else ()


def locality(value: Any) -> str | None:
    if not isinstance(value, Mapping) or not any(value.get(k) for k in ("region", "zone", "subzone")):
        return None
    return "/".join(str(value.get(k, "")) for k in ("region", "zone", "subzone"))


def app_tunnel(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    return f"{str(value.get('protocol') or 'NONE').upper()}:{value.get('port') or ''}"


def port_pairs(ports: Any) -> tuple[tuple[int, int], ...]:
    if isinstance(ports, Mapping):
        return tuple(sorted((int(k), int(v or 0)) for k, v in ports.items()))
    pairs = []
    for p in ports or ():
        if isinstance(p, Mapping):
            sp = int(p.get("servicePort") or 0)
            pairs.append((sp, int(p.get("targetPort") or 0)))
    return tuple(sorted(pairs))


def string_match(m: Any) -> str:
    if not isinstance(m, Mapping) or not m:
        return str(m)
    key, val = next(iter(m.items()))
    key = str(key).lower()
    return "presence" if key == "presence" else f"{key}:{val}"


_STRMATCH = ("namespaces", "notNamespaces", "principals", "notPrincipals")
_IPS = ("sourceIps", "notSourceIps", "destinationIps", "notDestinationIps")
_PORTS = ("destinationPorts", "notDestinationPorts")
_SAS = ("serviceAccounts", "notServiceAccounts")


def match_clause(m: Mapping[str, Any], cidr: Callable[[Any], str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out: dict[str, tuple[str, ...]] = {}
    for key in _STRMATCH:
        if m.get(key):
            out[key] = tuple(sorted(string_match(v) for v in m[key]))
    for key in _IPS:
        if m.get(key):
            out[key] = tuple(sorted(cidr(v) for v in m[key]))
    for key in _PORTS:
        if m.get(key):
            out[key] = tuple(sorted(str(int(v)) for v in m[key]))
    for key in _SAS:
        if m.get(key):
            out[key] = tuple(
                sorted(f"{v.get('namespace', '')}/{v.get('serviceAccount', '')}" for v in m[key])
            )
    return tuple(sorted(out.items()))


def workload_identity_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The `Workload` fields ztunnel's JSON and istiod's proto spell alike (names, hostname, policies,
    capacity, locality, application tunnel): one reading for both decoders, so they cannot drift."""
    return {
        "workload_name": str(raw.get("workloadName") or ""),
        "workload_type": str(raw.get("workloadType") or "deployment").lower(),
        "canonical_name": str(raw.get("canonicalName") or ""),
        "canonical_revision": str(raw.get("canonicalRevision") or ""),
        "hostname": str(raw.get("hostname") or ""),
        "native_tunnel": bool(raw.get("nativeTunnel")),
        "authorization_policies": strs(raw.get("authorizationPolicies")),
        "capacity": int(raw.get("capacity") or 1),
        "locality": locality(raw.get("locality")),
        "application_tunnel": app_tunnel(raw.get("applicationTunnel")),
    }
