"""ztunnel admin `/config_dump` (every shape from 1.18 to the current one) → model pieces."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from analyzer import xds
from analyzer.model import Certificate, FormatNote, InpodState, XdsState, ZtunnelConfig
from analyzer.parse import as_list, as_map, certs, dump_format, flat, pick

T = TypeVar("T")


class UnsupportedDump(Exception):
    """The dump's key set is not one we can map; the loader turns this into a BundleError."""


@dataclass(frozen=True, slots=True)
class ZtunnelDump:
    config: ZtunnelConfig
    version: str | None
    xds: XdsState
    certificates: tuple[Certificate, ...] = ()
    workload_state: Mapping[str, InpodState] | None = None
    staged_services: int = 0
    shape: str = "list"  # list (1.23+) | map (1.22) | legacy (1.18-1.21)
    notes: tuple[FormatNote, ...] = field(default=())


def _shape(doc: Mapping[str, Any]) -> str:
    if "workloads" in doc:
        w = doc["workloads"]
        return "map" if isinstance(w, Mapping) else "list"
    if any(k in doc for k in ("by_addr", "by_uid", "by_vip", "by_host", "by_key")):
        return "legacy"
    raise UnsupportedDump(
        "unsupported ztunnel dump version: none of workloads/by_addr/by_uid present "
        f"(top-level keys: {', '.join(sorted(doc)[:8]) or 'none'})"
    )


def _is_118(doc: Mapping[str, Any]) -> bool:
    """1.18's flattened store: workloads keyed by bare IP next to `vips` and `workload_to_vip`."""
    return isinstance(doc.get("workloads"), Mapping) and ("vips" in doc or "workload_to_vip" in doc)


