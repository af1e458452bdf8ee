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
    Get the CA signing again, then let ztunnel fetch a fresh certificate.
    Offline: `ztbundle ztunnel-config BUNDLE certificates --ztunnel <pod>` and
    `ztbundle logs BUNDLE --ztunnel <pod> --errors`. Live: `kubectl logs -n
    istio-system <ztunnel-pod> | grep -E "certificate (renewal|fetch) failed"`.
    An expired leaf means renewal stopped: check istiod (or the external CA) is
    reachable, then restart the ztunnel. An expired root or intermediate needs the
    mesh CA (`cacerts` secret or external CA) rotated first.
"""

from collections.abc import Iterator
from datetime import datetime

from analyzer.model import Bundle, Certificate, CertInfo, Input, Ztunnel
from rules import Hit, Rule, Severity
from rules._certs import CaUse, chain_hits, describe, now_name, span, ts

RULE = Rule(
    code="ZT203",
    name="cert-expired",
    severity=Severity.ERROR,
    needs=frozenset({Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
    grid_columns=frozenset({"certificates"}),
    next_steps=("ztbundle ztunnel-config {bundle} certificates --ztunnel {ztunnel}",),
)


def _expired(info: CertInfo, now: datetime) -> bool:
    return info.expires is not None and info.expires <= now


def _leaf_text(ztunnel: Ztunnel, cert: Certificate, now: datetime, when: str) -> str | None:
    leaf = cert.leaf
    if leaf is None or leaf.expires is None or leaf.expires > now:
        return None
    return (
        f"{ztunnel.ref} serves leaf certificate for {cert.identity} ({describe(leaf)}) "
        f"that expired at {ts(leaf.expires)}, {span(now - leaf.expires)} before "
        f"{when} {ts(now)}; its state is still Available"
    )


def _ca_text(ca: CaUse, now: datetime, when: str) -> str:
    assert ca.info.expires is not None
    return (
        f"an expired {ca.role} certificate ({describe(ca.info)}, expired {ts(ca.info.expires)}, "
        f"{span(now - ca.info.expires)} before {when}) {ca.chains}"
    )


def check(bundle: Bundle) -> Iterator[Hit]:
    now = bundle.now
    yield from chain_hits(
        bundle,
        lambda ztunnel, cert: _leaf_text(ztunnel, cert, now, now_name(bundle)),
        lambda info: _expired(info, now),
        lambda ca: _ca_text(ca, now, now_name(bundle)),
    )
