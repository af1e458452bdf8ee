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
    Fix certificate renewal before the certificate expires.
    Offline: `ztbundle ztunnel-config BUNDLE certificates --ztunnel <pod>`.
    Live: `kubectl logs -n istio-system <ztunnel-pod> | grep "certificate
    renewal failed"`; usually istiod (or the external CA) is unreachable or
    refuses to sign (see ZT202). For a CA certificate near expiry, rotate the
    mesh CA (`cacerts` secret or external CA) now.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from analyzer.model import Bundle, Certificate, CertInfo, Input, Ztunnel
from rules import Hit, Rule, Severity
from rules._certs import CaUse, chain_hits, describe, now_name, span, ts

RULE = Rule(
    code="ZT205",
    name="cert-expiring-soon",
    severity=Severity.WARNING,
    needs=frozenset({Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
    grid_columns=frozenset({"certificates"}),
    next_steps=("ztbundle ztunnel-config {bundle} certificates --ztunnel {ztunnel}",),
)

LEFT_FRACTION = 0.4  # renewal happens at 0.5; below 0.4 it is overdue by a tenth of the lifetime
MIN_OVERDUE = timedelta(minutes=5)  # > backoff cap (150 s) plus the capture window
CA_HORIZON = timedelta(days=30)


def _leaf_text(ztunnel: Ztunnel, cert: Certificate, now: datetime, when: str) -> str | None:
    """The message for a leaf whose renewal is overdue, or None."""
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
        f"{ztunnel.ref}: leaf for {cert.identity} ({describe(leaf)}) "
        f"has {span(left)} left ({left / lifetime:.0%} of its {span(lifetime)} lifetime, expires "
        f"{ts(leaf.expires)}); renewal was due at {ts(due)}, {span(now - due)} before {when}"
    )


def _ca_soon(info: CertInfo, now: datetime) -> bool:
    return info.expires is not None and now < info.expires <= now + CA_HORIZON


def _ca_text(ca: CaUse, now: datetime, when: str) -> str:
    assert ca.info.expires is not None
    return (
        f"a {ca.role} certificate ({describe(ca.info)}) that expires {ts(ca.info.expires)}, "
        f"{span(ca.info.expires - now)} after {when}, {ca.chains}"
    )


def check(bundle: Bundle) -> Iterator[Hit]:
    now = bundle.now
    yield from chain_hits(
        bundle,
        lambda ztunnel, cert: _leaf_text(ztunnel, cert, now, now_name(bundle)),
        lambda info: _ca_soon(info, now),
        lambda ca: _ca_text(ca, now, now_name(bundle)),
    )
