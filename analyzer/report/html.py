"""The self-contained HTML report: jinja2 over the same `AnalysisResult` the JSON contract renders.

One file, no network: inline CSS, inline JS (allowed by its sha256 in a strict CSP), inline SVG.
Every bundle string reaches the page through autoescaped `{{ }}`; the only `Markup` is our own
static script. The node grid and per-ztunnel tables need the typed model, so `render` takes it
optionally (else `result.model` if the result carries one); without it those sections say so.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult
    from analyzer.findings import Finding, Rule, Skipped
    from analyzer.model import Baseline, Bundle, Ztunnel
    from analyzer.views.metrics import L4Metrics

__all__ = ["WORKLOAD_ROWS", "render", "script_hash"]

WORKLOAD_ROWS = 300
"""Local workload rows shown per ztunnel, so one crowded node cannot make the page unopenable."""

_SCRIPT = "report.js"


class Tone(StrEnum):
    OK = "ok"
    WARN = "warn"
    BAD = "bad"
    UNKNOWN = "unknown"


_WORSE = {Tone.UNKNOWN: 0, Tone.OK: 1, Tone.WARN: 2, Tone.BAD: 3}


@dataclass(frozen=True, slots=True)
class Cell:
    tone: Tone
    text: str
    title: str


@dataclass(frozen=True, slots=True)
class GridRow:
    node: str
    cells: tuple[Cell, ...]


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


@dataclass(frozen=True, slots=True)
class RuleGroup:
    code: str
    name: str
    severity: str
    fix: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class WorkloadRow:
    namespace: str
    pod: str
    address: str
    node: str
    waypoint: str
    protocol: str


@dataclass(frozen=True, slots=True)
class CertRow:
    identity: str
    state: str
    valid: str
    not_before: str
    not_after: str
    tone: Tone


@dataclass(frozen=True, slots=True)
class ZtunnelView:
    name: str
    namespace: str
    node: str
    ready: bool
    version: str
    problem: str | None
    workloads: tuple[WorkloadRow, ...]  # those on the ztunnel's node, at most WORKLOAD_ROWS
    hidden_workloads: int
    total_workloads: int
    config_dump_path: str
    certificates: tuple[CertRow, ...]
    findings: int


# --- rule documentation ---------------------------------------------------------------------


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


def _rule_docs(rules: Sequence[Rule], findings: Iterable[Finding]) -> tuple[RuleDoc, ...]:
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
    for f in findings:  # ZT901 and the like have no module; keep every finding's link target real
        if f.code not in known:
            known.add(f.code)
            fix = "Report this to the ztbundle maintainers with the bundle; the other rules still ran."
            docs.append(RuleDoc(f.code, f.rule, f.severity.value, (), DocSections(f.rule, "", "", fix)))
    return tuple(sorted(docs, key=lambda d: d.code))


def _groups(findings: Sequence[Finding], docs: Sequence[RuleDoc]) -> dict[str, list[RuleGroup]]:
    from analyzer.findings import Severity

    fixes = {d.code: d.doc.fix for d in docs}
    out: dict[str, list[RuleGroup]] = {s.value: [] for s in Severity}
    by_rule: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:  # already sorted (severity, code, subject) by the engine
        by_rule.setdefault((f.severity.value, f.code), []).append(f)
    for (sev, code), group in by_rule.items():
        out[sev].append(RuleGroup(code, group[0].rule, sev, fixes.get(code, ""), tuple(group)))
    return out


# --- node coverage grid ---------------------------------------------------------------------

COLUMNS = ("ztunnel ready", "istio-cni ready", "pods Up", "certificates valid", "in sync with istiod")
# Code prefixes whose findings colour each column (1xx workloads, 2xx certs, 3xx redirection, 4xx xDS,
# 5xx health). ZT103 covers both DaemonSets, so its message decides which column it names.
_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("ZT103", "ZT501", "ZT502", "ZT503"),
    ("ZT103", "ZT303"),
    ("ZT1", "ZT301", "ZT302"),
    ("ZT2",),
    ("ZT4",),
)
_ZT103_WORD = ("ztunnel", "istio-cni")


def _findings_by_node(
    findings: Iterable[Finding], ztunnel_node: Mapping[str, str]
) -> dict[str, list[Finding]]:
    """Findings per node they name: by `node`, a `Node` subject, or a ztunnel living there."""
    out: dict[str, list[Finding]] = {}
    for f in findings:
        named = {f.node, f.subject.name if f.subject.kind == "Node" else None}
        for zt in (f.ztunnel, f.subject.name if f.subject.kind == "Ztunnel" else None):
            named.add(ztunnel_node.get(zt or ""))
        for node in named - {None, ""}:
            out.setdefault(str(node), []).append(f)
    return out


def _family_hits(column: int, findings: Iterable[Finding]) -> list[Finding]:
    out = []
    for f in findings:
        if not f.code.startswith(_FAMILIES[column]):
            continue
        if f.code == "ZT103" and (column >= len(_ZT103_WORD) or _ZT103_WORD[column] not in f.message):
            continue
        out.append(f)
    return out


def _escalate(cell: Cell, hits: Sequence[Finding]) -> Cell:
    if not hits:
        return cell
    codes = ", ".join(sorted({f.code for f in hits}))
    title = f"{cell.title}; findings: {codes}" if cell.title else f"findings: {codes}"
    severities = {f.severity.value for f in hits}
    if severities == {"info"}:
        return Cell(cell.tone, cell.text, title)  # worth knowing, not a reason to colour the node
    tone = Tone.BAD if "error" in severities else Tone.WARN
    if _WORSE[tone] <= _WORSE[cell.tone] and cell.tone is not Tone.UNKNOWN:
        tone = cell.tone
    # Counts ("1/2") stay informative when escalated; words ("in sync", "ready", "?") would now lie.
    text = cell.text if tone is cell.tone or "/" in cell.text else codes
    return Cell(tone, text, title)


def _unknown(reason: str) -> Cell:
    return Cell(Tone.UNKNOWN, "?", reason)


def _ready_cell(pods: Sequence[Any], what: str, skip: str | None) -> Cell:
    if skip:
        return Cell(Tone.UNKNOWN, "n/a", skip)
    if not pods:
        return Cell(Tone.BAD, "none", f"no {what} pod on this node")
    live = [p for p in pods if not p.deleting]
    ready = [p for p in live if p.ready]
    names = ", ".join(p.name for p in pods)
    if ready:
        return Cell(Tone.OK, "ready", names)
    return Cell(Tone.BAD, "not ready", f"{names}: {pods[0].phase} but not ready")


def _pods_cell(zt: Ztunnel | None, ambient_uids: set[str]) -> Cell:
    if zt is None:
        return _unknown("no ztunnel on this node")
    if not zt.available:
        return _unknown(f"config_dump not available: {zt.unavailable_reason or 'unknown reason'}")
    state = zt.workload_state
    if state is None:
        return _unknown("no workloadState in the config_dump (not in-pod mode, or an older ztunnel)")
    expected = ambient_uids | set(state)
    up = sum(1 for s in state.values() if s.state == "Up")
    tone = Tone.OK if up == len(expected) else Tone.WARN
    title = f"{up} of {len(expected)} ambient pods on this node are Up in {zt.name}'s workloadState"
    return Cell(tone, f"{up}/{len(expected)}", title)


def _cert_cell(zt: Ztunnel | None, now: datetime) -> Cell:
    if zt is None:
        return _unknown("no ztunnel on this node")
    if not zt.available:
        return _unknown(f"config_dump not available: {zt.unavailable_reason or 'unknown reason'}")
    rows = [_cert_row(c, now) for c in zt.certificates]
    if not rows:
        return Cell(Tone.UNKNOWN, "none", "no certificates in the config_dump (no local workloads yet?)")
    bad = [r for r in rows if r.tone is not Tone.OK]
    if not bad:
        return Cell(Tone.OK, f"{len(rows)}/{len(rows)}", "every certificate Available and within validity")
    tone = Tone.BAD if any(r.tone is Tone.BAD for r in bad) else Tone.WARN
    title = "; ".join(f"{r.identity}: {r.state}, valid {r.valid}" for r in bad)
    return Cell(tone, f"{len(rows) - len(bad)}/{len(rows)}", title)


def _sync_cell(zt: Ztunnel | None, base: Baseline | None, drift_skipped: Sequence[Skipped]) -> Cell:
    if zt is None:
        return _unknown("no ztunnel on this node")
    if base is None or base.kind.value == "none":
        return _unknown(f"no istiod baseline: {base.note if base else 'not computed'}")
    if drift_skipped:
        return _unknown("drift rules skipped: " + "; ".join(f"{s.code} {s.reason}" for s in drift_skipped))
    return Cell(Tone.OK, "in sync", f"no drift findings against {base.kind.value} of {base.istiod}")


def _grid(result: AnalysisResult, model: Bundle | None) -> tuple[GridRow, ...]:
    if model is None:
        by_node = _findings_by_node(result.findings, {})
        blank = _unknown("model not passed to the report")
        return tuple(
            GridRow(n, tuple(_escalate(blank, _family_hits(i, hits)) for i in range(len(COLUMNS))))
            for n, hits in sorted(by_node.items())
        )
    ambient: dict[str, set[str]] = {}
    for pod in model.ambient_pods():  # once, not once per node: this is the grid's only O(pods) pass
        ambient.setdefault(pod.node or "", set()).add(pod.uid)
    by_node = _findings_by_node(result.findings, {z.name: z.node for z in model.ztunnels if z.node})
    by_name = {n.name: n for n in model.nodes}
    baselines = {b.ztunnel: b for b in result.baselines}
    drift_skipped = [s for s in result.skipped if s.code.startswith("ZT4")]
    rows = []
    for name in sorted(set(by_name) | {z.node for z in model.ztunnels if z.node}):
        node = by_name.get(name)
        skip = None
        if node is not None and (node.virtual or node.os != "linux"):
            skip = f"{'virtual' if node.virtual else node.os} node: the DaemonSets do not run here"
        zts = model.ztunnels_on(name)
        zt = zts[0] if zts else None
        cni = [p for p in model.pods_on(name) if p.labels.get("k8s-app") == "istio-cni-node"]
        cells = [
            _ready_cell([z.pod for z in zts if z.pod], "ztunnel", skip),
            _ready_cell(cni, "istio-cni", skip),
            _pods_cell(zt, ambient.get(name, set())),
            _cert_cell(zt, result.now),
            _sync_cell(zt, baselines.get(zt.name) if zt else None, drift_skipped),
        ]
        hits = by_node.get(name, [])
        rows.append(GridRow(name, tuple(_escalate(c, _family_hits(i, hits)) for i, c in enumerate(cells))))
    return tuple(rows)


# --- per-ztunnel tables ---------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def _cert_row(cert: Any, now: datetime) -> CertRow:
    leaf = cert.leaf
    state = cert.state.value + (f": {cert.state_error}" if cert.state_error else "")
    if cert.state.value != "Available" or leaf is None:
        tone = Tone.WARN if cert.state.value == "Initializing" else Tone.BAD
        return CertRow(cert.identity, state, "false", "-", "-", tone)
    valid = (leaf.valid_from is None or leaf.valid_from <= now) and (
        leaf.expires is None or now < leaf.expires
    )
    tone = Tone.OK if valid else Tone.BAD
    return CertRow(
        cert.identity, state, str(valid).lower(), _when(leaf.valid_from), _when(leaf.expires), tone
    )


def _ztunnels(result: AnalysisResult, model: Bundle | None) -> tuple[ZtunnelView, ...]:
    if model is None:
        return ()
    hits = Counter(f.ztunnel or f.subject.name for f in result.findings)
    out = []
    for zt in sorted(model.ztunnels, key=lambda z: (z.node or "", z.name)):
        # Only the ztunnel's own node: every ztunnel holds the whole mesh, so listing it all would
        # repeat one 20k-row table per node. The full table is the config_dump in the bundle.
        workloads = sorted(model.workloads_on(zt, zt.node), key=lambda w: (w.namespace, w.name))
        rows = tuple(
            WorkloadRow(
                w.namespace, w.name, ",".join(w.ips) or "None", w.node or "", w.waypoint or "None", w.protocol
            )
            for w in workloads[:WORKLOAD_ROWS]
        )
        certs = tuple(_cert_row(c, result.now) for c in zt.certificates)
        problem = None if zt.available else f"config_dump not available: {zt.unavailable_reason}"
        out.append(
            ZtunnelView(
                zt.name,
                zt.namespace,
                zt.node or "-",
                zt.ready,
                zt.version or "unknown",
                problem,
                rows,
                max(0, len(workloads) - WORKLOAD_ROWS),
                len(zt.workloads),
                zt.config_dump_path,
                certs,
                hits[zt.name],
            )
        )
    return tuple(out)


# --- traffic and L4 metrics (views, analyzer/views) -------------------------------------------

BAR_WIDTH = 240


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    count: int
    width: int  # px of BAR_WIDTH, proportional to the service's busiest endpoint
    y: int


@dataclass(frozen=True, slots=True)
class ServiceChart:
    service: str
    verdict: str
    p_value: str
    total: int
    bars: tuple[Bar, ...]
    height: int


def _traffic(model: Bundle | None) -> Any:
    """Per-workload HBONE evidence and per-service bar charts from the access logs (None: no logs)."""
    from analyzer.model import Component
    from analyzer.views import traffic

    if model is None or not model.logs_of(Component.ZTUNNEL):
        return None
    t = traffic.traffic(model)
    charts = []
    for s in t.services:
        top = max((c for _, c in s.counts), default=0) or 1
        bars = tuple(
            Bar(label, count, round(BAR_WIDTH * count / top), 4 + 22 * i)
            for i, (label, count) in enumerate(s.counts)
        )
        p = "-" if s.p_value is None else f"{s.p_value:.2g}"
        charts.append(ServiceChart(s.service, s.verdict.value, p, s.total, bars, 8 + 22 * len(bars)))
    return {"workloads": t.workloads, "services": tuple(charts), "records": t.records}


def view_link(f: Finding) -> tuple[str, str] | None:
    """(anchor, label) of the report section that shows a finding's evidence, if any."""
    if f.code.startswith("ZT6"):
        return ("#traffic", "traffic")
    if f.ztunnel and f.code.startswith("ZT2"):
        return (f"#ztunnel-{f.ztunnel}", "certificates")
    if f.ztunnel and f.code[:3] in ("ZT1", "ZT4", "ZT5"):
        return (f"#ztunnel-{f.ztunnel}", "ztunnel tables")
    return None


