"""`ztunnel-config` tables from one ztunnel's raw `/config_dump`, formatted exactly as istioctl prints them.

These views read the raw document, not the normalized model: istioctl prints IPs, VIPs and
certificate times as ztunnel wrote them (in dump order), and the model deliberately canonicalizes
and sorts those. Column names, order, sorting, `None`/`NA` cells, the hex serial and tabwriter
padding follow `istioctl/pkg/writer/ztunnel/configdump/` (workload.go, services.go,
policies.go, certificates.go, connections.go) at the release whose test data carries the
`POD NAME`/`ADDRESS`, `POLICY NAME` and `CERTIFICATE NAME` headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from analyzer.parse import as_list, as_map, parse_time
from analyzer.views.table import Table


class Section(StrEnum):
    WORKLOADS = "workloads"
    SERVICES = "services"
    POLICIES = "policies"
    CERTIFICATES = "certificates"
    CONNECTIONS = "connections"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Filter:
    """istioctl's filters: namespace (all tables), node and address (workloads), direction (connections)."""

    namespace: str | None = None
    node: str | None = None
    address: str | None = None
    direction: str | None = None  # inbound | outbound
    raw: bool = False  # connections: addresses instead of names
    workload: str | None = None  # `<pod>` or `<pod>.<namespace>` (workloads, connections)

    def target(self) -> tuple[str | None, str | None]:
        """(pod name, namespace): `<pod>.<namespace>` splits at the first dot unless a namespace is given."""
        if not self.workload:
            return None, self.namespace
        if self.namespace is None and "." in self.workload:
            name, _, ns = self.workload.partition(".")
            return name, ns
        return self.workload, self.namespace


Release = tuple[int, int]
LEGACY_KEYS = ("by_addr", "by_uid", "by_vip", "by_host", "by_key", "workload_to_vip", "vips")


@dataclass(frozen=True, slots=True)
class RawDump:
    """The sections of a `/config_dump` istioctl reads; lists or address-keyed maps are both accepted."""

    workloads: tuple[Mapping[str, Any], ...]
    services: tuple[Mapping[str, Any], ...]
    policies: tuple[Mapping[str, Any], ...]
    certificates: tuple[Mapping[str, Any], ...]
    workload_state: Mapping[str, Any]
    release: Release | None = None  # the ztunnel's Istio release; None: unknown, print as the newest


def release_of(doc: Mapping[str, Any]) -> Release | None:
    """`version.istioVersion` as (major, minor); a ≤1.21 key set without one counts as 1.21."""
    version = as_map(doc.get("version"))
    text = _s(version.get("istioVersion") or version.get("istio_version"))
    m = re.match(r"^(\d+)\.(\d+)", text)
    if m:
        return int(m.group(1)), int(m.group(2))
    return (1, 21) if any(k in doc for k in LEGACY_KEYS) else None


def _entries(value: Any) -> tuple[Mapping[str, Any], ...]:
    out: list[Mapping[str, Any]] = []
    for v in as_list(value):
        if isinstance(v, Mapping):
            out.append(v)
        elif isinstance(v, list):  # legacy `by_host`: a list per hostname
            out.extend(x for x in v if isinstance(x, Mapping))
    return tuple(out)


def raw_dump(doc: Any) -> RawDump:
    """Pick the sections out of a decoded dump (1.22 maps, 1.23+ lists, ≤1.21 `by_*` keys)."""
    d = as_map(doc)
    return RawDump(
        workloads=_entries(
            d.get("workloads", d.get("by_addr", d.get("by_uid")))
        ),  # istioctl ≤1.21 read by_addr
        services=_entries(d.get("services", d.get("by_host", d.get("by_vip")))),
        policies=_entries(d.get("policies", d.get("by_key"))),
        certificates=_entries(d.get("certificates")),
        workload_state=as_map(d.get("workloadState")),
        release=release_of(d),
    )


def _ips(w: Mapping[str, Any]) -> list[str]:
    """`workloadIps`, or 1.18's single `workloadIp`."""
    ips = w.get("workloadIps")
    if ips is None and w.get("workloadIp"):
        ips = [w["workloadIp"]]
    return [_s(ip) for ip in ips or ()]


def _s(value: Any) -> str:
    """Go's `%v` of a string field decoded from JSON: absent or null prints as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _eq(a: Any, b: str) -> bool:
    return _s(a).casefold() == b.casefold()


# --- workloads -------------------------------------------------------------------------


def _gateway_name(gw: Any, services: Sequence[Mapping[str, Any]]) -> str:
    """The waypoint column: `None` without one, the waypoint service's name, else `NA`."""
    if gw is None:
        return "None"
    dest = _s(as_map(gw).get("destination"))
    for svc in services:
        if f"{_s(svc.get('namespace'))}/{_s(svc.get('hostname'))}" == dest:
            return _s(svc.get("name"))
        if any(_s(a) == dest for a in svc.get("vips") or ()):
            return _s(svc.get("name"))
    return "NA"


