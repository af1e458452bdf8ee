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


_FIELD = {OPENED: 0, CLOSED: 1, SENT: 2, RECEIVED: 3}  # the order of L4Row's counters


def _add(
    sums: dict[tuple[str, str, str, str], list[float]], key: tuple[str, str, str, str], i: int, v: float
) -> None:
    counters = sums.get(key)
    if counters is None:
        counters = sums[key] = [0, 0, 0, 0]  # L4Row's defaults: a counter no sample names stays 0
    counters[i] += v


def l4_metrics(texts: Mapping[str, str]) -> L4Metrics:
    """Sum the L4 counters of each ztunnel's `/metrics` text (ztunnel name → text).

    The reporting workload is the source for `reporter="source"` and the destination for
    `reporter="destination"`; a connection between two pods of one node appears once per side.
    """
    rows: dict[tuple[str, str, str, str], list[float]] = {}
    totals: dict[tuple[str, str, str, str], list[float]] = {}
    malformed = []
    for zt, text in sorted(texts.items()):
        parsed = parse_metrics(text)
        if parsed.malformed:
            malformed.append((zt, parsed.malformed))
        for s in parsed.samples:
            i = _FIELD.get(s.name)
            if i is None:
                continue
            labels = dict(s.labels)
            reporter = labels.get("reporter") or "unknown"
            side = "source" if reporter == "source" else "destination"
            ns = labels.get(f"{side}_workload_namespace") or "unknown"
            wl = labels.get(f"{side}_workload") or "unknown"
            _add(rows, (zt, reporter, ns, wl), i, s.value)
            _add(totals, (zt, reporter, "*", "*"), i, s.value)
    return L4Metrics(
        tuple(L4Row(*k, *rows[k]) for k in sorted(rows)),
        tuple(L4Row(*k, *totals[k]) for k in sorted(totals)),
        tuple(malformed),
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
