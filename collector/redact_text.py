"""Credential patterns and what they redact in text: short strings, log streams line by line.

Bearer tokens, JWTs, PEM private-key blocks (across lines, and base64-wrapped), AWS access key ids
and secret keys and GitHub tokens become `[REDACTED:<rule>]`. Also the shared vocabulary of
redaction: the `Reason` enum, manifest `Redaction` records, an `Outcome`, and which names suggest a
credential. `collector.redact` applies these to fetched bodies (and walks JSON by field).
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from collector.body import Body

PREFILTER_CHUNK = 1 << 20
OVERLAP = 4096


class Reason(StrEnum):
    """Why a value was redacted; recorded in the manifest and shown in the placeholder."""

    XDS_HEADERS = "xds-headers"
    CA_HEADERS = "ca-headers"
    PROXY_METADATA = "proxy-metadata-credential"
    ENV = "env-credential"
    CONFIGMAP = "configmap-credential"
    LAST_APPLIED = "last-applied-configuration"
    BEARER = "bearer-token"
    JWT = "jwt"
    PRIVATE_KEY = "pem-private-key"
    PRIVATE_KEY_BASE64 = "pem-private-key-base64"
    AWS_KEY_ID = "aws-access-key-id"
    AWS_SECRET = "aws-secret-access-key"
    GITHUB_TOKEN = "github-token"
    WITHHELD = "withheld-unparseable"


def placeholder(rule: Reason) -> str:
    return f"[REDACTED:{rule.value}]"


@dataclass(frozen=True, slots=True)
class Redaction:
    """One manifest record: which artifact, which field (or None for text), how many, and why."""

    artifact: str
    rule: Reason
    field: str | None
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"artifact": self.artifact, "rule": self.rule.value, "field": self.field, "count": self.count}


@dataclass(frozen=True, slots=True)
class Outcome:
    """The body to store (None when withheld), what was redacted, and why a body was withheld."""

    body: Body | None
    redactions: tuple[Redaction, ...]
    withheld: str | None = None


# --- names that suggest a credential ------------------------------------------------------------

_CRED_NAME = re.compile(
    r"(?i)(token|passw(or)?d|pwd|secret|credential|api_?key|access_?key|private_?key|auth(?!or)|bearer|"
    r"cookie|session|(^|[_.-])key($|[_.-]))"
)
NOT_SECRET = frozenset({"", "true", "false"})  # a flag named like a credential is not one


def credential_name(name: str) -> bool:
    """Whether an env var, header or data key name suggests its value is a credential."""
    return bool(_CRED_NAME.search(name))


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


# --- text patterns --------------------------------------------------------------------------------


def _b64_markers(text: bytes) -> list[str]:
    """Base64 of `text` at each of the three alignments, trimmed to the characters that never vary."""
    out = []
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + text).decode()
        # The first group mixes in unknown preceding bytes; a padded last group, unknown following ones.
        start = 4 if pad else 0
        end = len(enc) - (4 if (pad + len(text)) % 3 else 0)
        out.append(enc[start:end])
    return out


B64_PRIVATE_KEY = tuple(_b64_markers(b"PRIVATE KEY-----"))
GITHUB_TOKEN = r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})\b"

# (rule, lower-case literals one of which must be present for the pattern to be tried, the pattern);
# a pattern's group `keep` is context that stays.
PATTERNS: tuple[tuple[Reason, tuple[str, ...], re.Pattern[str]], ...] = (
    # A whole base64 run that hides a PEM private key (e.g. a Secret-like `tls.key` value).
    (
        Reason.PRIVATE_KEY_BASE64,
        tuple(m.lower() for m in B64_PRIVATE_KEY),
        re.compile(r"[A-Za-z0-9+/]*(?:" + "|".join(map(re.escape, B64_PRIVATE_KEY)) + r")[A-Za-z0-9+/]*=*"),
    ),
    (
        Reason.PRIVATE_KEY,
        ("private key-----",),
        re.compile(
            r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?:(?!-----END).)*?(?:-----END \1PRIVATE KEY-----|$)",
            re.DOTALL,
        ),
    ),
    (Reason.JWT, ("eyj",), re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    (Reason.BEARER, ("bearer",), re.compile(r"(?i)(?P<keep>\bbearer\s+)[A-Za-z0-9._~+/-]{8,}=*")),
    (Reason.GITHUB_TOKEN, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), re.compile(GITHUB_TOKEN)),
    (Reason.AWS_KEY_ID, ("akia", "asia"), re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")),
    (
        Reason.AWS_SECRET,
        ("secret_access_key",),
        re.compile(
            r"(?i)(?P<keep>secret_access_key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
        ),
    ),
)
_TRIGGER_PARTS = (
    "eyJ",
    r"(?i:bearer\s)",
    "PRIVATE KEY",
    "AKIA",
    "ASIA",
    "(?i:secret_access_key)",
    "gh[pousr]_",
    "github_pat_",
    *B64_PRIVATE_KEY,
)
TRIGGER = re.compile("|".join(_TRIGGER_PARTS))  # for short strings
# For bodies: C substring checks of literals that every trigger match contains (a superset, as a
# prefilter may be). re scans fast only for a plain literal, not an alternation or a (?i) prefix.
_TRIGGER_LITERALS = (
    b"eyJ",
    b"PRIVATE KEY",
    b"AKIA",
    b"ASIA",
    b"ghp_",
    b"gho_",
    b"ghu_",
    b"ghs_",
    b"ghr_",
    b"github_pat_",
    *(m.encode() for m in B64_PRIVATE_KEY),
)
_TRIGGER_FOLDED = (b"bearer", b"secret_access_key")  # matched case-insensitively


def triggered(data: bytes) -> bool:
    """Whether any text pattern could match in `data` (bytes of a body, a member or a window)."""
    if any(lit in data for lit in _TRIGGER_LITERALS):
        return True
    lowered = data.lower()
    return any(lit in lowered for lit in _TRIGGER_FOLDED)


def found(patterns: tuple[re.Pattern[bytes], ...], data: bytes) -> bool:
    return any(p.search(data) for p in patterns)


def redact_text(text: str) -> tuple[str, Counter[Reason]]:
    """Replace every pattern hit in one piece of text; return the new text and hits per rule."""
    counts: Counter[Reason] = Counter()
    if not TRIGGER.search(text):
        return text, counts
    lowered = text.lower()
    for rule, literals, pattern in PATTERNS:
        if not any(lit in lowered for lit in literals):
            continue

        def sub(m: re.Match[str], rule: Reason = rule) -> str:
            counts[rule] += 1
            return (m.groupdict().get("keep") or "") + placeholder(rule)

        text = pattern.sub(sub, text)
    return text, counts


def mask(text: str | None) -> str | None:
    """Pattern-redact a short message (an error string) for the manifest or a log line."""
    return None if text is None else redact_text(text)[0]


# --- the line stream (logs) ------------------------------------------------------------------------

_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----")
_PEM_BODY_LINE = re.compile(r"^\s*(?:[A-Za-z0-9+/=]{1,128}|Proc-Type:.*|DEK-Info:.*)?\s*$")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")


def redact_lines(lines: Iterator[bytes]) -> Iterator[tuple[bytes, Counter[Reason]]]:
    """Redact a log line by line; a PEM block spanning lines is removed from BEGIN to END.

    Inside a block, lines that look like PEM body (base64, headers) are dropped; the first line that
    does not (or the END marker) closes it, so a truncated key never swallows the rest of the log.
    """
    in_block = False
    for raw in lines:
        text = raw.decode("utf-8", "surrogateescape")
        counts: Counter[Reason] = Counter()
        if in_block:
            end = _PEM_END.search(text)
            if end:
                in_block, text = False, text[end.end() :]
                if not text.strip():
                    continue
            elif _PEM_BODY_LINE.match(text):
                continue
            else:
                in_block = False
        begin = _PEM_BEGIN.search(text)
        if begin and not _PEM_END.search(text, begin.end()):
            in_block = True
            counts[Reason.PRIVATE_KEY] += 1
            newline = "\n" if text.endswith("\n") else ""
            text = text[: begin.start()] + placeholder(Reason.PRIVATE_KEY) + newline
        text, more = redact_text(text)
        counts.update(more)
        yield text.encode("utf-8", "surrogateescape"), counts


def has_trigger(body: Body) -> bool:
    """Scan the body in chunks (overlapping, so no trigger is split) for any pattern's literal."""
    f = body.rewound()
    tail = b""
    while chunk := f.read(PREFILTER_CHUNK):
        window = tail + chunk
        if triggered(window):
            return True
        tail = window[-OVERLAP:]
    return False


def redact_stream(path: str, body: Body) -> Outcome:
    counts: Counter[Reason] = Counter()
    out = Body()
    for line, hits in redact_lines(iter(body.rewound().readline, b"")):
        out.write(line)
        counts.update(hits)
    if not counts:
        out.close()
        return Outcome(body, ())
    body.close()
    return Outcome(out, tuple(Redaction(path, r, None, n) for r, n in sorted(counts.items())))