def _from_118(doc: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """1.18 workloads and services in today's entry shape.

    1.18 workloads have no uid: a pod's is spelled as later releases spell it. 1.18 services are only
    `"vip:port" → [[ip, targetPort], ...]`: one service per VIP, named by its VIP, endpoints by uid.
    """
    workloads, uid_of_ip = [], {}
    for w in flat(doc.get("workloads")):
        if not w.get("uid") and w.get("name"):
            cluster = w.get("clusterId") or "Kubernetes"
            w = {**w, "uid": f"{cluster}//Pod/{w.get('namespace') or ''}/{w['name']}"}
        workloads.append(w)
        if isinstance(w.get("workloadIp"), str):
            uid_of_ip[w["workloadIp"]] = w.get("uid")
    services: dict[str, dict[str, Any]] = {}
    for key, targets in as_map(doc.get("vips")).items():
        vip, _, port = str(key).rpartition(":")
        svc = services.setdefault(vip, {"hostname": vip, "vips": [f"/{vip}"], "ports": {}, "endpoints": {}})
        for target in as_list(targets):
            if not (isinstance(target, list) and len(target) == 2 and port.isdigit()):
                continue
            ip, target_port = target
            svc["ports"][port] = target_port
            uid = uid_of_ip.get(ip) or f"/{ip}"
            endpoint = svc["endpoints"].setdefault(uid, {"workloadUid": uid, "port": {}})
            endpoint["port"][port] = target_port
    return workloads, list(services.values())


def _config(raw: Any) -> ZtunnelConfig:
    c = raw if isinstance(raw, Mapping) else {}
    return ZtunnelConfig(
        local_node=pick(c, "localNode", "local_node"),
        cluster_id=str(pick(c, "clusterId", "cluster_id") or "Kubernetes"),
        network=str(pick(c, "network") or ""),
        proxy_mode=str(pick(c, "proxyMode", "proxy_mode") or "Shared"),
        xds_on_demand=bool(pick(c, "xdsOnDemand", "xds_on_demand")),
        xds_address=pick(c, "xdsAddress", "xds_address"),
        ca_address=pick(c, "caAddress", "ca_address"),
        dns_proxy=pick(c, "dnsProxy", "dns_proxy"),
    )


def _version(raw: Any) -> str | None:
    if not isinstance(raw, Mapping):
        return str(raw) if isinstance(raw, str) else None
    istio = pick(raw, "istioVersion", "istio_version")
    if istio and istio != "unknown":
        return str(istio)
    v = pick(raw, "version")
    return str(v) if v else None


def workload_state(raw: Any) -> dict[str, InpodState] | None:
    if not isinstance(raw, Mapping):
        return None
    out = {}
    for uid, entry in raw.items():
        if not isinstance(entry, Mapping):
            continue
        info, conns = as_map(entry.get("info")), as_map(entry.get("connections"))
        out[str(uid)] = InpodState(
            pod_uid=str(uid),
            name=str(info.get("name") or ""),
            namespace=str(info.get("namespace") or ""),
            state=str(entry.get("state") or "Unknown"),
            service_account=str(info.get("serviceAccount") or ""),
            inbound=len(conns.get("inbound") or ()),
            outbound=len(conns.get("outbound") or ()),
        )
    return out


# (raw key, Workload field) of fields later ztunnels always write: absent everywhere → older ztunnel.
_VERSIONED_FIELDS = (("networkMode", "network_mode"), ("capacity", "capacity"))


def _services_from_endpoints(state: XdsState, intern: xds.Interner) -> XdsState:
    """≤1.23 workloads carry no `services`; rebuild them from the services' endpoints (as 1.24 does).

    Also exact when no workload belongs to a service: then every endpoint map is empty too.
    """
    member_of: dict[str, list[str]] = {}
    for key, svc in state.services.items():
        for uid, _ in svc.endpoints:
            member_of.setdefault(uid, []).append(key)
    if not member_of:
        return state
    workloads, hashes = dict(state.workloads), dict(state.workload_hashes)
    for uid, keys in member_of.items():
        if uid in workloads:
            derived = dataclasses.replace(workloads[uid], services=tuple(sorted(set(keys))))
            workloads[uid], hashes[uid] = intern.adopt("w", derived)
    return dataclasses.replace(state, workloads=workloads, workload_hashes=hashes)


_SECTIONS: Mapping[str, tuple[str, Mapping[str, tuple[str, ...]]]] = {
    "w": ("workloads", dump_format.WORKLOAD),
    "s": ("services", dump_format.SERVICE),
    "p": ("policies", dump_format.POLICY),
}


def _tolerant(kind: str, fn: Callable[[Any], T], sink: list[FormatNote]) -> Callable[[Any], T | None]:
    """`fn` on the entry without its mistyped fields; notes go to `sink`, None when unreadable."""
    section, known = _SECTIONS[kind]

    def build(raw: Any) -> T | None:
        if not isinstance(raw, Mapping):
            sink.append(FormatNote(section, "object", dump_format.json_type(raw)))
            return None
        clean, notes = dump_format.check(section, raw, known)
        sink.extend(notes)
        try:
            return fn(clean)
        except dump_format.BUILD_ERRORS as exc:
            sink.append(dump_format.unreadable(section, raw, exc))
            return None

    return build


class Entries:
    """A section's entries: parsed dicts (slow path) or raw entry texts (fast path, interned by text)."""

    def __init__(
        self,
        raw: list[Mapping[str, Any]],
        texts: list[str] | None = None,
        parse: Callable[[str], Any] | None = None,
    ) -> None:
        self.raw, self.texts, self.parse = raw, texts, parse

    def has_key(self, key: str) -> bool:
        if self.texts is not None:
            needle = f'"{key}":'
            return any(needle in t for t in self.texts)
        return any(key in e for e in self.raw)

    def __bool__(self) -> bool:
        return bool(self.texts if self.texts is not None else self.raw)

    def build(
        self, intern: xds.Interner, kind: str, fn: Callable[[Any], T], notes: list[FormatNote]
    ) -> Iterator[tuple[T, str]]:
        """Each readable entry built and interned; `notes` fills as the iterator is consumed.

        Entries are built once per load, so what building one noted is kept by entry for the other
        ztunnels holding the same entry.
        """
        sink: list[FormatNote] = []
        build = _tolerant(kind, fn, sink)
        stash: dict[Any, tuple[FormatNote, ...]] = intern.memo("format-notes", kind, dict)
        fast = self.texts is not None and self.parse is not None
        for entry in self.texts if fast else self.raw:  # type: ignore[union-attr]
            if fast:
                key: Any = entry
                obj, h = intern.text(kind, entry, self.parse, build)  # type: ignore[arg-type]
            else:
                key = xds.raw_key(entry)
                obj, h = intern(kind, entry, build)
            if sink:
                stash[key] = tuple(sink)
                sink.clear()
            if stash and key in stash:
                notes.extend(stash[key])
            if obj is not None:
                yield obj, h


def xds_state_of(
    wl: Entries, svc: Entries, pol: Entries, intern: xds.Interner
) -> tuple[XdsState, tuple[FormatNote, ...]]:
    """The xDS state of a dump and its entries' format notes: a function of its three entry sections."""
    notes: list[FormatNote] = []
    state = xds.state_from(
        wl.build(intern, "w", xds.workload_from_ztunnel, notes),
        svc.build(intern, "s", xds.service_from_ztunnel, notes),
        pol.build(intern, "p", xds.policy_from_ztunnel, notes),
    )
    if not wl.has_key("services"):
        state = _services_from_endpoints(state, intern)
    absent = {name for key, name in _VERSIONED_FIELDS if wl and not wl.has_key(key)}
    return dataclasses.replace(state, absent_fields=frozenset(absent)), dump_format.distinct(notes)


def _workload_state(raw: Any, notes: list[FormatNote]) -> dict[str, InpodState] | None:
    try:
        return workload_state(raw)
    except dump_format.BUILD_ERRORS as exc:
        notes.append(dump_format.unreadable("workloadState", raw, exc))
        return None


def parse_config_dump(
    doc: Any,
    intern: xds.Interner,
    fast: Mapping[str, Entries] | None = None,
    built: tuple[XdsState, tuple[FormatNote, ...]] | None = None,
) -> ZtunnelDump:
    """Parse a decoded `/config_dump`; raises UnsupportedDump for unknown shapes.

    `fast` holds the entry sections as texts (`config_dump_text`); `built` is the xDS state the
    pieces path built (or remembered) from the same entry sections.
    """
    if not isinstance(doc, Mapping):
        raise UnsupportedDump(f"expected a JSON object, got {type(doc).__name__}")
    shape = _shape(doc)
    if built is not None:
        xds_notes = built
    elif fast is not None:
        xds_notes = xds_state_of(fast["workloads"], fast["services"], fast["policies"], intern)
    elif shape == "legacy":
        xds_notes = xds_state_of(
            Entries(flat(pick(doc, "by_uid", "by_addr"))),
            Entries(flat(pick(doc, "by_host", "by_vip"))),
            Entries(flat(pick(doc, "by_key", "policies"))),
            intern,
        )
    elif _is_118(doc):
        workloads_118, services_118 = _from_118(doc)
        xds_notes = xds_state_of(
            Entries(workloads_118), Entries(services_118), Entries(flat(doc.get("policies"))), intern
        )
    else:
        wl, svc, pol = (Entries(flat(doc.get(k))) for k in ("workloads", "services", "policies"))
        xds_notes = xds_state_of(wl, svc, pol, intern)
    state, entry_notes = xds_notes
    top, notes_list = dump_format.check("", doc, dump_format.TOP)
    notes = list(notes_list)
    for key in ("workloads", "services", "policies", "certificates"):  # `flat` keeps objects only
        kept = (Mapping, list)
        notes += [
            FormatNote(key, "object", dump_format.json_type(v))
            for v in as_list(top.get(key))
            if not isinstance(v, kept)
        ]
    config, config_notes = dump_format.check(
        "config", as_map(top.get("config")), dump_format.CONFIG, unknown=False
    )
    notes += config_notes
    certificates = certs.certificates(top.get("certificates"), notes)
    inpod = _workload_state(top.get("workloadState"), notes)
    staged = pick(top, "stagedServices", "staged_services")
    version = _version(top.get("version"))
    notes += entry_notes
    return ZtunnelDump(
        config=_config(config),
        version=version,
        xds=state,
        certificates=certificates,
        workload_state=inpod,
        staged_services=sum(len(v) if isinstance(v, Mapping) else 1 for v in as_list(staged)),
        shape=shape,
        notes=tuple(dataclasses.replace(n, version=version) for n in dump_format.distinct(notes)),
    )
