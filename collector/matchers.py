"""What a credential looks like in text: the matchers the redactor applies and the leak scan runs again.

One list, `MATCHERS`, serves both sides: `collector.redact_text` replaces what they find, and
`collector.leakscan` reports what they still find in the written archive. A matcher yields spans,
`[start, end)` of the secret only (a key name or `Bearer ` before it stays), and never a span that
already holds a placeholder.

Text is matched as it reads once JSON escapes are undone (`Bearer\\u0020…`, `\\/` in base64, `\\n`
inside a PEM block): `collector.escapes.unescape` gives that view and a map back to the original
positions; `collector.secret_names` says which names hold a credential.

Every pattern has a linear worst case: each one starts at a literal or at the start of a run (a
lookbehind), its repeats are bounded or stop at a delimiter, and base64 blocks are found by a scan
that visits each character a bounded number of times. `tests/security/test_redaction_structure.py`
holds them to a time budget on 1 MiB adversarial inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from collector.escapes import unescape
from collector.literals import Found, lower, occurrences
from collector.pem_base64 import B64_PEM_START, B64_PRIVATE_KEY, b64_private_key_spans
from collector.secret_names import NOT_SECRET, STRONG_KEY, credential_name


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


def secret_value(value: object) -> bool:
    """A string worth redacting: not a flag, not already a placeholder."""
    return (
        isinstance(value, str)
        and value.lower() not in NOT_SECRET
        and not value.startswith(PLACEHOLDER_PREFIX)
    )


# --- the matchers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Matcher:
    """One kind of secret: the lower-case literals a match starts with, and how to find it.

    `pattern` is tried only where one of `starts` occurs (C substring searches find those, where a
    case-insensitive alternation would crawl); `scan` replaces both for secrets that need code. A
    pattern's secret is its group `secret` (or `secret2`), else the whole match; `accept` vetoes a
    match (a pair whose name is not a credential's).

    `lead`, for a case-sensitive `pattern`, finds those places in one regex scan of the original text
    instead of one substring search per literal: its match starts are the places where `starts`
    occur in the exact case `pattern` needs. It reads one character and looks ahead for the rest, so
    no occurrence hides inside another. Dropping the other places changes nothing: `pattern` cannot
    match there, and a place where it does not match is skipped without a trace.
    """

    reason: Reason
    starts: tuple[str, ...]
    pattern: re.Pattern[str] | None = None
    accept: Callable[[re.Match[str]], bool] | None = None
    scan: Callable[[str, str, Found], Iterator[tuple[int, int]]] | None = None
    lead: re.Pattern[str] | None = None

    def spans(
        self, text: str, lowered: str | None = None, found: Found | None = None
    ) -> Iterator[tuple[int, int]]:
        """Secrets in `text`, in order, not overlapping; `lowered` is `lower(text)` if the caller has it.

        `found`: where each literal occurs in `lowered`, shared by the matchers run over one text.
        """
        if lowered is None:
            lowered = lower(text)
        if found is None:
            found = {}
        if self.scan is not None:
            yield from self.scan(text, lowered, found)
            return
        assert self.pattern is not None
        groups = [g for g in ("secret", "secret2") if g in self.pattern.groupindex]
        done = 0
        places = (
            occurrences(lowered, self.starts, found)
            if self.lead is None
            else [m.start() for m in self.lead.finditer(text)]
        )
        for at in places:
            if at < done:
                continue
            m = self.pattern.match(text, at)
            if m is None or (self.accept is not None and not self.accept(m)):
                continue
            group = next((g for g in groups if m.group(g) is not None), 0)
            start, end = m.span(group)
            if end > start and not text.startswith(PLACEHOLDER_PREFIX, start):
                yield start, end
            done = max(m.end(), at + 1)


_JSON_STRING = r'"(?P<{0}>[^"\\]*(?:\\.[^"\\]*)*)"'  # a JSON string's body, unrolled (no backtracking)


def _secret(m: re.Match[str]) -> str | None:
    return m.group("secret") if m.group("secret") is not None else m.group("secret2")


def _pair_accepts(m: re.Match[str]) -> bool:
    return credential_name(m.group("name") or m.group("name2")) and secret_value(_secret(m))


# After a secret-named key: the separator and the value, quoted (JSON, YAML) or bare (env, logs).
_AFTER_KEY = re.compile(
    r"(?![A-Za-z0-9])[\"']?\s{0,16}[:=]\s{0,16}"
    + "(?:"
    + _JSON_STRING.format("secret")
    + r"|(?P<secret2>[^\s\"',;&{}\[\]\\]+))"
)
_KEY_ENDS = ("passw", "key", "token", "secret")
_KEY_PREFIXES = {  # by the first three letters of the key's end: what must come shortly before it
    "key": ("api", "private", "access"),
    "tok": ("session", "security", "access", "refresh", "id"),
    "sec": ("client",),
}


def _credential_key_spans(text: str, lowered: str, found: Found) -> Iterator[tuple[int, int]]:
    """Values of secret-named keys (`"SessionToken": "…"`, `DB_PASSWORD=…`), found from the key's end."""
    done = 0
    for at in occurrences(lowered, _KEY_ENDS, found):
        if at < done:
            continue
        end = at + (3 if lowered.startswith("key", at) else 5 if lowered.startswith("token", at) else 6)
        if lowered.startswith("passw", at):
            end = at + (
                8 if lowered.startswith("password", at) else 6 if lowered.startswith("passwd", at) else 0
            )
            if end == at:
                continue
        before = lowered[max(0, at - 24) : at]
        if not any(p in before for p in _KEY_PREFIXES.get(lowered[at : at + 3], ("",))):
            continue  # `key` or `token` without the word that makes it a secret's name
        if not STRONG_KEY.search(text, max(0, at - 24), end):
            continue
        m = _AFTER_KEY.match(text, end)
        if m is None or not secret_value(_secret(m)):
            continue
        group = "secret" if m.group("secret") is not None else "secret2"
        start, stop = m.span(group)
        if stop > start:
            yield start, stop
        done = m.end()


def _b64_spans(text: str, lowered: str, found: Found) -> Iterator[tuple[int, int]]:
    return b64_private_key_spans(text)


GITHUB_TOKEN = r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})\b"

