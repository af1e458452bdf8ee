"""Every rule tells the reader what to do next: a short Fix sentence, offline first, then live."""

from __future__ import annotations

import string

import pytest

import rules

PLACEHOLDERS = {"bundle", "ztunnel", "node", "namespace", "name", "kind"}


@pytest.mark.parametrize("rule", rules.all_rules(), ids=lambda r: r.code)
def test_fix_leads_with_a_short_action_then_offline_then_live(rule: rules.Rule) -> None:
    assert 0 < len(rule.fix_line) <= 90, f"{rule.code}: first Fix sentence should fit a terminal line"
    fix = rule.documentation.partition("\nFix:")[2]
    offline, live = fix.find("Offline:"), fix.find("Live:")
    assert 0 <= offline < live, f"{rule.code}: Fix names the offline ztbundle command before the live one"
    assert "`ztbundle " in fix[offline:live]


@pytest.mark.parametrize("rule", rules.all_rules(), ids=lambda r: r.code)
def test_next_steps_are_ztbundle_commands_with_known_placeholders(rule: rules.Rule) -> None:
    assert rule.next_steps, f"{rule.code}: an incident rooted here needs a next offline command"
    for step in rule.next_steps:
        assert step.startswith("ztbundle ") and "{bundle}" in step
        names = {n for _, n, _, _ in string.Formatter().parse(step) if n}
        assert names <= PLACEHOLDERS, f"{rule.code}: unknown placeholder in {step!r}"
