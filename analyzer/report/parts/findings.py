"""The findings section: findings grouped by severity, then by rule with the rule's Fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult
    from analyzer.findings import Finding

TEMPLATE = "findings.html.j2"


@dataclass(frozen=True, slots=True)
class RuleGroup:
    code: str
    name: str
    severity: str
    fix: str
    findings: tuple[Finding, ...]


def groups(result: AnalysisResult) -> dict[str, list[RuleGroup]]:
    """Severity → the rules with findings at it, in the engine's order, each with its Fix text."""
    from analyzer.findings import Severity

    fixes = {d.code: d.doc.fix for d in result.rule_docs}
    out: dict[str, list[RuleGroup]] = {s.value: [] for s in Severity}
    by_rule: dict[tuple[str, str], list[Finding]] = {}
    for f in result.findings:  # already sorted (severity, code, subject) by the engine
        by_rule.setdefault((f.severity.value, f.code), []).append(f)
    for (sev, code), group in by_rule.items():
        out[sev].append(RuleGroup(code, group[0].rule, sev, fixes.get(code, ""), tuple(group)))
    return out


def view_link(f: Finding) -> tuple[str, str] | None:
    """(anchor, label) of the report section that shows a finding's evidence, if any."""
    if f.code.startswith("ZT6"):
        return ("#traffic", "traffic")
    if f.ztunnel and f.code.startswith("ZT2"):
        return (f"#ztunnel-{f.ztunnel}", "certificates")
    if f.ztunnel and f.code[:3] in ("ZT1", "ZT4", "ZT5"):
        return (f"#ztunnel-{f.ztunnel}", "ztunnel tables")
    return None


def context(result: AnalysisResult) -> dict[str, Any]:
    return {"groups": groups(result), "view_link": view_link}
