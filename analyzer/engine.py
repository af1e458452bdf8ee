"""Run rules over a model: skip those whose inputs are missing, isolate crashes, stamp findings."""

from __future__ import annotations

from collections.abc import Iterable

from analyzer.findings import Finding, Rule, Severity, Skipped
from analyzer.model import Bundle, Input, ObjectRef

CRASH_CODE = "ZT901"
CRASH_NAME = "rule-crashed"


def _missing(bundle: Bundle, rule: Rule) -> list[str]:
    out = []
    for needed in sorted(rule.needs):
        got = bundle.availability(needed)
        if not got.ok:
            out.append(f"{needed.value} not available ({got.reason or 'not collected'})")
    return out


def _crash(rule: Rule, exc: BaseException) -> Finding:
    return Finding(
        code=CRASH_CODE,
        rule=CRASH_NAME,
        severity=Severity.ERROR,
        subject=ObjectRef("Rule", "", f"{rule.code}-{rule.name}"),
        message=f"rule {rule.code} {rule.name} crashed: {type(exc).__name__}: {exc}",
    )


def run_rules(
    bundle: Bundle, rules: Iterable[Rule], disabled: Iterable[str] = ()
) -> tuple[list[Finding], list[Skipped]]:
    """Findings sorted (severity, code, subject) and the rules that did not run, with why."""
    off = {d.upper() if d.upper().startswith("ZT") else d for d in disabled}
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for rule in rules:
        if rule.code in off or rule.name in off:
            skipped.append(Skipped(rule.code, rule.name, "disabled with --disable"))
            continue
        missing = _missing(bundle, rule)
        if missing:
            skipped.append(Skipped(rule.code, rule.name, "; ".join(missing)))
            continue
        assert rule.check is not None
        try:
            hits = list(rule.check(bundle))
        except Exception as exc:  # one broken rule must not hide the others' findings
            findings.append(_crash(rule, exc))
            continue
        findings.extend(
            Finding(
                rule.code,
                rule.name,
                rule.severity,
                h.subject,
                h.message,
                tuple(h.evidence),
                h.node,
                h.ztunnel,
            )
            for h in hits
        )
    findings.sort(key=lambda f: f.sort_key)
    return findings, skipped


def needed_inputs(rules: Iterable[Rule]) -> frozenset[Input]:
    return frozenset(i for r in rules for i in r.needs)