def _workload_ok(w: Mapping[str, Any], f: Filter) -> bool:
    name, namespace = f.target()
    if name and not _eq(w.get("name"), name):
        return False
    if namespace and not _eq(w.get("namespace"), namespace):
        return False
    if f.address and not any(_eq(ip, f.address) for ip in _ips(w)):
        return False
    return not (f.node and not _eq(w.get("node"), f.node))


def workloads(dump: RawDump, f: Filter = Filter()) -> Table:
    """NAMESPACE POD NAME ADDRESS NODE WAYPOINT PROTOCOL, sorted by `ns.name` then node.

    As the istioctl of the dump's release: ≤1.21 `NAME NETWORK IP` (first IP), 1.22-1.23 `POD NAME IP`.
    """
    chosen = [w for w in dump.workloads if _workload_ok(w, f)]
    chosen.sort(key=lambda w: (f"{_s(w.get('namespace'))}.{_s(w.get('name'))}", _s(w.get("node"))))
    release = dump.release or (99, 0)
    rows = []
    for w in chosen:
        ips = _ips(w)
        first = ips[0] if ips else ""
        address = (",".join(ips) or _s(w.get("hostname"))) if release >= (1, 24) else first
        network = (_s(w.get("network")),) if release < (1, 22) else ()
        rows.append(
            (
                _s(w.get("namespace")),
                _s(w.get("name")),
                *network,
                address,
                _s(w.get("node")),
                _gateway_name(w.get("waypoint"), dump.services),
                _s(w.get("protocol")),
            )
        )
    if release < (1, 22):
        headers: tuple[str, ...] = ("NAMESPACE", "NAME", "NETWORK", "IP", "NODE", "WAYPOINT", "PROTOCOL")
    else:
        address_header = "ADDRESS" if release >= (1, 24) else "IP"
        headers = ("NAMESPACE", "POD NAME", address_header, "NODE", "WAYPOINT", "PROTOCOL")
    return Table(headers, tuple(rows))


# --- services ------------------------------------------------------------------------


def services(dump: RawDump, f: Filter = Filter()) -> Table:
    """NAMESPACE SERVICE NAME SERVICE VIP WAYPOINT ENDPOINTS (healthy/all)."""
    status = {_s(w.get("uid")): _s(w.get("status")) for w in dump.workloads}
    chosen = [s for s in dump.services if not f.namespace or _eq(s.get("namespace"), f.namespace)]
    chosen.sort(key=lambda s: (_s(s.get("namespace")), _s(s.get("name")), _s(s.get("hostname"))))
    rows = []
    for s in chosen:
        vips = ",".join(_s(v).partition("/")[2] for v in s.get("vips") or ())
        eps = [e for e in as_list(s.get("endpoints")) if isinstance(e, Mapping)]
        healthy = sum(1 for e in eps if status.get(_s(e.get("workloadUid"))) == "Healthy")
        rows.append(
            (
                _s(s.get("namespace")),
                _s(s.get("name")),
                vips,
                _gateway_name(s.get("waypoint"), dump.services),
                f"{healthy}/{len(eps)}",
            )
        )
    return Table(("NAMESPACE", "SERVICE NAME", "SERVICE VIP", "WAYPOINT", "ENDPOINTS"), tuple(rows))


# --- policies ------------------------------------------------------------------------


def policies(dump: RawDump, f: Filter = Filter()) -> Table:
    """NAMESPACE POLICY NAME ACTION SCOPE, sorted by namespace then name."""
    chosen = [p for p in dump.policies if not f.namespace or _eq(p.get("namespace"), f.namespace)]
    chosen.sort(key=lambda p: (_s(p.get("namespace")), _s(p.get("name"))))
    rows = tuple(
        (_s(p.get("namespace")), _s(p.get("name")), _s(p.get("action")), _s(p.get("scope"))) for p in chosen
    )
    return Table(("NAMESPACE", "POLICY NAME", "ACTION", "SCOPE"), rows)


# --- certificates --------------------------------------------------------------------

_DECIMAL = re.compile(r"^[+-]?[0-9]+$")


def hex_serial(decimal: Any) -> str:
    """ztunnel's decimal serial as istioctl prints it (`%x` of a big.Int; `<nil>` if unparsable)."""
    text = _s(decimal)
    return format(int(text), "x") if _DECIMAL.match(text) else "<nil>"


