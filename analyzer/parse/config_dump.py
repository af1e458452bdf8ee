"""ztunnel admin `/config_dump` (every shape from 1.18 to the current one) → model pieces."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from analyzer import xds as normalize
from analyzer.model import (
    Certificate,
    CertInfo,
    CertState,
    FormatNote,
    InpodState,
    XdsState,
    ZtunnelConfig,
)
from analyzer.parse import as_list, as_map, dump_format, parse_time
from ztbundle import layout

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


def _flat(value: Any) -> list[Mapping[str, Any]]:
    """Entries of a list or map, flattening one level of nested lists (legacy `by_host`)."""
    out: list[Mapping[str, Any]] = []
    for v in as_list(value):
        if isinstance(v, Mapping):
            out.append(v)
        elif isinstance(v, list):
            out.extend(x for x in v if isinstance(x, Mapping))
    return out


def _pick(doc: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in doc and doc[k] is not None:
            return doc[k]
    return None


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
    for w in _flat(doc.get("workloads")):
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
        local_node=_pick(c, "localNode", "local_node"),
        cluster_id=str(_pick(c, "clusterId", "cluster_id") or "Kubernetes"),
        network=str(_pick(c, "network") or ""),
        proxy_mode=str(_pick(c, "proxyMode", "proxy_mode") or "Shared"),
        xds_on_demand=bool(_pick(c, "xdsOnDemand", "xds_on_demand")),
        xds_address=_pick(c, "xdsAddress", "xds_address"),
        ca_address=_pick(c, "caAddress", "ca_address"),
        dns_proxy=_pick(c, "dnsProxy", "dns_proxy"),
    )


def _version(raw: Any) -> str | None:
    if not isinstance(raw, Mapping):
        return str(raw) if isinstance(raw, str) else None
    istio = _pick(raw, "istioVersion", "istio_version")
    if istio and istio != "unknown":
        return str(istio)
    v = _pick(raw, "version")
    return str(v) if v else None


def pem_text(value: str) -> str:
    """CertDump.pem: base64 of PEM (1.22+) or raw PEM (≤1.21)."""
    if value.lstrip().startswith("-----BEGIN"):
        return value
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return value


def _serial(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return int(text)  # ztunnel prints decimal
    except ValueError:
        try:
            return int(text.replace(":", ""), 16)  # istioctl's hex rendering
        except ValueError:
            return None


def _cert(raw: Any) -> CertInfo | None:
    if not isinstance(raw, Mapping):
        return None
    pem = pem_text(str(raw.get("pem") or ""))
    body = "".join(line for line in pem.split() if not line.startswith("-----") and "CERTIFICATE" not in line)
    return CertInfo(
        serial=_serial(_pick(raw, "serialNumber", "serial_number")),
        valid_from=parse_time(_pick(raw, "validFrom", "valid_from")),
        expires=parse_time(_pick(raw, "expirationTime", "expiration_time")),
        fingerprint=hashlib.sha256(body.encode()).hexdigest()[:32],
    )


def certificate(raw: Mapping[str, Any]) -> Certificate:
    state_text = str(raw.get("state") or "")
    state, error = CertState.UNKNOWN, None
    if state_text == "Available":
        state = CertState.AVAILABLE
    elif state_text == "Initializing":
        state = CertState.INITIALIZING
    elif state_text.startswith("Unavailable"):
        state, error = CertState.UNAVAILABLE, state_text.partition(":")[2].strip() or None
    chain_raw = list(as_list(_pick(raw, "certChain", "cert_chain")))
    if "ca_cert" in raw and raw["ca_cert"]:  # ≤1.21: `ca_cert` actually held the leaf
        chain_raw = [*as_list(raw["ca_cert"]), *chain_raw]
    chain = tuple(c for c in (_cert(x) for x in chain_raw) if c)
    roots_raw = _pick(raw, "rootCerts", "root_certs")
    inferred = roots_raw is None and len(chain) >= 2
    roots = tuple(c for c in (_cert(x) for x in as_list(roots_raw)) if c)
    if inferred:  # ≤1.25: the root is the last chain element
        chain, roots = chain[:-1], chain[-1:]
    return Certificate(str(raw.get("identity") or ""), state, error, chain, roots, inferred)


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


def _services_from_endpoints(xds: XdsState, intern: normalize.Interner) -> XdsState:
    """≤1.23 workloads carry no `services`; rebuild them from the services' endpoints (as 1.24 does).

    Also exact when no workload belongs to a service: then every endpoint map is empty too.
    """
    member_of: dict[str, list[str]] = {}
    for key, svc in xds.services.items():
        for uid, _ in svc.endpoints:
            member_of.setdefault(uid, []).append(key)
    if not member_of:
        return xds
    workloads, hashes = dict(xds.workloads), dict(xds.workload_hashes)
    for uid, keys in member_of.items():
        if uid in workloads:
            derived = dataclasses.replace(workloads[uid], services=tuple(sorted(set(keys))))
            workloads[uid], hashes[uid] = intern.adopt("w", derived)
    return dataclasses.replace(xds, workloads=workloads, workload_hashes=hashes)


# Building a model object from an entry can fail on a shape no release wrote (a string where an
# object belongs, deep inside): the entry is left out and noted rather than failing the load.
_BUILD_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError)
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
        except _BUILD_ERRORS as exc:
            sink.append(dump_format.unreadable(section, raw, exc))
            return None

    return build


class _Entries:
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
        self, intern: normalize.Interner, kind: str, fn: Callable[[Any], T], notes: list[FormatNote]
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
                key = normalize.raw_key(entry)
                obj, h = intern(kind, entry, build)
            if sink:
                stash[key] = tuple(sink)
                sink.clear()
            if stash and key in stash:
                notes.extend(stash[key])
            if obj is not None:
                yield obj, h


def _xds_state(
    wl: _Entries, svc: _Entries, pol: _Entries, intern: normalize.Interner
) -> tuple[XdsState, tuple[FormatNote, ...]]:
    """The xDS state of a dump and its entries' format notes: a function of its three entry sections."""
    notes: list[FormatNote] = []
    xds = normalize.state_from(
        wl.build(intern, "w", normalize.workload_from_ztunnel, notes),
        svc.build(intern, "s", normalize.service_from_ztunnel, notes),
        pol.build(intern, "p", normalize.policy_from_ztunnel, notes),
    )
    if not wl.has_key("services"):
        xds = _services_from_endpoints(xds, intern)
    absent = {name for key, name in _VERSIONED_FIELDS if wl and not wl.has_key(key)}
    return dataclasses.replace(xds, absent_fields=frozenset(absent)), dump_format.distinct(notes)


