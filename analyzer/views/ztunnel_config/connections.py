"""The connections table: each in-pod workload's connections, addresses resolved to names."""

from __future__ import annotations

from typing import Any

from analyzer.parse import as_map
from analyzer.views.table import Table
from analyzer.views.ztunnel_config.dump import NO_FILTER, Filter, RawDump, cell, same


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
            ip = cell(vips[0]).partition("/")[2] if vips else ""
            self.services[ip or "None"] = cell(s.get("hostname"))
        for w in dump.workloads:
            ips = w.get("workloadIps") or ()
            ip = cell(ips[0]) if ips else ""
            self.workloads[ip or "None"] = f"{cell(w.get('name'))}.{cell(w.get('namespace'))}"

    def __call__(self, addr: Any) -> str:
        text = cell(addr)
        if self.raw:
            return text
        ip, port = _split_host_port(text) or ("", "")
        if ip in self.services:
            return _join_host_port(self.services[ip], port)
        if ip in self.workloads:
            return _join_host_port(self.workloads[ip], port)
        return text


def connections(dump: RawDump, f: Filter = NO_FILTER) -> Table:
    """WORKLOAD DIRECTION LOCAL REMOTE REMOTE TARGET PROTOCOL from the in-pod `workloadState`."""
    names = _Names(dump, f.raw)
    states = [as_map(v) for v in dump.workload_state.values()]
    states.sort(
        key=lambda s: (cell(as_map(s.get("info")).get("namespace")), cell(as_map(s.get("info")).get("name")))
    )
    rows: list[tuple[str, ...]] = []
    workload, namespace = f.target()
    for st in states:
        info, conns = as_map(st.get("info")), as_map(st.get("connections"))
        if namespace and namespace != cell(info.get("namespace")):
            continue
        if workload and not same(info.get("name"), workload):
            continue
        name = f"{cell(info.get('name'))}.{cell(info.get('namespace'))}"
        if f.direction != "outbound":
            for c in map(as_map, conns.get("inbound") or ()):
                rows.append(
                    (name, "Inbound", names(c.get("actualDst")), names(c.get("src")),
                     cell(c.get("originalDst")), cell(c.get("protocol")))
                )  # fmt: skip
        if f.direction != "inbound":
            for c in map(as_map, conns.get("outbound") or ()):
                rows.append(
                    (name, "Outbound", names(c.get("src")), names(c.get("actualDst")),
                     names(c.get("originalDst")), cell(c.get("protocol")))
                )  # fmt: skip
    headers = ("WORKLOAD", "DIRECTION", "LOCAL", "REMOTE", "REMOTE TARGET", "PROTOCOL")
    return Table(headers, tuple(rows))
