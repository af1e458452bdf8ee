"""Text and JSON of one `Trace` (both render the same object; neither reads the model)."""

from __future__ import annotations

from typing import Any

from analyzer.text import printable_line
from analyzer.trace.types import Trace, Verdict

SCHEMA_VERSION = 1
MARK = {Verdict.OK: "ok", Verdict.BROKEN: "BROKEN", Verdict.DEGRADED: "DEGRADED", Verdict.UNKNOWN: "unknown"}


def to_json(t: Trace) -> dict[str, Any]:
    """The trace as `analyzer/schemas/trace.schema.json` describes it."""
    return {
        "schema_version": SCHEMA_VERSION,
        "source": t.source,
        "target": t.target,
        "target_kind": t.target_kind,
        "now": t.now,
        "hops": [
            {
                "number": h.number,
                "name": h.key.slug,
                "title": h.title,
                "verdict": h.verdict.value,
                "checks": [
                    {
                        "verdict": c.verdict.value,
                        "text": c.text,
                        "supplementary": c.supplementary,
                        "evidence": [{"member": e.member, "line": e.line} for e in c.evidence],
                    }
                    for c in h.checks
                ],
                "findings": [_finding(f) for f in h.findings],
            }
            for h in t.hops
        ],
        "verdict": {
            "verdict": t.conclusion.verdict.value,
            "hop": int(t.conclusion.hop) if t.conclusion.hop else None,
            "finding": _finding(t.conclusion.finding) if t.conclusion.finding else None,
            "text": t.conclusion.text,
        },
    }


def _finding(f: Any) -> dict[str, Any]:
    return {
        "id": f.id,
        "code": f.code,
        "rule": f.rule,
        "severity": f.severity,
        "subject": f.subject,
        "message": f.message,
        "fix": f.fix,
        "incident": f.incident,
        "root": f.root,
    }


def to_text(t: Trace, *, verbose: bool = False) -> str:
    """Hop per block: verdict and title, its checks (only those not ok unless `verbose`), then for a
    hop that is not ok the findings that explain it with their Fix (messages too when `verbose`)."""
    out = [f"trace {t.source} → {t.target} (at {t.now})"]
    for h in t.hops:
        out.append(f"{h.number}. {h.title:<21} {MARK[h.verdict]}")
        shown = (
            h.checks
            if verbose or h.verdict is Verdict.OK
            else [c for c in h.checks if c.verdict is not Verdict.OK]
        )
        for c in shown:
            where = f"  [{', '.join(str(e) for e in c.evidence[:2])}]" if c.evidence else ""
            out.append(f"     {c.verdict.value:<8} {c.text}{where}")
        findings = h.findings if verbose else h.findings[:2] if h.verdict is not Verdict.OK else ()
        for f in findings:
            out.append(f"     {f.id} {f.rule} ({f.severity}) on {f.subject}")
            if verbose:
                out.append(f"       {f.message}")
            if f.fix:
                out.append(f"       fix: {f.fix}")
        if len(h.findings) > len(findings) and h.verdict is not Verdict.OK:
            out.append(f"     … and {len(h.findings) - len(findings)} more finding(s) (-v shows all)")
    out.append(f"verdict: {t.conclusion.text}")
    return "".join(printable_line(line) + "\n" for line in out)
