"""The one adapter between the trace and the Istio / NetworkPolicy objects of the cluster.

Bundles gain typed `authorization_policies`, `network_policies` and `gateways` accessors once those
objects are collected; until a bundle has them, the checks that need them say `unknown: not collected`.
"""

from __future__ import annotations

from typing import Any

from analyzer.model import Bundle


def collected_objects(bundle: Bundle, accessor: str) -> tuple[Any, ...] | None:
    """The bundle's `accessor` objects, or None when this model or bundle does not carry them."""
    value = getattr(bundle, accessor, None)
    if value is None:
        return None
    got = value() if callable(value) else value
    return None if got is None else tuple(got)
