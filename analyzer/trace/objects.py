"""The one adapter between the trace and the Istio / NetworkPolicy objects of the cluster.

A bundle carries typed `authorization_policies`, `network_policies` and `gateways`; a check that
needs a kind the bundle did not collect (an older bundle, a refused list, an istioctl bug-report)
says `unknown: not collected` instead of judging an empty list.
"""

from __future__ import annotations

from typing import Any

from analyzer.model import Bundle, Input

_INPUTS = {
    "authorization_policies": Input.AUTHORIZATION_POLICIES,
    "network_policies": Input.NETWORK_POLICIES,
    "gateways": Input.GATEWAYS,
}


def collected_objects(bundle: Bundle, accessor: str) -> tuple[Any, ...] | None:
    """The bundle's `accessor` objects, or None when the bundle did not collect that kind."""
    if not bundle.availability(_INPUTS[accessor]).ok:
        return None
    value = getattr(bundle, accessor)
    return tuple(value() if callable(value) else value)
