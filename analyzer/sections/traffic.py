"""The traffic section: HBONE seen per ambient workload and each service's spread over its endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.model import Bundle
    from analyzer.views.traffic import Observed, Traffic

__all__ = ["observed_traffic", "traffic_section"]


def traffic_section(model: Bundle, seen: Observed | None = None) -> Traffic | None:
    """What the ztunnel access logs show (`ztbundle traffic`); None when no ztunnel log was collected.

    `seen`: `observed_traffic` of this bundle, when already computed.
    """
    from analyzer.model import Component
    from analyzer.views.traffic import traffic

    if not model.logs_of(Component.ZTUNNEL):
        return None
    return traffic(model, seen=seen)


def observed_traffic(model: Bundle) -> Observed | None:
    """The part of the section read from the logs and pod list alone (`analyzer.views.traffic.observed`)."""
    from analyzer.model import Component
    from analyzer.views.traffic import observed

    return observed(model) if model.logs_of(Component.ZTUNNEL) else None
