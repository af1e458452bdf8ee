"""One runner for every rule: each YAML case becomes a real model and the rule's subjects are compared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _pytest.mark import ParameterSet

import rules
from tests.builders import build_bundle
from tests.rules.conftest import load_cases


def rule_cases() -> Iterator[ParameterSet]:
    for code, name, case in load_cases():
        yield pytest.param(code, case, id=f"{code}-{name}")


@pytest.mark.parametrize(("code", "case"), list(rule_cases()))
def test_rule_case(code: str, case: dict[str, Any]) -> None:
    rule = rules.by_code(code)
    bundle = build_bundle(case["given"])
    assert rule.check is not None
    hits = list(rule.check(bundle))
    assert sorted(str(h.subject) for h in hits) == sorted(case["expect"])
    assert bundle.inputs_read <= rule.needs, f"{code} read undeclared inputs"
    for hit in hits:
        assert hit.message.strip()
        assert all(isinstance(e, str) and e for e in hit.evidence)
    for fragment in case.get("message_contains", []):
        assert any(fragment in h.message for h in hits), fragment
