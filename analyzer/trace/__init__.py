"""`ztbundle trace`: the path of one connection, hop by hop, read from a loaded model and its analysis.

One module per concern: `path` (resolve POD and TARGET), `source` (hops 1-2), `destination` (3-4),
`policy` (5), `destside` (6), `observed` (7 and the :15008 failures hop 6 reads), `explain` (the
findings behind each hop and the last line), `objects` (the one adapter to cluster objects a bundle
may not carry), `render` (text and JSON of the same `Trace`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from analyzer.trace.path import NotFound, resolve
from analyzer.trace.types import Check, Conclusion, Evidence, FindingRef, Hop, HopKey, Trace, Verdict

if TYPE_CHECKING:
    from analyzer import AnalysisResult
    from analyzer.model import Bundle

__all__ = [
    "Check",
    "Conclusion",
    "Evidence",
    "FindingRef",
    "Hop",
    "HopKey",
    "NotFound",
    "Trace",
    "Verdict",
    "trace",
]


def trace(
    bundle: Bundle,
    result: AnalysisResult,
    source: str,
    target: str,
    metrics: Mapping[str, str] | None = None,
) -> Trace:
    """Trace `source` (a pod) to `target` over `bundle`, explained by `result` (its analysis).

    `metrics` maps ztunnel pod names to their collected `/metrics` text (the model does not hold
    metrics). Raises NotFound when `source` or `target` names nothing in the bundle.
    """
    from analyzer.trace.destination import resolved, waypoint
    from analyzer.trace.destside import destination_side
    from analyzer.trace.explain import conclude, explain, scope_of
    from analyzer.trace.observed import observed
    from analyzer.trace.policy import policy
    from analyzer.trace.source import enrolled, identity

    path = resolve(bundle, source, target)
    # A destination outside ambient is reached in plaintext: no ztunnel of its own is on the path.
    dests = tuple((p, bundle.ztunnel_on(p.node) if bundle.is_ambient(p) else None) for p in path.destinations)
    dest_zts = tuple({z.name: z for _, z in dests if z is not None}.values())
    path_zts = tuple({z.name: z for z in ((path.ztunnel,) if path.ztunnel else ()) + dest_zts}.values())
    hops: tuple[Hop, ...] = (
        enrolled(bundle, path),
        identity(bundle, path, dest_zts),
        resolved(bundle, path),
        waypoint(bundle, path),
        policy(bundle, path, dests),
        destination_side(bundle, path, dests),
        observed(bundle, path, path_zts, metrics),
    )
    hops = explain(hops, result, scope_of(path, dests))
    return Trace(
        source=f"{path.source.namespace}/{path.source.name}",
        target=path.target.label,
        target_kind=path.target.kind,
        now=bundle.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        hops=hops,
        conclusion=conclude(hops),
    )
