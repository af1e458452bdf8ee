"""The rule documentation appendix: each rule's docstring split into summary, body, Evidence and Fix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.findings import Finding, Rule

__all__ = ["DocSections", "RuleDoc", "doc_sections", "rule_docs"]

UNKNOWN_RULE_FIX = "Report this to the ztbundle maintainers with the bundle; the other rules still ran."


@dataclass(frozen=True, slots=True)
class DocSections:
    summary: str
    body: str
    evidence: str
    fix: str


@dataclass(frozen=True, slots=True)
class RuleDoc:
    code: str
    name: str
    severity: str
    needs: tuple[str, ...]
    doc: DocSections


def doc_sections(text: str) -> DocSections:
    """Split a rule docstring (cleandoc'd) into summary, body, `Evidence:` and `Fix:`."""
    parts: dict[str, list[str]] = {"body": [], "evidence": [], "fix": []}
    current = "body"
    lines = text.strip().splitlines()
    for line in lines[1:]:
        head = line.strip()
        if head in ("Evidence:", "Fix:"):
            current = head[:-1].lower()
            continue
        parts[current].append(line)
    join = {k: _reflow(v) for k, v in parts.items()}
    return DocSections(lines[0].strip() if lines else "", join["body"], join["evidence"], join["fix"])


def _reflow(lines: list[str]) -> str:
    """Join wrapped docstring lines into paragraphs; keep blank lines and list items as breaks."""
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        starts_item = line[:2] in ("- ", "* ") or (line[:1].isdigit() and line[1:3] in (". ", ") "))
        if not out or not line or not out[-1] or starts_item:
            out.append(line)
        else:
            out[-1] += " " + line
    return "\n".join(out).strip()


def rule_docs(rules: Sequence[Rule], findings: Iterable[Finding]) -> tuple[RuleDoc, ...]:
    """Every rule's documentation, plus a stub for each finding whose code has no rule module (ZT901)."""
    docs = [
        RuleDoc(
            r.code,
            r.name,
            r.severity.value,
            tuple(sorted(i.value for i in r.needs)),
            doc_sections(r.documentation),
        )
        for r in rules
    ]
    known = {r.code for r in rules}
    for f in findings:  # keep every finding's link target real
        if f.code not in known:
            known.add(f.code)
            stub = DocSections(f.rule, "", "", UNKNOWN_RULE_FIX)
            docs.append(RuleDoc(f.code, f.rule, f.severity.value, (), stub))
    return tuple(sorted(docs, key=lambda d: d.code))
