"""What the `ztunnel-config` tables read: the dump's sections, istioctl's filters, Go's `%v` of a field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from analyzer.parse import as_list, as_map


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


NO_FILTER: Final = Filter()
"""istioctl without filter flags: every entry."""

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
    text = cell(version.get("istioVersion") or version.get("istio_version"))
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


def workload_ips(w: Mapping[str, Any]) -> list[str]:
    """`workloadIps`, or 1.18's single `workloadIp`."""
    ips = w.get("workloadIps")
    if ips is None and w.get("workloadIp"):
        ips = [w["workloadIp"]]
    return [cell(ip) for ip in ips or ()]


def cell(value: Any) -> str:
    """Go's `%v` of a string field decoded from JSON: absent or null prints as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def same(a: Any, b: str) -> bool:
    """istioctl's `strings.EqualFold` of a field and a filter value."""
    return cell(a).casefold() == b.casefold()