# --- page -----------------------------------------------------------------------------------


def verdict(result: AnalysisResult) -> tuple[str, Tone]:
    """The one-line verdict ("3 errors, 2 warnings") and its tone."""
    c = result.counts()
    parts = [f"{n} {sev}{'' if n == 1 else 's'}" for sev, n in c.items() if n]
    if c["error"]:
        return ", ".join(parts), Tone.BAD
    if c["warning"]:
        return ", ".join(parts), Tone.WARN
    text = ", ".join(parts) if parts else "No problems found"
    return text, Tone.UNKNOWN if result.skipped or not result.manifest.complete else Tone.OK


def _visible(value: object) -> object:
    """Show control and bidi-override characters of bundle text as escapes (our own Markup passes)."""
    from markupsafe import Markup

    from analyzer.text import printable

    if isinstance(value, Markup) or value is None or isinstance(value, int | float):
        return value
    return printable(str(value))  # objects such as a finding's subject print via __str__


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("analyzer", "report/templates"),
        autoescape=True,
        finalize=_visible,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def script_hash(script: str) -> str:
    """The base64 sha256 that CSP `script-src 'sha256-…'` needs to allow exactly this inline script."""
    return base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def render(result: AnalysisResult, model: Bundle | None = None, metrics: L4Metrics | None = None) -> str:
    """Render the report page; pass the model to fill the node grid and ztunnel tables.

    `metrics` (from `analyzer.views.metrics.l4_metrics`) adds the L4 metrics table.
    """
    from markupsafe import Markup

    from analyzer.findings import Severity

    model = model if model is not None else getattr(result, "model", None)
    env = _environment()
    script = env.get_template(_SCRIPT).render()
    docs = _rule_docs(result.rules, result.findings)
    text, tone = verdict(result)
    return str(
        env.get_template("report.html.j2").render(
            r=result,
            m=result.manifest,
            verdict=text,
            tone=tone.value,
            counts=result.counts(),
            severities=[s.value for s in Severity],
            groups=_groups(result.findings, docs),
            columns=COLUMNS,
            grid=_grid(result, model),
            have_model=model is not None,
            ztunnels=_ztunnels(result, model),
            docs=docs,
            trimmed=sorted(result.manifest.trimmed),
            when=_when,
            traffic=_traffic(model),
            metrics=metrics,
            view_link=view_link,
            bar_width=BAR_WIDTH,
            csp_script=script_hash(script),
            # Our own static asset, never bundle data; its hash is what the CSP allows.
            script=Markup(script),
        )
    )
