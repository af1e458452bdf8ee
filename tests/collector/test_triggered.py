"""The byte prefilters' regex scans answer exactly as their plain forms (substring checks, no lookahead)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from collector import redact_json, redact_text, secret_names
from collector.escapes import unescape
from collector.pem_base64 import B64_PEM_START, B64_PRIVATE_KEY

LITERALS = tuple(
    lit.encode()
    for lit in (
        *("eyJ", "PRIVATE KEY", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        B64_PEM_START,
        *B64_PRIVATE_KEY,
    )
)
FOLDED = (b"bearer", b"basic", b"digest", b"passw", b"secret")
KEY_WORDS = re.compile(rb"(?:session|security|access|refresh|id)[_.-]?token|(?:api|private)[_.-]?key")


def _reference(data: bytes) -> bool:
    lowered = data.lower()
    if any(lit in data for lit in LITERALS) or any(lit in lowered for lit in FOLDED):
        return True
    for word in (b"token", b"key"):
        at = lowered.find(word)
        while at >= 0:
            if KEY_WORDS.search(lowered, max(0, at - 9), at + len(word)):
                return True
            at = lowered.find(word, at + 1)
    if b"\\" not in data:
        return False
    view = unescape(data.decode("latin-1")).text.encode("latin-1", "replace")
    return view != data and _reference(view)


PIECES = (
    *LITERALS,
    *(lit.lower() for lit in LITERALS),
    *(lit[:-1] for lit in LITERALS),
    *(lit[1:] for lit in LITERALS),
    *FOLDED,
    *(lit.upper() for lit in FOLDED),
    *(b"session", b"Access", b"id", b"api", b"PRIVATE", b"token", b"TOKEN", b"key", b"Key", b"keykey"),
    *(b"g", b"gh", b"A", b"AK", b"e", b"ey", b"J", b"_", b"-", b".", b" ", b"\n", b'"', b"\\", b"\\u0065"),
    *(b"\\u0074oken", b"\\n", b"x", b"0", b"\xc3\xa9", b"\xff"),
)


@given(st.lists(st.sampled_from(PIECES), max_size=10))
@settings(max_examples=3000, deadline=None)
def test_triggered_agrees_with_a_substring_check_per_literal(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert redact_text.triggered(data) == _reference(data)


# --- the JSON walk's byte prefilters ----------------------------------------------------------------

_STRONG_KEY_BYTES = secret_names._STRONG_KEY_BYTES
_SEP = rb"\s{0,64},\s{0,64}"
_KEY = rb'"%s"\s{0,64}:\s{0,64}"'
_CRED = rb"[^\"\\]{0,200}?(?i:token|passw|pwd|secret|credential|key|auth|bearer|cookie|session)"
# The name/value pair shape as it read before its lookahead was added.
_PAIR = re.compile(_KEY % b"name" + _CRED + rb"[^\"\\]{0,200}\"" + _SEP + _KEY % b"value" + rb"[^\"]")


def _secret_key_reference(data: bytes) -> bool:
    lowered = data.lower()
    for end in (b'password"', b'passwd"', b'secret"', b'token"', b'key"'):
        at = lowered.find(end)
        while at >= 0:
            if _STRONG_KEY_BYTES.search(data, max(0, at - 24), at + len(end) + 40):
                return True
            at = lowered.find(end, at + 1)
    return False


JSON_PIECES = (
    *(b'"name"', b'"value"', b'"Name"', b": ", b":", b", ", b",", b"  ", b'"', b"\\", b"\\n", b"{", b"}"),
    *(b"API_TOKEN", b"db-password", b"PASSWD", b"Secret", b"key", b"x-api-key", b"cookie", b"plain"),
    *(b'"SecretAccessKey"', b'"sessionToken"', b'"password"', b'"passwd"', b'"api_key"', b'"token"'),
    *(b'"abc"', b"a" * 150, b"1", b"null"),
)


@given(st.lists(st.sampled_from(JSON_PIECES), max_size=12))
@settings(max_examples=3000, deadline=None)
def test_json_prefilters_agree_with_their_plain_forms(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert secret_names.has_secret_key(data) == _secret_key_reference(data)
    assert (redact_json._STRUCTURAL[3].search(data) is None) == (_PAIR.search(data) is None)


def test_the_pair_shape_still_fires_on_a_credential_pair() -> None:
    data = b'{"name": "X-Api-Token", "value": "abc"}'
    assert redact_json._STRUCTURAL[3].search(data) is not None
    assert redact_json._STRUCTURAL[3].search(b'{"name": "plain", "value": "abc"}') is None
