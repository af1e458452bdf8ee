"""One comparable representation of workloads, services and policies (formats.md §4.5).

ztunnel's `/config_dump` (camelCase, strings, CamelCase enums) and istiod's proto JSON
(base64 bytes, UPPER enums, zero values omitted; ambientz: base64 of ASCII IPs) both become
the same frozen `Workload` / `XdsService` / `Policy`. Equal state → equal objects → equal hashes.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from analyzer.model import Policy, Workload, XdsService, XdsState

T = TypeVar("T")

# --- addresses --------------------------------------------------------------------------


def canon_ip(text: str) -> str:
    """Canonical text of an IP (`::FFFF:1` → `::ffff:1`); unparsable text is returned as is."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return text.strip()


def split_net(value: str) -> tuple[str, str]:
    """Split `network/ip` (or `ns/host`) on the FIRST slash; no slash → ("", value)."""
    net, sep, rest = value.partition("/")
    return (net, rest) if sep else ("", value)


def net_ip(value: str) -> str:
    """`network/ip` → `network/<canonical ip>`; a bare IP gets the empty network."""
    net, ip = split_net(value)
    return f"{net}/{canon_ip(ip)}"


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
        try:
            text = raw.decode("ascii")
            return str(ipaddress.ip_address(text))  # ambientz ASCII "1.2.3" would be 4+ chars
        except (UnicodeDecodeError, ValueError):
            return str(ipaddress.ip_address(raw))
    try:
        return canon_ip(raw.decode("ascii"))
    except UnicodeDecodeError:
        return value


def _gateway_ztunnel(gw: Any) -> str | None:
    if not isinstance(gw, Mapping) or not gw.get("destination"):
        return None
    dest = str(gw["destination"])
    net, rest = split_net(dest)
    try:
        return f"{net}/{ipaddress.ip_address(rest)}"
    except ValueError:
        return dest  # namespace/hostname form


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


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(sorted(str(v) for v in value)) if isinstance(value, list) else ()


def _locality(value: Any) -> str | None:
    if not isinstance(value, Mapping) or not any(value.get(k) for k in ("region", "zone", "subzone")):
        return None
    return "/".join(str(value.get(k, "")) for k in ("region", "zone", "subzone"))


def _app_tunnel(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    return f"{str(value.get('protocol') or 'NONE').upper()}:{value.get('port') or ''}"


# --- workloads --------------------------------------------------------------------------


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
        services=_strs(raw.get("services"))
        if isinstance(raw.get("services"), list)
        else tuple(sorted(raw.get("services") or ())),
        status=str(raw.get("status") or "Healthy"),
        workload_name=str(raw.get("workloadName") or ""),
        workload_type=str(raw.get("workloadType") or "deployment").lower(),
        canonical_name=str(raw.get("canonicalName") or ""),
        canonical_revision=str(raw.get("canonicalRevision") or ""),
        hostname=str(raw.get("hostname") or ""),
        native_tunnel=bool(raw.get("nativeTunnel")),
        authorization_policies=_strs(raw.get("authorizationPolicies")),
        capacity=int(raw.get("capacity") or 1),
        locality=_locality(raw.get("locality")),
        application_tunnel=_app_tunnel(raw.get("applicationTunnel")),
    )


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
        workload_name=str(raw.get("workloadName") or ""),
        workload_type=str(raw.get("workloadType") or "DEPLOYMENT").lower(),
        canonical_name=str(raw.get("canonicalName") or ""),
        canonical_revision=str(raw.get("canonicalRevision") or ""),
        hostname=str(raw.get("hostname") or ""),
        native_tunnel=bool(raw.get("nativeTunnel")),
        authorization_policies=_strs(raw.get("authorizationPolicies")),
        capacity=int(raw.get("capacity") or 1),
        locality=_locality(raw.get("locality")),
        application_tunnel=_app_tunnel(raw.get("applicationTunnel")),
    )


def proto_workload_ports(raw: Mapping[str, Any]) -> dict[str, tuple[tuple[int, int], ...]]:
    """`services: {"ns/host": {ports: [...]}}` of a proto workload → service key → port pairs."""
    out: dict[str, tuple[tuple[int, int], ...]] = {}
    services = raw.get("services")
    if not isinstance(services, Mapping):
        return out
    for key, val in services.items():
        ports = val.get("ports", []) if isinstance(val, Mapping) else []
        out[str(key)] = _port_pairs(ports)
    return out


# --- services ---------------------------------------------------------------------------


def _port_pairs(ports: Any) -> tuple[tuple[int, int], ...]:
    if isinstance(ports, Mapping):
        return tuple(sorted((int(k), int(v or 0)) for k, v in ports.items()))
    pairs = []
    for p in ports or ():
        if isinstance(p, Mapping):
            sp = int(p.get("servicePort") or 0)
            pairs.append((sp, int(p.get("targetPort") or 0)))
    return tuple(sorted(pairs))


