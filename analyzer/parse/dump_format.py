"""What each ztunnel release (1.18 → 1.31) writes in `/config_dump`, and the notes for anything else.

The field tables are the union over releases (ztunnel's `src/state/workload.rs`, `src/state/service.rs`,
`src/rbac.rs`, `src/admin.rs`, `src/config.rs`). A field of an unexpected type is left out of what
the model is built from (so its default applies) and an unknown field is ignored; both become a
`FormatNote`, so a new release shows up in the report instead of failing the load or going unseen.
The dump itself stays in the bundle byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from analyzer.model import FormatNote

STR, INT, BOOL, LIST, OBJ = "string", "integer", "boolean", "list", "object"

# JSON type names as Python sees them; bool is not an integer here.
_PY = {str: STR, int: INT, bool: BOOL, float: "number", list: LIST, dict: OBJ, type(None): "null"}

_GATEWAY = OBJ
WORKLOAD: Mapping[str, tuple[str, ...]] = {
    "uid": (STR,),
    "workloadIps": (LIST,),
    "waypoint": (_GATEWAY,),
    "networkGateway": (_GATEWAY,),
    "protocol": (STR,),
    "networkMode": (STR,),
    "name": (STR,),
    "namespace": (STR,),
    "trustDomain": (STR,),
    "serviceAccount": (STR,),
    "network": (STR,),
    "workloadName": (STR,),
    "workloadType": (STR,),
    "canonicalName": (STR,),
    "canonicalRevision": (STR,),
    "hostname": (STR,),
    "node": (STR,),
    "nativeTunnel": (BOOL,),
    "status": (STR,),
    "clusterId": (STR,),
    "authorizationPolicies": (LIST,),
    "services": (LIST, OBJ),  # a list since 1.24; `staticConfig` workloads map "ns/host" → ports
    "locality": (OBJ,),
    "applicationTunnel": (OBJ,),
    "capacity": (INT,),
    # 1.18: one address, waypoint and gateway under older names, no uid
    "workloadIp": (STR,),
    "waypointAddresses": (LIST,),
    "gatewayAddress": (_GATEWAY,),
    "nativeHbone": (BOOL,),
}

SERVICE: Mapping[str, tuple[str, ...]] = {
    "name": (STR,),
    "namespace": (STR,),
    "hostname": (STR,),
    "vips": (LIST,),
    "cidrVips": (LIST,),  # 1.30
    "ports": (OBJ,),
    "endpoints": (OBJ,),
    "subjectAltNames": (LIST,),
    "waypoint": (_GATEWAY,),
    "weightedWaypoints": (LIST,),  # 1.31
    "loadBalancer": (OBJ,),
    "ipFamilies": (STR,),
    "canonical": (BOOL,),  # 1.29
    "visibility": (STR,),  # 1.31
}

POLICY: Mapping[str, tuple[str, ...]] = {
    "name": (STR,),
    "namespace": (STR,),
    "scope": (STR,),
    "action": (STR,),
    "rules": (LIST,),
    "dryRun": (BOOL,),  # 1.29
}

CERTIFICATE: Mapping[str, tuple[str, ...]] = {
    "identity": (STR,),
    "state": (STR,),
    "certChain": (LIST,),
    "rootCerts": (LIST,),  # 1.26
    "cert_chain": (LIST,),  # ≤1.21
    "ca_cert": (LIST, OBJ),  # ≤1.21 (held the leaf)
    "root_certs": (LIST,),
}

# `config` is ztunnel's whole runtime configuration and gains fields every release: only the fields
# the model reads are checked, and unknown ones are not noted.
CONFIG: Mapping[str, tuple[str, ...]] = {
    "localNode": (STR,),
    "local_node": (STR,),
    "clusterId": (STR,),
    "cluster_id": (STR,),
    "network": (STR,),
    "proxyMode": (STR,),
    "proxy_mode": (STR,),
    "xdsOnDemand": (BOOL,),
    "xds_on_demand": (BOOL,),
    "xdsAddress": (STR,),
    "xds_address": (STR,),
    "caAddress": (STR,),
    "ca_address": (STR,),
    "dnsProxy": (BOOL,),
    "dns_proxy": (BOOL,),
}

TOP: Mapping[str, tuple[str, ...]] = {
    "workloads": (LIST, OBJ),
    "services": (LIST, OBJ),
    "policies": (LIST, OBJ),
    "stagedServices": (OBJ,),
    "staticConfig": (OBJ,),
    "version": (OBJ,),
    "config": (OBJ,),
    "certificates": (LIST, OBJ),
    "workloadState": (OBJ,),
    # 1.18 (flattened WorkloadStore)
    "workload_to_vip": (OBJ,),
    "vips": (OBJ,),
    "policies_by_namespace": (OBJ,),
    "proxy_mode": (STR,),
    "local_node": (STR,),
    "static_config": (OBJ,),
    # 1.19-1.21 (flattened stores with their internal names)
    "by_addr": (OBJ,),
    "by_uid": (OBJ,),
    "by_hostname": (OBJ,),
    "staged_services": (OBJ,),
    "workload_to_services": (OBJ,),
    "by_vip": (OBJ,),
    "by_host": (OBJ,),
    "by_key": (OBJ,),
    "by_namespace": (OBJ,),
    "services_by_namespace": (OBJ,),
    "services_by_hostname": (OBJ,),
    "services_by_ip": (OBJ,),
}


def json_type(value: Any) -> str:
    return _PY.get(type(value), type(value).__name__)


def _excerpt(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _name(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key


def _seen(value: Any) -> str:
    return f"{json_type(value)} {_excerpt(value)}"


_ACCEPTED: dict[int, tuple[Mapping[str, tuple[str, ...]], frozenset[tuple[str, type]]]] = {}


def _accepted(known: Mapping[str, tuple[str, ...]]) -> frozenset[tuple[str, type]]:
    """(field, Python type) pairs `check` passes without a note: a known field holding null or a
    value of a JSON type it expects. Made once per field table (kept, with the table, by its id)."""
    got = _ACCEPTED.get(id(known))
    if got is None or got[0] is not known:
        null = type(None)
        pairs = {(k, t) for k, want in known.items() for t, name in _PY.items() if name in want or t is null}
        got = _ACCEPTED[id(known)] = (known, frozenset(pairs))
    return got[1]


def check(
    section: str, raw: Mapping[str, Any], known: Mapping[str, tuple[str, ...]], *, unknown: bool = True
) -> tuple[Mapping[str, Any], tuple[FormatNote, ...]]:
    """`raw` without its mistyped fields, and a note for each of those and each unknown field."""
    notes: list[FormatNote] = []
    bad: list[str] = []
    accepted = _accepted(known)
    for key, value in raw.items():
        if (key, type(value)) in accepted:  # the common case, one set lookup; the rest as below
            continue
        want = known.get(key)
        if want is None:
            if unknown:
                notes.append(FormatNote(_name(section, key), "no such field", _seen(value)))
            continue
        if value is None or json_type(value) in want:
            continue
        bad.append(key)
        notes.append(FormatNote(_name(section, key), " or ".join(want), _seen(value)))
    if not bad:
        return raw, tuple(notes)
    return {k: v for k, v in raw.items() if k not in bad}, tuple(notes)


def distinct(notes: Iterable[FormatNote]) -> tuple[FormatNote, ...]:
    """One note per field, expectation and seen JSON type (the first excerpt): a new per-workload
    field is one note, not one per workload."""
    first: dict[tuple[str, str, str], FormatNote] = {}
    for note in notes:
        first.setdefault((note.field, note.expected, note.seen.split(" ", 1)[0]), note)
    return tuple(first.values())


def unreadable(section: str, raw: Any, exc: Exception) -> FormatNote:
    """An entry the model could not be built from even without its mistyped fields: it is left out."""
    return FormatNote(
        section, f"a readable {section} entry", f"{type(exc).__name__}: {exc} in {_excerpt(raw)}"
    )


# Building a model object from an entry can fail on a shape no release wrote (a string where an
# object belongs, deep inside): the entry is left out and noted rather than failing the load.
BUILD_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError)
