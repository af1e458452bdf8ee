"""A NetworkPolicy allows an ambient pod's application ports but not HBONE port 15008.

Ambient traffic between nodes arrives at the destination pod as HBONE on TCP
15008 (ztunnel's inbound listener inside the pod's network namespace). A
policy that lists the application's ports but not 15008 lets nothing in: the
connections time out (istio/istio#51034, #59754).

Evidence:
    The pod is ambient and selected by NetworkPolicies with Ingress in
    `policyTypes` (config list); together they allow some ingress port but no
    rule allows TCP 15008 (a rule without `ports` allows every port). ZT601's
    access-log timeouts to the pod's :15008, when present, corroborate it and
    are grouped under this finding.

Fix:
    Allow TCP 15008 in each NetworkPolicy that selects the ambient pod.
    Offline: `ztbundle logs BUNDLE --workload <pod> --errors` shows the timeouts.
    Live: `kubectl get networkpolicy -n <ns> -o yaml`; add `- port: 15008` with
    `protocol: TCP` to an ingress rule.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input
from rules import Explains, Hit, Rule, Scope, Severity
from rules._netpol import ingress_policies

RULE = Rule(
    code="ZT704",
    name="networkpolicy-blocks-hbone",
    severity=Severity.ERROR,
    needs=frozenset({Input.NETWORK_POLICIES, Input.PODS, Input.NAMESPACES}),
    doc=__doc__,
    explains=(Explains.of(Scope.SUBJECT, "ZT601"),),
    priority=30,
    next_steps=("ztbundle logs {bundle} --workload {name} --errors",),
)

HBONE_PORT = 15008


def check(bundle: Bundle) -> Iterator[Hit]:
    for pod in bundle.ambient_pods():
        policies = ingress_policies(bundle, pod)
        rules = [r for np in policies for r in np.ingress]
        if not rules or any(r.allows_port(HBONE_PORT) for r in rules):
            continue  # no restriction, deny-all by intent, or 15008 allowed
        names = ", ".join(f"{np.ref.namespace}/{np.ref.name}" for np in policies)
        ports = sorted({str(p.port) for r in rules for p in r.ports if p.port is not None})
        yield Hit(
            subject=pod.ref,
            message=(
                f"{pod.ref} is ambient and NetworkPolicy {names} allows ingress on "
                f"{', '.join(ports) or 'some ports'} but not TCP {HBONE_PORT} (HBONE)"
            ),
            evidence=tuple(dict.fromkeys(np.path for np in policies)),
            node=pod.node,
        )
