"""A ztunnel has no usable certificate for an identity: state Unavailable or stuck Initializing.

Without a certificate every connection from or to workloads of that identity
fails with `identity error`. The message classifies the error ztunnel
recorded: CA unreachable, CA refused to sign (with the gRPC code),
workload unknown to the CA, SAN mismatch, or other.

Evidence:
    A `certificates[]` entry in a ztunnel config_dump whose `state` is
    `Unavailable: <error>`, or `Initializing` while a local pod of that
    identity is older than the capture window. Ignored: `the identity is no
    longer needed` (its last local workload just left), entries whose local
    pods are all younger than the capture window, terminating ztunnels during
    a rollout, and dumps that did not parse. Classes: `client error (Connect)`,
    connection/DNS/timeout text, gRPC `Unavailable` or `DeadlineExceeded` → CA
    unreachable; other `signing gRPC error (<code>)` → CA refused to sign
    (`impersonation` there means the ztunnel service account is not trusted,
    see CA_TRUSTED_NODE_ACCOUNTS); `workload is unknown` → workload unknown;
    `did not find expected SAN` → SAN mismatch.

Fix:
    Make the CA reachable and willing to sign for this ztunnel.
    Offline: `ztbundle ztunnel-config BUNDLE certificates --ztunnel <pod>` and
    `ztbundle logs BUNDLE --ztunnel <pod> --errors`. Live: `kubectl logs -n
    istio-system -l app=istiod | grep -iE "csr|impersonat"`. CA unreachable:
    check `config.caAddress`, istiod's Service and Pods, and NetworkPolicies to
    istiod:15012. CA refused: for impersonation failures set
    `CA_TRUSTED_NODE_ACCOUNTS` (`pilot.trustedZtunnelNamespace`) to the
    ztunnel's namespace/service account. Workload unknown: istiod does not see
    the pod (discoverySelectors). SAN mismatch: the external CA rewrote the identity.
"""

from collections.abc import Iterator
from datetime import datetime

from analyzer.model import Bundle, Certificate, CertState, Input, Workload, Ztunnel
from rules import Hit, Rule, Severity
from rules._certs import current_ztunnels, identity_ref

RULE = Rule(
    code="ZT202",
    name="cert-unavailable",
    severity=Severity.ERROR,
    needs=frozenset({Input.ZTUNNEL_CONFIG, Input.PODS}),
    doc=__doc__,
    grid_columns=frozenset({"certificates"}),
    next_steps=(
        "ztbundle ztunnel-config {bundle} certificates --ztunnel {ztunnel}",
        "ztbundle logs {bundle} --ztunnel {ztunnel} --errors",
    ),
)

NO_LONGER_NEEDED = "the identity is no longer needed"
_UNREACHABLE = (
    "client error (connect)",
    "tcp connect error",
    "connection refused",
    "connection reset",
    "dns error",
    "deadline has elapsed",
    "timed out",
    "error trying to connect",
    "transport error",
    "broken pipe",
)
# tonic `Code::description()` text inside `signing gRPC error (<description>)` → the code's name
_GRPC_CODES = (
    ("currently unavailable", "Unavailable"),
    ("deadline", "DeadlineExceeded"),
    ("authentication credentials", "Unauthenticated"),
    ("permission", "PermissionDenied"),
    ("invalid argument", "InvalidArgument"),
    ("not found", "NotFound"),
    ("already exists", "AlreadyExists"),
    ("exhausted", "ResourceExhausted"),
    ("precondition", "FailedPrecondition"),
    ("state required", "FailedPrecondition"),
    ("aborted", "Aborted"),
    ("range", "OutOfRange"),
    ("not implemented", "Unimplemented"),
    ("internal", "Internal"),
    ("data loss", "DataLoss"),
    ("cancel", "Cancelled"),
    ("unknown", "Unknown"),
)


def _grpc_code(text: str) -> str | None:
    start = text.find("signing grpc error (")
    if start < 0:
        return None
    desc = text[start + len("signing grpc error (") :].split(")", 1)[0]
    return next((code for key, code in _GRPC_CODES if key in desc), desc or "unknown code")


def classify(error: str | None) -> str:
    """Name the cause class of an `Unavailable: <error>` text."""
    text = (error or "").lower()
    code = _grpc_code(text)
    if any(k in text for k in _UNREACHABLE) or code in ("Unavailable", "DeadlineExceeded"):
        return "CA unreachable" + (f" (gRPC {code})" if code else "")
    if "workload is unknown" in text:
        return "workload unknown to the CA"
    if "did not find expected san" in text:
        return "SAN mismatch in the signed certificate"
    if code is not None:
        why = "; ztunnel's service account may not impersonate" if "impersonat" in text else ""
        return f"CA refused to sign (gRPC {code}{why})"
    return "other"


def _local_workloads(ztunnel: Ztunnel, cert: Certificate) -> list[Workload]:
    ref = identity_ref(cert.identity)
    node = ztunnel.config.local_node or ztunnel.node
    return [
        w
        for w in ztunnel.workloads.values()
        if w.node == node and w.namespace == ref.namespace and w.service_account == ref.name
    ]


def _pod_ages(bundle: Bundle, workloads: list[Workload]) -> list[datetime | None]:
    """Creation times of the pods behind these workloads (None: unknown age, treated as old)."""
    out = []
    for w in workloads:
        key = w.pod_key
        pod = bundle.pod_by_name(key[1], key[2]) if key else None
        out.append(pod.created_at if pod else None)
    return out


def _problem(bundle: Bundle, ztunnel: Ztunnel, cert: Certificate) -> str | None:
    if cert.state not in (CertState.UNAVAILABLE, CertState.INITIALIZING):
        return None
    if cert.state is CertState.UNAVAILABLE and NO_LONGER_NEEDED in (cert.state_error or ""):
        return None  # its last local workload just left (docs/rule-guards.md)
    local = _local_workloads(ztunnel, cert)
    ages = _pod_ages(bundle, local)
    settled = [w for w, created in zip(local, ages, strict=True) if bundle.settled(created)]
    names = ", ".join(sorted(f"{w.namespace}/{w.name}" for w in settled)[:5]) or "none"
    if cert.state is CertState.INITIALIZING:
        if not settled:
            return None  # a fetch for a new pod can legitimately be in flight (guard: settle window)
        return f"is still Initializing although its local workloads are older than 60 s ({names})"
    if local and not settled:
        return None  # only brand-new pods use it: the first fetch may still be retrying
    error = (cert.state_error or "no error text")[:300]
    users = f"{len(local)} local workload(s): {names}" if local else "no local workload in its table uses it"
    return f"is Unavailable, class: {classify(cert.state_error)} (error: {error}); {users}"


def check(bundle: Bundle) -> Iterator[Hit]:
    for ztunnel in current_ztunnels(bundle):  # an unparsed dump is a skipped input, not a finding
        for cert in ztunnel.certificates:
            problem = _problem(bundle, ztunnel, cert)
            if problem is None:
                continue
            yield Hit.on(
                ztunnel,
                f"{ztunnel.ref} on node {ztunnel.node}: certificate for {cert.identity} {problem}",
                subject=identity_ref(cert.identity),
            )
