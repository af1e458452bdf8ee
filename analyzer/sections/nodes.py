"""The node grid: per node, is its ztunnel and istio-cni ready, are its pods Up, certificates valid, in sync.

A cell starts from what the model shows and is then coloured by the findings of the rules that
declare its column (`Rule.grid_columns`). A rule that declares several columns (one finding about
"ztunnel or istio-cni") colours only the columns whose own observation is not already fine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from analyzer.sections import Tone
from analyzer.sections.ztunnels import cert_row

if TYPE_CHECKING:
    from analyzer.findings import Finding, Rule, Skipped
    from analyzer.model import Baseline, Bundle, Pod, Ztunnel

__all__ = ["Cell", "Column", "NodeGrid", "NodeRow", "node_grid"]


class Column(StrEnum):
    """A grid column; the values are what `Rule.grid_columns` declares."""

    ZTUNNEL = "ztunnel"
    CNI = "cni"
    PODS = "pods"
    CERTIFICATES = "certificates"
    XDS = "xds"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Column.ZTUNNEL: "ztunnel ready",
    Column.CNI: "istio-cni ready",
    Column.PODS: "pods Up",
    Column.CERTIFICATES: "certificates valid",
    Column.XDS: "in sync with istiod",
}
_WORSE = {Tone.UNKNOWN: 0, Tone.OK: 1, Tone.WARN: 2, Tone.BAD: 3}


@dataclass(frozen=True, slots=True)
class Cell:
    tone: Tone
    text: str
    title: str  # why the cell reads as it does, and the codes of the findings that coloured it


@dataclass(frozen=True, slots=True)
class NodeRow:
    node: str
    cells: tuple[Cell, ...]  # one per `NodeGrid.columns`


@dataclass(frozen=True, slots=True)
class NodeGrid:
    columns: tuple[Column, ...] = tuple(Column)
    rows: tuple[NodeRow, ...] = ()


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


def _ready_cell(pods: Sequence[Pod], what: str, skip: str | None) -> Cell:
    if skip:
        return Cell(Tone.UNKNOWN, "n/a", skip)
    if not pods:
        return Cell(Tone.BAD, "none", f"no {what} pod on this node")
    ready = [p for p in pods if not p.deleting and p.ready]
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
    rows = [cert_row(c, now) for c in zt.certificates]
    if not rows:
        return Cell(Tone.UNKNOWN, "none", "no certificates in the config_dump (no local workloads yet?)")
    bad = [r for r in rows if r.tone is not Tone.OK]
    if not bad:
        return Cell(Tone.OK, f"{len(rows)}/{len(rows)}", "every certificate Available and within validity")
    tone = Tone.BAD if any(r.tone is Tone.BAD for r in bad) else Tone.WARN
    title = "; ".join(f"{r.identity}: {r.state}, valid {str(r.valid).lower()}" for r in bad)
    return Cell(tone, f"{len(rows) - len(bad)}/{len(rows)}", title)


def _sync_cell(zt: Ztunnel | None, base: Baseline | None, drift_skipped: Sequence[Skipped]) -> Cell:
    if zt is None:
        return _unknown("no ztunnel on this node")
    if base is None or base.kind.value == "none":
        return _unknown(f"no istiod baseline: {base.note if base else 'not computed'}")
    if drift_skipped:
        return _unknown("drift rules skipped: " + "; ".join(f"{s.code} {s.reason}" for s in drift_skipped))
    return Cell(Tone.OK, "in sync", f"no drift findings against {base.kind.value} of {base.istiod}")


def _colour(
    cells: Sequence[Cell], hits: Sequence[Finding], declared: Mapping[str, frozenset[str]]
) -> list[Cell]:
    out = []
    for column, cell in zip(Column, cells, strict=True):
        mine = []
        for f in hits:
            columns = declared.get(f.code, frozenset())
            if column in columns and (len(columns) == 1 or cell.tone is not Tone.OK):
                mine.append(f)
        out.append(_escalate(cell, mine))
    return out


def node_grid(
    model: Bundle,
    findings: Sequence[Finding],
    rules: Iterable[Rule],
    baselines: Iterable[Baseline],
    skipped: Iterable[Skipped],
    now: datetime,
) -> NodeGrid:
    """One row per node that is listed or runs a ztunnel, in name order."""
    declared = {r.code: r.grid_columns for r in rules}
    ambient: dict[str, set[str]] = {}
    for pod in model.ambient_pods():  # once, not once per node: this is the grid's only O(pods) pass
        ambient.setdefault(pod.node or "", set()).add(pod.uid)
    by_node = _findings_by_node(findings, {z.name: z.node for z in model.ztunnels if z.node})
    by_name = {n.name: n for n in model.nodes}
    by_ztunnel = {b.ztunnel: b for b in baselines}
    drift_skipped = [s for s in skipped if Column.XDS in declared.get(s.code, frozenset())]
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
            _cert_cell(zt, now),
            _sync_cell(zt, by_ztunnel.get(zt.name) if zt else None, drift_skipped),
        ]
        rows.append(NodeRow(name, tuple(_colour(cells, by_node.get(name, []), declared))))
    return NodeGrid(tuple(Column), tuple(rows))
