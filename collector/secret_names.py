"""Names that say their value is a credential: env vars, headers, pair names and JSON keys, in any style.

Shared by the redactor (`collector.redact_json`, `collector.redact_text`), the matchers
(`collector.matchers`) and the leak scan (`collector.leakscan`).
"""

from __future__ import annotations

import functools
import re

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
STRONG_KEY = re.compile(rf"(?i)(?:{_STRONG})\Z")
_STRONG_KEY_BYTES = re.compile(rf"(?i)(?:{_STRONG})\"\s{{0,16}}:\s{{0,16}}\"".encode())
# Regex scans, not `find`: each opens with a letter rarer than the quote it ends with, and none
# overlaps itself, so every end is seen (`passw(?:or)?d"` is `password"` and `passwd"`).
_KEY_QUOTE_ENDS = tuple(re.compile(p) for p in (rb'passw(?:or)?d"', rb'secret"', rb'token"', rb'key"'))


def has_secret_key(data: bytes) -> bool:
    """Whether JSON bytes hold a secret-named key with a string value (`"SecretAccessKey": "…`).

    Found from each key end (`token"`, `key"`, …) with a short look back, as a case-insensitive
    alternation run over a 12 MB dump would take seconds.
    """
    lowered = data.lower()
    for end in _KEY_QUOTE_ENDS:
        for m in end.finditer(lowered):
            if _STRONG_KEY_BYTES.search(data, max(0, m.start() - 24), m.end() + 40):
                return True
    return False


# The redactor asks this of every key of every object of every List page: a cache hit is ~10x cheaper
# than the case-insensitive search, and a List repeats a few dozen keys. Bounded: map keys (labels,
# ConfigMap data) are anyone's.
@functools.lru_cache(maxsize=4096)
def secret_key(name: str) -> bool:
    """Whether a JSON key holds a secret wherever it appears (`SecretAccessKey`, `db_password`)."""
    return len(name) <= 256 and bool(STRONG_KEY.search(name))


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
