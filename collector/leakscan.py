"""The last line of defence: scan every member of a written archive for credentials, and fail closed.

Runs on the finished `.partial` (after the manifest, before the rename), reading the archive back,
so it sees exactly what would ship: every collected member, the tool log and the manifest. On any hit
the `.partial` is deleted (a file holding a secret must not linger next to real bundles, nor be
renamed and shared by hand) and `LeakFound` names each member, rule and line, never the value.

The patterns are the redactor's, some stricter (a bearer token needs 16 characters here, 8 there), so
a hit means a place the redactor does not look, not a disagreement about shape. Certificates are
public: `-----BEGIN CERTIFICATE-----` never matches, only PRIVATE KEY blocks do, also when
base64-wrapped (config_dump carries PEM as base64 in `pem` fields, and a key there would be just as
readable by anyone who decodes it).
"""

from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from collector.redact_text import B64_PRIVATE_KEY, GITHUB_TOKEN, LAST_APPLIED, Reason, credential_name
from ztbundle.errors import ZtbundleError
from ztbundle.exits import Exit

CHUNK = 1 << 20
OVERLAP = 4096  # longer than any pattern's minimum match, so a secret split across chunks is still seen

LEAK_PATTERNS: tuple[tuple[Reason, re.Pattern[bytes]], ...] = (
    (Reason.PRIVATE_KEY, re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")),
    (Reason.PRIVATE_KEY_BASE64, re.compile(b"|".join(re.escape(m.encode()) for m in B64_PRIVATE_KEY))),
    (Reason.JWT, re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    (Reason.BEARER, re.compile(rb"(?i:bearer)\s+[A-Za-z0-9._~+/-]{16,}")),
    (Reason.GITHUB_TOKEN, re.compile(GITHUB_TOKEN.encode())),
    (Reason.AWS_KEY_ID, re.compile(rb"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")),
    (Reason.AWS_SECRET, re.compile(rb"(?i:secret_access_key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}")),
)
# Structural leftovers in JSON: a credential-named env value, header value or last-applied annotation
# that is not a placeholder. Names are checked in Python with the redactor's own `credential_name`.
_NAME = rb'"((?:[^"\\]|\\.){1,256})"'
_VALUE = rb'"((?:[^"\\]|\\.){0,64})'  # a prefix is enough to tell a placeholder from a value
STRUCTURAL: tuple[tuple[Reason, re.Pattern[bytes]], ...] = (
    (Reason.ENV, re.compile(rb'"name"\s*:\s*' + _NAME + rb'\s*,\s*"value"\s*:\s*' + _VALUE)),
    (Reason.XDS_HEADERS, re.compile(rb'"(?:xds|ca)Headers"\s*:\s*\[\s*\[\s*' + _NAME + rb"\s*,\s*" + _VALUE)),
    (Reason.LAST_APPLIED, re.compile(re.escape(LAST_APPLIED.encode()) + rb'"\s*:\s*' + _VALUE)),
)


def _is_leak(rule: Reason, m: re.Match[bytes]) -> bool:
    """A pattern hit is a leak; a structural hit only when its value is neither a placeholder nor a flag."""
    if rule not in {r for r, _ in STRUCTURAL}:
        return True
    groups = [g.decode("utf-8", "replace") for g in m.groups() if g is not None]
    name, value = ("", groups[-1]) if rule is Reason.LAST_APPLIED else (groups[-2], groups[-1])
    if value.startswith("[REDACTED:") or value.lower() in ("", "true", "false"):
        return False
    return rule is not Reason.ENV or credential_name(name)


# Literals that every match of a pattern contains (any one of them; `None`: run the pattern always).
# re finds a plain literal fast, but not an alternation, a case-insensitive prefix or one behind a
# lookbehind (AWS ids: ~18 ms per MB); a C substring check first skips a window in well under 1 ms.
_NEEDS: dict[Reason, tuple[tuple[bytes, ...], bool]] = {  # (literals, compare lowercased)
    Reason.PRIVATE_KEY_BASE64: (tuple(m.encode() for m in B64_PRIVATE_KEY), False),
    Reason.BEARER: ((b"bearer",), True),
    Reason.GITHUB_TOKEN: ((b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"), False),
    Reason.AWS_KEY_ID: ((b"AKIA", b"ASIA"), False),
    Reason.AWS_SECRET: ((b"secret_access_key",), True),
}


def first_leak(window: bytes) -> tuple[Reason, int] | None:
    """The earliest leak in `window` as (rule, offset); one pattern at a time keeps re's literal scan fast."""
    best: tuple[Reason, int] | None = None
    lowered: bytes | None = None
    for rule, pattern in (*LEAK_PATTERNS, *STRUCTURAL):
        needs = _NEEDS.get(rule)
        if needs is not None:
            literals, fold = needs
            haystack = window
            if fold:
                lowered = haystack = lowered if lowered is not None else window.lower()
            if not any(lit in haystack for lit in literals):
                continue
        for m in pattern.finditer(window):
            if best is not None and m.start() >= best[1]:
                break
            if _is_leak(rule, m):
                best = (rule, m.start())
                break
    return best


@dataclass(frozen=True, slots=True)
class Leak:
    """Where a credential-shaped value was found: member, rule and 1-based line (never the value)."""

    member: str
    rule: Reason
    line: int

    def __str__(self) -> str:
        return f"{self.member}:{self.line}: {self.rule.value}"


class LeakFound(ZtbundleError):
    """The archive would have shipped a credential; it was not finalized."""

    exit_code = Exit.NOTHING_COLLECTED

    def __init__(self, bundle: Path, leaks: list[Leak]) -> None:
        self.bundle = bundle
        self.leaks = leaks
        more = f" (and {len(leaks) - 3} more)" if len(leaks) > 3 else ""
        where = "; ".join(str(leak) for leak in leaks[:3])
        super().__init__(
            f"{bundle}: leak scan found {where}{more}; bundle not finalized and the .partial was deleted "
            "(please report which artifact kind was not redacted)"
        )


def scan_stream(f: IO[bytes]) -> tuple[Reason, int] | None:
    """First credential-shaped hit in a byte stream, as (rule, line), or None."""
    carry, lines_before = b"", 0
    while chunk := f.read(CHUNK):
        window = carry + chunk
        hit = first_leak(window)
        if hit is not None:
            rule, at = hit
            return rule, lines_before + window.count(b"\n", 0, at) + 1
        carry = window[-OVERLAP:]
        lines_before += window.count(b"\n", 0, len(window) - len(carry))
    return None


def scan_archive(path: Path) -> list[Leak]:
    """Every member's first hit, in archive order."""
    leaks: list[Leak] = []
    with tarfile.open(path, "r:gz") as tar:
        for info in tar:
            if not info.isfile():
                continue
            f = tar.extractfile(info)
            if f is None:
                continue
            hit = scan_stream(f)
            if hit is not None:
                leaks.append(Leak(info.name, *hit))
    return leaks


def check_archive(partial: Path, bundle: Path) -> None:
    """Raise LeakFound (after deleting `partial`) if any member holds a credential-shaped value."""
    leaks = scan_archive(partial)
    if leaks:
        partial.unlink(missing_ok=True)
        raise LeakFound(bundle, leaks)