def valid_at(cert: Mapping[str, Any], at: datetime) -> bool:
    """istioctl's `certNotExpired`, judged at `at` (the bundle's collection time) instead of now."""
    start, end = parse_time(cert.get("validFrom")), parse_time(cert.get("expirationTime"))
    if start is None or end is None:
        return False
    return start < at < end


def _cert_row(identity: str, kind: str, state: str, cert: Mapping[str, Any], at: datetime) -> tuple[str, ...]:
    return (
        identity,
        kind,
        state,
        "true" if valid_at(cert, at) else "false",
        hex_serial(cert.get("serialNumber")),
        _s(cert.get("expirationTime")) or "NA",
        _s(cert.get("validFrom")) or "NA",
    )


def _legacy_cert_row(
    identity: str, kind: str, state: str, cert: Mapping[str, Any], at: datetime
) -> tuple[str, ...]:
    start, end = parse_time(cert.get("valid_from")), parse_time(cert.get("expiration_time"))
    return (
        identity,
        kind,
        state,
        "true" if start and end and start < at < end else "false",
        hex_serial(cert.get("serial_number")),
        _s(cert.get("expiration_time")) or "NA",
        _s(cert.get("valid_from")) or "NA",
    )


def _legacy_certificates(dump: RawDump, at: datetime) -> Table:
    """≤1.21 (`ca_cert`, `cert_chain`, snake_case fields): istioctl 1.18-1.21's `CA`/`Cert Chain` rows."""
    rows: list[tuple[str, ...]] = []
    for c in dump.certificates:
        identity, state = _s(c.get("identity")), _s(c.get("state"))
        if "Unavailable" in state:
            state = "Unavailable"
        ca = [x for x in as_list(c.get("ca_cert")) if isinstance(x, Mapping)]
        chain = [x for x in as_list(c.get("cert_chain")) if isinstance(x, Mapping)]
        if not ca and not chain:
            rows.append((identity, "NA", state, "false", "NA", "NA", "NA"))
        rows.extend(_legacy_cert_row(identity, "CA", state, x, at) for x in ca)
        rows.extend(_legacy_cert_row(identity, "Cert Chain", state, x, at) for x in chain)
    headers = ("NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE")
    return Table(headers, tuple(rows), padding=5)


def certificates(dump: RawDump, at: datetime) -> Table:
    """Leaf / Intermediate / Root rows per identity; `NA` rows for certificates not (yet) issued."""
    if any("cert_chain" in c or "ca_cert" in c for c in dump.certificates):
        return _legacy_certificates(dump, at)
    rows: list[tuple[str, ...]] = []
    for c in dump.certificates:
        identity, state = _s(c.get("identity")), _s(c.get("state"))
        if "Unavailable" in state:
            state = "Unavailable"
        chain = [x for x in c.get("certChain") or () if isinstance(x, Mapping)]
        roots = [x for x in c.get("rootCerts") or () if isinstance(x, Mapping)]
        if not chain:
            rows.append((identity, "NA", state, "false", "NA", "NA", "NA"))
            continue
        legacy = not roots  # ≤1.25 put the root at the end of certChain
        for i, cert in enumerate(chain):
            kind = "Leaf" if i == 0 else ("Root" if legacy and i == len(chain) - 1 else "Intermediate")
            rows.append(_cert_row(identity, kind, state, cert, at))
        rows.extend(_cert_row(identity, "Root", state, cert, at) for cert in roots)
    headers = ("CERTIFICATE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE")
    return Table(headers, tuple(rows), padding=5)


# --- connections (in-pod workloadState) ----------------------------------------------


def _split_host_port(addr: str) -> tuple[str, str] | None:
    """Go's net.SplitHostPort (None where it returns an error)."""
    if addr.startswith("["):
        end = addr.find("]")
        if end < 0 or addr[end + 1 : end + 2] != ":":
            return None
        return addr[1:end], addr[end + 2 :]
    i = addr.rfind(":")
    if i < 0 or ":" in addr[:i]:
        return None
    return addr[:i], addr[i + 1 :]


def _join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Names:
    """Address → `service-host:port` / `pod.ns:port`, as istioctl's connection view resolves them."""

    def __init__(self, dump: RawDump, raw: bool) -> None:
        self.raw = raw
        self.services: dict[str, str] = {}
        self.workloads: dict[str, str] = {}
        for s in dump.services:
            vips = s.get("vips") or ()
            ip = _s(vips[0]).partition("/")[2] if vips else ""
            self.services[ip or "None"] = _s(s.get("hostname"))
        for w in dump.workloads:
            ips = w.get("workloadIps") or ()
            ip = _s(ips[0]) if ips else ""
            self.workloads[ip or "None"] = f"{_s(w.get('name'))}.{_s(w.get('namespace'))}"

    def __call__(self, addr: Any) -> str:
        text = _s(addr)
        if self.raw:
            return text
        ip, port = _split_host_port(text) or ("", "")
        if ip in self.services:
            return _join_host_port(self.services[ip], port)
        if ip in self.workloads:
            return _join_host_port(self.workloads[ip], port)
        return text


