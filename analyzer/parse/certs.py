"""ztunnel's `certificates` section (CertsDump, every spelling from 1.18 on) → model certificates."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from collections.abc import Mapping
from typing import Any

from analyzer.model import Certificate, CertInfo, CertState, FormatNote
from analyzer.parse import as_list, dump_format, flat, parse_time, pick


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
    fields = (
        str(raw.get("pem") or ""),
        pick(raw, "serialNumber", "serial_number"),
        pick(raw, "validFrom", "valid_from"),
        pick(raw, "expirationTime", "expiration_time"),
    )
    try:
        return _cert_of(*fields)
    except TypeError:  # a list or an object where a value belongs: not hashable, read it as it is
        return _cert_of.__wrapped__(*fields)


@functools.lru_cache(maxsize=1024, typed=True)
def _cert_of(pem_field: str, serial: Any, valid_from: Any, expires: Any) -> CertInfo:
    """One certificate's fields → CertInfo, remembered: every ztunnel's every certificate carries the
    same root (20,000 of them at 1,000 nodes); `typed` keeps `1`, `1.0` and `True` apart."""
    pem = pem_text(pem_field)
    body = "".join(line for line in pem.split() if not line.startswith("-----") and "CERTIFICATE" not in line)
    return CertInfo(
        serial=_serial(serial),
        valid_from=parse_time(valid_from),
        expires=parse_time(expires),
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
    chain_raw = list(as_list(pick(raw, "certChain", "cert_chain")))
    if "ca_cert" in raw and raw["ca_cert"]:  # ≤1.21: `ca_cert` actually held the leaf
        chain_raw = [*as_list(raw["ca_cert"]), *chain_raw]
    chain = tuple(c for c in (_cert(x) for x in chain_raw) if c)
    roots_raw = pick(raw, "rootCerts", "root_certs")
    inferred = roots_raw is None and len(chain) >= 2
    roots = tuple(c for c in (_cert(x) for x in as_list(roots_raw)) if c)
    if inferred:  # ≤1.25: the root is the last chain element
        chain, roots = chain[:-1], chain[-1:]
    return Certificate(str(raw.get("identity") or ""), state, error, chain, roots, inferred)


def certificates(raw: Any, notes: list[FormatNote]) -> tuple[Certificate, ...]:
    out = []
    for entry in flat(raw):
        clean, found = dump_format.check("certificates", entry, dump_format.CERTIFICATE)
        notes.extend(found)
        try:
            out.append(certificate(clean))
        except dump_format.BUILD_ERRORS as exc:
            notes.append(dump_format.unreadable("certificates", entry, exc))
    return tuple(out)
