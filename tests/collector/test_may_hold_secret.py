"""`may_hold_secret`'s one-regex prefilter answers exactly as testing each literal in turn would."""

from __future__ import annotations

import pytest

from collector.matchers import _LITERALS, lower, may_hold_secret, unescape


def _each_literal(text: str) -> bool:
    if any(lit in lower(text) for lit in _LITERALS):
        return True
    return "\\" in text and any(lit in lower(unescape(text).text) for lit in _LITERALS)


TEXTS = [
    "",
    "app-1-7d9f8c6b5-xk2p9",
    "kube-api-access-abc12",
    "Bearer abc",
    "x-AUTHORIZATION-y",
    "PassWord",
    '{"name": "a", "value": "b"}',
    "eyJhbGciOi",
    "AKIAABCDEFGHIJKLMNOP",
    "-----BEGIN CERTIFICATE-----",
    "to\\u006ben",  # an escape that spells a literal once decoded
    "to\\nken",
    "İstanbul token",  # lower() grows this text: positions fall back to ASCII lowering
    "ǅ secreT",
    "ghp_",
    "nothing to see",
    *_LITERALS,
    *(lit.upper() for lit in _LITERALS),
    *(lit[:-1] for lit in _LITERALS),
]


@pytest.mark.parametrize("text", TEXTS)
def test_prefilter_agrees_with_each_literal(text: str) -> None:
    assert may_hold_secret(text) == _each_literal(text)
