"""What a credential looks like in text: the matchers the redactor applies and the leak scan runs again.

One list, `MATCHERS`, serves both sides: `collector.redact_text` replaces what they find, and
`collector.leakscan` reports what they still find in the written archive. A matcher yields spans,
`[start, end)` of the secret only (a key name or `Bearer ` before it stays), and never a span that
already holds a placeholder.

Text is matched as it reads once JSON escapes are undone (`Bearer\\u0020…`, `\\/` in base64, `\\n`
inside a PEM block): `unescape` gives that view and a map back to the original positions.

Every pattern has a linear worst case: each one starts at a literal or at the start of a run (a
lookbehind), its repeats are bounded or stop at a delimiter, and base64 blocks are found by a scan
that visits each character a bounded number of times. `tests/security/test_redaction_structure.py`
holds them to a time budget on 1 MiB adversarial inputs.
"""

from __future__ import annotations

import base64
import binascii
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Why a value was redacted; recorded in the manifest and shown in the placeholder."""

    XDS_HEADERS = "xds-headers"
    CA_HEADERS = "ca-headers"
    PROXY_METADATA = "proxy-metadata-credential"
    ENV = "env-credential"
    CONFIGMAP = "configmap-credential"
    LAST_APPLIED = "last-applied-configuration"
    CREDENTIAL_PAIR = "credential-pair"  # a name/value pair named like a credential (probe httpHeaders)
    CREDENTIAL_KEY = "credential-key"  # a key named like a secret (`SecretAccessKey`, `password`)
    BEARER = "bearer-token"
    AUTHORIZATION = "authorization-header"
    JWT = "jwt"
    PRIVATE_KEY = "pem-private-key"
    PRIVATE_KEY_BASE64 = "pem-private-key-base64"
    AWS_KEY_ID = "aws-access-key-id"
    AWS_SECRET = "aws-secret-access-key"
    GITHUB_TOKEN = "github-token"
    WITHHELD = "withheld-unparseable"


PLACEHOLDER_PREFIX = "[REDACTED:"


def placeholder(reason: Reason) -> str:
    return f"{PLACEHOLDER_PREFIX}{reason.value}]"


# --- names that suggest a credential ------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_CRED_WORDS = re.compile(
    r"token|passw(or)?d|pwd|secret|credential|api_?key|access_?key|private_?key|auth(?!or(s|ity)?(_|$))|bearer|"
    r"cookie|session|(^|_)key($|_)"
)
NOT_SECRET = frozenset({"", "true", "false", "null"})  # a flag named like a credential is not one


def normalize_name(name: str) -> str:
    """`secretAccessKey`, `Secret-Access-Key` and `SECRET_ACCESS_KEY` all become `secret_access_key`."""
    return _SEPARATORS.sub("_", _CAMEL.sub("_", name[:256]).lower()).strip("_")


def credential_name(name: str) -> bool:
    """Whether an env var, header, pair or data key name suggests its value is a credential."""
    return bool(_CRED_WORDS.search(normalize_name(name)))


# Key names that hold a secret wherever they appear in JSON, in any style (case, `_`, `-`, `.`).
_STRONG = (
    r"passw(?:or)?d|secret[_.-]?access[_.-]?key|(?:session|security|access|refresh|id)[_.-]?token"
    r"|client[_.-]?secret|api[_.-]?key|private[_.-]?key"
)
_STRONG_KEY = re.compile(rf"(?i)(?:{_STRONG})\Z")
STRONG_KEY_BYTES = re.compile(rf"(?i)(?:{_STRONG})\"\s*:\s*\"".encode())


def secret_key(name: str) -> bool:
    """Whether a JSON key holds a secret wherever it appears (`SecretAccessKey`, `db_password`)."""
    return len(name) <= 256 and bool(_STRONG_KEY.search(name))


def secret_value(value: object) -> bool:
    """A string worth redacting: not a flag, not already a placeholder."""
    return (
        isinstance(value, str)
        and value.lower() not in NOT_SECRET
        and not value.startswith(PLACEHOLDER_PREFIX)
    )


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


# --- JSON escapes -----------------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\+(?:u([0-9a-fA-F]{4})|([/tnrbf]))")
_SIMPLE = {"/": "/", "t": "\t", "n": "\n", "r": "\r", "b": " ", "f": " "}


def _unescaped(m: re.Match[str]) -> str | None:
    if m.group(2):
        return _SIMPLE[m.group(2)]
    cp = int(m.group(1), 16)
    if cp in (0x22, 0x5C):  # a quote or backslash would change what a JSON string means
        return None
    if 0x20 <= cp < 0x7F or cp in (0x09, 0x0A, 0x0D):
        return chr(cp)
    return " " if chr(cp).isspace() else None


@dataclass(frozen=True, slots=True)
class View:
    """Text with JSON escapes undone (at any nesting depth), and the way back to original positions."""

    text: str
    _at: tuple[int, ...] = ()  # view index of each replacement character
    _from: tuple[tuple[int, int], ...] = ()  # the original [start, end) it replaced

    def original(self, pos: int) -> int:
        """The original position of view position `pos` (a start, or an exclusive end)."""
        i = bisect_right(self._at, pos) - 1
        if i < 0:
            return pos
        at, (start, end) = self._at[i], self._from[i]
        return start if pos == at else end + (pos - at - 1)


def unescape(text: str) -> View:
    if "\\" not in text:
        return View(text)
    parts: list[str] = []
    at: list[int] = []
    spans: list[tuple[int, int]] = []
    last = shift = 0
    for m in _ESCAPE.finditer(text):
        char = _unescaped(m)
        if char is None:
            continue
        parts += (text[last : m.start()], char)
        at.append(m.start() - shift)
        spans.append((m.start(), m.end()))
        shift += m.end() - m.start() - 1
        last = m.end()
    if not at:
        return View(text)
    parts.append(text[last:])
    return View("".join(parts), tuple(at), tuple(spans))


# --- base64 blocks that hide a PEM private key -------------------------------------------------------


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
B64_PEM_START = base64.b64encode(b"-----BEGIN")[:14].decode()  # `LS0tLS1CRUdJTi`: a PEM at a blob's start
_ANCHOR = re.compile("|".join(map(re.escape, (B64_PEM_START, *B64_PRIVATE_KEY))))
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_B64_RUN = re.compile(r"[A-Za-z0-9+/]*=*")
_LINE_BREAK = re.compile(r"[ \t]*\r?\n[ \t]*")
_LINE_END = re.compile(r"[ \t]*(?:\r?\n|\Z|[\"',;\]}])")
_WHITESPACE = re.compile(r"\s+")


def _block_end(text: str, pos: int) -> int:
    """End of the base64 block at `pos`: its run, then each following line that is base64 only."""
    end = _B64_RUN.match(text, pos).end()  # type: ignore[union-attr]
    while brk := _LINE_BREAK.match(text, end):
        run = _B64_RUN.match(text, brk.end()).end()  # type: ignore[union-attr]
        if run == brk.end() or not _LINE_END.match(text, run):
            break
        end = run
    return end


def _hides_private_key(block: str) -> bool:
    """Whether a block that starts a PEM (`-----BEGIN`) decodes to a private key's BEGIN line."""
    head = _WHITESPACE.sub("", block[:512])[:200]
    try:
        raw = base64.b64decode(head[: len(head) // 4 * 4])
    except (binascii.Error, ValueError):
        return False
    return b"PRIVATE KEY-----" in raw.split(b"\n", 1)[0]


def b64_private_key_spans(text: str) -> Iterator[tuple[int, int]]:
    """Whole base64 blocks that hide a PEM private key, however they are wrapped.

    A block starts at `LS0tLS1CRUdJTi` (a PEM at the start of the base64) and runs over following
    lines that are base64 only, or it holds the encoding of `PRIVATE KEY-----` at any alignment (then
    its start is the start of that run). A PEM that turns out to be a certificate is left alone.
    """
    done = 0  # end of the last block given out; anchors before it are inside it
    checked = 0  # end of the last block that was not a private key; no other PEM starts inside it
    for m in _ANCHOR.finditer(text):
        if m.start() < done:
            continue
        if m.group() == B64_PEM_START:
            if m.start() < checked:
                continue
            end = _block_end(text, m.start())
            if not _hides_private_key(text[m.start() : end]):
                checked = end
                continue
            start = m.start()
        else:
            start = m.start()
            while start > done and text[start - 1] in _B64_CHARS:
                start -= 1
            end = _block_end(text, m.start())
        yield start, end
        done = end


# --- the matchers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Matcher:
    """One kind of secret: the literals one of which it needs (lower-case), and how to find it.

    A pattern's secret is its group `secret` (or `secret2`), else the whole match; `accept` vetoes a
    match (a pair whose name is not a credential's).
    """

    reason: Reason
    literals: tuple[str, ...]
    pattern: re.Pattern[str] | None = None
    accept: Callable[[re.Match[str]], bool] | None = None
    scan: Callable[[str], Iterator[tuple[int, int]]] | None = None

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        if self.scan is not None:
            yield from self.scan(text)
            return
        assert self.pattern is not None
        groups = [g for g in ("secret", "secret2") if g in self.pattern.groupindex]
        for m in self.pattern.finditer(text):
            if self.accept is not None and not self.accept(m):
                continue
            group = next((g for g in groups if m.group(g) is not None), 0)
            start, end = m.span(group)
            if end > start and not text.startswith(PLACEHOLDER_PREFIX, start):
                yield start, end


_JSON_STRING = r'"(?P<{0}>[^"\\]*(?:\\.[^"\\]*)*)"'  # a JSON string's body, unrolled (no backtracking)


def _secret(m: re.Match[str]) -> str | None:
    return m.group("secret") if m.group("secret") is not None else m.group("secret2")


def _value_accepts(m: re.Match[str]) -> bool:
    return secret_value(_secret(m))


def _pair_accepts(m: re.Match[str]) -> bool:
    return credential_name(m.group("name") or m.group("name2")) and secret_value(_secret(m))


GITHUB_TOKEN = r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})\b"

