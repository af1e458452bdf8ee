"""Choose istiod's expected state for each ztunnel: its per-proxy dump, else ambientz.

istiod up to 1.24 answers `/debug/config_dump?proxyID=<ztunnel>` with the workloads and services it
sends that ztunnel; from 1.25 that dump's workload part is empty and `/debug/ambientz` holds the
mesh-wide state, with the ztunnel's policies still in its per-proxy WADS dump (`types=WADS`).
"""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.model.istiod import Baseline, BaselineKind, Istiod
from analyzer.model.xds import XdsState
from analyzer.model.ztunnel import Ztunnel


def choose_baseline(istiods: Sequence[Istiod], ztunnel: Ztunnel) -> Baseline:
    """The per-proxy WDS dump when istiod returned one (≤1.24); else ambientz + per-proxy WADS policies."""
    views = [(i, i.views[ztunnel.name]) for i in istiods if ztunnel.name in i.views]
    for istiod, view in views:
        if view.available:
            evidence = (view.path,) + ((view.policies_path,) if view.policies_path else ())
            return Baseline(ztunnel.name, BaselineKind.PROXY_CONFIG, istiod.name, view.xds, evidence)
    # Prefer the replica the ztunnel is attached to (its WADS view exists), then any with ambientz.
    attached = [i for i, v in views if v.policies_available] + [i for i, _ in views]
    seen = {id(i) for i in attached}
    candidates = attached + [i for i in istiods if id(i) not in seen]
    for istiod in candidates:
        if istiod.ambientz is None:
            continue
        own = istiod.views.get(ztunnel.name)
        policies = istiod.ambientz
        sources: tuple[str, ...] = (istiod.ambientz_path or "",)
        if own is not None and own.policies_available:
            policies = own.xds
            sources += (own.policies_path or "",)
        xds = XdsState(
            istiod.ambientz.workloads,
            istiod.ambientz.services,
            policies.policies,
            istiod.ambientz.workload_hashes,
            istiod.ambientz.service_hashes,
            policies.policy_hashes,
        )
        note = (own.reason if own is not None else None) or (
            views[0][1].reason if views else "no per-proxy dump for this ztunnel"
        )
        return Baseline(ztunnel.name, BaselineKind.AMBIENTZ, istiod.name, xds, sources, note)
    reason = (
        "; ".join(f"{i.name}: {v.reason}" for i, v in views) or "no istiod view of this ztunnel collected"
    )
    return Baseline(ztunnel.name, BaselineKind.NONE, None, None, (), reason)
