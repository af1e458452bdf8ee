"""The certificates table: one row per certificate of each identity's chain and roots."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from analyzer.parse import as_list, parse_time
from analyzer.views.table import Table
from analyzer.views.ztunnel_config.dump import RawDump, cell

_DECIMAL = re.compile(r"^[+-]?[0-9]+$")


def hex_serial(decimal: Any) -> str:
    """ztunnel's decimal serial as istioctl prints it (`%x` of a big.Int; `<nil>` if unparsable)."""
    text = cell(decimal)
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
        cell(cert.get("expirationTime")) or "NA",
        cell(cert.get("validFrom")) or "NA",
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
        cell(cert.get("expiration_time")) or "NA",
        cell(cert.get("valid_from")) or "NA",
    )


def _legacy_certificates(dump: RawDump, at: datetime) -> Table:
    """≤1.21 (`ca_cert`, `cert_chain`, snake_case fields): istioctl 1.18-1.21's `CA`/`Cert Chain` rows."""
    rows: list[tuple[str, ...]] = []
    for c in dump.certificates:
        identity, state = cell(c.get("identity")), cell(c.get("state"))
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
        identity, state = cell(c.get("identity")), cell(c.get("state"))
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
