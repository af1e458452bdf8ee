"""The traffic section: per-service bar charts (inline SVG) and HBONE seen per ambient workload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer import AnalysisResult

TEMPLATE = "traffic.html.j2"

BAR_WIDTH = 240
LABEL_WIDTH = 360  # px for the endpoint name left of the bars
ROW = 22


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


def charts(result: AnalysisResult) -> tuple[ServiceChart, ...]:
    if result.traffic is None:
        return ()
    out = []
    for s in result.traffic.services:
        top = max((c for _, c in s.counts), default=0) or 1
        bars = tuple(
            Bar(label, count, round(BAR_WIDTH * count / top), 4 + ROW * i)
            for i, (label, count) in enumerate(s.counts)
        )
        p = "-" if s.p_value is None else f"{s.p_value:.2g}"
        out.append(ServiceChart(s.service, s.verdict.value, p, s.total, bars, 8 + ROW * len(bars)))
    return tuple(out)


def context(result: AnalysisResult) -> dict[str, Any]:
    return {
        "traffic": result.traffic,
        "charts": charts(result),
        "bar_x": LABEL_WIDTH,
        "chart_width": LABEL_WIDTH + BAR_WIDTH + 60,
    }