MATCHERS: tuple[Matcher, ...] = (
    Matcher(
        Reason.PRIVATE_KEY_BASE64,
        tuple(m.lower() for m in (B64_PEM_START, *B64_PRIVATE_KEY)),
        scan=b64_private_key_spans,
    ),
    Matcher(
        Reason.PRIVATE_KEY,
        ("private key-----",),
        re.compile(
            r"-----BEGIN ([A-Z0-9 ]{0,40})PRIVATE KEY-----(?:(?!-----END).)*?"
            r"(?:-----END \1PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
    ),
    Matcher(
        Reason.JWT,
        ("eyj",),
        re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    ),
    Matcher(Reason.BEARER, ("bearer",), re.compile(r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/-]{8,}=*)")),
    Matcher(
        Reason.AUTHORIZATION,
        ("authorization",),
        re.compile(
            r"(?i)authorization[\"']?\s{0,16}[:=]\s{0,16}[\"']?\s{0,16}(?:basic|digest)\s+"
            r"(?P<secret>[A-Za-z0-9+/._~-]{4,}=*)"
        ),
    ),
    Matcher(
        Reason.GITHUB_TOKEN, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), re.compile(GITHUB_TOKEN)
    ),
    Matcher(
        Reason.AWS_KEY_ID, ("akia", "asia"), re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
    ),
    Matcher(
        Reason.AWS_SECRET,
        ("secret",),
        re.compile(
            r"(?i)secret[_.-]?access[_.-]?key[\"']?\s{0,16}[:=]\s{0,16}[\"']?"
            r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
    ),
    # `"SessionToken": "…"`, `DB_PASSWORD=…`: a secret-named key in JSON, YAML, env or log text.
    Matcher(
        Reason.CREDENTIAL_KEY,
        (
            "passw",
            "secret",
            "token",
            "apikey",
            "api_key",
            "api-key",
            "privatekey",
            "private_key",
            "private-key",
        ),
        re.compile(
            rf"(?i)(?<![A-Za-z0-9])(?:[A-Za-z0-9]{{1,32}}[_.-])?(?:{_STRONG})(?![A-Za-z0-9])"
            rf"[\"']?\s{{0,16}}[:=]\s{{0,16}}"
            rf"(?:{_JSON_STRING.format('secret')}|(?P<secret2>[^\s\"',;&{{}}\[\]\\]+))"
        ),
        accept=_value_accepts,
    ),
    # `{"name": "Authorization", "value": "Basic …"}` in JSON text: env, probe httpHeaders, any pair.
    Matcher(
        Reason.CREDENTIAL_PAIR,
        ('"name"',),
        re.compile(
            r'"name"\s{0,16}:\s{0,16}"(?P<name>[^"\\]{1,256})"\s{0,16},\s{0,16}"value"\s{0,16}:\s{0,16}'
            + _JSON_STRING.format("secret")
            + r'|"value"\s{0,16}:\s{0,16}'
            + _JSON_STRING.format("secret2")
            + r'\s{0,16},\s{0,16}"name"\s{0,16}:\s{0,16}"(?P<name2>[^"\\]{1,256})"'
        ),
        accept=_pair_accepts,
    ),
)


def find(text: str) -> list[tuple[Reason, int, int]]:
    """Every secret in `text` as (reason, start, end) in the original text, earliest first.

    Matched on the unescaped view; a span inside one found by an earlier matcher is not counted twice.
    """
    view = unescape(text)
    lowered = view.text.lower()
    taken: list[tuple[int, int, Reason]] = []
    for matcher in MATCHERS:
        if not any(lit in lowered for lit in matcher.literals):
            continue
        for start, end in matcher.spans(view.text):
            if not _overlaps(taken, start, end):
                taken.append((start, end, matcher.reason))
                taken.sort()
    return [(reason, view.original(s), view.original(e)) for s, e, reason in taken]


def _overlaps(taken: list[tuple[int, int, Reason]], start: int, end: int) -> bool:
    i = bisect_right(taken, (start, end))
    return (i > 0 and taken[i - 1][1] > start) or (i < len(taken) and taken[i][0] < end)


_LITERALS = tuple(sorted({lit for m in MATCHERS for lit in m.literals}))


def may_hold_secret(text: str) -> bool:
    """A cheap first test: does `text` hold a literal some matcher needs (C substring searches)?"""
    lowered = text.lower()
    if any(lit in lowered for lit in _LITERALS):
        return True
    if "\\" not in text:
        return False
    lowered = unescape(text).text.lower()
    return any(lit in lowered for lit in _LITERALS)