def _certificates(raw: Any, notes: list[FormatNote]) -> tuple[Certificate, ...]:
    out = []
    for entry in _flat(raw):
        clean, found = dump_format.check("certificates", entry, dump_format.CERTIFICATE)
        notes.extend(found)
        try:
            out.append(certificate(clean))
        except _BUILD_ERRORS as exc:
            notes.append(dump_format.unreadable("certificates", entry, exc))
    return tuple(out)


def _workload_state(raw: Any, notes: list[FormatNote]) -> dict[str, InpodState] | None:
    try:
        return workload_state(raw)
    except _BUILD_ERRORS as exc:
        notes.append(dump_format.unreadable("workloadState", raw, exc))
        return None


def parse_config_dump(
    doc: Any,
    intern: normalize.Interner,
    fast: Mapping[str, _Entries] | None = None,
    xds: tuple[XdsState, tuple[FormatNote, ...]] | None = None,
) -> ZtunnelDump:
    """Parse a decoded `/config_dump`; raises UnsupportedDump for unknown shapes."""
    if not isinstance(doc, Mapping):
        raise UnsupportedDump(f"expected a JSON object, got {type(doc).__name__}")
    shape = _shape(doc)
    if xds is not None:
        pass  # the pieces path built (or remembered) the xDS state from the same entry sections
    elif fast is not None:
        xds = _xds_state(fast["workloads"], fast["services"], fast["policies"], intern)
    elif shape == "legacy":
        xds = _xds_state(
            _Entries(_flat(_pick(doc, "by_uid", "by_addr"))),
            _Entries(_flat(_pick(doc, "by_host", "by_vip"))),
            _Entries(_flat(_pick(doc, "by_key", "policies"))),
            intern,
        )
    elif _is_118(doc):
        workloads_118, services_118 = _from_118(doc)
        xds = _xds_state(
            _Entries(workloads_118), _Entries(services_118), _Entries(_flat(doc.get("policies"))), intern
        )
    else:
        wl, svc, pol = (_Entries(_flat(doc.get(k))) for k in ("workloads", "services", "policies"))
        xds = _xds_state(wl, svc, pol, intern)
    state, entry_notes = xds
    top, notes_list = dump_format.check("", doc, dump_format.TOP)
    notes = list(notes_list)
    for key in ("workloads", "services", "policies", "certificates"):  # `_flat` keeps objects only
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
    certificates = _certificates(top.get("certificates"), notes)
    inpod = _workload_state(top.get("workloadState"), notes)
    staged = _pick(top, "stagedServices", "staged_services")
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


