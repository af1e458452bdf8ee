"""Offline analysis: bundle → model → findings → one `AnalysisResult` for JSON, text and HTML."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.bundle import BundleFiles
    from analyzer.engine import Finding, Skipped
    from analyzer.model import Baseline, Bundle, FormatNote, Manifest
    from rules import Rule, Severity

__all__ = ["AnalysisResult", "analyze_bundle"]


@dataclass(frozen=True, slots=True)
class CollectionError:
    path: str | None
    input: str | None
    status: str
    error: str | None


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Everything a report shows; JSON (`analyzer.report.json`) and HTML render this same object."""

    manifest: Manifest
    now: datetime
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    baselines: tuple[Baseline, ...]
    collection_errors: tuple[CollectionError, ...]
    rules: tuple[Rule, ...]
    bundle_path: str | None = None
    format_notes: tuple[tuple[str, FormatNote], ...] = ()  # (ztunnel, note): dump fields not expected

    def counts(self) -> dict[str, int]:
        from rules import Severity

        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out

    def has_at_least(self, severity: Severity | None) -> bool:
        """True when a finding is at least this severe (None = never)."""
        return severity is not None and any(f.severity.at_least(severity) for f in self.findings)

    def summary_line(self) -> str:
        c = self.counts()
        return (
            f"{len(self.findings)} finding(s): {c['error']} error, {c['warning']} warning, {c['info']} info; "
            f"{len(self.skipped)} rule(s) skipped"
        )


def _collection_errors(manifest: Manifest) -> tuple[CollectionError, ...]:
    from analyzer.model import Status

    out = [
        CollectionError(a.path, a.input.value, a.status.value, a.error)
        for a in manifest.artifacts.values()
        if a.status is not Status.OK
    ]
    out += [CollectionError(None, None, "error", e) for e in manifest.errors]
    return tuple(sorted(out, key=lambda e: (e.path or "", e.status)))


def analyze_bundle(
    bundle: Bundle | BundleFiles,
    now: datetime | None = None,
    disabled: Iterable[str] = (),
    extra_rules_dir: Path | None = None,
) -> AnalysisResult:
    """Run every rule (plus `extra_rules_dir`'s) over the bundle and collect the result."""
    import rules as rules_pkg
    from analyzer.bundle import BundleFiles
    from analyzer.engine import run_rules
    from analyzer.load import load_bundle

    model = load_bundle(bundle) if isinstance(bundle, BundleFiles) else bundle
    if now is not None:
        model = dataclasses.replace(model, now_override=now)
    extra = rules_pkg.load_dir(extra_rules_dir) if extra_rules_dir else ()
    all_rules = rules_pkg.combined(extra)
    findings, skipped = run_rules(model, all_rules, disabled)
    baselines = tuple(model.baseline_for(z) for z in model.ztunnels)
    return AnalysisResult(
        manifest=model.manifest,
        now=model.now,
        findings=tuple(findings),
        skipped=tuple(skipped),
        baselines=baselines,
        collection_errors=_collection_errors(model.manifest),
        rules=all_rules,
        bundle_path=str(bundle.path) if isinstance(bundle, BundleFiles) else None,
        format_notes=tuple((z.name, n) for z in model.ztunnels for n in z.format_notes),
    )
