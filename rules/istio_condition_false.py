"""An Istio or Gateway API object reports a failing status condition.

istiod and the Gateway controllers write what they could not do into the
object's status: a waypoint or Gateway not `Accepted` or `Programmed`, a route
whose refs do not resolve, a policy ztunnel or a waypoint did not accept, a
service not bound to its waypoint (`istio.io/WaypointBound`).

Evidence:
    `status.conditions` of the object (and of its listeners or route parents)
    in the config lists, and of Services (cluster list): a condition whose status is False (True for
    `Conflicted`), or whose reason is `PartiallyInvalid`, with its reason and
    message. `ZtunnelAccepted` with reason `UnsupportedValue` for HTTP
    attributes is ZT701's finding and is not repeated here.

Fix:
    Correct what the condition's message names, then check the status again.
    Offline: `ztbundle extract BUNDLE out/` and read the object in
    `out/config/<group>/<resource>.json`. Live: `kubectl get <kind> -n <ns> <name>
    -o yaml` and `istioctl analyze -n <ns>`.
"""

from collections.abc import Iterator

from analyzer.model import STATUS_INPUTS, Bundle, Condition
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT703",
    name="istio-condition-false",
    severity=Severity.WARNING,
    needs=frozenset(STATUS_INPUTS),  # every kind whose status conditions the model reads
    doc=__doc__,
    next_steps=("ztbundle extract {bundle} out/",),
)

NEGATIVE = frozenset({"Conflicted"})  # Gateway API polarity: True is the problem
HTTP_ATTRIBUTES = "ztunnel does not support HTTP attributes"


def _failing(c: Condition) -> bool:
    if c.type == "ZtunnelAccepted" and c.message.startswith(HTTP_ATTRIBUTES):
        return False  # ZT701 says what ztunnel does with it
    if c.reason == "PartiallyInvalid":
        return True
    return c.status == ("True" if c.type in NEGATIVE else "False")


def check(bundle: Bundle) -> Iterator[Hit]:
    for obj in bundle.status_carriers:
        bad = [c for c in obj.conditions if _failing(c)]
        if not bad:
            continue
        said = "; ".join(
            f"{c.type}={c.status}{' on ' + c.where if c.where else ''} ({c.reason}: {c.message})" for c in bad
        )
        yield Hit(subject=obj.ref, message=f"{obj.ref} reports {said}", evidence=(obj.path,))