# --- fast path: pretty-printed dumps are split by indentation, entries interned by text ----------

_ENTRY = re.compile(r'^    (?:"(?:[^"\\\n]|\\.)*": )?(\{\n.*?\n    \})(?=,?$)', re.M | re.S)
_LEFTOVER = re.compile(r"^[\[{][\s,]*[\]}]$")
_ENTRY_SECTIONS = ("workloads", "services", "policies")


def _top_sections(text: str) -> dict[str, str] | None:
    """Top-level `key → value text` of a 2-space pretty-printed object (serde's to_string_pretty)."""
    body = text.strip()
    if not body.startswith('{\n  "') or not body.endswith("\n}"):
        return None
    keys = list(layout.top_level_keys(body))
    out: dict[str, str] = {}
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(body) - 1
        out[m.group(1)[1:-1]] = body[m.end() : end].rstrip().removesuffix(",")
    return out


def _split_entries(section: str) -> list[str] | None:
    """Entry texts of a pretty-printed list (or map) section; None when the layout is unexpected."""
    body = section.strip()
    if body in ("[]", "{}"):
        return []
    found = [m.group(1) for m in _ENTRY.finditer(body)]
    if not found or not _LEFTOVER.match(_ENTRY.sub("", body)):
        return None  # something we did not capture: let json.loads handle the whole section
    return found


def parse_config_dump_text(text: str, intern: normalize.Interner, parse: Callable[[str], Any]) -> ZtunnelDump:
    """Parse dump text; pretty-printed current/1.22 dumps skip json.loads for repeated entries.

    `parse` is the depth-limited JSON parser naming the member on errors. Anything unexpected
    (compact JSON, legacy key set) falls back to parsing the whole document.
    """
    sections = _top_sections(text)
    if sections is None or "workloads" not in sections:
        return parse_config_dump(parse(text), intern)
    fast: dict[str, _Entries] = {}
    for key in _ENTRY_SECTIONS:
        value = sections.get(key, "[]")
        texts = intern.memo("split", value, lambda v=value: _split_entries(v))  # type: ignore[misc]
        if texts is None:
            return parse_config_dump(parse(text), intern)
        fast[key] = _Entries([], texts, parse)
    doc = {k: parse(v) for k, v in sections.items() if k not in _ENTRY_SECTIONS}
    doc["workloads"] = {} if sections["workloads"].lstrip().startswith("{") else []
    return parse_config_dump(doc, intern, fast)


