"""The bounded JSON parse: its depth pass and its parse agree with their plain definitions."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.errors import BundleError
from analyzer.jsonsafe import _innermost_removed, parse_json


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=40).map(lambda b: bytes(b"[]{}"[x % 4] for x in b)))
def test_one_depth_pass_removes_what_one_regex_pass_removes(brackets: bytes) -> None:
    assert _innermost_removed(brackets) == re.sub(rb"\[\]|\{\}", b"", brackets)


def test_depth_is_counted_per_level_of_either_bracket() -> None:
    assert parse_json("b", "m", "[" * 3 + "{}" + "]" * 3, max_depth=4) == [[[{}]]]
    with pytest.raises(BundleError, match="nested deeper than 3"):
        parse_json("b", "m", "[{[{}]}]", max_depth=3)


@pytest.mark.parametrize(
    "text",
    ['{"a": 1, "b": 2, "a": {"c": 3}}', '{"by_hostname": {}, "x": [], "by_hostname": {"h": [1]}}'],
)
def test_a_repeated_key_keeps_its_last_value_where_its_first_stood(text: str) -> None:
    doc, pairs = parse_json("b", "m", text), json.loads(text, object_pairs_hook=dict)
    assert doc == pairs and list(doc) == list(pairs) and isinstance(doc, dict)
    assert doc[next(iter(doc))] != {}  # the last value, not the first