def _lb_ztunnel(lb: Any) -> str | None:
    if not isinstance(lb, Mapping):
        return None
    prefs = ",".join(str(p) for p in lb.get("routingPreferences") or ())
    return f"{lb.get('mode') or 'Standard'};{lb.get('healthPolicy') or 'OnlyHealthy'};{prefs}"


def _lb_proto(lb: Any) -> str | None:
    if not isinstance(lb, Mapping):
        return None
    prefs = ",".join(_camel(str(p)) for p in lb.get("routingPreference") or ())
    mode = _LBMODE.get(str(lb.get("mode") or "UNSPECIFIED_MODE"), "Standard")
    health = _HEALTH.get(str(lb.get("healthPolicy") or "ONLY_HEALTHY"), "OnlyHealthy")
    return f"{mode};{health};{prefs}"


def _ztunnel_endpoints(raw: Any) -> tuple[tuple[str, tuple[tuple[int, int], ...]], ...]:
    if not isinstance(raw, Mapping):
        return ()
    out = {}
    for key, ep in raw.items():
        if not isinstance(ep, Mapping):
            continue
        uid = str(ep.get("workloadUid") or str(key).split(":", 1)[0])  # ≤1.23 keys `uid:net/ip`
        out[uid] = _port_pairs(ep.get("port") or {})
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
        ports=_port_pairs(raw.get("ports") or {}),
        endpoints=_ztunnel_endpoints(raw.get("endpoints")),
        subject_alt_names=_strs(raw.get("subjectAltNames")),
        waypoint=_gateway_ztunnel(raw.get("waypoint")),
        load_balancer=_lb_ztunnel(raw.get("loadBalancer")),
        ip_families=raw.get("ipFamilies") or None,
    )


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
        ports=_port_pairs(raw.get("ports") or []),
        endpoints=tuple(sorted(endpoints)),
        subject_alt_names=_strs(raw.get("subjectAltNames")),
        waypoint=_gateway_proto(raw.get("waypoint"), True),
        load_balancer=_lb_proto(raw.get("loadBalancing")),
        ip_families=_IPFAM.get(str(raw.get("ipFamilies") or "AUTOMATIC")),
    )


# --- policies ---------------------------------------------------------------------------


def _string_match(m: Any) -> str:
    if not isinstance(m, Mapping) or not m:
        return str(m)
    key, val = next(iter(m.items()))
    key = str(key).lower()
    return "presence" if key == "presence" else f"{key}:{val}"


def _cidr_ztunnel(v: Any) -> str:
    try:
        return str(ipaddress.ip_network(str(v), strict=False))
    except ValueError:
        return str(v)


def _cidr_proto(v: Any) -> str:
    if not isinstance(v, Mapping):
        return str(v)
    ip = decode_ip(str(v.get("address", "")))
    length = v.get("length", 32 if ":" not in ip else 128)
    try:
        return str(ipaddress.ip_network(f"{ip}/{length}", strict=False))
    except ValueError:
        return f"{ip}/{length}"


_STRMATCH = ("namespaces", "notNamespaces", "principals", "notPrincipals")
_IPS = ("sourceIps", "notSourceIps", "destinationIps", "notDestinationIps")
_PORTS = ("destinationPorts", "notDestinationPorts")
_SAS = ("serviceAccounts", "notServiceAccounts")


