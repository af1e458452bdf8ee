"""`may_hold_secret`'s one-regex prefilter answers exactly as testing each literal in turn would."""

from __future__ import annotations

import pytest

from collector import matchers
from collector.escapes import unescape
from collector.literals import lower
from collector.matchers import _LITERALS, may_hold_secret
from collector.secret_names import secret_key


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


def test_remembered_answers_stay_exact_past_the_bound() -> None:
    """The memo of clean texts and of key verdicts answers as the search does, also once it was cleared."""
    filler = [f"plain-value-{i}" for i in range(2 * matchers._CLEAN_MAX + 1)]
    for _ in range(2):
        assert [may_hold_secret(t) for t in TEXTS] == [_each_literal(t) for t in TEXTS]
        assert not any(may_hold_secret(t) for t in filler)
        assert len(matchers._CLEAN) <= matchers._CLEAN_MAX
    assert "x" * 300 not in matchers._CLEAN and not may_hold_secret("x" * 300)
    keys = ["SecretAccessKey", "db_password", "sessionToken", "name", "kube-api-access", "API-KEY"]
    expected = [True, True, True, False, False, True]
    for _ in range(2):
        assert [secret_key(k) for k in keys] == expected
        bound = secret_key.cache_info().maxsize
        assert bound is not None
        assert not any(secret_key(f"label-{i}") for i in range(2 * bound + 1))
        assert secret_key.cache_info().currsize <= bound
