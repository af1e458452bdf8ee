"""Helpers shared by the xDS drift rules (ZT401-ZT403); not a rule (the `_` prefix skips discovery)."""

from __future__ import annotations

from analyzer.model import Bundle, Input, Ztunnel
from analyzer.model.drift import Drift, skew_note
from rules import Hit

# Every drift rule compares a ztunnel with istiod's view, whichever form was collected
# (per-proxy dump and WADS, or ambientz), and ages pods from the pod list (guard: settle window).
DRIFT_NEEDS = frozenset(
    {
        Input.PODS,
        Input.ZTUNNEL_CONFIG,
        Input.ISTIOD_PROXY_CONFIG,
        Input.ISTIOD_PROXY_POLICIES,
        Input.ISTIOD_AMBIENTZ,
    }
)


def drift_fact(bundle: Bundle, ztunnel: Ztunnel, drift: Drift, what: str) -> str:
    """`<what> differ from <source>[ (dumps taken N s apart)]: <summary>`."""
    return f"{what} differ from {drift.source}{skew_note(bundle, ztunnel, drift.baseline)}: {drift.summary()}"


def drift_hit(bundle: Bundle, ztunnel: Ztunnel, drift: Drift, what: str) -> Hit:
    """The finding for one drifted table; evidence is both sides' dumps."""
    return Hit.on(
        ztunnel,
        f"{ztunnel.ref} {drift_fact(bundle, ztunnel, drift, what)}",
        evidence=(ztunnel.config_dump_path, *drift.baseline.evidence),
    )
