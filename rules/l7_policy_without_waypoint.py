"""An AuthorizationPolicy enforced by ztunnel carries HTTP attributes ztunnel cannot evaluate.

A policy that selects pods by `selector` or applies to a whole namespace (no
`targetRefs`) is enforced by ztunnel, which sees only L4. istiod converts it
for ztunnel (pilot/pkg/serviceregistry/kube/controller/ambient, function
`convertAuthorizationPolicy`): in an ALLOW policy every rule that names an
HTTP attribute is dropped whole, so the traffic it meant to allow is denied;
in a DENY policy the HTTP attributes are removed. ztunnel's matcher
(istio/ztunnel src/rbac.rs, `Authorization::matches`) skips a match left
empty, so a DENY rule whose `to`, `from` or `when` held only HTTP attributes
never matches (less is denied than written, although istiod's status message
says "more restrictive"); one that keeps L4 conditions denies all they match.

Evidence:
    The policy (cluster config list) has no `targetRefs`, selects at least one
    ambient pod, and a rule with `to.operation` hosts/methods/paths (or their
    `not` forms), `from.source` requestPrincipals/remoteIpBlocks (or `not`), or a
    `when` key other than source.ip/namespace/principal and destination.ip/port.
    istiod's `ZtunnelAccepted` condition is quoted when present, and the ztunnel
    config_dump holding the compiled policy (`<namespace>/<name>`) is cited.

Fix:
    Attach the policy to a waypoint with targetRefs, or drop its HTTP attributes.
    Offline: `ztbundle ztunnel-config BUNDLE policies` shows ztunnel's compiled
    copy of the policy. Live: `istioctl waypoint apply -n <ns> --enroll-namespace`
    then set `targetRefs` to the waypoint's Gateway or the Service.
"""

from collections.abc import Iterator

from analyzer.model import AuthorizationPolicy, Bundle, Input
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT701",
    name="l7-policy-without-waypoint",
    severity=Severity.ERROR,
    needs=frozenset({Input.AUTHORIZATION_POLICIES, Input.PODS, Input.NAMESPACES, Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
    next_steps=("ztbundle ztunnel-config {bundle} policies",),
)

ROOT_NAMESPACE = "istio-system"  # meshConfig.rootNamespace default; a policy there applies mesh-wide


def _effect(policy: AuthorizationPolicy) -> str:
    if policy.action != "DENY":
        return "istiod drops every ALLOW rule that names them, so the traffic they allow is denied"
    l7 = [r for r in policy.rules if r.http_attributes]
    never = sum(1 for r in l7 if r.empty_after_strip)
    if never == len(l7):
        return (
            "istiod strips them and ztunnel skips the emptied matches, so these DENY rules never match: "
            "less is denied than written, whatever the status says"
        )
    if never:
        return (
            f"{len(l7) - never} DENY rule(s) keep their L4 conditions and deny all they match; "
            f"{never} emptied rule(s) never match"
        )
    return "istiod strips them and the DENY rules' L4 conditions deny all they match"


def check(bundle: Bundle) -> Iterator[Hit]:
    ambient = list(bundle.ambient_pods())
    for policy in bundle.authorization_policies:
        attrs = policy.http_attributes
        if policy.target_refs or not attrs or policy.action not in ("ALLOW", "DENY"):
            continue
        selected = [p for p in ambient if policy.applies_to(p.namespace, p.labels, ROOT_NAMESPACE)]
        if not selected:
            continue
        key = f"{policy.ref.namespace}/{policy.ref.name}"
        compiled = [z.config_dump_path for z in bundle.ztunnels if z.available and key in z.policies]
        status = next((c for c in policy.conditions if c.type == "ZtunnelAccepted" and c.message), None)
        said = f'; istiod says: "{status.message}"' if status else ""
        held = f"; ztunnel holds it as {key} in {len(compiled)} config_dump(s)" if compiled else ""
        pods = ", ".join(p.name for p in selected[:3]) + (
            f" and {len(selected) - 3} more" if len(selected) > 3 else ""
        )
        yield Hit(
            subject=policy.ref,
            message=(
                f"{policy.ref} ({policy.action}, no targetRefs) applies to ambient pods {pods} and uses "
                f"HTTP attributes {', '.join(attrs)}: {_effect(policy)}{said}{held}"
            ),
            evidence=(policy.path, *compiled[:3]),
        )
