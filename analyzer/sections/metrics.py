"""The L4 metrics section: ztunnel's four TCP counters summed per workload (`ztbundle metrics`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.views.metrics import L4Metrics

__all__ = ["l4_section"]


def l4_section(texts: Mapping[str, str]) -> L4Metrics | None:
    """Totals from each ztunnel's `/metrics` text (ztunnel name → text); None when none was collected."""
    from analyzer.views.metrics import l4_metrics

    return l4_metrics(texts) if texts else None
