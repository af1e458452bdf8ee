"""`redact_text.triggered`'s regex scans answer exactly as a substring check per trigger literal would."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from collector import redact_text
from collector.matchers import B64_PEM_START, B64_PRIVATE_KEY, unescape

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
