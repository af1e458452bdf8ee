"""A ztunnel's authorization policies differ from istiod's, or from every other ztunnel's.

ztunnel enforces L4 AuthorizationPolicy from its own copy; a missing, extra
or outdated policy allows traffic that should be denied or denies traffic
that should pass, on that node only.

Evidence:
    The ztunnel's policies (config_dump `policies`, by namespace/name and
    rules hash) are compared with istiod's Authorization resources: the
    per-proxy WADS dump (`types=WADS`) or /debug/ambientz, as the message
    says. When istiod's dump for that ztunnel lacks Authorization resources,
    the ztunnel is compared with its peers instead and reported only when at
    least two other ztunnels agree with each other and it differs. Entries
    matching any istiod replica, and terminating or freshly started
    ztunnels, are not reported.

Fix:
    Resync the ztunnel's policies; restart it if its xDS stream looks healthy.
    Offline: `ztbundle xds BUNDLE --ztunnel <pod> --diff` and `ztbundle
    ztunnel-config BUNDLE policies --node <node>`. Live: `kubectl logs -n
    istio-system <ztunnel-pod> | grep Nack` (see ZT404).
"""

from collections.abc import Iterator
from dataclasses import replace

from analyzer.model import Baseline, BaselineKind, Bundle, XdsState, Ztunnel
from analyzer.model.drift import Drift, Kind, comparable, compare
from rules import Hit, Rule, Severity
from rules._xds import DRIFT_NEEDS, drift_hit

RULE = Rule(
    code="ZT403",
    name="xds-drift-policies",
    severity=Severity.WARNING,
    needs=DRIFT_NEEDS,
    doc=__doc__,
    grid_columns=frozenset({"xds"}),
    next_steps=("ztbundle xds {bundle} --ztunnel {ztunnel} --diff",),
)


def _istiod_has_policies(bundle: Bundle, baseline: Baseline) -> bool:
    """ambientz always lists policies; a per-proxy baseline only when WADS was collected."""
    if baseline.kind is BaselineKind.AMBIENTZ:
        return True
    if baseline.kind is BaselineKind.NONE:
        return False
    istiod = next((i for i in bundle.istiods if i.name == baseline.istiod), None)
    view = istiod.views.get(baseline.ztunnel) if istiod is not None else None
    return view is not None and view.policies_available


def _against_peers(bundle: Bundle, ztunnel: Ztunnel, peers: list[Ztunnel]) -> Drift | None:
    """Drift against the policy set every other ztunnel agrees on (needs two or more peers)."""
    others = [p for p in peers if p is not ztunnel]
    sets = {tuple(sorted(p.xds.policy_hashes.items())) for p in others}
    if len(others) < 2 or len(sets) != 1:
        return None
    agreed = others[0].xds
    expected = XdsState(policies=agreed.policies, policy_hashes=agreed.policy_hashes)
    drift = compare(bundle, ztunnel, Kind.POLICIES, expected=expected, others=())
    source = f"the {len(others)} other ztunnels (istiod's dump has no Authorization resources)"
    return replace(drift, source=source) if drift is not None else None


def check(bundle: Bundle) -> Iterator[Hit]:
    peers = [z for z in bundle.ztunnels if comparable(bundle, z)]
    for ztunnel in peers:
        baseline = bundle.baseline_for(ztunnel)
        if _istiod_has_policies(bundle, baseline):
            drift = compare(bundle, ztunnel, Kind.POLICIES)
        else:
            drift = _against_peers(bundle, ztunnel, peers)  # never "all missing" (docs/rule-guards.md)
        if drift:
            yield drift_hit(bundle, ztunnel, drift, "policies")