def _match(m: Mapping[str, Any], cidr: Callable[[Any], str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out: dict[str, tuple[str, ...]] = {}
    for key in _STRMATCH:
        if m.get(key):
            out[key] = tuple(sorted(_string_match(v) for v in m[key]))
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


def policy_from_ztunnel(raw: Mapping[str, Any]) -> Policy:
    rules = tuple(
        tuple(tuple(_match(m, _cidr_ztunnel) for m in clause if isinstance(m, Mapping)) for clause in rule)
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


def policy_from_proto(raw: Mapping[str, Any]) -> Policy:
    """Proto Authorization: `groups[].rules[].matches[]` flattened to ztunnel's `rules[][][]`."""
    rules = tuple(
        tuple(
            tuple(_match(m, _cidr_proto) for m in rule.get("matches") or () if isinstance(m, Mapping))
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


# --- hashing, interning, diff -------------------------------------------------------------


def content_hash(entry: Any) -> str:
    """Stable hash of a normalized entry; equal entries → equal hashes across processes."""
    # The dataclass repr lists every field in order and nests tuples/strings/ints only: deterministic.
    return hashlib.blake2b(repr(entry).encode(), digest_size=12).hexdigest()


def raw_key(raw: Any) -> bytes:
    """Key of a raw JSON entry for interning (identical raw entries parse once).

    repr() of the parsed dict keeps the document's key order, so byte-identical entries (the
    common case: every ztunnel serializes the same workload the same way) share a key; two
    equal entries with different key order merely parse twice and still intern by content hash.
    """
    return hashlib.blake2b(repr(raw).encode(), digest_size=16).digest()


class Interner:
    """Parse each distinct raw entry once; memory is O(unique entries) across all ztunnels."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bytes], tuple[Any, str]] = {}
        self._by_hash: dict[str, Any] = {}
        self._memo: dict[tuple[str, bytes], Any] = {}

    def __call__(self, kind: str, raw: Any, build: Callable[[Any], T]) -> tuple[T, str]:
        key = (kind, raw_key(raw))
        hit = self._cache.get(key)
        if hit is None:
            obj = build(raw)
            h = content_hash(obj)
            obj = self._by_hash.setdefault(f"{kind}:{h}", obj)  # equal after normalization → same object
            hit = self._cache[key] = (obj, h)
        return hit

    def text(
        self, kind: str, text: str, parse: Callable[[str], Any], build: Callable[[Any], T]
    ) -> tuple[T, str]:
        """Like calling the interner, keyed by the entry's raw TEXT: repeated entries are never parsed."""
        key = (kind, hashlib.blake2b(text.encode(), digest_size=16).digest())
        hit = self._cache.get(key)
        if hit is None:
            obj = build(parse(text))
            h = content_hash(obj)
            obj = self._by_hash.setdefault(f"{kind}:{h}", obj)
            hit = self._cache[key] = (obj, h)
        return hit

    def memo(self, kind: str, text: str, compute: Callable[[], T]) -> T:
        """Cache any result derived only from `text` (e.g. a whole identical `workloads` section)."""
        key = (kind, hashlib.blake2b(text.encode(), digest_size=16).digest())
        if key not in self._memo:
            self._memo[key] = compute()
        result: T = self._memo[key]
        return result

    def adopt(self, kind: str, obj: T) -> tuple[T, str]:
        """Intern an already-built (e.g. derived) entry by its content."""
        h = content_hash(obj)
        return self._by_hash.setdefault(f"{kind}:{h}", obj), h

    def __len__(self) -> int:
        return len(self._by_hash)


def state_from(
    workloads: Iterable[tuple[Workload, str]],
    services: Iterable[tuple[XdsService, str]],
    policies: Iterable[tuple[Policy, str]],
) -> XdsState:
    """Assemble an XdsState, deduplicating workloads by uid and services by `ns/host`."""
    w: dict[str, Workload] = {}
    wh: dict[str, str] = {}
    for obj, h in workloads:
        key = obj.uid or f"{obj.namespace}/{obj.name}"
        w.setdefault(key, obj)
        wh.setdefault(key, h)
    s: dict[str, XdsService] = {}
    sh: dict[str, str] = {}
    for svc, h in services:
        s.setdefault(svc.key, svc)
        sh.setdefault(svc.key, h)
    p: dict[str, Policy] = {}
    ph: dict[str, str] = {}
    for pol, h in policies:
        p.setdefault(pol.key, pol)
        ph.setdefault(pol.key, h)
    return XdsState(w, s, p, wh, sh, ph)


def same(expected: Any, actual: Any, ignore: Iterable[str] = ()) -> bool:
    """Equal entries, not counting the `ignore`d fields (see `XdsState.absent_fields`)."""
    if expected == actual:
        return True
    skip = set(ignore)
    if not skip:
        return False
    return all(
        getattr(expected, f.name) == getattr(actual, f.name)
        for f in dataclasses.fields(expected)
        if f.name not in skip
    )


def diff(expected: Any, actual: Any, ignore: Iterable[str] = ()) -> list[str]:
    """Field-level differences between two normalized entries (`field: expected → actual`)."""
    from deepdiff import DeepDiff

    a, b = dataclasses.asdict(expected), dataclasses.asdict(actual)
    for name in ignore:
        a.pop(name, None)
        b.pop(name, None)
    found = DeepDiff(a, b, ignore_order=True, verbose_level=2)
    lines = []
    for change, items in found.items():
        if isinstance(items, Mapping):
            for path, detail in items.items():
                path = str(path).removeprefix("root")
                if isinstance(detail, Mapping) and "old_value" in detail:
                    lines.append(f"{path}: {detail['old_value']!r} → {detail['new_value']!r}")
                else:
                    lines.append(f"{path}: {change.replace('_', ' ')} {detail!r}")
        else:
            lines.extend(f"{str(p).removeprefix('root')}: {change.replace('_', ' ')}" for p in items)
    return sorted(lines)
