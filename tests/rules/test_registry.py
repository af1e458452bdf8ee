"""Meta-tests over the rule registry: well-formed, unique, documented, tested, honest about inputs.

Modules named `_*.py` (in `rules/` and in a `--rules-dir`) hold helpers shared by a family of rules
and are never discovered as rules; every other module must be one.
"""

from __future__ import annotations

import pkgutil
import re
from collections import defaultdict
from pathlib import Path

import pytest

import rules
from analyzer.model import Input
from rules import Rule, RuleError, Severity
from tests.builders import build_bundle
from tests.rules.conftest import load_cases

RETIRED = Path(__file__).with_name("retired.txt")
DOC = "Summary.\n\nEvidence:\n    where.\n\nFix:\n    what.\n"


def test_codes_and_names_are_unique_and_well_formed() -> None:
    all_rules = rules.all_rules()
    assert all_rules, "no rules discovered"
    assert len({r.code for r in all_rules}) == len(all_rules)
    assert len({r.name for r in all_rules}) == len(all_rules)
    assert [r.code for r in all_rules] == sorted(r.code for r in all_rules)
    for r in all_rules:
        assert re.fullmatch(r"ZT\d{3}", r.code) and re.fullmatch(r"[a-z0-9-]+", r.name)
        assert r.module == f"rules.{r.name.replace('-', '_')}"
        assert r.check is not None


def test_underscore_modules_are_helpers_and_every_other_module_is_a_rule() -> None:
    names = {m.name for m in pkgutil.iter_modules(rules.__path__)}
    helpers = {n for n in names if n.startswith("_")}
    assert "_certs" in helpers, "the certificate family's helpers moved or were renamed"
    assert {r.module for r in rules.all_rules()} == {f"rules.{n}" for n in names - helpers}


def test_no_retired_code_comes_back() -> None:
    retired = {
        line.split()[0]
        for line in RETIRED.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert not retired & {r.code for r in rules.all_rules()}


def test_docstrings_have_summary_evidence_fix_in_order() -> None:
    for r in rules.all_rules():
        doc = r.documentation
        assert doc.splitlines()[0].strip().endswith("."), r.code
        assert 0 < doc.index("\nEvidence:") < doc.index("\nFix:"), r.code


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    firing: dict[str, int] = defaultdict(int)
    quiet: dict[str, int] = defaultdict(int)
    for code, _, case in load_cases():
        (firing if case["expect"] else quiet)[code] += 1
    for r in rules.all_rules():
        assert firing[r.code] >= 1, f"{r.code} has no firing case"
        assert quiet[r.code] >= 1, f"{r.code} has no quiet case"


def test_inputs_read_over_all_cases_equal_needs() -> None:
    read: dict[str, set[Input]] = defaultdict(set)
    for code, _, case in load_cases():
        bundle = build_bundle(case["given"])
        rule = rules.by_code(code)
        assert rule.check is not None
        list(rule.check(bundle))
        read[code] |= bundle.inputs_read
    for r in rules.all_rules():
        assert read[r.code] == set(r.needs), (
            f"{r.code}: needs {sorted(r.needs)} but read {sorted(read[r.code])}"
        )


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"code": "ZX101"}, "rule code"),
        ({"code": "ZT1010"}, "rule code"),
        ({"name": "Workload_Missing"}, "kebab-case"),
        ({"doc": "Summary only."}, "Evidence"),
        ({"doc": "Summary.\n\nFix:\n  a\n\nEvidence:\n  b\n"}, "Evidence"),
        ({"doc": ""}, "summary"),
        ({"needs": frozenset()}, "needs"),
    ],
)
def test_bad_rules_fail_at_construction(kwargs: dict[str, object], problem: str) -> None:
    args: dict[str, object] = {
        "code": "ZT999",
        "name": "fine-name",
        "severity": Severity.INFO,
        "needs": frozenset({Input.PODS}),
        "doc": DOC,
    }
    args.update(kwargs)
    with pytest.raises(RuleError, match=problem):
        Rule(**args)  # type: ignore[arg-type]


def test_severity_order_is_exhaustive_and_total() -> None:
    assert sorted(Severity, key=lambda s: s.rank) == [Severity.ERROR, Severity.WARNING, Severity.INFO]
    assert Severity.ERROR.at_least(Severity.WARNING) and not Severity.INFO.at_least(Severity.WARNING)


def test_by_code_rejects_unknown_codes() -> None:
    with pytest.raises(KeyError):
        rules.by_code("ZT000")


def test_load_dir_adds_rules_and_rejects_bad_modules(tmp_path: Path) -> None:
    (tmp_path / "custom_rule.py").write_text(
        f'"""{DOC}"""\nfrom analyzer.model import Input\nfrom rules import Rule, Severity\n'
        'RULE = Rule(code="ZT950", name="custom-rule", severity=Severity.INFO,\n'
        "            needs=frozenset({Input.PODS}), doc=__doc__)\n"
        "def check(bundle):\n    return iter(())\n"
    )
    (tmp_path / "_shared.py").write_text("HELPER = 1\n")  # not a rule: skipped, not rejected
    extra = rules.load_dir(tmp_path)
    assert [r.code for r in extra] == ["ZT950"]
    assert [r.code for r in rules.combined(extra)][-1] == "ZT950"
    (tmp_path / "broken.py").write_text("RULE = 1\n")
    with pytest.raises(RuleError, match="must define RULE"):
        rules.load_dir(tmp_path)
