"""A ztunnel holds a certificate whose validity starts after the collection time.

Peers reject a certificate that is not valid yet, so the identity cannot
complete any mTLS handshake. It almost always means a skewed clock on the
node or on the CA, since istiod already backdates NotBefore by 2 minutes.

Evidence:
    In a ztunnel config_dump, an `Available` `certificates[]` entry whose leaf,
    intermediate or root `validFrom` is more than 5 minutes after the bundle's
    collection time (tolerance for the capture clock). One finding per identity
    for a leaf (subject: its ServiceAccount); one per ztunnel and CA
    certificate for an intermediate or root (subject: the ztunnel). Only each
    node's current ztunnel is judged, and only dumps that parsed.

Fix:
    Fix the clock of the node (or CA) that issued certificates from the future.
    Offline: `ztbundle ztunnel-config BUNDLE certificates` on each node. If only
    one node's leaves start in the future, fix that node's time sync (chrony/NTP)
    and restart its ztunnel; if every node's do, check the clock of istiod or the
    external CA. Live: `istioctl ztunnel-config certificates <ztunnel-pod>.istio-system`.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from analyzer.model import Bundle, Certificate, CertInfo, Input, Ztunnel
from rules import Hit, Rule, Severity
from rules._certs import CaUse, chain_hits, describe, now_name, span, ts

RULE = Rule(
    code="ZT204",
    name="cert-not-yet-valid",
    severity=Severity.ERROR,
    needs=frozenset({Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
    grid_columns=frozenset({"certificates"}),
    next_steps=("ztbundle ztunnel-config {bundle} certificates --ztunnel {ztunnel}",),
)

TOLERANCE = timedelta(minutes=5)  # capture clock vs. node clock (docs/rule-guards.md)


def _early(info: CertInfo, now: datetime) -> bool:
    return info.valid_from is not None and info.valid_from > now + TOLERANCE


def _leaf_text(ztunnel: Ztunnel, cert: Certificate, now: datetime, when: str) -> str | None:
    leaf = cert.leaf
    if leaf is None or leaf.valid_from is None or not _early(leaf, now):
        return None
    return (
        f"{ztunnel.ref} on node {ztunnel.node} serves leaf certificate for {cert.identity} "
        f"({describe(leaf)}) valid only from {ts(leaf.valid_from)}, "
        f"{span(leaf.valid_from - now)} after {when} {ts(now)}"
    )


def _ca_text(ca: CaUse, now: datetime, when: str) -> str:
    assert ca.info.valid_from is not None
    return (
        f"a {ca.role} certificate ({describe(ca.info)}) valid only from {ts(ca.info.valid_from)}, "
        f"{span(ca.info.valid_from - now)} after {when}, {ca.chains}"
    )


def check(bundle: Bundle) -> Iterator[Hit]:
    now = bundle.now
    yield from chain_hits(
        bundle,
        lambda ztunnel, cert: _leaf_text(ztunnel, cert, now, now_name(bundle)),
        lambda info: _early(info, now),
        lambda ca: _ca_text(ca, now, now_name(bundle)),
    )
