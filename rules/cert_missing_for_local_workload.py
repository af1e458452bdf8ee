"""A local HBONE workload's identity has no certificate entry in its node's ztunnel.

ztunnel prefetches a certificate for every workload on its own node that
speaks HBONE, so a missing entry means the prefetch never ran or was dropped;
the first connection then pays a synchronous fetch and fails outright if the
CA is unhealthy.

Evidence:
    A workload in a ztunnel config_dump with `node` equal to that ztunnel's
    `config.localNode`, `protocol: HBONE` (or `nativeTunnel`), whose identity
    `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>` is absent from
    `certificates[]` in any state. When the workload's trust domain is the
    default `cluster.local` (possibly just omitted) any trust domain with the
    same namespace and service account counts. Skipped: pods missing,
    terminating, finished or younger than the capture window, waypoint pods
    (`gateway.istio.io/managed=istio.io-mesh-controller`, or
    `istio.io-agentgateway-waypoint-controller` for agentgateway: their own proxy
    holds their certificate and ztunnel never speaks for them), non-pod and
    remote-cluster workloads, `proxyMode: Dedicated`, terminating ztunnels
    during a rollout, and dumps that did not parse. One finding per identity.

Fix:
    Find why ztunnel did not fetch the identity's certificate.
    Offline: `ztbundle ztunnel-config BUNDLE certificates --ztunnel <pod>` and
    `ztbundle ztunnel-config BUNDLE workloads --ztunnel <pod>`. Live: look for
    `unable to prefetch cert` in `kubectl logs -n istio-system <ztunnel-pod>`.
    If the CA is healthy (no ZT202 findings), restarting the ztunnel makes it
    prefetch again.
"""

from collections.abc import Iterator

from analyzer.model import WAYPOINT_CONTROLLERS, Bundle, Input, ObjectRef, Workload, Ztunnel
from rules import Hit, Rule, Severity
from rules._certs import current_ztunnels, identity_ref

RULE = Rule(
    code="ZT201",
    name="cert-missing-for-local-workload",
    severity=Severity.WARNING,
    needs=frozenset({Input.ZTUNNEL_CONFIG, Input.PODS}),
    doc=__doc__,
    grid_columns=frozenset({"certificates"}),
    next_steps=("ztbundle ztunnel-config {bundle} certificates --ztunnel {ztunnel}",),
)

DEFAULT_TRUST_DOMAIN = "cluster.local"
WAYPOINT_LABEL = "gateway.istio.io/managed"


def _identity_keys(ztunnel: Ztunnel) -> tuple[set[str], set[tuple[str, str]]]:
    """Exact identities held, and their (namespace, service account) pairs."""
    exact, pairs = set(), set()
    for cert in ztunnel.certificates:
        exact.add(cert.identity)
        ref = identity_ref(cert.identity)
        if ref.kind == "ServiceAccount":
            pairs.add((ref.namespace, ref.name))
    return exact, pairs


def _judged(bundle: Bundle, ztunnel: Ztunnel, workload: Workload) -> bool:
    """A local HBONE pod workload that has been around long enough to have its cert."""
    if workload.node != (ztunnel.config.local_node or ztunnel.node):
        return False
    if workload.protocol != "HBONE" and not workload.native_tunnel:
        return False
    key = workload.pod_key
    if key is None or key[0] != ztunnel.config.cluster_id:
        return False  # non-pod and remote-cluster workloads have no local pod (guard: pod workloads only)
    pod = bundle.pod_by_name(key[1], key[2])
    if pod is None or pod.deleting or pod.terminal or not bundle.settled(pod.created_at):
        return False
    # A waypoint (dataplane-mode=none, never captured) terminates HBONE in its own proxy with the
    # certificate istio-agent fetched; ztunnel never sends or receives as the waypoint, so whether a
    # nativeTunnel prefetch left an entry in ztunnel's table changes no traffic (docs/rule-guards.md).
    return pod.labels.get(WAYPOINT_LABEL) not in WAYPOINT_CONTROLLERS


def check(bundle: Bundle) -> Iterator[Hit]:
    for ztunnel in current_ztunnels(bundle):  # an unparsed dump is a skipped input
        if ztunnel.config.proxy_mode == "Dedicated":
            continue  # a dedicated (sidecar-style) ztunnel serves a single identity on demand
        exact, pairs = _identity_keys(ztunnel)
        missing: dict[str, list[Workload]] = {}
        for workload in bundle.workloads_on(ztunnel, ztunnel.config.local_node or ztunnel.node):
            identity = (
                f"spiffe://{workload.trust_domain}/ns/{workload.namespace}/sa/{workload.service_account}"
            )
            if identity in exact:
                continue
            if workload.trust_domain == DEFAULT_TRUST_DOMAIN and (
                (workload.namespace, workload.service_account) in pairs
            ):
                continue
            if _judged(bundle, ztunnel, workload):
                missing.setdefault(identity, []).append(workload)
        for identity, workloads in sorted(missing.items()):
            first = workloads[0]
            names = ", ".join(sorted(w.name for w in workloads)[:5])
            yield Hit.on(
                ztunnel,
                f"{ztunnel.ref} on node {ztunnel.node} has no certificate entry for {identity}, "
                f"used by {len(workloads)} local HBONE workload(s) in {first.namespace}: {names}",
                subject=ObjectRef("ServiceAccount", first.namespace, first.service_account),
            )
