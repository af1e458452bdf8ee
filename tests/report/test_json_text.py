"""The JSON report's text: `indented` writes what `json.dumps(indent=2, ensure_ascii=False)` writes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report.json import indented

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()  # any code point, control characters and lone surrogates included
)
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


def _reference(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(_documents)
def test_indented_is_json_dumps_with_indent_for_any_document(doc: Any) -> None:
    assert indented(doc) == _reference(doc)


def test_indented_keeps_escapes_numbers_and_empty_containers_as_json_writes_them() -> None:
    doc = {
        "é\u2028\x7f": "\x00\x1f\"\\/<>&é\U0001f600",
        "numbers": [1e16, 1e-05, 0.1, -0.0, 2**70, 1.0, 123456789.123],
        "empty": [[], {}, [[]], {"z": {}}],
        "literals": [None, True, False],
    }
    assert indented(doc) == _reference(doc)
    assert '"numbers": [\n    1e+16,\n    1e-05,' in indented(doc)


def test_indented_takes_the_slow_path_for_what_the_reindenter_cannot_read() -> None:
    for doc in ({"a": float("nan"), "b": [float("inf")]}, {"lone": "\ud800"}, {"\udfff": 1}):
        assert indented(doc) == _reference(doc)
