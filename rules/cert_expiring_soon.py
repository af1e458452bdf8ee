"""A certificate is overdue for renewal, or a CA certificate expires within 30 days.

ztunnel renews a leaf at half its lifetime and retries failures with backoff
capped at 150 s, so a leaf with well under half its life left means renewal
is failing even though the current certificate still works; when it runs out
the identity's traffic breaks (see ZT203). Since 1.28 a failed renewal leaves
the state `Available`, so this is the only config_dump signal.

Evidence:
    In a ztunnel config_dump, an `Available` leaf that is still valid at the
    bundle time but has less than 40% of its lifetime
    (`expirationTime - validFrom`) left, i.e. renewal is overdue by more than a
    tenth of its lifetime and by more than 5 minutes (so very short custom
    `secretTtl` values and backoff retries do not fire): one finding per
    identity (subject: its ServiceAccount). Separately, an intermediate or root
    in the chain that expires within 30 days: one finding per ztunnel and CA
    certificate. Only each node's current ztunnel is judged.

Fix:
    Check `istioctl ztunnel-config certificates <ztunnel-pod>.istio-system` and
    the renewal errors in `kubectl logs -n istio-system <ztunnel-pod> | grep
    "certificate renewal failed"`; usually istiod (or the external CA) is
    unreachable or refuses to sign (see ZT202). Restarting the ztunnel forces a
    fresh fetch once the CA is healthy. For a CA certificate near expiry,
    rotate the mesh CA (`cacerts` secret or external CA) now.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from analyzer.model import Bundle, Certificate, CertInfo, CertState, Input, ObjectRef, Ztunnel
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT205",
    name="cert-expiring-soon",
    severity=Severity.WARNING,
    needs=frozenset({Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
)

LEFT_FRACTION = 0.4  # renewal happens at 0.5; below 0.4 it is overdue by a tenth of the lifetime
MIN_OVERDUE = timedelta(minutes=5)  # > backoff cap (150 s) plus the capture window
CA_HORIZON = timedelta(days=30)


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


def _ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(info: CertInfo) -> str:
    return f"serial {info.serial:x}" if info.serial is not None else f"fingerprint {info.fingerprint[:12]}"


def _current(bundle: Bundle) -> Iterator[Ztunnel]:
    """Each node's current ztunnel (guard 7) whose dump parsed."""
    for ztunnel in bundle.ztunnels:
        if bundle.ztunnel_on(ztunnel.node) is ztunnel and ztunnel.available:
            yield ztunnel


def _overdue_leaf(cert: Certificate, now: datetime) -> str | None:
    """Why the leaf's renewal is overdue, or None."""
    leaf = cert.leaf
    if leaf is None or leaf.valid_from is None or leaf.expires is None:
        return None
    lifetime, left = leaf.expires - leaf.valid_from, leaf.expires - now
    if lifetime <= timedelta(0) or left <= timedelta(0) or now < leaf.valid_from:
        return None  # expired or not yet valid: ZT203 / ZT204
    due = leaf.valid_from + lifetime / 2
    if left >= lifetime * LEFT_FRACTION or now - due < MIN_OVERDUE:
        return None
    return (
        f"has {_span(left)} left ({left / lifetime:.0%} of its {_span(lifetime)} lifetime, expires "
        f"{_ts(leaf.expires)}); renewal was due at {_ts(due)}, {_span(now - due)} before the bundle time"
    )


def check(bundle: Bundle) -> Iterator[Hit]:
    now = bundle.now
    for ztunnel in _current(bundle):
        ca_certs: dict[str, tuple[str, CertInfo, list[str]]] = {}
        for cert in ztunnel.certificates:
            if cert.state is not CertState.AVAILABLE:
                continue
            why = _overdue_leaf(cert, now)
            if why and cert.leaf is not None:
                yield Hit(
                    subject=_identity_ref(cert.identity),
                    message=f"{ztunnel.ref}: leaf for {cert.identity} ({_describe(cert.leaf)}) {why}",
                    evidence=(ztunnel.config_dump_path,),
                    node=ztunnel.node,
                    ztunnel=ztunnel.name,
                )
            parts = [("intermediate", i) for i in cert.chain[1:]] + [("root", r) for r in cert.roots]
            for role, info in parts:
                if info.expires is not None and now < info.expires <= now + CA_HORIZON:
                    ca_certs.setdefault(info.fingerprint, (role, info, []))[2].append(cert.identity)
        for role, info, identities in ca_certs.values():
            assert info.expires is not None
            yield Hit(
                subject=ztunnel.ref,
                message=(
                    f"{ztunnel.ref} holds a {role} certificate ({_describe(info)}) that expires "
                    f"{_ts(info.expires)}, {_span(info.expires - now)} after the bundle time, in the "
                    f"chain of {len(identities)} identit{'y' if len(identities) == 1 else 'ies'}, "
                    f"e.g. {identities[0]}"
                ),
                evidence=(ztunnel.config_dump_path,),
                node=ztunnel.node,
                ztunnel=ztunnel.name,
            )
