"""Offline analysis: bundle → model → findings → one `AnalysisResult` for JSON, text and HTML."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

# `import analyzer.errors` runs this file for every command, `--help` too: the engine, the model and
# the loader are imported where they are used so a command that does not analyse never loads them.
if TYPE_CHECKING:
    from analyzer.bundle import BundleFiles
    from analyzer.findings import Finding, Rule, Severity, Skipped
    from analyzer.incidents import Incident
    from analyzer.model import Baseline, Bundle, FormatNote, Manifest
    from analyzer.sections.collection import CollectionError
    from analyzer.sections.nodes import NodeGrid
    from analyzer.sections.rule_docs import RuleDoc
    from analyzer.sections.ztunnels import ZtunnelSummary
    from analyzer.views.metrics import L4Metrics
    from analyzer.views.traffic import Observed, Traffic

__all__ = ["AnalysisResult", "analyze_bundle", "analyze_findings", "with_sections"]


def _empty_grid() -> NodeGrid:
    from analyzer.sections.nodes import NodeGrid  # not at import: `ztbundle --help` imports this package

    return NodeGrid()


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Everything a report shows; JSON (`analyzer.report.json`), text and HTML render this same object.

    The sections beside the findings (`nodes`, `ztunnels`, `traffic`, `metrics`, `rule_docs`) are
    computed from the model by `analyzer.sections` (`analyze_bundle`), so no renderer needs the model;
    `analyze_findings` leaves them empty for commands that show no report.
    """

    manifest: Manifest
    now: datetime
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    baselines: tuple[Baseline, ...]
    collection_errors: tuple[CollectionError, ...]
    rules: tuple[Rule, ...]
    bundle_path: str | None = None
    nodes: NodeGrid = field(default_factory=_empty_grid)
    ztunnels: tuple[ZtunnelSummary, ...] = ()
    traffic: Traffic | None = None  # None: no ztunnel access log in the bundle
    metrics: L4Metrics | None = None  # None: no ztunnel /metrics in the bundle
    rule_docs: tuple[RuleDoc, ...] = ()
    incidents: tuple[Incident, ...] = ()
    format_notes: tuple[tuple[str, FormatNote], ...] = ()  # (ztunnel, note): dump fields not expected

    def counts(self) -> dict[str, int]:
        from analyzer.findings import Severity

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
            f"{len(self.incidents)} incident(s) from {len(self.findings)} finding(s): "
            f"{c['error']} error, {c['warning']} warning, {c['info']} info; "
            f"{len(self.skipped)} rule(s) skipped"
        )

    def rule(self, code: str) -> Rule | None:
        """The rule that produced findings with this code (None for the engine's own codes)."""
        return next((r for r in self.rules if r.code == code), None)


def _metrics_texts(files: BundleFiles, model: Bundle) -> dict[str, str]:
    """Each ztunnel's collected `/metrics` text (the model does not hold metrics)."""
    from ztbundle import layout

    out = {}
    for zt in model.ztunnels:
        member = layout.ztunnel_metrics(zt.name)
        if files.has(member):
            out[zt.name] = files.text(member)
    return out


def with_sections(
    result: AnalysisResult,
    model: Bundle,
    from_logs: tuple[Observed | None, L4Metrics | None] | None = None,
) -> AnalysisResult:
    """The result with every report section computed from the model and the result's findings.

    `from_logs`: what `_from_logs` read of the bundle's files (the access logs' counts, which the
    traffic section then completes, and the L4 section); without it the L4 section stays empty, as
    the model holds no metrics.
    """
    from analyzer.sections.nodes import node_grid
    from analyzer.sections.rule_docs import rule_docs
    from analyzer.sections.traffic import traffic_section
    from analyzer.sections.ztunnels import ztunnel_summaries

    r = result
    seen, metrics = from_logs if from_logs is not None else (None, None)
    return dataclasses.replace(
        r,
        nodes=node_grid(model, r.findings, r.rules, r.baselines, r.skipped, r.now),
        ztunnels=ztunnel_summaries(model, r.findings, r.now),
        traffic=traffic_section(model, seen),
        metrics=metrics,
        rule_docs=rule_docs(r.rules, r.findings),
    )


