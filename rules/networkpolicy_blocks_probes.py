"""A NetworkPolicy blocks the kubelet's probes of an ambient pod (SNATed to a link-local address).

Once a pod is enrolled in ambient, istio-cni SNATs the kubelet's probe traffic
to a fixed link-local address so ztunnel lets it through: 169.254.7.127 for
IPv4 and fd16:9254:7127:1337:ffff:ffff:ffff:ffff for IPv6 (istio.io, "Ambient
and Kubernetes NetworkPolicy"; istio-cni's HostProbeSNATAddress). A policy
that admits only pods or namespaces no longer admits the probes, which fail
(istio/istio#52765, #52208, #58531, #56484).

Evidence:
    The pod is ambient, has an httpGet, tcpSocket or grpc probe, and is
    selected by NetworkPolicies with Ingress in `policyTypes` (config list)
    none of whose rules admits the probe address of the pod's IP family on the
    probe's port (a rule without `from` admits every source). The pod's
    readiness and restarts are quoted as corroboration.

Fix:
    Allow ingress from the ambient probe address in the pod's NetworkPolicies.
    Offline: `ztbundle extract BUNDLE out/` and read
    `out/config/networking.k8s.io/networkpolicies.json`. Live: add an ingress rule
    `from: [{ipBlock: {cidr: 169.254.7.127/32}}]` (and the IPv6 /128 on
    dual-stack), `kubectl get networkpolicy -n <ns>`.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input, Pod
from rules import Hit, Rule, Severity
from rules._netpol import ingress_policies

RULE = Rule(
    code="ZT705",
    name="networkpolicy-blocks-probes",
    severity=Severity.ERROR,
    needs=frozenset({Input.NETWORK_POLICIES, Input.PODS, Input.NAMESPACES}),
    doc=__doc__,
    next_steps=("ztbundle extract {bundle} out/",),
)

PROBE_SNAT_V4 = "169.254.7.127"
PROBE_SNAT_V6 = "fd16:9254:7127:1337:ffff:ffff:ffff:ffff"


def _sources(pod: Pod) -> list[str]:
    ips = pod.ips or ((pod.ip,) if pod.ip else ())
    out = [PROBE_SNAT_V6 if ":" in ip else PROBE_SNAT_V4 for ip in ips]
    return list(dict.fromkeys(out)) or [PROBE_SNAT_V4]


def _health(pod: Pod) -> str:
    if pod.restarts:
        return f"; it is {'Ready' if pod.ready else 'not Ready'} with {pod.restarts} restart(s)"
    return "" if pod.ready else "; it is not Ready"


def check(bundle: Bundle) -> Iterator[Hit]:
    for pod in bundle.ambient_pods():
        if not pod.probe_ports:
            continue
        policies = ingress_policies(bundle, pod)
        if not policies:
            continue
        rules = [r for np in policies for r in np.ingress]
        blocked = [
            (source, port)
            for source in _sources(pod)
            for port in pod.probe_ports
            if not any(r.allows_port(port) and r.allows_address(source) for r in rules)
        ]
        if not blocked:
            continue
        names = ", ".join(f"{np.ref.namespace}/{np.ref.name}" for np in policies)
        shown = ", ".join(f"{s} → :{p}" for s, p in blocked)
        yield Hit(
            subject=pod.ref,
            message=(
                f"NetworkPolicy {names} admits no probe from the ambient SNAT address ({shown}){_health(pod)}"
            ),
            evidence=tuple(dict.fromkeys(np.path for np in policies)),
            node=pod.node,
        )
