"""A ztunnel holds an Available certificate that had already expired at collection time.

ztunnel keeps serving an expired leaf when renewal silently fails, and peers
reject the handshake with `CertificateExpired`; an expired intermediate or
root breaks every identity whose chain contains it.

Evidence:
    In a ztunnel config_dump, a `certificates[]` entry in state `Available`
    whose leaf (`certChain[0].expirationTime`), an intermediate, or a root
    (`rootCerts`, or the last `certChain` element in the ≤1.25 layout) expires
    before the bundle's collection time. One finding per identity for an
    expired leaf (subject: its ServiceAccount); one finding per ztunnel and CA
    certificate for an expired intermediate or root (subject: the ztunnel).
    Only each node's current ztunnel is judged (rollouts), and only dumps that
    parsed.

Fix:
    Confirm with `istioctl ztunnel-config certificates <ztunnel-pod>.istio-system`
    (the VALID CERT column) and look for renewal errors with
    `kubectl logs -n istio-system <ztunnel-pod> | grep -E "certificate (renewal|fetch) failed"`.
    An expired leaf means renewal stopped: check istiod (or the external CA)
    is reachable and healthy, then restart the ztunnel to force a new fetch.
    An expired root or intermediate needs the mesh CA (`cacerts` secret or
    external CA) rotated before any workload can be re-issued.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from analyzer.model import Bundle, Certificate, CertInfo, CertState, Input, ObjectRef, Ztunnel
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT203",
    name="cert-expired",
    severity=Severity.ERROR,
    needs=frozenset({Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
)


def _identity_ref(identity: str) -> ObjectRef:
    """`spiffe://td/ns/<ns>/sa/<sa>` → `ServiceAccount ns/sa` (else the raw identity)."""
    parts = identity.removeprefix("spiffe://").split("/")
    if len(parts) == 5 and parts[1] == "ns" and parts[3] == "sa":
        return ObjectRef("ServiceAccount", parts[2], parts[4])
    return ObjectRef("Identity", "", identity)


def _span(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    return f"{days}d{rest // 60}h" if days else f"{rest // 60}h{rest % 60:02d}m"


def _describe(info: CertInfo) -> str:
    return f"serial {info.serial:x}" if info.serial is not None else f"fingerprint {info.fingerprint[:12]}"


def _ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _current(bundle: Bundle) -> Iterator[Ztunnel]:
    """Each node's current ztunnel (guard 7) whose dump parsed."""
    for ztunnel in bundle.ztunnels:
        if bundle.ztunnel_on(ztunnel.node) is ztunnel and ztunnel.available:
            yield ztunnel


def _expired(info: CertInfo, now: datetime) -> bool:
    return info.expires is not None and info.expires <= now


def _ca_certs(cert: Certificate) -> Iterator[tuple[str, CertInfo]]:
    for info in cert.chain[1:]:
        yield "intermediate", info
    for info in cert.roots:
        yield "root", info


def check(bundle: Bundle) -> Iterator[Hit]:
    now = bundle.now
    for ztunnel in _current(bundle):
        ca_holders: dict[str, tuple[str, CertInfo, list[str]]] = {}
        for cert in ztunnel.certificates:
            if cert.state is not CertState.AVAILABLE:
                continue  # an empty chain is ZT202's business
            leaf = cert.leaf
            if leaf is not None and leaf.expires is not None and _expired(leaf, now):
                yield Hit(
                    subject=_identity_ref(cert.identity),
                    message=(
                        f"{ztunnel.ref} serves leaf certificate for {cert.identity} ({_describe(leaf)}) "
                        f"that expired at {_ts(leaf.expires)}, {_span(now - leaf.expires)} before the "
                        f"bundle time {_ts(now)}; its state is still Available"
                    ),
                    evidence=(ztunnel.config_dump_path,),
                    node=ztunnel.node,
                    ztunnel=ztunnel.name,
                )
            for role, info in _ca_certs(cert):
                if _expired(info, now):
                    ca_holders.setdefault(info.fingerprint, (role, info, []))[2].append(cert.identity)
        for role, info, identities in ca_holders.values():
            assert info.expires is not None
            yield Hit(
                subject=ztunnel.ref,
                message=(
                    f"{ztunnel.ref} holds an expired {role} certificate ({_describe(info)}, expired "
                    f"{_ts(info.expires)}, {_span(now - info.expires)} before the bundle time) "
                    f"in the chain of {len(identities)} identit{'y' if len(identities) == 1 else 'ies'}, "
                    f"e.g. {identities[0]}"
                ),
                evidence=(ztunnel.config_dump_path,),
                node=ztunnel.node,
                ztunnel=ztunnel.name,
            )
