"""The traffic section: HBONE seen per ambient workload and each service's spread over its endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.model import Bundle
    from analyzer.views.traffic import Traffic

__all__ = ["traffic_section"]


def traffic_section(model: Bundle) -> Traffic | None:
    """What the ztunnel access logs show (`ztbundle traffic`); None when no ztunnel log was collected."""
    from analyzer.model import Component
    from analyzer.views.traffic import traffic

    if not model.logs_of(Component.ZTUNNEL):
        return None
    return traffic(model)
