"""A matcher's `lead` finds the same secrets as its literal search, in every case and overlap.

`lead` is a speed-up only: for each matcher that has one, its spans on generated text (the literals
in every case, overlapping one another, next to secret-shaped runs, separators, JSON escapes and
characters whose lower case is ASCII or longer) equal the spans of the same matcher without it.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector import literals, pem_base64
from collector.matchers import MATCHERS, Matcher, find

LEADS = [m for m in MATCHERS if m.lead is not None]

_B36 = "a1B2c3D4" * 4 + "e5F6"
PIECES = (
    # whole secrets of each kind with a lead, in every spelling their literals have
    *(f"{p}{_B36}" for p in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "GHP_", "gHs_")),
    *("github_pat_" + _B36, "GITHUB_PAT_" + _B36),
    *(f"{p}ABCDEFGHIJ234567" for p in ("AKIA", "ASIA", "akia", "Asia")),
    *("eyJhbGciOiJIUzI1.eyJzdWIiOiIx.sig", "EYJhbGciOiJIUzI1.eyJzdWIiOiIx.sig", "eyjhbGciOiJIUzI1.x.y"),
    '"name": "X-Auth-Token", "value": "abc123"',
    '"value": "abc123", "name": "password"',
    '"NAME": "password", "VALUE": "abc123"',
    '"name":"api_key","value":"[REDACTED:credential-pair]"',
    # fragments that overlap or cut those
    *("eyJ", "eyj", "gh", "g", "ghp_", "github_pat_", "AKIA", "A", "e"),
    *('"', '"name"', '"value"', '"name"value"'),
    *(": ", ", ", " ", "\n", "=", ".", "-", "_", "0", "\\u0020", "\\n", "\u212a", "\u0130", "\u017f"),
)


@pytest.mark.parametrize("matcher", LEADS, ids=[m.reason.value for m in LEADS])
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=12))
@settings(max_examples=1500, deadline=None)
def test_a_lead_finds_what_the_literal_search_finds(matcher: Matcher, pieces: list[str]) -> None:
    text = "".join(pieces)
    plain = dataclasses.replace(matcher, lead=None)
    assert list(matcher.spans(text)) == list(plain.spans(text))


def test_leads_still_find_each_secret_kind() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    github = "ghp_" + "a1B2" * 9
    aws = "AKIA" + "ABCDEFGHIJ234567"
    pair = '{"name": "X-Api-Token", "value": "s3cr3t-value"}'
    text = f"a {jwt} b {github} c {aws} d {pair}"
    reasons = {r.value: text[s:e] for r, s, e in find(text)}
    assert reasons == {
        "jwt": jwt,
        "github-token": github,
        "aws-access-key-id": aws,
        "credential-pair": "s3cr3t-value",
    }


def _find_all(text: str, lit: str) -> list[int]:
    out, at = [], text.find(lit)
    while at >= 0:
        out.append(at)
        at = text.find(lit, at + 1)
    return out


@given(text=st.text(alphabet="keytonpaswcrbjmgi _-\"", max_size=60))
@settings(max_examples=1500, deadline=None)
def test_literals_found_by_re_are_found_everywhere_find_finds_them(text: str) -> None:
    assert literals._FINDERS, "no literal uses re"
    for lit in (*literals._FINDERS, '"name"', "-----begin "):
        assert literals.places_of(text, lit) == _find_all(text, lit), lit


def test_only_literals_that_cannot_overlap_themselves_use_re() -> None:
    assert all(not literals._overlaps_itself(lit) for lit in literals._FINDERS)
    assert literals._overlaps_itself('"name"') and literals._overlaps_itself("aa")
    assert not literals._overlaps_itself("token")


def test_every_base64_anchor_holds_the_dashes_its_guard_looks_for() -> None:
    assert all(pem_base64.B64_DASHES in anchor for anchor in pem_base64._ANCHORS)
