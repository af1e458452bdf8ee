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
    Compare `istioctl ztunnel-config certificates <ztunnel-pod>.istio-system`
    across nodes: if only one node's leaves start in the future, fix that
    node's time sync (chrony/NTP) and restart its ztunnel; if every node's
    do, check the clock of istiod or the external CA that signs them.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from analyzer.model import Bundle, CertInfo, CertState, Input, ObjectRef, Ztunnel
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT204",
    name="cert-not-yet-valid",
    severity=Severity.ERROR,
    needs=frozenset({Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
)

TOLERANCE = timedelta(minutes=5)  # capture clock vs. node clock (failure-modes §2.13)


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


def _early(info: CertInfo, now: datetime) -> bool:
    return info.valid_from is not None and info.valid_from > now + TOLERANCE


def check(bundle: Bundle) -> Iterator[Hit]:
    now = bundle.now
    for ztunnel in _current(bundle):
        ca_certs: dict[str, tuple[str, CertInfo, list[str]]] = {}
        for cert in ztunnel.certificates:
            if cert.state is not CertState.AVAILABLE:
                continue
            leaf = cert.leaf
            if leaf is not None and leaf.valid_from is not None and _early(leaf, now):
                yield Hit(
                    subject=_identity_ref(cert.identity),
                    message=(
                        f"{ztunnel.ref} on node {ztunnel.node} serves leaf certificate for {cert.identity} "
                        f"({_describe(leaf)}) valid only from {_ts(leaf.valid_from)}, "
                        f"{_span(leaf.valid_from - now)} after the bundle time {_ts(now)}"
                    ),
                    evidence=(ztunnel.config_dump_path,),
                    node=ztunnel.node,
                    ztunnel=ztunnel.name,
                )
            parts = [("intermediate", i) for i in cert.chain[1:]] + [("root", r) for r in cert.roots]
            for role, info in parts:
                if _early(info, now):
                    ca_certs.setdefault(info.fingerprint, (role, info, []))[2].append(cert.identity)
        for role, info, identities in ca_certs.values():
            assert info.valid_from is not None
            yield Hit(
                subject=ztunnel.ref,
                message=(
                    f"{ztunnel.ref} holds a {role} certificate ({_describe(info)}) valid only from "
                    f"{_ts(info.valid_from)}, {_span(info.valid_from - now)} after the bundle time, in the "
                    f"chain of {len(identities)} identit{'y' if len(identities) == 1 else 'ies'}, "
                    f"e.g. {identities[0]}"
                ),
                evidence=(ztunnel.config_dump_path,),
                node=ztunnel.node,
                ztunnel=ztunnel.name,
            )
