"""The workloads, services and policies tables: ztunnel's xDS state as istioctl prints it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analyzer.parse import as_list, as_map
from analyzer.views.table import Table
from analyzer.views.ztunnel_config.dump import NO_FILTER, Filter, RawDump, cell, same, workload_ips

# --- workloads -------------------------------------------------------------------------


def _gateway_name(gw: Any, services: Sequence[Mapping[str, Any]]) -> str:
    """The waypoint column: `None` without one, the waypoint service's name, else `NA`."""
    if gw is None:
        return "None"
    dest = cell(as_map(gw).get("destination"))
    for svc in services:
        if f"{cell(svc.get('namespace'))}/{cell(svc.get('hostname'))}" == dest:
            return cell(svc.get("name"))
        if any(cell(a) == dest for a in svc.get("vips") or ()):
            return cell(svc.get("name"))
    return "NA"


def workload_matches(w: Mapping[str, Any], f: Filter) -> bool:
    name, namespace = f.target()
    if name and not same(w.get("name"), name):
        return False
    if namespace and not same(w.get("namespace"), namespace):
        return False
    if f.address and not any(same(ip, f.address) for ip in workload_ips(w)):
        return False
    return not (f.node and not same(w.get("node"), f.node))


def workloads(dump: RawDump, f: Filter = NO_FILTER) -> Table:
    """NAMESPACE POD NAME ADDRESS NODE WAYPOINT PROTOCOL, sorted by `ns.name` then node.

    As the istioctl of the dump's release: ≤1.21 `NAME NETWORK IP` (first IP), 1.22-1.23 `POD NAME IP`.
    """
    chosen = [w for w in dump.workloads if workload_matches(w, f)]
    chosen.sort(key=lambda w: (f"{cell(w.get('namespace'))}.{cell(w.get('name'))}", cell(w.get("node"))))
    release = dump.release or (99, 0)
    rows = []
    for w in chosen:
        ips = workload_ips(w)
        first = ips[0] if ips else ""
        address = (",".join(ips) or cell(w.get("hostname"))) if release >= (1, 24) else first
        network = (cell(w.get("network")),) if release < (1, 22) else ()
        rows.append(
            (
                cell(w.get("namespace")),
                cell(w.get("name")),
                *network,
                address,
                cell(w.get("node")),
                _gateway_name(w.get("waypoint"), dump.services),
                cell(w.get("protocol")),
            )
        )
    if release < (1, 22):
        headers: tuple[str, ...] = ("NAMESPACE", "NAME", "NETWORK", "IP", "NODE", "WAYPOINT", "PROTOCOL")
    else:
        address_header = "ADDRESS" if release >= (1, 24) else "IP"
        headers = ("NAMESPACE", "POD NAME", address_header, "NODE", "WAYPOINT", "PROTOCOL")
    return Table(headers, tuple(rows))


# --- services ------------------------------------------------------------------------


def services(dump: RawDump, f: Filter = NO_FILTER) -> Table:
    """NAMESPACE SERVICE NAME SERVICE VIP WAYPOINT ENDPOINTS (healthy/all)."""
    status = {cell(w.get("uid")): cell(w.get("status")) for w in dump.workloads}
    chosen = [s for s in dump.services if not f.namespace or same(s.get("namespace"), f.namespace)]
    chosen.sort(key=lambda s: (cell(s.get("namespace")), cell(s.get("name")), cell(s.get("hostname"))))
    rows = []
    for s in chosen:
        vips = ",".join(cell(v).partition("/")[2] for v in s.get("vips") or ())
        eps = [e for e in as_list(s.get("endpoints")) if isinstance(e, Mapping)]
        healthy = sum(1 for e in eps if status.get(cell(e.get("workloadUid"))) == "Healthy")
        rows.append(
            (
                cell(s.get("namespace")),
                cell(s.get("name")),
                vips,
                _gateway_name(s.get("waypoint"), dump.services),
                f"{healthy}/{len(eps)}",
            )
        )
    return Table(("NAMESPACE", "SERVICE NAME", "SERVICE VIP", "WAYPOINT", "ENDPOINTS"), tuple(rows))


# --- policies ------------------------------------------------------------------------


def policies(dump: RawDump, f: Filter = NO_FILTER) -> Table:
    """NAMESPACE POLICY NAME ACTION SCOPE, sorted by namespace then name."""
    chosen = [p for p in dump.policies if not f.namespace or same(p.get("namespace"), f.namespace)]
    chosen.sort(key=lambda p: (cell(p.get("namespace")), cell(p.get("name"))))
    rows = tuple(
        (cell(p.get("namespace")), cell(p.get("name")), cell(p.get("action")), cell(p.get("scope")))
        for p in chosen
    )
    return Table(("NAMESPACE", "POLICY NAME", "ACTION", "SCOPE"), rows)