# --- pieces path: a format-2 dump is assembled from its shared objects, each section parsed once ----
#
# The collector cuts a dump before each top-level key (`layout.top_level_keys`): every piece
# after the first starts with `\n  "key": `, and a section never spans two pieces. So the sections
# of the whole text are the sections of its pieces, in order, and everything derived from a section
# can be remembered by the piece's sha256. Anything else (a piece that does not start at a key, bad
# UTF-8, compact JSON) returns None and the caller parses the rebuilt text as before.

SectionId = tuple[str, bool, bool, int]
"""(piece sha256, is first piece, is last piece, index of the section within the piece)."""


def _piece_sections(data: bytes, first: bool, last: bool) -> list[tuple[str, str]] | None:
    """`(key, value text)` of one piece, exactly as `_top_sections` cuts them out of the whole body."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the text path reports it, naming the byte offset in the whole member
    if first:
        text = text.lstrip()
        if not text.startswith('{\n  "'):
            return None
    if last:
        text = text.rstrip()
        if not text.endswith("\n}"):
            return None
    keys = list(layout.top_level_keys(text))
    if not first and (not keys or keys[0].start() != 0):
        return None  # not cut before a key: a section might span pieces
    stop = len(text) - 1 if last else len(text)
    out = []
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else stop
        out.append((m.group(1)[1:-1], text[m.end() : end].rstrip().removesuffix(",")))
    return out


class PieceCache:
    """What one load derived from each shared object: sections, parsed values, xDS states."""

    def __init__(self) -> None:
        self.sections: dict[tuple[str, bool, bool], list[tuple[str, str]] | None] = {}
        self.values: dict[SectionId, Any] = {}
        self.xds: dict[tuple[SectionId | None, ...], tuple[XdsState, tuple[FormatNote, ...]]] = {}


def parse_config_dump_pieces(
    pieces: Sequence[tuple[str, bytes]],
    intern: normalize.Interner,
    parse: Callable[[str], Any],
    cache: PieceCache,
) -> ZtunnelDump | None:
    """Like `parse_config_dump_text` on the pieces' concatenation, or None when only that can tell.

    Same steps in the same order as the text path (split the entry sections, parse the others,
    build the xDS state), so a bad dump raises the same error; each step is memoised by piece.
    """
    sections: dict[str, tuple[str, SectionId]] = {}
    last = len(pieces) - 1
    for i, (digest, data) in enumerate(pieces):
        key = (digest, i == 0, i == last)
        if key not in cache.sections:
            cache.sections[key] = _piece_sections(data, i == 0, i == last)
        found = cache.sections[key]
        if found is None:
            return None
        for j, (name, value) in enumerate(found):
            sections[name] = (value, (*key, j))
    if "workloads" not in sections:
        return None
    xkey = tuple(sections[n][1] if n in sections else None for n in _ENTRY_SECTIONS)
    xds = cache.xds.get(xkey)  # remembered: its sections split fine, no need to hash them again
    fast: dict[str, _Entries] = {}
    if xds is None:
        for name in _ENTRY_SECTIONS:
            value = sections.get(name, ("[]", None))[0]
            texts = intern.memo("split", value, lambda v=value: _split_entries(v))  # type: ignore[misc]
            if texts is None:
                return None
            fast[name] = _Entries([], texts, parse)
    doc = {}
    for name, (value, sid) in sections.items():
        if name not in _ENTRY_SECTIONS:
            if sid not in cache.values:
                cache.values[sid] = parse(value)
            doc[name] = cache.values[sid]
    wl_value, wl_sid = sections["workloads"]
    if wl_sid not in cache.values:  # the section's shape (map before 1.23), not its parse
        cache.values[wl_sid] = {} if wl_value.lstrip().startswith("{") else []
    doc["workloads"] = type(cache.values[wl_sid])()
    if xds is None:
        xds = cache.xds[xkey] = _xds_state(fast["workloads"], fast["services"], fast["policies"], intern)
    return parse_config_dump(doc, intern, xds=xds)
