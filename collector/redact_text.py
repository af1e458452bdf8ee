"""Redaction of text: short strings, and log streams line by line.

What `collector.matchers` finds (bearer and Basic credentials, JWTs, PEM private keys in any wrapping,
AWS keys, GitHub tokens, secret-named keys and pairs) becomes `[REDACTED:<reason>]`. Also the records
of redaction: manifest `Redaction`s and an `Outcome`. `collector.redact` applies these to fetched
bodies (and walks JSON by field).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from collector.body import Body
from collector.escapes import unescape
from collector.matchers import GITHUB_TOKEN, Reason, find, may_hold_secret, placeholder
from collector.pem_base64 import B64_DASHES, B64_PEM_START, B64_PRIVATE_KEY
from collector.secret_names import LAST_APPLIED, NOT_SECRET, credential_name

__all__ = [
    "B64_PRIVATE_KEY",
    "GITHUB_TOKEN",
    "LAST_APPLIED",
    "NOT_SECRET",
    "Outcome",
    "Reason",
    "Redaction",
    "credential_name",
    "placeholder",
]

OVERLAP = 4096


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


# --- text -----------------------------------------------------------------------------------------

# For bodies: C scans for literals that every match contains (a superset, as a prefilter may be).
# re scans fast for a plain literal, or for an alternation whose branches open with the same letter
# (one scan for GitHub tokens, one for AWS key ids), not for one that mixes letters or a (?i) prefix.
# A literal that opens with a rare letter is found faster by re than by a substring check.
_TRIGGER_LITERALS = (b"PRIVATE KEY",)
_B64_DASHES = B64_DASHES.encode()  # held by each base64 anchor: their four checks run only where it is
_B64_ANCHORS = tuple(lit.encode() for lit in (B64_PEM_START, *B64_PRIVATE_KEY))
_TRIGGER_LEADS = tuple(re.compile(p) for p in (rb"eyJ", rb"gh[pousr]_|github_pat_", rb"AKIA|ASIA"))
# Matched case-insensitively. Narrower than the matchers' starts (`key` and `token` are in most JSON):
# every secret-named key contains one of these; `"name"` pairs are the JSON walker's job (`_PAIR_KEYS`).
_TRIGGER_FOLDED = tuple(re.compile(p) for p in (rb"bearer", rb"basic", rb"digest", rb"passw", rb"secret"))
# Secret-named keys ending in `token` or `key`, looked for around each occurrence of those words (one
# substring scan per word instead of one per spelling).
_KEY_WORDS = re.compile(rb"(?:session|security|access|refresh|id)[_.-]?token|(?:api|private)[_.-]?key")


_KEY_ENDS = (re.compile(rb"token"), re.compile(rb"key"))  # neither overlaps itself: finditer sees each


def _secret_word(lowered: bytes) -> bool:
    for word in _KEY_ENDS:
        for m in word.finditer(lowered):
            if _KEY_WORDS.search(lowered, max(0, m.start() - 9), m.end()):
                return True
    return False


# A `"name"`/`"value"` pair (`matchers`' CREDENTIAL_PAIR) in a JSON body is the walker's to find; in a
# text body (a log) it is found only line by line, so there the pair's two keys trigger too.
_PAIR_KEYS = (b'"name"', b'"value"')


def triggered(data: bytes, *, text: bool = False) -> bool:
    """Whether any text pattern could match in `data` (bytes of a body, a member or a window);
    `text`: `data` is a text body, where a credential name/value pair may be too."""
    if any(lit in data for lit in _TRIGGER_LITERALS) or any(lead.search(data) for lead in _TRIGGER_LEADS):
        return True
    if _B64_DASHES in data and any(lit in data for lit in _B64_ANCHORS):
        return True
    if text and all(key in data for key in _PAIR_KEYS):
        return True
    lowered = data.lower()
    if any(lit.search(lowered) for lit in _TRIGGER_FOLDED) or _secret_word(lowered):
        return True
    if b"\\" not in data:
        return False
    view = unescape(data.decode("latin-1")).text.encode("latin-1", "replace")
    return view != data and triggered(view, text=text)


def found(patterns: tuple[re.Pattern[bytes], ...], data: bytes) -> bool:
    return any(p.search(data) for p in patterns)


def _replace(text: str) -> tuple[str, Counter[Reason], int]:
    """Replace every secret; also return where the last hiding base64 block ended (-1: none)."""
    counts: Counter[Reason] = Counter()
    if not may_hold_secret(text):
        return text, counts, -1
    out: list[str] = []
    last, b64_end = 0, -1
    for reason, start, end in find(text):
        out += (text[last:start], placeholder(reason))
        counts[reason] += 1
        last = end
        if reason is Reason.PRIVATE_KEY_BASE64:
            b64_end = sum(map(len, out))
    out.append(text[last:])
    return "".join(out), counts, b64_end


def redact_text(text: str) -> tuple[str, Counter[Reason]]:
    """Replace every secret in one piece of text; return the new text and hits per reason."""
    new, counts, _ = _replace(text)
    return new, counts


def mask(text: str | None) -> str | None:
    """Pattern-redact a short message (an error string) for the manifest or a log line."""
    return None if text is None else redact_text(text)[0]


# --- the line stream (logs) ------------------------------------------------------------------------

_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----")
_PEM_BODY_LINE = re.compile(r"\s*(?:[A-Za-z0-9+/]+=*|Proc-Type:.*|DEK-Info:.*)?\s*\Z")
_B64_LINE = re.compile(r"\s*[A-Za-z0-9+/]+=*\s*\Z")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")


def redact_lines(lines: Iterator[bytes]) -> Iterator[tuple[bytes, Counter[Reason]]]:
    """Redact a log line by line; a PEM block spanning lines is removed from BEGIN to END.

    Inside a block, lines that look like PEM body (base64, headers) are dropped; the first line that
    does not (or the END marker) closes it, so a truncated key never swallows the rest of the log.
    A wrapped base64 block that hides a key is dropped the same way, from the line that shows it.
    """
    in_block = in_b64 = False
    for raw in lines:
        text = raw.decode("utf-8", "surrogateescape")
        counts: Counter[Reason] = Counter()
        if in_b64:
            if _B64_LINE.match(text):
                continue
            in_b64 = False
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
        text, more, b64_end = _replace(text)
        counts.update(more)
        in_b64 = b64_end >= 0 and not text[b64_end:].strip()
        yield text.encode("utf-8", "surrogateescape"), counts


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
