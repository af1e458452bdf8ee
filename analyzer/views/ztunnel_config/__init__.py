"""`ztunnel-config` tables from one ztunnel's raw `/config_dump`, formatted exactly as istioctl prints them.

These views read the raw document, not the normalized model: istioctl prints IPs, VIPs and
certificate times as ztunnel wrote them (in dump order), and the model deliberately canonicalizes
and sorts those. Column names, order, sorting, `None`/`NA` cells, the hex serial and tabwriter
padding follow `istioctl/pkg/writer/ztunnel/configdump/` (workload.go, services.go,
policies.go, certificates.go, connections.go) at the release whose test data carries the
`POD NAME`/`ADDRESS`, `POLICY NAME` and `CERTIFICATE NAME` headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from analyzer.parse import as_map
from analyzer.views.table import Table
from analyzer.views.ztunnel_config.certificates import certificates, hex_serial, valid_at
from analyzer.views.ztunnel_config.connections import connections
from analyzer.views.ztunnel_config.dump import (
    NO_FILTER,
    Filter,
    RawDump,
    Section,
    cell,
    raw_dump,
    release_of,
    same,
)
from analyzer.views.ztunnel_config.tables import policies, services, workload_matches, workloads

__all__ = [
    "NO_FILTER",
    "Filter",
    "RawDump",
    "Section",
    "certificates",
    "connections",
    "entries",
    "hex_serial",
    "policies",
    "raw_dump",
    "release_of",
    "render",
    "services",
    "table",
    "valid_at",
    "workloads",
]

_HEADERS = ("WORKLOAD INFO", "SERVICE INFO", "POLICY INFO", "SECRET INFO", "CONNECTIONS INFO")


def render(
    section: Section, dump: RawDump, at: datetime, f: Filter = NO_FILTER, *, headers: bool = False
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


def table(section: Section, dump: RawDump, at: datetime, f: Filter = NO_FILTER) -> Table:
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


def entries(section: Section, dump: RawDump, f: Filter = NO_FILTER) -> list[Any]:
    """The raw entries behind a table (for `-o json|yaml`), filtered like the table."""
    if section is Section.WORKLOADS:
        return [dict(w) for w in dump.workloads if workload_matches(w, f)]
    if section is Section.SERVICES:
        return [
            _service_json(s)
            for s in dump.services
            if not f.namespace or same(s.get("namespace"), f.namespace)
        ]
    if section is Section.POLICIES:
        return [dict(p) for p in dump.policies if not f.namespace or same(p.get("namespace"), f.namespace)]
    if section is Section.CERTIFICATES:
        return [dict(c) for c in dump.certificates]
    if section is Section.CONNECTIONS:
        return [dict(as_map(v)) for v in dump.workload_state.values()]
    raise ValueError(f"not a single table: {section}")


def _cidr_vip(value: Any) -> Any:
    """1.30's `{"network", "cidr"}` as istioctl prints it: `network/cidr` (`/cidr` without a network)."""
    if isinstance(value, Mapping):
        return f"{cell(value.get('network'))}/{cell(value.get('cidr'))}"
    return value


def _service_json(svc: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(svc)
    if isinstance(out.get("cidrVips"), list):
        out["cidrVips"] = [_cidr_vip(v) for v in out["cidrVips"]]
    return out
