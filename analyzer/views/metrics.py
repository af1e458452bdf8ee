"""The four L4 metrics ztunnel exports, summed per workload and per ztunnel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analyzer.parse.metrics import parse_metrics
from analyzer.views.table import Table

SENT = "istio_tcp_sent_bytes_total"
RECEIVED = "istio_tcp_received_bytes_total"
OPENED = "istio_tcp_connections_opened_total"
CLOSED = "istio_tcp_connections_closed_total"
L4 = (OPENED, CLOSED, SENT, RECEIVED)


@dataclass(frozen=True, slots=True)
class L4Row:
    """Totals of one (ztunnel, reporter, workload); workload `*` is the ztunnel's total for that reporter."""

    ztunnel: str
    reporter: str  # source | destination
    namespace: str
    workload: str
    opened: float = 0
    closed: float = 0
    sent: float = 0
    received: float = 0


@dataclass(frozen=True, slots=True)
class L4Metrics:
    workloads: tuple[L4Row, ...]
    ztunnels: tuple[L4Row, ...]
    malformed: tuple[tuple[str, int], ...]


def _add(row: L4Row, name: str, value: float) -> L4Row:
    from dataclasses import replace

    field = {OPENED: "opened", CLOSED: "closed", SENT: "sent", RECEIVED: "received"}[name]
    return replace(row, **{field: getattr(row, field) + value})


def l4_metrics(texts: Mapping[str, str]) -> L4Metrics:
    """Sum the L4 counters of each ztunnel's `/metrics` text (ztunnel name → text).

    The reporting workload is the source for `reporter="source"` and the destination for
    `reporter="destination"`; a connection between two pods of one node appears once per side.
    """
    rows: dict[tuple[str, str, str, str], L4Row] = {}
    totals: dict[tuple[str, str], L4Row] = {}
    malformed = []
    for zt, text in sorted(texts.items()):
        parsed = parse_metrics(text)
        if parsed.malformed:
            malformed.append((zt, parsed.malformed))
        for s in parsed.samples:
            if s.name not in L4:
                continue
            reporter = s.label("reporter") or "unknown"
            side = "source" if reporter == "source" else "destination"
            ns = s.label(f"{side}_workload_namespace") or "unknown"
            wl = s.label(f"{side}_workload") or "unknown"
            key = (zt, reporter, ns, wl)
            rows[key] = _add(rows.get(key) or L4Row(zt, reporter, ns, wl), s.name, s.value)
            tkey = (zt, reporter)
            totals[tkey] = _add(totals.get(tkey) or L4Row(zt, reporter, "*", "*"), s.name, s.value)
    return L4Metrics(
        tuple(rows[k] for k in sorted(rows)), tuple(totals[k] for k in sorted(totals)), tuple(malformed)
    )


def _n(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def workload_table(m: L4Metrics) -> Table:
    rows = tuple(
        (
            r.namespace,
            r.workload,
            r.reporter,
            r.ztunnel,
            _n(r.opened),
            _n(r.closed),
            _n(r.sent),
            _n(r.received),
        )
        for r in sorted(m.workloads, key=lambda r: (r.namespace, r.workload, r.reporter, r.ztunnel))
    )
    headers = (
        "NAMESPACE",
        "WORKLOAD",
        "REPORTER",
        "ZTUNNEL",
        "OPENED",
        "CLOSED",
        "SENT BYTES",
        "RECEIVED BYTES",
    )
    return Table(headers, rows)


def ztunnel_table(m: L4Metrics) -> Table:
    rows = tuple(
        (r.ztunnel, r.reporter, _n(r.opened), _n(r.closed), _n(r.sent), _n(r.received)) for r in m.ztunnels
    )
    return Table(("ZTUNNEL", "REPORTER", "OPENED", "CLOSED", "SENT BYTES", "RECEIVED BYTES"), rows)