def _from_logs(files: BundleFiles) -> tuple[Observed | None, L4Metrics | None]:
    """What the report reads from the ztunnels' access logs and /metrics texts, from the bundle's
    index (`load_index`: the pod list and the logs, no dump parsed): the rules' findings and the
    dumps play no part in it, so `analyze_bundle` computes it beside them."""
    from analyzer.load import load_index
    from analyzer.sections.metrics import l4_section
    from analyzer.sections.traffic import observed_traffic

    index = load_index(files)
    return observed_traffic(index), l4_section(_metrics_texts(files, index))


def analyze_findings(
    bundle: Bundle | BundleFiles,
    rules: Sequence[Rule],
    now: datetime | timedelta | None = None,
    disabled: Iterable[str] = (),
    bundle_path: str | None = None,
) -> AnalysisResult:
    """Findings and incidents only: run `rules` (the caller discovers them: `rules.combined()`) over
    the bundle. The report sections stay empty; commands that show no report (`trace`, `diff`) use
    this and skip their cost (the traffic section alone reads every ztunnel's access log).
    """
    return _analyze(bundle, rules, now, disabled, bundle_path)[0]


def analyze_bundle(
    bundle: Bundle | BundleFiles,
    rules: Sequence[Rule],
    now: datetime | timedelta | None = None,
    disabled: Iterable[str] = (),
    bundle_path: str | None = None,
) -> AnalysisResult:
    """The whole report: `analyze_findings` plus every report section (`with_sections`).

    Given `BundleFiles`, the result also carries the ztunnels' L4 metrics (they are not in the model).
    """
    from analyzer.aside import Aside
    from analyzer.bundle import BundleFiles
    from analyzer.gc_pause import no_cycle_collection

    with no_cycle_collection():  # the model, the findings and the sections all live until the report
        if not isinstance(bundle, BundleFiles):
            model = _model(bundle, now)
            return with_sections(_result(model, bundle, rules, disabled, bundle_path), model)
        # Reading every access log and /metrics text is a quarter of a big bundle's analysis, and it
        # needs only the pod list: a second process does it from the bundle's index while this one
        # loads the dumps and runs the rules (same result, see `analyzer.aside`).
        with Aside(lambda: _from_logs(bundle)) as from_logs:
            model = _model(bundle, now)
            result = _result(model, bundle, rules, disabled, bundle_path)
            return with_sections(result, model, from_logs.result())


def _analyze(
    bundle: Bundle | BundleFiles,
    rules: Sequence[Rule],
    now: datetime | timedelta | None,
    disabled: Iterable[str],
    bundle_path: str | None,
) -> tuple[AnalysisResult, Bundle]:
    """The result without sections, and the model it was computed from."""
    model = _model(bundle, now)
    return _result(model, bundle, rules, disabled, bundle_path), model


def _model(bundle: Bundle | BundleFiles, now: datetime | timedelta | None) -> Bundle:
    """The loaded model, its clock set to `now` (a time, or an offset from the collection time)."""
    from analyzer.bundle import BundleFiles
    from analyzer.load import load_bundle

    model = load_bundle(bundle) if isinstance(bundle, BundleFiles) else bundle
    if isinstance(now, timedelta):  # an offset from the collection time (`--now +30d`)
        now = model.manifest.collected_at + now
    if now is not None:
        model = dataclasses.replace(model, now_override=now)
    return model


def _result(
    model: Bundle,
    bundle: Bundle | BundleFiles,
    rules: Sequence[Rule],
    disabled: Iterable[str],
    bundle_path: str | None,
) -> AnalysisResult:
    """Run the rules over the model and group their findings into incidents."""
    from analyzer.bundle import BundleFiles
    from analyzer.engine import run_rules
    from analyzer.incidents import group, topology_of
    from analyzer.sections.collection import collection_errors

    findings, skipped = run_rules(model, rules, disabled)
    bundle_path = bundle_path or (str(bundle.path) if isinstance(bundle, BundleFiles) else None)
    grouped = group(findings, rules, topology_of(model), bundle_path or "BUNDLE")
    baselines = tuple(model.baseline_for(z) for z in model.ztunnels)
    result = AnalysisResult(
        manifest=model.manifest,
        now=model.now,
        findings=grouped.findings,
        incidents=grouped.incidents,
        skipped=tuple(skipped),
        baselines=baselines,
        collection_errors=collection_errors(model.manifest),
        rules=tuple(rules),
        bundle_path=bundle_path,
        format_notes=tuple((z.name, n) for z in model.ztunnels for n in z.format_notes),
    )
    return result