MATCHERS: tuple[Matcher, ...] = (
    Matcher(
        Reason.PRIVATE_KEY_BASE64,
        tuple(m.lower() for m in (B64_PEM_START, *B64_PRIVATE_KEY)),
        scan=_b64_spans,
    ),
    Matcher(
        Reason.PRIVATE_KEY,
        ("-----begin ",),
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
        Reason.GITHUB_TOKEN,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(GITHUB_TOKEN),
        lead=re.compile(r"g(?=h[pousr]_|ithub_pat_)"),
    ),
    Matcher(
        Reason.AWS_KEY_ID,
        ("akia", "asia"),
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
        lead=re.compile(r"A(?=KIA|SIA)"),
    ),
    Matcher(
        Reason.AWS_SECRET,
        ("secret",),
        re.compile(
            r"(?i)secret[_.-]?access[_.-]?key[\"']?\s{0,16}[:=]\s{0,16}[\"']?"
            r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
    ),
    Matcher(Reason.CREDENTIAL_KEY, _KEY_ENDS, scan=_credential_key_spans),
    # `{"name": "Authorization", "value": "Basic …"}` in JSON text: env, probe httpHeaders, any pair.
    Matcher(
        Reason.CREDENTIAL_PAIR,
        ('"name"', '"value"'),
        re.compile(
            r'"name"\s{0,16}:\s{0,16}"(?P<name>[^"\\]{1,256})"\s{0,16},\s{0,16}"value"\s{0,16}:\s{0,16}'
            + _JSON_STRING.format("secret")
            + r'|"value"\s{0,16}:\s{0,16}'
            + _JSON_STRING.format("secret2")
            + r'\s{0,16},\s{0,16}"name"\s{0,16}:\s{0,16}"(?P<name2>[^"\\]{1,256})"'
        ),
        accept=_pair_accepts,
        lead=re.compile(r'"(?=name"|value")'),
    ),
)


def find(text: str) -> list[tuple[Reason, int, int]]:
    """Every secret in `text` as (reason, start, end) in the original text, earliest first.

    Matched on the unescaped view; a span that overlaps one found by an earlier matcher is dropped.
    """
    view = unescape(text)
    lowered = lower(view.text)
    taken: list[tuple[int, int, Reason]] = []
    found: Found = {}  # `secret` starts two matchers' patterns: searched once
    for matcher in MATCHERS:  # each looks its literals up itself: no separate presence scan
        spans = [(s, e, matcher.reason) for s, e in matcher.spans(view.text, lowered, found)]
        if spans:
            taken = _merge(taken, spans)
    return [(reason, view.original(s), view.original(e)) for s, e, reason in taken]


def _merge(
    taken: list[tuple[int, int, Reason]], new: list[tuple[int, int, Reason]]
) -> list[tuple[int, int, Reason]]:
    """Both lists sorted and free of overlaps; add the spans of `new` that overlap nothing in `taken`."""
    out: list[tuple[int, int, Reason]] = []
    i = 0
    for span in new:
        while i < len(taken) and taken[i][1] <= span[0]:
            out.append(taken[i])
            i += 1
        if i < len(taken) and taken[i][0] < span[1]:
            continue
        if out and out[-1][1] > span[0]:
            continue
        out.append(span)
    out.extend(taken[i:])
    return out


_LITERALS = tuple(sorted({lit for m in MATCHERS for lit in m.starts}))
# Matches wherever one of the literals occurs: one C call per string instead of 22 `in` tests from
# Python (the redactor asks this of every string of every List page: ~2x faster per string).
_ANY_LITERAL = re.compile("|".join(re.escape(lit) for lit in _LITERALS))


_SHORTEST = min(map(len, _LITERALS))


# Short texts that hold no literal, remembered: a List page repeats most of its values (`True`,
# `Running`, a timestamp, an image), and a dict lookup costs a tenth of the search. Bounded, and
# never holding a text that may be a secret.
_CLEAN: dict[str, None] = {}
_CLEAN_MAX = 16384
_CLEAN_LEN = 256


def may_hold_secret(text: str) -> bool:
    """A cheap first test: does `text` hold a literal some matcher needs?"""
    if len(text) < _SHORTEST:
        return False  # undoing escapes only shortens a text
    if text in _CLEAN:
        return False
    if _ANY_LITERAL.search(text.lower() if text.isascii() else lower(text)) is not None:
        return True
    if "\\" in text and _ANY_LITERAL.search(lower(unescape(text).text)) is not None:
        return True
    if len(text) <= _CLEAN_LEN:
        if len(_CLEAN) >= _CLEAN_MAX:
            _CLEAN.clear()
        _CLEAN[text] = None
    return False