def connections(dump: RawDump, f: Filter = Filter()) -> Table:
    """WORKLOAD DIRECTION LOCAL REMOTE REMOTE TARGET PROTOCOL from the in-pod `workloadState`."""
    names = _Names(dump, f.raw)
    states = [as_map(v) for v in dump.workload_state.values()]
    states.sort(
        key=lambda s: (_s(as_map(s.get("info")).get("namespace")), _s(as_map(s.get("info")).get("name")))
    )
    rows: list[tuple[str, ...]] = []
    workload, namespace = f.target()
    for st in states:
        info, conns = as_map(st.get("info")), as_map(st.get("connections"))
        if namespace and namespace != _s(info.get("namespace")):
            continue
        if workload and not _eq(info.get("name"), workload):
            continue
        name = f"{_s(info.get('name'))}.{_s(info.get('namespace'))}"
        if f.direction != "outbound":
            for c in map(as_map, conns.get("inbound") or ()):
                rows.append(
                    (name, "Inbound", names(c.get("actualDst")), names(c.get("src")),
                     _s(c.get("originalDst")), _s(c.get("protocol")))
                )  # fmt: skip
        if f.direction != "inbound":
            for c in map(as_map, conns.get("outbound") or ()):
                rows.append(
                    (name, "Outbound", names(c.get("src")), names(c.get("actualDst")),
                     names(c.get("originalDst")), _s(c.get("protocol")))
                )  # fmt: skip
    headers = ("WORKLOAD", "DIRECTION", "LOCAL", "REMOTE", "REMOTE TARGET", "PROTOCOL")
    return Table(headers, tuple(rows))


# --- all -------------------------------------------------------------------------------


_HEADERS = ("WORKLOAD INFO", "SERVICE INFO", "POLICY INFO", "SECRET INFO", "CONNECTIONS INFO")


def render(
    section: Section, dump: RawDump, at: datetime, f: Filter = Filter(), *, headers: bool = False
) -> str:
    """The `short` output of one section; `all` is every table, each after a blank line (and a
    `------ WORKLOAD INFO ------` line with `headers`, istioctl's `--with-headers`)."""
    if section is Section.ALL:
        parts = (
            workloads(dump, f),
            services(dump, f),
            policies(dump, f),
            certificates(dump, at),
            connections(dump, f),
        )
        head = [f"------ {h} ------\n\n" if headers else "" for h in _HEADERS]
        return "".join(f"\n{h}{t.render()}" for h, t in zip(head, parts, strict=True))
    return table(section, dump, at, f).render()


def table(section: Section, dump: RawDump, at: datetime, f: Filter = Filter()) -> Table:
    if section is Section.WORKLOADS:
        return workloads(dump, f)
    if section is Section.SERVICES:
        return services(dump, f)
    if section is Section.POLICIES:
        return policies(dump, f)
    if section is Section.CERTIFICATES:
        return certificates(dump, at)
    if section is Section.CONNECTIONS:
        return connections(dump, f)
    raise ValueError(f"not a single table: {section}")


def entries(section: Section, dump: RawDump, f: Filter = Filter()) -> list[Any]:
    """The raw entries behind a table (for `-o json|yaml`), filtered like the table."""
    if section is Section.WORKLOADS:
        return [dict(w) for w in dump.workloads if _workload_ok(w, f)]
    if section is Section.SERVICES:
        return [
            _service_json(s) for s in dump.services if not f.namespace or _eq(s.get("namespace"), f.namespace)
        ]
    if section is Section.POLICIES:
        return [dict(p) for p in dump.policies if not f.namespace or _eq(p.get("namespace"), f.namespace)]
    if section is Section.CERTIFICATES:
        return [dict(c) for c in dump.certificates]
    if section is Section.CONNECTIONS:
        return [dict(as_map(v)) for v in dump.workload_state.values()]
    raise ValueError(f"not a single table: {section}")


def _cidr_vip(value: Any) -> Any:
    """1.30's `{"network", "cidr"}` as istioctl prints it: `network/cidr` (`/cidr` without a network)."""
    if isinstance(value, Mapping):
        return f"{_s(value.get('network'))}/{_s(value.get('cidr'))}"
    return value


def _service_json(svc: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(svc)
    if isinstance(out.get("cidrVips"), list):
        out["cidrVips"] = [_cidr_vip(v) for v in out["cidrVips"]]
    return out
