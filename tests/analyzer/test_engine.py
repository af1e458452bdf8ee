"""Engine: skips rules whose inputs are missing (with the collector's reason), isolates crashes, sorts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from analyzer.engine import run_rules
from analyzer.model import Bundle, Input, ObjectRef
from rules import Hit, Rule, Severity
from tests.builders import build_bundle

DOC = "Summary.\n\nEvidence:\n    e.\n\nFix:\n    f.\n"


def _rule(
    code: str, name: str, severity: Severity, check: Any, needs: frozenset[Input] | None = None
) -> Rule:
    return Rule(code, name, severity, needs or frozenset({Input.PODS}), DOC, check, f"x.{name}")


def _hits(*names: str) -> Any:
    def check(bundle: Bundle) -> Iterator[Hit]:
        for n in names:
            yield Hit(ObjectRef("Pod", "ns", n), f"{n} is broken", ("cluster/pods.json",), node="n1")

    return check


def test_findings_are_stamped_and_sorted_by_severity_code_subject() -> None:
    rules = [
        _rule("ZT102", "b-rule", Severity.WARNING, _hits("z", "a")),
        _rule("ZT101", "a-rule", Severity.ERROR, _hits("y")),
        _rule("ZT100", "c-rule", Severity.INFO, _hits("x")),
    ]
    findings, skipped = run_rules(build_bundle({}), rules)
    assert [(f.severity.value, f.code, str(f.subject)) for f in findings] == [
        ("error", "ZT101", "Pod ns/y"),
        ("warning", "ZT102", "Pod ns/a"),
        ("warning", "ZT102", "Pod ns/z"),
        ("info", "ZT100", "Pod ns/x"),
    ]
    assert (
        findings[0].rule == "a-rule"
        and findings[0].node == "n1"
        and findings[0].evidence == ("cluster/pods.json",)
    )
    assert skipped == []


def test_rule_with_missing_input_is_skipped_with_the_recorded_reason() -> None:
    bundle = build_bundle({"unavailable": {"ztunnel-config": "timeout: no answer within 10s"}})
    rule = _rule(
        "ZT101", "needs-dump", Severity.ERROR, _hits("never"), frozenset({Input.PODS, Input.ZTUNNEL_CONFIG})
    )
    findings, skipped = run_rules(bundle, [rule])
    assert findings == []
    assert len(skipped) == 1 and skipped[0].code == "ZT101"
    assert skipped[0].reason == "ztunnel-config not available (timeout: no answer within 10s)"


def test_crashing_rule_becomes_zt901_and_others_still_run() -> None:
    def boom(bundle: Bundle) -> Iterator[Hit]:
        yield Hit(ObjectRef("Pod", "ns", "half"), "half", ())
        raise KeyError("uid")

    rules = [
        _rule("ZT150", "boom-rule", Severity.WARNING, boom),
        _rule("ZT151", "fine-rule", Severity.INFO, _hits("ok")),
    ]
    findings, _ = run_rules(build_bundle({}), rules)
    assert [(f.code, f.rule) for f in findings] == [("ZT901", "rule-crashed"), ("ZT151", "fine-rule")]
    crash = findings[0]
    assert crash.severity is Severity.ERROR and str(crash.subject) == "Rule ZT150-boom-rule"
    assert "ZT150 boom-rule crashed: KeyError" in crash.message


def test_disabled_rules_by_code_or_name() -> None:
    rules = [
        _rule("ZT101", "a-rule", Severity.ERROR, _hits("y")),
        _rule("ZT102", "b-rule", Severity.ERROR, _hits("z")),
    ]
    findings, skipped = run_rules(build_bundle({}), rules, disabled=["zt101", "b-rule"])
    assert findings == [] and [s.reason for s in skipped] == ["disabled with --disable"] * 2
